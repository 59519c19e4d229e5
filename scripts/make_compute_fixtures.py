#!/usr/bin/env python3
"""Writes Tests/ComputeTests/Fixtures/reference_ops.json: inputs and PyTorch outputs of the core
operations at small odd shapes, so the CPU twin itself is checked against the upstream library.

Requires: pip install torch  (CPU build). Run from the repository root:
    python3 scripts/make_compute_fixtures.py
"""
import json
import pathlib

import torch

torch.manual_seed(0)
cases = []


def tensor(*shape, scale=1.0):
    return (torch.rand(*shape, dtype=torch.float64) * 2 - 1) * scale


def add(name, op, inputs, output, **params):
    cases.append({
        "name": name,
        "operation": op,
        "params": params,
        "inputs": [{"shape": list(t.shape), "values": t.flatten().tolist()} for t in inputs],
        "output": {"shape": list(output.shape), "values": output.flatten().tolist()},
    })


a, b, bias = tensor(7, 5), tensor(13, 5), tensor(13)
add("linear 7x5 -> 13 with bias", "matmul", [a, b, bias], torch.nn.functional.linear(a, b, bias), transposeB=True)
a, b = tensor(3, 9, 6), tensor(3, 6, 11)
add("batched 3 x (9x6 . 6x11)", "matmul", [a, b], torch.bmm(a, b))
a, b = tensor(6, 9), tensor(11, 6)
add("At . Bt", "matmul", [a, b], a.T @ b.T, transposeA=True, transposeB=True)

x = tensor(4 * 5, 5, scale=4)
mask = torch.full((5, 5), float("-inf")).triu(1)
scores = (x.view(4, 5, 5) * 0.5 + mask).view(20, 5)
add("causal softmax of 4 stacked 5x5, scale 0.5", "softmax", [x], torch.softmax(scores, dim=-1), scale=0.5, causal=True)
x = tensor(3, 17, scale=10)
add("softmax [3, 17] scale 2", "softmax", [x], torch.softmax(2 * x, dim=-1), scale=2.0, causal=False)

x, w, bb = tensor(5, 33, scale=3), tensor(33), tensor(33)
add("layer norm [5, 33]", "layerNorm", [x, w, bb], torch.nn.functional.layer_norm(x, (33,), w, bb, eps=1e-5), epsilon=1e-5)

x = tensor(6, 19)
add("l2 normalize [6, 19]", "l2Normalize", [x], torch.nn.functional.normalize(x, dim=-1))
a, b = tensor(4, 10), tensor(7, 10)
add("cosine [4,10] vs [7,10]", "cosineSimilarity", [a, b],
    torch.nn.functional.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1))

x = tensor(2, 29, scale=6)
add("quick gelu", "quickGELU", [x], x * torch.sigmoid(1.702 * x))
add("gelu", "gelu", [x], torch.nn.functional.gelu(x))

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/ComputeTests/Fixtures/reference_ops.json"
path.write_text(json.dumps({"generator": "scripts/make_compute_fixtures.py", "torch": torch.__version__, "cases": cases}))
print(f"wrote {len(cases)} cases to {path}")
