"""Fixtures of the label-free methods: seeded clustered features (an imbalanced pool and a test
set), a text classifier, and each method's output from scripts/label_free_reference.py.

    python3 scripts/make_label_free_fixtures.py   # writes Tests/AdaptationTests/Fixtures/label_free.json
"""
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
import label_free_reference as ref

rng = np.random.default_rng(2026)
classes, dim = 5, 12
centres = ref.unit_rows(rng.normal(size=(classes, dim)))
counts_pool = np.array([90, 60, 40, 25, 15])          # long-tailed pool
counts_test = np.array([20, 20, 20, 20, 20])


def draw(counts):
    labels = np.repeat(np.arange(classes), counts)
    x = ref.unit_rows(centres[labels] + 0.45 * rng.normal(size=(len(labels), dim)))
    order = rng.permutation(len(labels))
    return x[order], labels[order]


pool, pool_labels = draw(counts_pool)
test, test_labels = draw(counts_test)
# The text classifier: the centres, biased towards class 0 and rotated a little.
text = ref.unit_rows(centres + 0.35 * rng.normal(size=centres.shape) + 0.3 * centres[0])
pool, test, text = (a.astype(np.float32).astype(np.float64) for a in (pool, test, text))
scale = 20.0
steps = 300

labels = ref.sharpen(ref.sinkhorn(pool @ text.T))
marginal = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
inmap = ref.fit_proxies(pool, text, labels, steps=steps)
transport, prior, _, _ = ref.prior_transport(pool, text, scale, steps=steps, rounds=1, keep_zero_shot_above=None, hedge_uniform=False)
rounds_transport, _, first_kappa, _ = ref.prior_transport(pool, text, scale, steps=steps // 3, rounds=3, keep_zero_shot_above=None, hedge_uniform=False)
hedged_transport, _, _, _ = ref.prior_transport(pool, text, scale, steps=steps // 3, rounds=3, keep_zero_shot_above=None, hedge_uniform=True)
tz, _, _ = ref.transclip_fit(test, text, scale)
fixture = {
    'classes': classes, 'dim': dim, 'logit_scale': scale, 'steps': steps,
    'pool': pool.ravel().tolist(), 'test': test.ravel().tolist(), 'text': text.ravel().tolist(),
    'pool_labels': pool_labels.tolist(), 'test_labels': test_labels.tolist(),
    'sinkhorn_uniform': ref.sinkhorn(pool @ text.T).ravel().tolist(),
    'marginal': marginal.tolist(),
    'sinkhorn_marginal': ref.sinkhorn(pool @ text.T, marginal=marginal).ravel().tolist(),
    'inmap_proxies': inmap.ravel().tolist(),
    'mixture_prior': prior.tolist(),
    'prior_transport_proxies': transport.ravel().tolist(),
    'prior_transport_round_steps': steps // 3,
    'prior_transport_rounds3_proxies': rounds_transport.ravel().tolist(),
    'prior_transport_first_kappa': float(first_kappa),
    'prior_transport_hedged_proxies': hedged_transport.ravel().tolist(),
    'transclip_transductive': tz.ravel().tolist(),
    'transclip_inductive': ref.transclip_inductive(pool, text, test, scale).ravel().tolist(),
    'zlap_transductive': ref.zlap_transductive(test, text).ravel().tolist(),
    'zlap_inductive': ref.zlap_inductive(pool, text, test).ravel().tolist(),
}
out = os.path.join(os.path.dirname(__file__), '..', 'Tests', 'AdaptationTests', 'Fixtures', 'label_free.json')
os.makedirs(os.path.dirname(out), exist_ok=True)
# Values below float32's normal range are written as 0 (JSON readers reject subnormal doubles).
fixture = {k: ([0.0 if isinstance(x, float) and abs(x) < 1e-30 else x for x in v] if isinstance(v, list) else v) for k, v in fixture.items()}
with open(out, 'w') as f:
    json.dump(fixture, f)
acc = lambda s: (s.argmax(1) == test_labels).mean() * 100
print(f'wrote {out}: zero-shot {acc(test @ text.T):.1f}%, InMaP {acc(test @ inmap.T):.1f}%, transport {acc(test @ transport.T):.1f}% (3 rounds {acc(test @ rounds_transport.T):.1f}%, hedged {acc(test @ hedged_transport.T):.1f}%, first κ {first_kappa:.3f}), '
      f'TransCLIP {acc(tz):.1f}%, ZLaP {acc(ref.zlap_transductive(test, text)):.1f}%; prior {np.round(prior, 3)} (true {np.round(counts_pool / counts_pool.sum(), 3)})')
