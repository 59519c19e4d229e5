#!/usr/bin/env bash
# GPU check: everything a machine with a GPU can tell us, in one run that fits one 10-minute
# command, from a self-contained bundle (no Swift toolchain, no package registry on that machine).
#
#   scripts/gpu_check.sh bundle [OUT.tar.xz]   on a build machine: a stripped release binary with a
#                                              static Swift runtime, every shared library it needs
#                                              except glibc's own and the GPU driver (the OpenCL ICD
#                                              loader included), its kernels, the demo model and
#                                              configs, and these scripts, xz-compressed; prints the
#                                              size (limit 40 MiB: it travels with the command under
#                                              64 MiB). libstdc++ and libgcc_s go to lib/fallback/,
#                                              used only where the machine has none (the build
#                                              machine's libstdc++ needs a newer glibc than the
#                                              binary, and every CUDA image has its own)
#   scripts/gpu_check.sh run OUT [DEVICE]      on the GPU machine, from the unpacked bundle (or a
#                                              checkout with .build/release): finds the OpenCL driver,
#                                              runs the steps below with a time budget each, logs each
#                                              to OUT/<step>.log and prints one summary (OUT/summary.txt)
#
# Steps of `run` (DEVICE defaults to `opencl`, which prefers a GPU and says which it took):
#   devices        upadapter devices (platforms, devices, kernel variants, what auto/opencl pick)
#   tune           kernels tune: every matmul kernel and tile timed; the record is OUT/kernel-tuning.json
#                  and every later step uses it
#   check          kernels check --all-variants (--device cpu: the CPU backend against its twin)
#   bench-kernels  kernels bench --json, with square products 1024³ and 4096³ and the program build
#                  times (first from source, then from the binary cache)
#   torch          PyTorch on the same GPU (scripts/gpu_torch_reference.py): ViT image embeddings/s
#                  with TF32 off and on, torch.matmul fp32 1024³ and 4096³
#   parity         image and text embeddings of a random ViT-B/32 on DEVICE vs the CPU backend
#   bench-encoder  bench encoder --profile --json on the random ViT-B/32 (batch 64)
#   demo           one demo shift (needs /usr/share/datasets/fashion-mnist; skipped otherwise)
#
# `run` needs on that machine only glibc, bash, coreutils and python3 (the bundle carries the
# rest; the GPU driver is found by `discover_driver`, below). The random ViT-B/32 (605 MB) is
# written by scripts/make_random_clip.py with the Python standard library into GPU_CHECK_WORK
# (default: work/ in the bundle), not into OUT, which holds only logs and small records.
#
# Environment:
#   GPU_CHECK_SKIP_BUILD    1: `bundle` packs the existing release binary without building
#   GPU_CHECK_STEPS         the steps to run, space-separated (default: all, in the order above)
#   GPU_CHECK_TOTAL         seconds for the whole run (default 540); each step gets its own
#                           budget, cut to what is left
#   GPU_CHECK_ICD_DIR       where ICD files are looked for (default /etc/OpenCL/vendors)
#   GPU_CHECK_DRIVER_DIRS   folders searched for vendor OpenCL libraries before the usual ones
#   GPU_CHECK_TUNE_SIZE     the product size `kernels tune` times (default 1024)
#   GPU_CHECK_ALL_VARIANTS  0: `check` runs the device's own variants only (default 1: all)
#   GPU_CHECK_SQUARE_SIZES  the square products of bench-kernels (default 1024,4096)
#   GPU_CHECK_WORK          where the random model and test images go
#   OCL_ICD_VENDORS / OCL_ICD_FILENAMES   when set, used as given (no discovery)
#   UPADAPTER_* variables pass through.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

# Libraries that glibc installs: never carried (the GPU machine's own must be used).
is_glibc() {
    case "$1" in
        ld-linux*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|\
        libanl.so.*|libmvec.so.*|libBrokenLocale.so.*|libnss_*|libthread_db.so.*|libc_malloc_debug.so.*|linux-vdso.so.*) return 0 ;;
    esac
    return 1
}

