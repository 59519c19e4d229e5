#!/usr/bin/env python3
"""Writes Tests/PseudoLabelingTests/Fixtures/balanced_accuracy.json: seeded label arrays and
their balanced accuracy (mean per-class recall over the classes present in the true labels),
computed here with numpy from the definition, independently of the Swift code. The same values
as scikit-learn's balanced_accuracy_score(y_true, y_pred) (adjusted=False).

Cases: balanced classes, long-tailed classes (10:1 and 50:1), a class that is only predicted
(never true), labels with gaps (classes absent from the true labels), and a single class.
"""
import json
import pathlib

import numpy as np


def balanced_accuracy(true, predicted):
    classes = np.unique(true)
    recalls = [np.mean(predicted[true == c] == c) for c in classes]
    return float(np.mean(recalls))


def long_tailed_labels(rng, classes, largest, imbalance):
    counts = [int(round(largest * imbalance ** (-rank / (classes - 1)))) for rank in range(classes)]
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    return rng.permutation(labels)


def noisy_predictions(rng, true, classes, error_rate_per_class):
    predicted = true.copy()
    for position, label in enumerate(true):
        if rng.random() < error_rate_per_class[label]:
            predicted[position] = rng.integers(0, classes)
    return predicted


def main():
    rng = np.random.default_rng(19)
    cases = []

    true = rng.integers(0, 10, size=500)
    cases.append(("balanced, 10 classes", true, noisy_predictions(rng, true, 10, np.full(10, 0.3))))

    for imbalance in (10, 50):
        true = long_tailed_labels(rng, 10, 400, imbalance)
        # The tail is misread more often than the head: top-1 and balanced accuracy differ.
        errors = np.linspace(0.05, 0.9, 10)
        cases.append((f"long-tailed {imbalance}:1", true, noisy_predictions(rng, true, 10, errors)))

    true = rng.integers(0, 4, size=200)
    predicted = noisy_predictions(rng, true, 4, np.full(4, 0.4))
    predicted[rng.random(200) < 0.2] = 6  # a class that is predicted but never true
    cases.append(("predicted-only class", true, predicted))

    true = rng.choice(np.array([1, 3, 7]), size=90)  # classes 0, 2, 4-6 absent from the truth
    cases.append(("labels with gaps", true, noisy_predictions(rng, true, 8, np.full(8, 0.5))))

    true = np.full(17, 2)
    predicted = true.copy()
    predicted[:5] = 0
    cases.append(("single class", true, predicted))

    fixture = {
        "cases": [
            {
                "name": name,
                "trueLabels": [int(v) for v in true],
                "predictedLabels": [int(v) for v in predicted],
                "balancedAccuracy": balanced_accuracy(true, predicted),
                "top1Accuracy": float(np.mean(true == predicted)),
            }
            for name, true, predicted in cases
        ]
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "Tests/PseudoLabelingTests/Fixtures/balanced_accuracy.json"
    path.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    for case in fixture["cases"]:
        print(f"{case['name']}: balanced {case['balancedAccuracy']:.4f}, top-1 {case['top1Accuracy']:.4f}")


if __name__ == "__main__":
    main()
