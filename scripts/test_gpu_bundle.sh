#!/usr/bin/env bash
# The GPU check bundle's proof without a GPU (issue 20), run by `make test`:
#
#   scripts/test_gpu_bundle.sh [BUNDLE.tar.xz]
#
# 1. Builds the bundle (scripts/gpu_check.sh bundle; a release build with a static Swift runtime)
#    unless one is given, and checks its size (≤ 40 MiB).
# 2. Bare root: unpacks it into a root folder that holds only glibc, bash, coreutils and python3
#    copied from this machine (with the libraries those need), enters it with chroot inside a
#    private mount namespace (`unshare`), and runs the check's CPU steps there
#    (`gpu_check.sh run OUT cpu`: devices, kernels check --device cpu, the random ViT-B/32 parity
#    step). It then asks the dynamic loader, in that root, where every library of the binary
#    resolves (LD_TRACE_LOADED_OBJECTS): each must be the bundle's or glibc's, none missing.
# 3. OpenCL through the bundle's own ICD loader, against this machine's PoCL, with no ICD file
#    visible and a fake driver layout (a folder holding libnvidia-opencl.so.1 -> PoCL's library):
#    the run's driver discovery must find it and write the ICD folder; then devices, kernels tune
#    (its record kept in OUT), kernels check and the parity step on OpenCL.
#
# Where mount namespaces or chroot are not allowed, step 2 is skipped with a message saying so,
# and steps 1 and 3 still run. Environment: GPU_BUNDLE_TEST_KEEP=1 keeps the work folder.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/upadapter-bundle-test.XXXXXX")"
failures=0
cleanup() { [ "${GPU_BUNDLE_TEST_KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

bundle="${1:-}"
if [ -z "$bundle" ]; then
    started=$SECONDS
    "$repository/scripts/gpu_check.sh" bundle "$work/upadapter-gpu-check.tar.xz" || { echo "FAIL: building the bundle"; exit 1; }
    echo "bundle built in $((SECONDS - started)) s"
    bundle="$work/upadapter-gpu-check.tar.xz"
fi
bytes=$(stat -c %s "$bundle")
if [ "$bytes" -le $((40 * 1024 * 1024)) ]; then pass "bundle is $((bytes / 1024)) KiB (limit 40 MiB)"
else fail "bundle is $((bytes / 1024)) KiB, over 40 MiB"; fi

# ------------------------------------------------------------------------------------------------
# 2. The bare root.
root="$work/root"
mkdir -p "$root"/{usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,tmp,proc,dev,out}
ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"; ln -s usr/bin "$root/sbin"
chmod 1777 "$root/tmp" "$root/out"
tar -C "$root" -xJf "$bundle" || { echo "FAIL: unpacking $bundle"; exit 1; }
mv "$root/upadapter-gpu-check" "$root/check"

# Copies file $1 (a library, a program) into the root at its canonical path, keeping a symlink
# name it was reached by as a link.
place() {
    local source="$1" real directory
    real="$(realpath "$source")" || return 1
    directory="$(realpath "$(dirname "$source")")"
    mkdir -p "$root$directory" "$root$(dirname "$real")"
    [ -e "$root$real" ] || cp -p "$real" "$root$real"
    [ "$directory/$(basename "$source")" = "$real" ] || ln -sf "$real" "$root$directory/$(basename "$source")"
}
# Copies program or library $1 and every library ldd lists for it.
place_with_libraries() {
    place "$1"
    local name arrow path rest
    while read -r name arrow path rest; do
        case "$name" in linux-vdso*) continue ;; /*) place "$name"; continue ;; esac
        [ "$arrow" = "=>" ] && [ -e "$path" ] && place "$path"
    done < <(ldd "$1" 2>/dev/null)
}

# glibc: the shared objects of Debian's libc6 (the dynamic loader included).
if command -v dpkg >/dev/null; then
    while read -r path; do
        case "$path" in *.so|*.so.*) [ -f "$path" ] && place "$path" ;; esac
    done < <(dpkg -L libc6 2>/dev/null)
fi
place /lib64/ld-linux-x86-64.so.2
place_with_libraries "$(command -v bash)"
ln -sf bash "$root/usr/bin/sh"
# coreutils: every program of the package.
while read -r path; do
    case "$path" in */bin/*) [ -f "$path" ] && [ -x "$path" ] && place_with_libraries "$path" ;; esac
done < <(dpkg -L coreutils 2>/dev/null)
# python3 with its standard library and the libraries of its extension modules.
# (The system's python3 when there is one: a version manager's python3 on PATH may be a shell shim.)
host_python=/usr/bin/python3
[ -x "$host_python" ] || host_python="$(command -v python3)"
python="$(realpath "$host_python")"
place_with_libraries "$python"
ln -sf "$python" "$root/usr/bin/python3"
standard_library="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
mkdir -p "$root$standard_library"
cp -a "$standard_library/." "$root$standard_library/"
rm -rf "$root$standard_library/dist-packages" "$root$standard_library/site-packages"
for module in "$standard_library"/lib-dynload/*.so; do place_with_libraries "$module"; done
echo "bare root: $(du -sh "$root" | cut -f1) with glibc, bash, coreutils and python3 ($(ls "$root/usr/lib/x86_64-linux-gnu" | wc -l) files in /usr/lib/x86_64-linux-gnu)"

# The script run inside the root: the check's CPU steps, then where each library resolves.
cat > "$root/check/bare-root-steps.sh" <<'INSIDE'
#!/bin/bash
cd /check || exit 1
export HOME=/tmp PATH=/usr/bin:/bin
GPU_CHECK_STEPS="devices check parity" GPU_CHECK_WORK=/tmp/work GPU_CHECK_TOTAL=400 scripts/gpu_check.sh run /out cpu
status=$?
# The library path of gpu_check.sh run, without a caller's.
library_path=/check/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/check/lib/fallback
echo "=== libraries of bin/upadapter, resolved in this root with LD_LIBRARY_PATH=$library_path ==="
LD_LIBRARY_PATH=$library_path LD_TRACE_LOADED_OBJECTS=1 /check/bin/upadapter > /out/libraries.txt 2>&1
cat /out/libraries.txt
exit $status
INSIDE
chmod +x "$root/check/bare-root-steps.sh"

# chroot inside a private mount namespace, with /proc and /dev/null mounted there only.
inner="mount --make-rprivate / 2>/dev/null; mount -t proc proc '$root/proc' && touch '$root/dev/null' '$root/dev/urandom' \
  && mount --bind /dev/null '$root/dev/null' && mount --bind /dev/urandom '$root/dev/urandom' \
  && exec chroot '$root' /usr/bin/env -i /check/bare-root-steps.sh"
if [ "$(id -u)" -eq 0 ]; then
    enter=(unshare --mount --fork)
else
    enter=(unshare --user --map-root-user --mount --pid --fork)
fi
if ! probe_error=$("${enter[@]}" bash -c "chroot '$root' /usr/bin/true" 2>&1); then
    echo "SKIP: bare-root test: this machine does not allow a mount namespace with chroot (${enter[*]}: ${probe_error:-refused});"
    echo "      the bundle was built and is checked with OpenCL below, but not in a bare root"
else
    started=$SECONDS
    if "${enter[@]}" bash -c "$inner"; then pass "the check's CPU steps in the bare root ($((SECONDS - started)) s)"
    else fail "the check's CPU steps in the bare root (logs: $root/out)"; fi
    libraries="$root/out/libraries.txt"
    if [ ! -s "$libraries" ]; then
        fail "no library trace from the bare root"
    else
        before=$failures
        while read -r name arrow path rest; do
            case "$name" in linux-vdso*|/*) continue ;; esac
            if [ "$path" = "not" ]; then fail "$name not found in the bare root"
            elif [[ "$path" == /check/lib/* ]]; then :
            elif [[ "$name" =~ ^(libc|libm|libpthread|libdl|librt|libresolv|libutil|libanl|libmvec|libnss_[a-z]+)\.so ]]; then :
            else fail "$name resolved outside the bundle and glibc: $path"; fi
        done < "$libraries"
        [ $failures -eq $before ] && pass "every library of the binary resolves to the bundle or glibc ($(wc -l < "$libraries") entries)"
    fi
    [ -f "$root/out/summary.txt" ] && cat "$root/out/summary.txt"
fi

# ------------------------------------------------------------------------------------------------
# 3. OpenCL through the bundle's ICD loader, driver found in a fake vendor layout: a driver mount
#    whose lib/x86_64-linux-gnu holds libnvidia-opencl.so.1 -> PoCL's library (PoCL finds its
#    device modules and kernel library relative to the path it was loaded from, so the fake
#    mount has pocl/ and ../../share/pocl beside it, as PoCL's own installation does).
check="$root/check"
pocl="$(realpath /usr/lib/x86_64-linux-gnu/libpocl.so.2 2>/dev/null)"
if [ -z "$pocl" ]; then
    fail "PoCL (libpocl.so.2) not installed: install pocl-opencl-icd"
else
    fake="$work/fake-driver/lib/x86_64-linux-gnu"
    mkdir -p "$fake" "$work/fake-driver/share" "$work/no-icd"
    ln -s "$pocl" "$fake/libnvidia-opencl.so.1"
    ln -s "$(dirname "$pocl")/pocl" "$fake/pocl"
    ln -s /usr/share/pocl "$work/fake-driver/share/pocl"
    trace=$(LD_LIBRARY_PATH="$check/lib:/usr/lib/x86_64-linux-gnu:$check/lib/fallback" LD_TRACE_LOADED_OBJECTS=1 "$check/bin/upadapter" 2>&1)
    if [[ "$trace" == *"libOpenCL.so.1 => $check/lib/libOpenCL.so.1"* ]]; then pass "the binary loads the bundle's ICD loader"
    else fail "libOpenCL.so.1 does not resolve into the bundle: $trace"; fi
    out="$work/opencl-out"
    started=$SECONDS
    if env -u OCL_ICD_VENDORS -u OCL_ICD_FILENAMES GPU_CHECK_ICD_DIR="$work/no-icd" GPU_CHECK_DRIVER_DIRS="$fake" \
        GPU_CHECK_STEPS="devices tune check parity" GPU_CHECK_TUNE_SIZE=96 GPU_CHECK_ALL_VARIANTS=0 \
        GPU_CHECK_WORK="$root/tmp/work" GPU_CHECK_TOTAL=500 "$check/scripts/gpu_check.sh" run "$out" opencl; then
        pass "the check's OpenCL steps through the fake driver layout ($((SECONDS - started)) s)"
    else
        fail "the check's OpenCL steps (logs: $out)"
    fi
    run_log="$(cat "$out/run.log" 2>/dev/null)"
    [[ "$run_log" == *"driver: found $fake/libnvidia-opencl.so.1"* ]] && pass "discovery found the fake libnvidia-opencl.so.1" \
        || fail "discovery did not report $fake/libnvidia-opencl.so.1"
    [[ "$(cat "$out"/icd/*.icd 2>/dev/null)" == *"$fake/libnvidia-opencl.so.1"* ]] && pass "discovery wrote an ICD file naming it" \
        || fail "no ICD file naming the fake library in $out/icd"
    [[ "$run_log" == *"driver: using OCL_ICD_VENDORS=$out/icd"* ]] && pass "the run used the ICD folder it wrote" \
        || fail "the run did not say it used $out/icd"
    [[ "$(cat "$out/devices.log" 2>/dev/null)" == *"opencl:0"* ]] && pass "upadapter devices lists PoCL through the fake layout" \
        || fail "no OpenCL device listed (see $out/devices.log)"
    python3 - "$out/kernel-tuning.json" <<'PYTHON' && pass "kernels tune kept its record in OUT" || fail "no tuning record in OUT"
import json, sys
records = json.load(open(sys.argv[1]))
assert records and all(r["seconds"] and "tile" in r for r in records.values()), records
print("  " + "; ".join(f"{key}: {record['matmul']}/{record['tile']}" for key, record in records.items()))
PYTHON
    [ -f "$out/summary.txt" ] && cat "$out/summary.txt"
fi

if [ $failures -eq 0 ]; then echo "GPU bundle test: all passed"; else echo "GPU bundle test: $failures failed"; exit 1; fi
