#!/usr/bin/env bash
# Regenerates the measured tables of docs/results.md on this machine: pretrains the Fashion-MNIST
# MRA augmentor (configs/fashion_mnist/mae_small.yaml, skipped when finished), probes where its
# attention falls, then runs the three sweeps (finished runs are skipped, interrupted ones
# resume) and writes each table and curve into docs/results.md. Safe to interrupt and re-run.
#   tools/results.sh [GRID...]   default: the three grids under sweeps/, in order
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_BUILD_DIR:-$root/build}"
cd "$root"
grids=("$@")
[[ ${#grids[@]} -gt 0 ]] ||
  grids=(sweeps/fmnist_low_data.yaml sweeps/fmnist_mid_data.yaml sweeps/fmnist_vit.yaml)

./tools/install_deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
bin="$build/bin"

mae=runs/mae_small
epochs=$(sed -n 's/^  epochs: \([0-9]*\)$/\1/p' configs/fashion_mnist/mae_small.yaml)
if ! grep -q "\"epoch\":$epochs," "$mae/metrics.jsonl" 2>/dev/null; then
  "$bin/mae_pretrain" -c configs/fashion_mnist/mae_small.yaml --resume auto
fi
for split in train test; do
  "$bin/augcore_attention" --checkpoint "$mae/last.pt" --split "$split" --update-doc docs/results.md
done
for grid in "${grids[@]}"; do
  "$bin/augcore_sweep" --grid "$grid" --update-doc docs/results.md
done
