#!/usr/bin/env python3
"""Writes Tests/ExperimentsTests/Fixtures/shift_digests.json: SHA-256 digests of images under each
demo shift, computed by the demo's own shift code (scripts/demo_shifts.py), for the Swift
transforms to reproduce byte for byte.

* "synthetic": four synthetic 28x28 images (indices 5..8; the formula is repeated in the Swift
  test) under every shift.
* "fashion_mnist_test_64": the first 64 Fashion-MNIST test images (Debian package
  dataset-fashion-mnist) under every shift.

    python3 scripts/make_shift_fixtures.py
"""
import gzip
import hashlib
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import demo_shifts  # noqa: E402

images = np.zeros((4, 28, 28), np.int64)
for k in range(4):
    i = 5 + k
    for r in range(28):
        for c in range(28):
            images[k, r, c] = (3 * r * r + 17 * c + 59 * i + 11 * ((r * c) % 7) + 40 * (r // 5)) % 256
images[3] = 77
images = images.astype(np.uint8)
synthetic = {name: hashlib.sha256(demo_shifts.apply_shift(name, images, first_index=5).tobytes()).hexdigest()
             for name in demo_shifts.SHIFT_NAMES}

with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as handle:
    test = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)
fashion = {name: hashlib.sha256(demo_shifts.apply_shift(name, test[:64], first_index=0).tobytes()).hexdigest()
           for name in demo_shifts.SHIFT_NAMES}

path = ROOT / "Tests/ExperimentsTests/Fixtures/shift_digests.json"
path.write_text(json.dumps({"generator": "scripts/make_shift_fixtures.py", "synthetic": synthetic,
                            "fashion_mnist_test_64": fashion}, indent=2, sort_keys=True) + "\n")
print(f"wrote {path}")
