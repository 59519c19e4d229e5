#!/usr/bin/env bash
# GPU check: everything a machine with a GPU and an OpenCL driver can tell us, in one run that
# fits in 10 minutes, without a Swift toolchain on that machine.
#
#   scripts/gpu_check.sh bundle [OUT.tar.gz]   on a build machine: a static release binary
#                                              (swift build -c release --static-swift-stdlib) with
#                                              its kernels, the demo model and configs, and this script
#   scripts/gpu_check.sh run [DEVICE]          on the GPU machine, from the unpacked bundle (or a
#                                              checkout with .build/release): the steps below, each
#                                              logged to gpu-check/<step>.log, then one summary
#
# Steps of `run` (DEVICE defaults to `opencl`, which prefers a GPU and says which it took):
#   devices           upadapter devices (platforms, devices, kernel variants, what auto/opencl pick)
#   check-all-variants  kernels check --all-variants: every kernel variant against the plain-loop twin
#   bench-kernels     kernels bench --json on DEVICE, and on the CPU backend for comparison
#   parity            image and text embeddings of a random ViT-B/32 on DEVICE vs the CPU backend
#   bench-encoder     bench encoder --profile on the random ViT-B/32 (launches/batch, µs/launch)
#   demo              one demo shift (needs /usr/share/datasets/fashion-mnist; skipped otherwise)
#
# Needs on the GPU machine: the OpenCL ICD loader and a driver (libOpenCL.so.1, e.g. the vendor's
# driver or nvidia-opencl-icd), OpenBLAS, libpng, libjpeg-turbo, zlib, python3 (standard library
# only; it writes the random model and compares embeddings), `timeout` (coreutils), and libcurl
# (libcurl.so.4: `model download` uses it; building the bundle needs libcurl4-openssl-dev).
# Environment: GPU_CHECK_BUDGET (seconds per step, default 240), GPU_CHECK_SKIP (step names to
# skip, space-separated), UPADAPTER_* variables pass through.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

bundle() {
    local output="${1:-upadapter-gpu-check.tar.gz}"
    local root
    root="$(cd "$here/.." && pwd)"
    cd "$root" || exit 1
    swift build -c release --static-swift-stdlib || exit 1
    local staging
    staging="$(mktemp -d)/upadapter-gpu-check"
    mkdir -p "$staging/bin" "$staging/scripts" "$staging/Models" "$staging/Configs"
    cp .build/release/upadapter "$staging/bin/"
    # OpenAI's BPE vocabulary, for open_clip folders without tokenizer files.
    cp -r .build/release/UPAdapter_CLIPEncoder.resources "$staging/bin/"
    cp -r Kernels "$staging/Kernels"
    cp -r Models/demo-clip "$staging/Models/"
    cp -r Configs/demo "$staging/Configs/"
    cp scripts/gpu_check.sh scripts/make_random_clip.py "$staging/scripts/"
    tar -C "$(dirname "$staging")" -czf "$output" upadapter-gpu-check || exit 1
    echo "wrote $output ($(du -h "$output" | cut -f1)); on the GPU machine:"
    echo "  tar xzf $(basename "$output") && cd upadapter-gpu-check && scripts/gpu_check.sh run"
    echo "shared libraries the binary needs there:"
    ldd .build/release/upadapter | awk '{print "  " $1}' | grep -v -e linux-vdso -e ld-linux
}