# GPU drivers: never carried (the machine's driver matches its kernel module).
is_driver() {
    case "$1" in
        libnvidia-*|libcuda.so*|libamdocl*|libigdrcl*|libpocl*) return 0 ;;
    esac
    return 1
}

bundle() {
    local output="${1:-upadapter-gpu-check.tar.xz}"
    case "$output" in /*) ;; *) output="$PWD/$output" ;; esac
    local root
    root="$(cd "$here/.." && pwd)"
    cd "$root" || exit 1
    local configuration="${GPU_CHECK_CONFIGURATION:-release}"
    local started=$SECONDS
    if [ "${GPU_CHECK_SKIP_BUILD:-0}" = 1 ]; then
        echo "GPU_CHECK_SKIP_BUILD=1: bundling the existing .build/$configuration/upadapter"
    else
        swift build -c "$configuration" --static-swift-stdlib --product upadapter || exit 1
        echo "swift build -c $configuration --static-swift-stdlib: $((SECONDS - started)) s"
    fi
    local built=".build/$configuration"
    local staging
    staging="$(mktemp -d)/upadapter-gpu-check"
    mkdir -p "$staging/bin" "$staging/lib/fallback" "$staging/scripts" "$staging/Models" "$staging/Configs"
    cp "$built/upadapter" "$staging/bin/"
    strip --strip-all "$staging/bin/upadapter" || exit 1
    # OpenAI's BPE vocabulary, for open_clip folders without tokenizer files.
    cp -r "$built/UPAdapter_CLIPEncoder.resources" "$staging/bin/"
    cp -r Kernels "$staging/Kernels"
    cp -r Models/demo-clip "$staging/Models/"
    cp -r Configs/demo "$staging/Configs/"
    cp scripts/gpu_check.sh scripts/make_random_clip.py scripts/gpu_torch_reference.py scripts/gpu_check_summary.py \
       "$staging/scripts/"

    # Every library ldd resolves (the whole dependency tree), except glibc's and a driver's.
    local name arrow path rest carried=() skipped=()
    while read -r name arrow path rest; do
        [ "$arrow" = "=>" ] || continue
        if [ "$path" = "not" ]; then echo "ldd: $name not found on this machine"; exit 1; fi
        if is_glibc "$name" || is_driver "$name"; then skipped+=("$name"); continue; fi
        case "$name" in
            libstdc++.so.*|libgcc_s.so.*) cp -L "$path" "$staging/lib/fallback/$name" || exit 1; carried+=("fallback/$name") ;;
            *) cp -L "$path" "$staging/lib/$name" || exit 1; carried+=("$name") ;;
        esac
    done < <(ldd "$built/upadapter")
    strip --strip-unneeded "$staging"/lib/*.so* "$staging"/lib/fallback/*.so* 2>/dev/null
    # The newest glibc symbol version the binary and the libraries always loaded need: run
    # compares it with the machine's. (The fallback's is printed, not required.)
    local needs fallback_needs
    needs=$(objdump -T "$staging/bin/upadapter" "$staging"/lib/*.so* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -1)
    fallback_needs=$(objdump -T "$staging"/lib/fallback/*.so* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -1)
    echo "${needs#GLIBC_}" > "$staging/lib/GLIBC_REQUIRED"
    {
        echo "upadapter GPU check bundle, built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n) from $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+changes')"
        echo "libraries carried: ${carried[*]}"
        echo "left to the machine (glibc, driver): ${skipped[*]}"
        echo "needs glibc >= ${needs#GLIBC_} (lib/fallback: >= ${fallback_needs#GLIBC_})"
    } > "$staging/BUNDLE"

    started=$SECONDS
    XZ_OPT="${XZ_OPT:--6 -T0}" tar -C "$(dirname "$staging")" -cJf "$output" upadapter-gpu-check || exit 1
    echo "tar -cJf: $((SECONDS - started)) s"
    rm -rf "$(dirname "$staging")"
    local bytes
    bytes=$(stat -c %s "$output")
    cat <<EOF
libraries carried (${#carried[@]}): ${carried[*]}
left to the machine: ${skipped[*]}
needs glibc >= ${needs#GLIBC_} (lib/fallback, used only where the machine has no libstdc++/libgcc_s: >= ${fallback_needs#GLIBC_})
wrote $output: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB (%d bytes)", b / 1048576, b }'), limit 40 MiB
on the GPU machine (a 10-minute command; OUT comes back):
  python3 -m tarfile -e $(basename "$output") . && upadapter-gpu-check/scripts/gpu_check.sh run "\$OUT"
  (python3 unpacks .tar.xz where tar has no xz)
EOF
    if [ "$bytes" -gt $((40 * 1024 * 1024)) ]; then echo "bundle larger than 40 MiB"; exit 1; fi
}

# ---------------------------------------------------------------------------------------------
# run: bash, coreutils and python3 only (no grep, sed, awk: the bare-root test has none).

say() { echo "$*"; echo "$*" >> "$out/run.log"; }

# The OpenCL devices `upadapter devices` lists, one "opencl:N name (type)" line each, in $probe.
probe_devices() {
    probe=()
    local line name=""
    while IFS= read -r line; do
        case "$line" in
            opencl:*) name="$line" ;;
            *"type GPU"*|*"type CPU"*|*"type accelerator"*|*"type other"*)
                if [ -n "$name" ]; then
                    local type="${line#*type }"; type="${type%%,*}"
                    probe+=("$(printf '%s' "$name" | tr -s ' ') ($type)"); name=""
                fi ;;
        esac
    done < <(timeout 60 "$binary" devices 2>&1)
}

has_gpu() {
    local entry
    for entry in "${probe[@]}"; do [[ "$entry" == *"(GPU)" ]] && return 0; done
    return 1
}

# Points the ICD loader at a working OpenCL driver and says what it found and used:
#  1. OCL_ICD_VENDORS / OCL_ICD_FILENAMES from the caller, as given;
#  2. the ICD files of GPU_CHECK_ICD_DIR (/etc/OpenCL/vendors), when they give a GPU;
#  3. else vendor libraries found in GPU_CHECK_DRIVER_DIRS and the usual driver locations, each
#     written as an ICD file into OUT/icd (with the ICD files of 2.), and OCL_ICD_VENDORS set to it.
discover_driver() {
    if [ -n "${OCL_ICD_VENDORS:-}${OCL_ICD_FILENAMES:-}" ]; then
        say "driver: as given, OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-} OCL_ICD_FILENAMES=${OCL_ICD_FILENAMES:-}"
        probe_devices; say "driver: devices: ${probe[*]:-none}"
        return
    fi
    local icd_dir="${GPU_CHECK_ICD_DIR:-/etc/OpenCL/vendors}" file library icd_files=()
    shopt -s nullglob
    for file in "$icd_dir"/*.icd; do
        read -r library < "$file"
        say "driver: ICD file $file names $library"
        icd_files+=("$file")
    done
    [ ${#icd_files[@]} -eq 0 ] && say "driver: no ICD file in $icd_dir"
    export OCL_ICD_VENDORS="$icd_dir"
    probe_devices
    say "driver: the ICD files give: ${probe[*]:-no device}"
    if has_gpu; then say "driver: using the ICD files of $icd_dir"; return; fi

    # The usual driver locations (NVIDIA's container mounts, Debian/Ubuntu and RHEL layouts).
    local directories=(${GPU_CHECK_DRIVER_DIRS:-} /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu
                       /usr/lib/x86_64-linux-gnu/nvidia/current /usr/lib64 /usr/lib /usr/local/lib /opt/amdgpu/lib64 /opt/rocm/lib)
    local patterns=("libnvidia-opencl.so*" "libamdocl*.so" "libamdocl64.so*" "libigdrcl.so*")
    local directory pattern found=() seen=" " real
    for directory in "${directories[@]}"; do
        [ -d "$directory" ] || continue
        for pattern in "${patterns[@]}"; do
            for library in "$directory"/$pattern; do
                real="$(realpath "$library" 2>/dev/null)" || continue
                [[ "$seen" == *" $real "* ]] && continue
                seen+="$real "
                found+=("$library")
                say "driver: found $library${real:+ -> $real}"
            done
        done
    done
    shopt -u nullglob
    if [ ${#found[@]} -eq 0 ]; then
        say "driver: no vendor OpenCL library in ${directories[*]}; using the ICD files (${probe[*]:-no device})"
        return
    fi
    mkdir -p "$out/icd"
    for file in "${icd_files[@]}"; do cp "$file" "$out/icd/"; done
    for library in "${found[@]}"; do
        local base="${library##*/}"
        echo "$library" > "$out/icd/found-${base%%.so*}.icd"
    done
    export OCL_ICD_VENDORS="$out/icd"
    probe_devices
    say "driver: using OCL_ICD_VENDORS=$OCL_ICD_VENDORS (${found[*]}): ${probe[*]:-no device}"
}

