#!/usr/bin/env python3
"""Times one training epoch of the prototype head in PyTorch on the CPU.

The head and step are those of PrototypeTrainer (and of Tip-Adapter-F's training loop):
    logits = 100 F W^T + alpha * exp(-beta * (1 - F P^T)) @ L
cross-entropy against the labels, backward, torch.optim.AdamW (lr 1e-3, eps 1e-4, weight decay
0.01) and a per-step CosineAnnealingLR, batches of 256 rows in a seeded shuffled order.

The Swift side is `upadapter bench trainer` (PrototypeTrainer.benchmarkEpoch), run by this script
after the PyTorch figures of each case, in the same run: the same sizes, random unit-norm inputs
and the same median-of-repeats timing after one warm-up run. With --epochs E both sides time runs
of E epochs and divide by E (the recipe trains 20 epochs; work done once per run, such as
upadapter's zero-shot logits of every row, is then shared as in a real run).

Usage: swift build -c release
       python3 scripts/bench_trainer_vs_torch.py [--threads N] [--repeats R] [--epochs E]
                                                 [--cases small,large,cache] [--device cpu]
"""

import argparse
import json
import math
import pathlib
import platform
import subprocess
import time

import torch

CASES = {
    # name: (rows N, classes C, dim D, batch, kind)
    "small": (1600, 100, 512, 256, "mean"),      # N = 16 * C, the default selection for 100 classes
    "imagenet16": (16000, 1000, 512, 256, "mean"),  # 16 per class on ImageNet
    "large": (50000, 1000, 512, 256, "mean"),
    "cache": (1600, 100, 512, 256, "cache"),     # Tip-Adapter-F style: every selected row is a key
}


def unit_rows(generator, rows, dim):
    x = torch.randn(rows, dim, generator=generator)
    return x / x.norm(dim=1, keepdim=True)


ROOT = pathlib.Path(__file__).resolve().parent.parent


def processor_name():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown processor"


def epoch_seconds(rows, classes, dim, batch, kind, repeats, epochs=1, seed=7):
    generator = torch.Generator().manual_seed(seed)
    W = unit_rows(generator, classes, dim)
    X = unit_rows(generator, rows, dim)
    y = torch.randint(0, classes, (rows,), generator=generator)
    if kind == "mean":
        sums = torch.zeros(classes, dim).index_add_(0, y, X)
        counts = torch.bincount(y, minlength=classes)
        keys = torch.where(counts[:, None] > 0, sums / sums.norm(dim=1, keepdim=True).clamp_min(1e-12), W)
        key_classes = torch.arange(classes)
    else:
        order = torch.argsort(y, stable=True)
        keys, key_classes = X[order].clone(), y[order]
    L = torch.nn.functional.one_hot(key_classes, classes).float()
    alpha, beta = 1.0, 5.5

    def run_epochs():
        P = torch.nn.Parameter(keys.clone())
        optimizer = torch.optim.AdamW([P], lr=1e-3, eps=1e-4, weight_decay=0.01)
        steps = math.ceil(rows / batch) * epochs
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        start = time.perf_counter()
        for _ in range(epochs):
            permutation = torch.randperm(rows, generator=generator)
            losses = []
            for first in range(0, rows, batch):
                index = permutation[first:first + batch]
                features = X[index]
                logits = 100.0 * features @ W.t() + alpha * torch.exp(-beta * (1 - features @ P.t())) @ L
                loss = torch.nn.functional.cross_entropy(logits, y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                losses.append(loss.detach())
            torch.stack(losses).tolist()
        return (time.perf_counter() - start) / epochs

    run_epochs()  # warm-up
    times = sorted(run_epochs() for _ in range(repeats))
    return times[len(times) // 2]


def upadapter_seconds(binary, device, rows, classes, dim, batch, kind, repeats, epochs):
    output = subprocess.run(
        [binary, "bench", "trainer", "--device", device, "--rows", str(rows), "--classes", str(classes),
         "--dimension", str(dim), "--batch-size", str(batch), "--kind", kind, "--repeats", str(repeats),
         "--epochs", str(epochs), "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(output)["seconds_per_epoch"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", default="small,large,cache")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run (both sides)")
    parser.add_argument("--device", default="cpu", help="upadapter's --device; 'none' times PyTorch only")
    parser.add_argument("--binary", default=str(ROOT / ".build/release/upadapter"))
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    print(f"{processor_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"runs of {arguments.epochs} epochs; upadapter --device {arguments.device}")
    print(f"{'case':<11} {'N':>6} {'C':>5} {'D':>4} {'batch':>5} {'kind':<5} {'torch s/epoch':>13} "
          f"{'upadapter s/epoch':>17} {'ratio':>6}")
    for name in arguments.cases.split(","):
        rows, classes, dim, batch, kind = CASES[name]
        seconds = epoch_seconds(rows, classes, dim, batch, kind, arguments.repeats, arguments.epochs)
        ours = float("nan") if arguments.device == "none" else upadapter_seconds(
            arguments.binary, arguments.device, rows, classes, dim, batch, kind, arguments.repeats, arguments.epochs)
        print(f"{name:<11} {rows:>6} {classes:>5} {dim:>4} {batch:>5} {kind:<5} {seconds:>13.4f} {ours:>17.4f} "
              f"{seconds / ours:>5.2f}x")


if __name__ == "__main__":
    main()
