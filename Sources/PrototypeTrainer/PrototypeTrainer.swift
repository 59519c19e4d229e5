// The PrototypeTrainer module.