# Checks the machine's glibc against what the bundle needs (python3 reads the version).
check_glibc() {
    [ -f "$root/lib/GLIBC_REQUIRED" ] || return 0
    local required have
    read -r required < "$root/lib/GLIBC_REQUIRED"
    have="$("${python_env[@]}" python3 -c 'import platform; print(platform.libc_ver()[1])' 2>/dev/null)"
    if "${python_env[@]}" python3 -c 'import sys; a, b = (tuple(int(p) for p in v.split(".")) for v in sys.argv[1:]); sys.exit(0 if a >= b else 1)' \
        "${have:-0}" "${required:-0}" 2>/dev/null; then
        say "glibc: $have (the bundle needs >= $required)"
    else
        say "WARNING: glibc ${have:-unknown} is older than the $required the bundle was built against: the binary may not start"
    fi
}

step_budget() {  # the budget of step $1 in seconds
    case "$1" in
        devices) echo 60 ;; tune) echo 120 ;; check) echo 150 ;; bench-kernels) echo 120 ;; torch) echo 150 ;;
        parity) echo 150 ;; bench-encoder) echo 150 ;; demo) echo 90 ;; *) echo 60 ;;
    esac
}

# step NAME COMMAND...: runs COMMAND with the step's budget (cut to the run's remaining time),
# logs it to OUT/NAME.log and records "NAME<TAB>result<TAB>seconds" in OUT/steps.tsv.
step() {
    local name="$1"; shift
    local budget remaining result status
    budget=$(step_budget "$name")
    remaining=$((deadline - SECONDS))
    if [ "$remaining" -lt 15 ]; then
        printf '%s\tskipped (out of time)\t0\n' "$name" >> "$out/steps.tsv"
        say "[skipped] $name: out of time"; return 0
    fi
    [ "$budget" -gt "$remaining" ] && budget=$remaining
    local started
    started=$(date +%s%N)
    timeout --kill-after=5 "$budget" "$@" > "$out/$name.log" 2>&1
    status=$?
    local milliseconds=$((($(date +%s%N) - started) / 1000000))
    local seconds="$((milliseconds / 1000)).$(((milliseconds % 1000) / 100))"
    result=ok
    if [ $status -eq 124 ] || [ $status -eq 137 ]; then result="TIMEOUT (${budget} s)"; failures=$((failures + 1))
    elif [ $status -ne 0 ]; then result="FAIL ($status)"; failures=$((failures + 1)); fi
    printf '%s\t%s\t%s\n' "$name" "$result" "$seconds" >> "$out/steps.tsv"
    say "[$result] $name (${seconds} s) -> $out/$name.log"
}

