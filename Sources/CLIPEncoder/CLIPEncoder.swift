// The CLIPEncoder module.
