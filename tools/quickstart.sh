#!/usr/bin/env bash
# Installs dependencies (if missing), builds Release, and runs the main job on the built-in
# recipe (Fashion-MNIST from /usr/share/datasets/fashion-mnist).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_BUILD_DIR:-$root/build}"
cd "$root"

./tools/install_deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
"$build/bin/mra_train" --output runs/quickstart "$@"