wants() { [[ " $steps " == *" $1 "* ]]; }

# The parity step, run as its own command (`gpu_check.sh parity OUT DEVICE MODEL WORK`, so that
# `timeout` can bound it): embeddings of 4 generated PNGs and 4 texts on DEVICE and on the CPU backend.
parity() {
    out="$1" device="$2" model="$3" work="$4"
    root="$(cd "$here/.." && pwd)"
    binary="$root/bin/upadapter"
    [ -x "$binary" ] || binary="$root/.build/release/upadapter"
    python_environment
    local backend texts=("a photo of a dog." "a diagram of a transformer" "satellite image of a field" "x")
    for backend in cpu "$device"; do
        echo "encode-image, encode-text on $backend"
        "$binary" encode-image --model "$model" --device "$backend" "$work"/images/*.png > "$out/parity-images-$backend.json" || return 1
        "$binary" encode-text --model "$model" --device "$backend" "${texts[@]}" > "$out/parity-texts-$backend.json" || return 1
    done
    "${python_env[@]}" python3 - "$out" "$device" <<'PYTHON'
import json, sys
out, device = sys.argv[1], sys.argv[2]
worst, count = 0.0, 0
for kind in ("images", "texts"):
    cpu = json.load(open(f"{out}/parity-{kind}-cpu.json")); other = json.load(open(f"{out}/parity-{kind}-{device}.json"))
    assert len(cpu) == len(other) == 4, (kind, len(cpu), len(other))
    for a, b in zip(cpu, other):
        worst = max(worst, max(abs(x - y) for x, y in zip(a["embedding"], b["embedding"]))); count += 1
print(f"max |{device} - cpu| over {count} normalised embeddings: {worst:.2e}")
sys.exit(0 if worst < 1e-3 else 1)
PYTHON
}

# python_env: the command prefix that gives python3 the caller's library path back.
python_environment() {
    if [ "${GPU_CHECK_CALLER_LIBRARY_PATH:-(unset)}" = "(unset)" ]; then python_env=(env -u LD_LIBRARY_PATH)
    else python_env=(env "LD_LIBRARY_PATH=$GPU_CHECK_CALLER_LIBRARY_PATH"); fi
}

# Writes the random ViT-B/32 and the test images into $work (once).
prepare_model() {
    if [ ! -f "$model/model.safetensors" ]; then
        "${python_env[@]}" python3 "$root/scripts/make_random_clip.py" "$model" >> "$out/make-model.log" 2>&1 || return 1
    fi
    "${python_env[@]}" python3 - "$work/images" <<'PYTHON'
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
}

run() {
    # Globals, not locals: the step functions read them.
    out="${1:-}"
    device="${2:-opencl}"
    if [ -z "$out" ]; then echo "usage: scripts/gpu_check.sh run OUT [DEVICE]"; exit 2; fi
    mkdir -p "$out" || exit 1
    out="$(cd "$out" && pwd)"
    : > "$out/run.log"; : > "$out/steps.tsv"
    root="$(cd "$here/.." && pwd)"
    cd "$root" || exit 1
    binary="$root/bin/upadapter"
    [ -x "$binary" ] || binary="$root/.build/release/upadapter"
    if [ ! -x "$binary" ]; then echo "no upadapter binary (bin/upadapter of a bundle, or .build/release/upadapter)"; exit 1; fi
    # The bundle's libraries, its ICD loader first among them, for upadapter; python3 (PyTorch)
    # keeps the caller's library path, so that it never loads the bundle's libstdc++ or OpenSSL.
    export GPU_CHECK_CALLER_LIBRARY_PATH="${LD_LIBRARY_PATH-(unset)}"
    python_environment
    # The machine's own libstdc++ and libgcc_s come before the bundle's fallback copies.
    [ -d "$root/lib" ] && export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:$root/lib/fallback"
    # The bundle's kernels are read from disk; a checkout's binary embeds its own.
    [ -d "$root/Kernels" ] && export UPADAPTER_KERNEL_DIR="$root/Kernels"
    export UPADAPTER_TUNING_FILE="$out/kernel-tuning.json"
    export UPADAPTER_PROGRAM_CACHE="$out/program-cache"
    work="${GPU_CHECK_WORK:-$root/work}"
    mkdir -p "$work" || exit 1
    model="$work/clip-b32-random"
    steps="${GPU_CHECK_STEPS:-devices tune check bench-kernels torch parity bench-encoder demo}"
    deadline=$((SECONDS + ${GPU_CHECK_TOTAL:-540}))
    failures=0

    local cpu_model=""
    [ -r /proc/cpuinfo ] && while IFS=: read -r key value; do
        [[ "$key" == "model name"* ]] && { cpu_model="${value# }"; break; }
    done < /proc/cpuinfo
    say "GPU check of $device on $(uname -n), $(date -u +%Y-%m-%dT%H:%M:%SZ); CPU: ${cpu_model:-unknown}, $(nproc) threads"
    [ -f "$root/BUNDLE" ] && say "bundle: $(head -1 "$root/BUNDLE")"
    check_glibc
    if [ "$device" = cpu ]; then
        say "driver: not needed for --device cpu"
    else
        discover_driver
    fi

    wants devices && step devices "$binary" devices
    if [ "$device" != cpu ] && wants tune; then
        step tune "$binary" kernels tune --device "$device" --size "${GPU_CHECK_TUNE_SIZE:-1024}" --record "$UPADAPTER_TUNING_FILE"
    fi
    if wants check; then
        if [ "$device" = cpu ]; then step check "$binary" kernels check --device cpu
        elif [ "${GPU_CHECK_ALL_VARIANTS:-1}" = 1 ]; then step check "$binary" kernels check --device "$device" --all-variants
        else step check "$binary" kernels check --device "$device"; fi
    fi
    if wants bench-kernels; then
        step bench-kernels "$binary" kernels bench --device "$device" --json --repeats 3 --square-sizes "${GPU_CHECK_SQUARE_SIZES:-1024,4096}"
    fi
    if wants torch || wants parity || wants bench-encoder; then
        local started=$SECONDS
        prepare_model || { say "could not write the random model: see $out/make-model.log"; failures=$((failures + 1)); }
        say "random ViT-B/32 and test images in $work ($((SECONDS - started)) s)"
    fi
    wants torch && step torch "${python_env[@]}" python3 "$root/scripts/gpu_torch_reference.py" --model "$model" --json "$out/torch.json"
    wants parity && step parity "$root/scripts/gpu_check.sh" parity "$out" "$device" "$model" "$work"
    if wants bench-encoder; then
        step bench-encoder "$binary" bench encoder --model "$model" --device "$device" --batch 64 --repeats 3 --profile --json
    fi
    if wants demo; then
        if [ -d /usr/share/datasets/fashion-mnist ]; then
            step demo "$binary" run --config Configs/demo/blur_noise.yaml --device "$device" --quiet
        else
            printf '%s\t%s\t0\n' demo "skipped (no /usr/share/datasets/fashion-mnist)" >> "$out/steps.tsv"
        fi
    fi
    echo
    "${python_env[@]}" python3 "$root/scripts/gpu_check_summary.py" "$out" "$device" | tee "$out/summary.txt"
    [ $failures -eq 0 ]
}

case "${1:-}" in
    bundle) shift; bundle "$@" ;;
    run) shift; run "$@" ;;
    parity) shift; parity "$@" ;;
    *) head -50 "$0" | tail -49; exit 2 ;;
esac
