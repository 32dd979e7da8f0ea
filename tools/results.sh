#!/usr/bin/env bash
# Regenerates the measured tables of docs/results.md on this machine, in order: pretrains the
# Fashion-MNIST MRA augmentor (configs/fashion_mnist/mae_small.yaml) and a 3-epoch classifier
# for KeepAugment's saliency (configs/fashion_mnist/validation.yaml), measures every policy's
# strength on the validation split (augcore_preview --strength), probes where the augmentor's
# attention falls, then runs the grids (finished runs are skipped, interrupted ones resume)
# and writes each table into docs/results.md. Safe to interrupt and re-run.
#   tools/results.sh [GRID...]   default: the step-14 grids under sweeps/, in order
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_BUILD_DIR:-$root/build}"
cd "$root"
grids=("$@")
[[ ${#grids[@]} -gt 0 ]] ||
  grids=(sweeps/fmnist_keep_cutout.yaml sweeps/fmnist_mra_ablation.yaml
    sweeps/fmnist_vit_masksub.yaml sweeps/fmnist_long_schedule.yaml
    sweeps/fmnist_fixmatch_diagnosis.yaml)

./tools/install_deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target mra_train mae_pretrain augcore_preview \
  augcore_attention augcore_sweep
bin="$build/bin"

# A run directory whose metrics.jsonl reached the recipe's last epoch.
finished() { grep -q "\"epoch\":$2," "$1/metrics.jsonl" 2>/dev/null; }
timed() {
  local t0=$SECONDS
  "$@"
  echo "results.sh: $(basename "$1") took $((SECONDS - t0)) s" >&2
}

mae=runs/mae_small
epochs=$(sed -n 's/^  epochs: \([0-9]*\)$/\1/p' configs/fashion_mnist/mae_small.yaml)
finished "$mae" "$epochs" ||
  timed "$bin/mae_pretrain" -c configs/fashion_mnist/mae_small.yaml --resume auto
classifier=runs/strength_classifier
finished "$classifier" 3 ||
  timed "$bin/mra_train" -c configs/fashion_mnist/validation.yaml --output "$classifier" \
    --resume auto --set train.epochs=3
timed "$bin/augcore_preview" -c configs/fashion_mnist/strength.yaml --strength -n 2000 \
  --weights "$classifier/last.pt" --update-doc docs/augment.md --section policies
timed "$bin/augcore_preview" -c configs/fashion_mnist/strength_mra.yaml --strength -n 2000 \
  --update-doc docs/results.md --section mra
for split in train test; do
  "$bin/augcore_attention" --checkpoint "$mae/last.pt" --split "$split" --update-doc docs/results.md
done
for grid in "${grids[@]}"; do
  timed "$bin/augcore_sweep" --grid "$grid" --update-doc docs/results.md
done
