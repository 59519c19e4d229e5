#!/usr/bin/env python3
"""Writes the fixtures of the PseudoLabeling and PrototypeTrainer tests.

Selector (numpy, float64 from float32 inputs): text classifier from template embeddings
(normalise, average, normalise), zero-shot logits 100 * F W^T, softmax confidences, pseudo-labels,
and top-K-per-class selection with ties broken by lower index and an optional minimum confidence.

Trainer (PyTorch, float32): the affinity head
    logits = 100 F W^T + alpha * exp(-beta * (1 - F P^T)) @ L
trained with cross-entropy, torch.optim.AdamW and CosineAnnealingLR stepped per batch, with the
batch order written out explicitly, for `mean` prototypes (one per class, a class without samples
falls back to its text-classifier row) and `cache` prototypes (keys sorted by class, values
one-hot, features averaged over augmented views).

Usage: python3 scripts/make_trainer_fixtures.py   (from the repository root)
"""

import json
import math
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
SELECTOR_DIR = ROOT / "Tests" / "PseudoLabelingTests" / "Fixtures"
TRAINER_DIR = ROOT / "Tests" / "PrototypeTrainerTests" / "Fixtures"


def as_list(array):
    """float32 values as JSON numbers (each float32 is exactly representable as a double)."""
    return [float(x) for x in np.asarray(array, dtype=np.float32).reshape(-1)]


def normalise_rows(x):
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norms > 0, x / np.where(norms > 0, norms, 1), 0)


def unit_rows(rng, rows, width):
    return normalise_rows(rng.standard_normal((rows, width))).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Selector


def text_classifier(embeddings):
    """[classes, templates, dim] -> [classes, dim]."""
    per_template = normalise_rows(embeddings.astype(np.float64))
    return normalise_rows(per_template.mean(axis=1))


def select(labels, confidences, classes, per_class, minimum=None):
    indices, pseudo, conf, counts = [], [], [], []
    for c in range(classes):
        candidates = [i for i in range(len(labels)) if labels[i] == c and (minimum is None or confidences[i] >= minimum)]
        candidates.sort(key=lambda i: (-confidences[i], i))
        chosen = candidates[:per_class]
        indices += chosen
        pseudo += [c] * len(chosen)
        conf += [float(confidences[i]) for i in chosen]
        counts.append(len(chosen))
    return {"indices": indices, "pseudoLabels": pseudo, "confidences": conf, "perClassCounts": counts}


def make_selector_fixture():
    classes, templates, dim, images = 7, 3, 24, 151
    for seed in range(101, 300):
        # CLIP-like geometry: image and text embeddings share a dominant direction (the modality
        # gap), so cosine similarities sit in a narrow band and 100x logits differ by a few units.
        rng = np.random.default_rng(seed)
        shared = normalise_rows(rng.standard_normal((1, dim)))[0]
        centers = normalise_rows(rng.standard_normal((classes, dim)))
        embeddings = (2 * shared + centers[:, None, :]
                      + 0.3 * rng.standard_normal((classes, templates, dim)) / math.sqrt(dim)).astype(np.float32)
        truth = rng.integers(0, classes, images)
        features = normalise_rows(
            shared + 0.08 * (centers[truth] + rng.standard_normal((images, dim)) / math.sqrt(dim))).astype(np.float32)
        weights = text_classifier(embeddings)
        logits = 100.0 * features.astype(np.float64) @ weights.T
        top2 = np.sort(logits, axis=1)[:, -2:]
        if np.min(top2[:, 1] - top2[:, 0]) < 1e-3:
            continue
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        labels = probabilities.argmax(axis=1)
        confidences = probabilities.max(axis=1)
        # Confidences of one class must be clearly apart so that float32 rounding cannot reorder them,
        # and clearly away from the minimum-confidence threshold used below.
        ok = True
        for c in range(classes):
            values = np.sort(confidences[labels == c])
            if len(values) > 1 and np.min(np.diff(values)) < 1e-5:
                ok = False
        if np.min(np.abs(confidences - 0.6)) < 1e-4 or np.max(confidences) > 0.999 or np.median(confidences) > 0.95:
            ok = False
        if ok and len(set(labels.tolist())) == classes:
            break
    else:
        raise SystemExit("no seed gave well-separated selector data")

    configurations = []
    for per_class, minimum in [(4, None), (3, 0.6), (100, None), (0, None)]:
        configurations.append({
            "perClass": per_class,
            "minimumConfidence": minimum,
            "expected": select(labels.tolist(), confidences.tolist(), classes, per_class, minimum),
        })

    # Exact ties: the lower index wins; the threshold keeps equality.
    tie_labels = [0, 1, 0, 0, 1, 2, 0, 1, 0, 2]
    tie_confidences = [0.5, 0.75, 0.75, 0.5, 0.75, 0.25, 0.75, 0.5, 0.25, 0.5]
    ties = {
        "labels": tie_labels,
        "confidences": tie_confidences,
        "classes": 4,
        "cases": [
            {"perClass": 2, "minimumConfidence": None, "expected": select(tie_labels, tie_confidences, 4, 2)},
            {"perClass": 3, "minimumConfidence": 0.5, "expected": select(tie_labels, tie_confidences, 4, 3, 0.5)},
        ],
    }

    fixture = {
        "classes": classes, "templates": templates, "dim": dim, "images": images, "seed": seed,
        "templateEmbeddings": as_list(embeddings),
        "features": as_list(features),
        "trueLabels": truth.tolist(),
        "classifier": [float(x) for x in weights.reshape(-1)],
        "labels": labels.tolist(),
        "confidences": [float(x) for x in confidences],
        "configurations": configurations,
        "ties": ties,
    }
    SELECTOR_DIR.mkdir(parents=True, exist_ok=True)
    (SELECTOR_DIR / "selector.json").write_text(json.dumps(fixture))
    print(f"selector: seed {seed}, median confidence {np.median(confidences):.3f}, "
          f"selected {[len(c['expected']['indices']) for c in configurations]}")


