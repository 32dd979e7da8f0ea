#!/usr/bin/env bash
# Installs dependencies (if missing), builds, runs the tests, then installs augcore into a
# prefix and builds the outside project examples/external_trainer against it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_BUILD_DIR:-$root/build}"
jobs="${AUGCORE_JOBS:-$(nproc)}"

"$root/tools/install_deps.sh"

echo "== configure and build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAUGCORE_BUILD_TESTS=ON
cmake --build "$build" -j "$jobs"

echo "== unit and CLI tests"
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
