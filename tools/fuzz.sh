#!/usr/bin/env bash
# Fuzzes the readers with libFuzzer (clang, AddressSanitizer + UndefinedBehaviorSanitizer):
# builds the fuzz targets in the sanitizer build and runs each for SECONDS (default 600),
# growing a working corpus from the seeds in tests/fuzz/corpus. Inputs that crash are saved
# as build-sanitize/fuzz/crashes/<target>/crash-*; add them to the seed corpus once fixed.
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]   (targets: idx cifar config pth)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
seconds="${1:-600}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(idx cifar config pth)

"$root/tools/install_deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DAUGCORE_FUZZ=ON -DAUGCORE_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for t in "${targets[@]}"; do
  corpus="$build/fuzz/corpus/$t"
  crashes="$build/fuzz/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  echo "== fuzz_$t for ${seconds}s"
  if ! "$build/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$root/tests/fuzz/corpus/$t" \
    2>&1 | tee "$build/fuzz/$t.log" | grep -E "^#[0-9]+ +(DONE|INITED)|stat::|ERROR|SUMMARY"; then
    :
  fi
  if compgen -G "$crashes/*" >/dev/null; then
    echo "fuzz_$t: crashing inputs in $crashes" >&2
    status=1
  fi
done
exit $status
