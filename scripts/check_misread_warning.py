#!/usr/bin/env python3
"""Checks the "systematically misread" warning on the method study's real shifts.

The warning (docs/reliability.md, docs/method-study.md) must fire on the shifts where zero-shot
CLIP reads the classes as other classes (`contrast_inversion`, `inversion`) and stay silent on
every other development and demo shift. It needs each shift's full pool (70 000 images through
the encoder), so it runs on the study's sweep output, not in CI:

    upadapter sweep --spec Configs/study/method-study.yaml
    python3 scripts/check_misread_warning.py sweeps/method-study [CELL_PATTERN]

CELL_PATTERN (a glob, default `*`) picks cells, e.g. `*__seed2`.

Reads every cell's newest metrics.json (`classMarginal.agreement`, `classMarginal.warning`),
prints one line per cell, and exits 1 when a cell disagrees with the expectation or has no
record, 2 when the folder holds no cell.
"""
import glob
import json
import os
import sys

EXPECTED_WARNING = {"contrast_inversion", "inversion"}


def newest_metrics(cell_folder):
    runs = sorted(glob.glob(os.path.join(cell_folder, "*", "metrics.json")))
    return runs[-1] if runs else None


def main(argv):
    sweep = argv[1] if len(argv) > 1 else "sweeps/method-study"
    pattern = argv[2] if len(argv) > 2 else "*"
    cells = sorted(glob.glob(os.path.join(sweep, "cells", pattern)))
    if not cells:
        print(f"check_misread_warning: no cells {pattern} under {sweep}/cells", file=sys.stderr)
        return 2
    failures = 0
    for cell in cells:
        name = os.path.basename(cell)
        shift = name.split("__")[0]
        path = newest_metrics(cell)
        record = json.load(open(path)).get("classMarginal") if path else None
        if record is None:
            print(f"FAIL {name}: no classMarginal record ({path or 'no metrics.json'})")
            failures += 1
            continue
        warned = record.get("warning") is not None
        expected = shift in EXPECTED_WARNING
        status = "ok  " if warned == expected else "FAIL"
        failures += warned != expected
        agreement = record.get("agreement")
        kappa = "—" if agreement is None else f"{agreement:.3f}"
        print(f"{status} {name:40s} κ {kappa:>6s}  warning {'yes' if warned else 'no '} (expected {'yes' if expected else 'no'})")
    print(f"{len(cells) - failures}/{len(cells)} cells as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
