// The Experiments module: an experiment's configuration (Configuration/), the feature cache it
// names (ExperimentConfiguration+Cache.swift), the pipeline of one run (Pipeline/) and sweeps over
// runs (Sweep/). Datasets, FeatureCache and Reports are modules of their own below it.