run() {
    # Globals, not locals: the step functions below read them.
    device="${1:-opencl}"
    root="$(cd "$here/.." && pwd)"
    cd "$root" || exit 1
    binary=bin/upadapter
    [ -x "$binary" ] || binary=.build/release/upadapter
    if [ ! -x "$binary" ]; then
        echo "no upadapter binary (bin/upadapter of a bundle, or .build/release/upadapter)"; exit 1
    fi
    # The bundle's kernels are read from disk; a checkout's binary embeds its own.
    [ -d Kernels ] && export UPADAPTER_KERNEL_DIR="$root/Kernels"
    budget="${GPU_CHECK_BUDGET:-240}"
    logs="$root/gpu-check"
    mkdir -p "$logs"
    summary=()
    failures=0

    step() {  # step NAME COMMAND... : runs with the time budget, records status and seconds
        local name="$1"; shift
        if [[ " ${GPU_CHECK_SKIP:-} " == *" $name "* ]]; then
            summary+=("$(printf '%-22s %-10s' "$name" "skipped (GPU_CHECK_SKIP)")"); return 0
        fi
        local started status
        started=$(date +%s.%N)
        if declare -F "$1" >/dev/null; then  # a shell function of this script: its commands are short
            "$@" >"$logs/$name.log" 2>&1
        else
            timeout "$budget" "$@" >"$logs/$name.log" 2>&1
        fi
        status=$?
        local seconds
        seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        local result="ok"
        if [ $status -eq 124 ]; then result="TIMEOUT"; failures=$((failures + 1));
        elif [ $status -ne 0 ]; then result="FAIL ($status)"; failures=$((failures + 1)); fi
        summary+=("$(printf '%-22s %-10s %7ss  %s' "$name" "$result" "$seconds" "${NOTE:-}")")
        NOTE=""
        echo "[$result] $name (${seconds}s) → $logs/$name.log"
    }

    echo "GPU check of $device on $(hostname), $(date -u +%Y-%m-%dT%H:%M:%SZ); CPU: $(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
    NOTE=""
    step devices "$binary" devices
    step check-all-variants "$binary" kernels check --device "$device" --all-variants
    step bench-kernels "$binary" kernels bench --device "$device" --json
    step bench-kernels-cpu "$binary" kernels bench --device cpu --json

    model="$logs/clip-b32-random"
    [ -f "$model/model.safetensors" ] || python3 scripts/make_random_clip.py "$model" >"$logs/make-model.log" 2>&1
    python3 - "$logs/images" <<'PYTHON'
import os, struct, sys, zlib, random
folder = sys.argv[1]; os.makedirs(folder, exist_ok=True)
def png(path, width, height, seed):
    generator = random.Random(seed)
    rows = b"".join(b"\0" + bytes(generator.randrange(256) for _ in range(3 * width)) for _ in range(height))
    def chunk(kind, data): return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
for index, (w, h) in enumerate([(224, 224), (320, 240), (97, 131), (500, 375)]):
    png(os.path.join(folder, f"image{index}.png"), w, h, index)
PYTHON
    texts=("a photo of a dog." "a diagram of a transformer" "satellite image of a field" "x")
    parity() {
        for backend in cpu "$device"; do
            "$binary" encode-image --model "$model" --device "$backend" "$logs"/images/*.png >"$logs/parity-images-$backend.json" || return 1
            "$binary" encode-text --model "$model" --device "$backend" "${texts[@]}" >"$logs/parity-texts-$backend.json" || return 1
        done
        python3 - "$logs" "$device" <<'PYTHON'
import json, sys
logs, device = sys.argv[1], sys.argv[2]
worst = 0.0
for kind in ("images", "texts"):
    cpu = json.load(open(f"{logs}/parity-{kind}-cpu.json")); other = json.load(open(f"{logs}/parity-{kind}-{device}.json"))
    for a, b in zip(cpu, other):
        worst = max(worst, max(abs(x - y) for x, y in zip(a["embedding"], b["embedding"])))
print(f"max |{device} - cpu| over normalised embeddings: {worst:.2e}")
sys.exit(0 if worst < 1e-3 else 1)
PYTHON
    }
    step parity parity
    NOTE="$(tail -1 "$logs/parity.log" 2>/dev/null)"; summary[${#summary[@]}-1]+="  $NOTE"; NOTE=""
    step bench-encoder "$binary" bench encoder --model "$model" --device "$device" --batch 64 --repeats 3 --profile
    step bench-encoder-cpu "$binary" bench encoder --model "$model" --device cpu --batch 16 --repeats 1

    if [ -d /usr/share/datasets/fashion-mnist ]; then
        step demo "$binary" run --config Configs/demo/blur_noise.yaml --device "$device" --quiet
    else
        summary+=("$(printf '%-22s %-10s' demo "skipped: /usr/share/datasets/fashion-mnist missing (apt-get install dataset-fashion-mnist)")")
    fi

    echo
    echo "=== summary ($device) ==="
    printf '%s\n' "${summary[@]}"
    echo "--- devices ---"; grep -E "^(opencl|auto)" "$logs/devices.log"
    echo "--- kernel figures ($device) ---"
    python3 - "$logs/bench-kernels.log" "$logs/bench-kernels-cpu.log" <<'PYTHON'
import json, sys
def load(path):
    try:
        text = open(path).read(); return json.loads(text[text.index("{"):])
    except Exception: return None
device, cpu = load(sys.argv[1]), load(sys.argv[2])
if device:
    cpu_figures = {f["name"]: f["value"] for f in (cpu or {}).get("figures", [])}
    print(f"{device['deviceDescription']}")
    for f in device["figures"]:
        print(f"  {f['name'][:56]:56s} {f['value']:10.1f} {f['unit']:8s} (cpu backend {cpu_figures.get(f['name'], float('nan')):.1f})")
PYTHON
    echo "--- encoder ($device) ---"
    [ -f "$logs/bench-encoder.log" ] && grep -E "images:|texts:|launches per batch" "$logs/bench-encoder.log"
    [ -f "$logs/bench-encoder-cpu.log" ] && grep -E "images:" "$logs/bench-encoder-cpu.log" | sed 's/^/cpu backend, batch 16: /'
    echo "logs: $logs"
    [ $failures -eq 0 ]
}

case "${1:-}" in
    bundle) shift; bundle "$@" ;;
    run) shift; run "$@" ;;
    *) sed -n '2,24p' "$0"; exit 2 ;;
esac
