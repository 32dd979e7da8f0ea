#!/usr/bin/env bash
# The GPU check in one call, on a machine with an NVIDIA GPU and CUDA PyTorch in python3 (the
# lent H200: torch 2.11.0+cu130, CMake, ninja, no network) plus what tools/gpu_bundle.sh
# prepared on a Debian machine: unpacks the carried libraries, builds augcore against python3's
# LibTorch, runs the `cuda`-labelled tests, the whole ctest suite and the GPU rows of
# `augcore_bench suite`, with every log and the benchmark JSON/Markdown in OUT and one summary
# line per check. docs/performance.md#gpu has the exact commands.
#
#   tools/gpu_check.sh [--bundle DIR] [--stage-only] OUT
#
# --bundle DIR   gpu_bundle.sh's folder (default .gpu-bundle): its packages are unpacked into
#                AUGCORE_DEPS (default /tmp/augcore-deps), where later calls on the same
#                machine find them again; its Fashion-MNIST subset goes where the tests look
#                for it when that place is empty.
# --stage-only   unpack and stop (for a bundle that travels in two calls).
# PYTHON         the Python with CUDA PyTorch (default python3).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="$root/.gpu-bundle"
stage_only=0
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --stage-only) stage_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "gpu_check: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
deps="${AUGCORE_DEPS:-/tmp/augcore-deps}"
python="${PYTHON:-python3}"
build="${AUGCORE_CUDA_BUILD_DIR:-$root/build-cuda}"
data=/usr/share/datasets/fashion-mnist

if [[ -d "$bundle/debs" ]]; then
  mkdir -p "$deps"
  for deb in "$bundle"/debs/*.deb; do dpkg -x "$deb" "$deps" || exit 1; done
  echo "gpu_check: unpacked $(ls "$bundle"/debs/*.deb | wc -l) packages into $deps"
fi
if [[ -d "$bundle/data/fashion-mnist" && ! -e "$data/train-images-idx3-ubyte.gz" ]]; then
  mkdir -p "$data" && cp "$bundle"/data/fashion-mnist/*.gz "$data"/ || exit 1
  echo "gpu_check: Fashion-MNIST subset copied to $data"
fi
[[ $stage_only -eq 1 ]] && exit 0
if [[ -z "$out" ]]; then
  echo "usage: tools/gpu_check.sh [--bundle DIR] [--stage-only] OUT" >&2
  exit 2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:$deps/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export CPATH="$deps/usr/include/x86_64-linux-gnu:$deps/usr/include:${CPATH:-}"
jobs="$(nproc)"
passed=0
failed=0
start=$SECONDS

# check NAME COMMAND...: runs COMMAND with its output in OUT/NAME.log; one summary line.
check() {
  local name="$1" t0=$SECONDS rc
  shift
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]]; then
    passed=$((passed + 1))
    echo "gpu_check: PASS $name ($((SECONDS - t0)) s) $(summary "$name")"
  else
    failed=$((failed + 1))
    echo "gpu_check: FAIL $name (exit $rc, $((SECONDS - t0)) s, $out/$name.log): $(tail -n 1 "$out/$name.log")"
  fi
  return $rc
}

# The figure worth a glance on each check's summary line.
summary() {
  case "$1" in
    environment) grep -m1 '^gpu:' "$out/environment.log" ;;
    build) grep -m1 'CUDA support' "$out/build.log" ;;
    cuda_tests | all_tests) grep -m1 'tests passed' "$out/$1.log" ;;
    bench) grep -c '^gpu ' "$out/bench.log" | sed 's/$/ GPU rows/' ;;
  esac
}

environment() {
  nvidia-smi -L || return 1
  "$python" - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda)
assert torch.cuda.is_available(), "torch sees no CUDA device"
print("gpu:", torch.cuda.get_device_name(0), f"({torch.cuda.device_count()} visible)")
PY
}

configure_and_build() {
  local torch_root timm=OFF
  torch_root="$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')" || return 1
  "$python" -c 'import timm' 2>/dev/null && timm=ON
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAUGCORE_BUILD_TESTS=ON \
    -DCMAKE_PREFIX_PATH="$torch_root;$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake" \
    -DCMAKE_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu" -DCMAKE_INCLUDE_PATH="$deps/usr/include" \
    -DAUGCORE_TEST_PYTHON="$(command -v "$python")" -DAUGCORE_TEST_TIMM=$timm \
    -DTORCH_CUDA_ARCH_LIST=9.0 || return 1
  cmake --build "$build" -j "$jobs" || return 1
  ldd "$build/lib/libaugcore.so" | grep 'libtorch_cuda\.so' || return 1
}

# The cuda-labelled tests must run, not skip, where a GPU is visible.
cuda_tests() {
  local log rc
  log="$(cd "$build" && ctest -L cuda --output-on-failure --timeout 600 2>&1)"
  rc=$?
  echo "$log"
  [[ $rc -eq 0 ]] && ! grep -q 'Skipped' <<<"$log"
}

all_tests() {
  (cd "$build" && ctest -LE cuda --output-on-failure -j "$jobs" --timeout 900)
}

bench() {
  "$build/bin/augcore_bench" suite --gpu-only --python "$python" --work /tmp/augcore-bench \
    --json "$out/benchmarks_gpu.json" --markdown "$out/benchmarks_gpu.md"
}

check environment environment
if check build configure_and_build; then
  check cuda_tests cuda_tests
  check all_tests all_tests
  check bench bench
fi
echo "gpu_check: $passed passed, $failed failed in $((SECONDS - start)) s (logs in $out)"
[[ $failed -eq 0 ]]