# ------------------------------------------------------------------------------------------------
# Trainer


def mean_prototypes(features, labels, weights):
    classes, dim = weights.shape
    result = np.zeros((classes, dim))
    for c in range(classes):
        rows = features[labels == c].astype(np.float64)
        result[c] = weights[c] if len(rows) == 0 else normalise_rows(rows.sum(axis=0, keepdims=True))[0]
    return result.astype(np.float32)


def train_torch(weights, keys, key_classes, features, labels, alpha, beta, lr, eps, weight_decay, epochs, batch, orders, test):
    """Runs the head in PyTorch; returns the step losses, learning rates, final keys, the gradient of
    the first batch at the initial keys, and the fused logits of `test` with the final keys."""
    classes = weights.shape[0]
    W = torch.tensor(weights)
    X = torch.tensor(features)
    y = torch.tensor(labels, dtype=torch.long)
    L = torch.nn.functional.one_hot(torch.tensor(key_classes, dtype=torch.long), classes).float()
    P = torch.nn.Parameter(torch.tensor(keys).clone())

    def fused(f, p):
        return 100.0 * f @ W.t() + alpha * torch.exp(-beta * (1 - f @ p.t())) @ L

    first = X[torch.tensor(orders[0][:batch])]
    loss = torch.nn.functional.cross_entropy(fused(first, P), y[torch.tensor(orders[0][:batch])])
    (gradient,) = torch.autograd.grad(loss, P)

    optimizer = torch.optim.AdamW([P], lr=lr, eps=eps, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(labels) / batch)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    losses, rates = [], []
    for epoch in range(epochs):
        order = orders[epoch]
        for start in range(0, len(order), batch):
            rows = torch.tensor(order[start:start + batch])
            rates.append(optimizer.param_groups[0]["lr"])
            loss = torch.nn.functional.cross_entropy(fused(X[rows], P), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    with torch.no_grad():
        test_logits = fused(torch.tensor(test), P).numpy()
    return losses, rates, P.detach().numpy(), gradient.numpy(), test_logits


def make_trainer_fixture(name, kind, classes, dim, rows, batch, epochs, alpha, beta, lr, weight_decay, seed, views=1):
    rng = np.random.default_rng(seed)
    # CLIP-like geometry as for the selector, so that the zero-shot logits differ by a few units
    # and the loss and its gradient are far from zero.
    shared = normalise_rows(rng.standard_normal((1, dim)))[0]
    centers = normalise_rows(rng.standard_normal((classes, dim)))
    weights = normalise_rows(2 * shared + centers + 0.3 * rng.standard_normal((classes, dim)) / math.sqrt(dim)).astype(np.float32)
    # The last class gets no training rows (the mean prototypes' fallback).
    labels = rng.integers(0, classes - 1, rows)
    view_features = np.stack([
        normalise_rows(shared + 0.08 * (centers[labels] + 1.5 * rng.standard_normal((rows, dim)) / math.sqrt(dim)))
        for _ in range(views)
    ]).astype(np.float32)
    features = normalise_rows(view_features.astype(np.float64).mean(axis=0)).astype(np.float32)
    test = normalise_rows(shared + 0.08 * rng.standard_normal((9, dim))).astype(np.float32)

    if kind == "mean":
        keys = mean_prototypes(features, labels, weights.astype(np.float64))
        key_classes = list(range(classes))
    else:
        order = sorted(range(rows), key=lambda i: (labels[i], i))
        keys = features[order]
        key_classes = [int(labels[i]) for i in order]
    orders = [rng.permutation(rows).tolist() for _ in range(epochs)]
    eps = 1e-4
    losses, rates, final, gradient, test_logits = train_torch(
        weights, keys, key_classes, features, labels, alpha, beta, lr, eps, weight_decay, epochs, batch, orders, test)

    fixture = {
        "kind": kind, "classes": classes, "dim": dim, "rows": rows, "views": views,
        "batchSize": batch, "epochs": epochs, "alpha": alpha, "beta": beta,
        "learningRate": lr, "epsilon": eps, "weightDecay": weight_decay,
        "textClassifier": as_list(weights),
        "viewFeatures": as_list(view_features),
        "features": as_list(features),
        "labels": labels.tolist(),
        "initialKeys": as_list(keys),
        "keyClasses": key_classes,
        "batchOrders": orders,
        "firstBatchGradient": as_list(gradient),
        "stepLosses": losses,
        "learningRates": rates,
        "finalKeys": as_list(final),
        "testFeatures": as_list(test),
        "testLogits": as_list(test_logits),
    }
    TRAINER_DIR.mkdir(parents=True, exist_ok=True)
    (TRAINER_DIR / f"{name}.json").write_text(json.dumps(fixture))
    change = float(np.abs(final - keys).max())
    print(f"{name}: {len(losses)} steps, losses {losses[0]:.5f} -> {losses[-1]:.5f}, max key change {change:.2e}")


def main():
    torch.manual_seed(0)
    make_selector_fixture()
    make_trainer_fixture("trainer_mean", "mean", classes=7, dim=33, rows=37, batch=8, epochs=1,
                         alpha=2.0, beta=5.5, lr=1e-3, weight_decay=0.01, seed=3)
    make_trainer_fixture("trainer_cache", "cache", classes=5, dim=29, rows=18, batch=8, epochs=2,
                         alpha=1.17, beta=3.0, lr=5e-3, weight_decay=0.05, seed=4, views=2)


if __name__ == "__main__":
    main()
