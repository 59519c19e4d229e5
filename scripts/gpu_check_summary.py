#!/usr/bin/env python3
"""The one summary of a GPU check (scripts/gpu_check.sh run OUT): steps, driver, figures, and our
throughput as ratios of PyTorch's on the same GPU. Reads OUT's logs; prints the summary and writes
OUT/summary.json. Standard library only. The format is documented in docs/benchmarks.md.

    python3 scripts/gpu_check_summary.py OUT [DEVICE]
"""
import json
import os
import sys


def read(path):
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return None


def json_in(text):
    """The JSON object in a log (after any lines a command printed first), or None."""
    if not text or "{" not in text:
        return None
    try:
        return json.loads(text[text.index("{"):])
    except ValueError:
        return None


def last_line(text, starting=""):
    lines = [line for line in (text or "").splitlines() if line.startswith(starting)]
    return lines[-1].strip() if lines else None


def number(value, digits=1):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio(ours, theirs):
    return None if ours is None or not theirs else ours / theirs


def main():
    out = sys.argv[1]
    device = sys.argv[2] if len(sys.argv) > 2 else "opencl"
    path = lambda name: os.path.join(out, name)
    summary = {"device_argument": device, "steps": [], "driver": [], "figures": {}, "ratios": {}, "targets": {}}

    for line in (read(path("steps.tsv")) or "").splitlines():
        name, result, seconds = (line.split("\t") + ["", ""])[:3]
        summary["steps"].append({"step": name, "result": result, "seconds": float(seconds or 0)})
    run_log = read(path("run.log")) or ""
    summary["header"] = run_log.splitlines()[0] if run_log else None
    summary["driver"] = [line for line in run_log.splitlines() if line.startswith(("driver:", "glibc:", "WARNING"))]

    kernels = json_in(read(path("bench-kernels.log")))
    figures = {f["name"]: f for f in (kernels or {}).get("figures", [])}
    summary["device"] = (kernels or {}).get("deviceDescription")
    if not summary["device"]:  # bench-kernels did not run: the check's first line names the backend
        checking = last_line(read(path("check.log")), "checking ")
        summary["device"] = checking[len("checking "):] if checking else None
    ours = {
        "matmul_1024": figures.get("matmul square 1024³", {}).get("value"),
        "matmul_4096": figures.get("matmul square 4096³", {}).get("value"),
    }
    builds = {name: f["value"] for name, f in figures.items() if name.startswith("program build")}
    encoder = json_in(read(path("bench-encoder.log")))
    if encoder:
        ours["images_per_second"] = encoder.get("imagesPerSecond")
        launches = encoder.get("imageLaunches") or {}
        ours["host_us_per_launch"] = launches.get("hostMicrosecondsPerLaunch")
        ours["launches_per_batch"] = launches.get("launchesPerBatch")
    torch = json_in(read(path("torch.json"))) or json_in(read(path("torch.log"))) or {}
    theirs = {}
    if torch.get("available"):
        theirs = {
            "device": torch.get("device"),
            "images_per_second_fp32": torch["images_per_second"].get("fp32"),
            "images_per_second_tf32": torch["images_per_second"].get("tf32"),
            "matmul_1024_fp32": torch["matmul_gflops"].get("fp32", {}).get("1024"),
            "matmul_4096_fp32": torch["matmul_gflops"].get("fp32", {}).get("4096"),
            "matmul_1024_tf32": torch["matmul_gflops"].get("tf32", {}).get("1024"),
            "matmul_4096_tf32": torch["matmul_gflops"].get("tf32", {}).get("4096"),
        }
    summary["figures"] = {"ours": ours, "torch": theirs or {"reason": torch.get("reason", "torch step not run")},
                          "program_build_ms": builds}
    ratios = {
        "matmul_1024_vs_fp32": ratio(ours.get("matmul_1024"), theirs.get("matmul_1024_fp32")),
        "matmul_4096_vs_fp32": ratio(ours.get("matmul_4096"), theirs.get("matmul_4096_fp32")),
        "matmul_4096_vs_tf32": ratio(ours.get("matmul_4096"), theirs.get("matmul_4096_tf32")),
        "images_vs_fp32": ratio(ours.get("images_per_second"), theirs.get("images_per_second_fp32")),
        "images_vs_tf32": ratio(ours.get("images_per_second"), theirs.get("images_per_second_tf32")),
    }
    summary["ratios"] = ratios
    check = last_line(read(path("check.log")), "")
    tune = last_line(read(path("tune.log")), "fastest:")
    parity = last_line(read(path("parity.log")), "max |")
    summary.update(check=check, tune=tune, parity=parity)

    def target(name, value, goal, passed):
        summary["targets"][name] = {"value": value, "goal": goal, "met": passed}
        return "met" if passed else ("n/a" if passed is None else "NOT met")

    lines = ["=== GPU check summary ===", summary["header"] or "(no run.log)"]
    lines += [f"device: {summary['device'] or 'n/a'}"]
    lines += summary["driver"]
    lines.append("steps:")
    for entry in summary["steps"]:
        lines.append(f"  {entry['step']:14s} {entry['result']:34s} {entry['seconds']:7.1f} s")
    lines.append(f"{'figures:':42s} {'ours':>12s} {'PyTorch fp32':>13s} {'PyTorch TF32':>13s}  {'ours/fp32':>9s}  {'ours/TF32':>9s}")
    rows = [
        ("matmul fp32 1024³, GFLOP/s", ours.get("matmul_1024"), theirs.get("matmul_1024_fp32"), theirs.get("matmul_1024_tf32")),
        ("matmul fp32 4096³, GFLOP/s", ours.get("matmul_4096"), theirs.get("matmul_4096_fp32"), theirs.get("matmul_4096_tf32")),
        ("ViT-B/32 images/s, batch 64", ours.get("images_per_second"), theirs.get("images_per_second_fp32"),
         theirs.get("images_per_second_tf32")),
    ]
    for label, mine, fp32, tf32 in rows:
        first, second = ratio(mine, fp32), ratio(mine, tf32)
        lines.append(f"  {label:40s} {number(mine):>12s} {number(fp32):>13s} {number(tf32):>13s}"
                     f"  {number(first, 2):>9s}  {number(second, 2):>9s}")
    if not theirs:
        lines.append(f"  PyTorch: {torch.get('reason', 'torch step not run')}")
    if builds:
        lines.append("  program builds: " + ", ".join(f"{name[len('program build '):]} {value:.0f} ms" for name, value in builds.items()))
    if ours.get("host_us_per_launch") is not None:
        lines.append(f"  host time per launch: {ours['host_us_per_launch']:.2f} µs ({number(ours.get('launches_per_batch'), 0)} launches per image batch)")
    lines.append(f"  tuning: {tune or 'n/a'}")
    lines.append(f"  parity: {parity or 'n/a'}")
    lines.append(f"  kernels check: {check or 'n/a'}")
    lines.append("targets (issue 20):")
    matmul_ratio = ratios["matmul_4096_vs_fp32"]
    lines.append("  OpenCL matmul 4096³ >= 50 % of torch.matmul fp32: "
                 + target("matmul_4096", matmul_ratio, 0.5, None if matmul_ratio is None else matmul_ratio >= 0.5))
    image_ratio = ratios["images_vs_fp32"]
    lines.append("  encoder images/s >= 50 % of PyTorch fp32: "
                 + target("images", image_ratio, 0.5, None if image_ratio is None else image_ratio >= 0.5))
    host = ours.get("host_us_per_launch")
    lines.append("  <= 5 µs host time per launch: " + target("host_us_per_launch", host, 5, None if host is None else host <= 5))
    check_passed = None if not check else (" 0 failed" in check and "passed" in check)
    lines.append("  kernels check (--all-variants on a GPU run) all pass: " + target("check", check, "0 failed", check_passed))
    lines.append(f"logs: {out}")
    print("\n".join(lines))
    with open(path("summary.json"), "w") as file:
        json.dump(summary, file, indent=2, sort_keys=True, ensure_ascii=False)


if __name__ == "__main__":
    main()
