// The ConfidentSelector module.
