#!/usr/bin/env bash
# Installs dependencies (if missing), builds, runs the tests (unit, CLI, kill-and-resume and
# the fuzz corpus replay), then installs augcore into a prefix and builds the outside project
# examples/external_trainer against it.
# --sanitize: instead builds with clang, AddressSanitizer + UndefinedBehaviorSanitizer and
# libFuzzer (in build-sanitize) and runs the same tests there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${AUGCORE_JOBS:-$(nproc)}"
sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: tools/test.sh [--sanitize]" >&2; exit 2 ;;
  esac
done

"$root/tools/install_deps.sh"

if [[ $sanitize -eq 1 ]]; then
  build="${AUGCORE_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
  echo "== configure and build with ASan + UBSan ($build)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DAUGCORE_FUZZ=ON -DAUGCORE_BUILD_TESTS=ON
  cmake --build "$build" -j "$jobs"
  echo "== unit, CLI and fuzz-corpus tests under the sanitizers"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  (cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 1500)
  echo "== all tests passed under the sanitizers"
  exit 0
fi

build="${AUGCORE_BUILD_DIR:-$root/build}"
echo "== configure and build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAUGCORE_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"

echo "== unit, CLI, resume and fuzz-corpus tests"
(cd "$build" && ctest --output-on-failure -j "$jobs")

echo "== install and build an outside project against it"
prefix="$build/test-install"
rm -rf "$prefix" "$build/external_trainer"
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$root/examples/external_trainer" -B "$build/external_trainer" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$build/external_trainer" -j "$jobs"
"$build/external_trainer/external_trainer"
echo "== all tests passed"
