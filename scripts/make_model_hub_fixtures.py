#!/usr/bin/env python3
"""Writes Tests/ModelHubTests/Fixtures/: a fixture hub and SHA-256 test vectors, with every digest
computed by Python's hashlib (the reference the Swift SHA-256 and the downloader are checked against).

- sha256_vectors.json: random messages of every length class around SHA-256's 64-byte block and
  its 56-byte padding boundary (0…130 bytes, then 1000, 4095, 65 537), hex-encoded, with digests.
- hub/<owner>/<name>/: two tiny checkpoints laid out as files, one per folder format
  (Hugging Face and open_clip), and hub/manifest.json listing each repository's commit and files
  with size and, for weights (stored with LFS on the real hub), sha256.

Standard library only. Run from the repository root:
    python3 scripts/make_model_hub_fixtures.py
"""
import hashlib
import json
import pathlib
import random

root = pathlib.Path("Tests/ModelHubTests/Fixtures")
rng = random.Random(20261202)

lengths = list(range(0, 131)) + [1000, 4095, 65537]
vectors = []
for length in lengths:
    message = rng.randbytes(length)
    vectors.append({"hex": message.hex(), "sha256": hashlib.sha256(message).hexdigest()})
root.mkdir(parents=True, exist_ok=True)
(root / "sha256_vectors.json").write_text(json.dumps(vectors, separators=(",", ":")) + "\n")


def text(value):
    return (json.dumps(value, indent=2) + "\n").encode()


repositories = {
    "test-org/tiny-clip": {
        "config.json": text({"model_type": "clip", "projection_dim": 8}),
        "preprocessor_config.json": text({"crop_size": 32, "image_mean": [0.5, 0.5, 0.5]}),
        "vocab.json": text({"a</w>": 0, "b</w>": 1}),
        "merges.txt": b"#version: 0.2\na b\n",
        "model.safetensors": rng.randbytes(150_001),
        "pytorch_model.bin": rng.randbytes(999),
        "README.md": b"# tiny-clip\n",
    },
    "test-org/tiny-open-clip": {
        "open_clip_config.json": text({"model_cfg": {"embed_dim": 8}}),
        "open_clip_model.safetensors": rng.randbytes(70_003),
        "open_clip_pytorch_model.bin": rng.randbytes(777),
    },
}
lfs_suffixes = (".safetensors", ".bin")
manifest = {}
for model, files in repositories.items():
    folder = root / "hub" / model
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, data in sorted(files.items()):
        (folder / name).write_bytes(data)
        entry = {"rfilename": name, "size": len(data)}
        if name.endswith(lfs_suffixes):
            entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        else:
            # Files kept in git are listed with their git blob id, as `git hash-object` gives it.
            entry["blobId"] = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        entries.append(entry)
    commit = hashlib.sha1(model.encode()).hexdigest()
    manifest[model] = {"commit": commit, "siblings": entries}
(root / "hub" / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
print("wrote", root)
