#!/usr/bin/env bash
# Installs dependencies (if missing), builds Release, then runs the main job on the built-in
# data (Fashion-MNIST from /usr/share/datasets/fashion-mnist): pretrain a small MRA augmentor,
# train the built-in ResNet-20 recipe without and with MRA, and print both test accuracies.
# QUICKSTART_MAE_EPOCHS and QUICKSTART_EPOCHS shorten or lengthen the runs. Builds only the two
# programs it runs (ccache is used when present) and prints how long each phase took.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_BUILD_DIR:-$root/build}"
mae_epochs="${QUICKSTART_MAE_EPOCHS:-2}"
epochs="${QUICKSTART_EPOCHS:-3}"
out=runs/quickstart
cd "$root"

phases=()
phase_start=$SECONDS
# Records how long the phase that just ended took.
phase_done() {
  phases+=("$(printf '  %-40s %4d s' "$1" $((SECONDS - phase_start)))")
  phase_start=$SECONDS
}

./tools/install_deps.sh
phase_done "dependencies"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target mae_pretrain mra_train
phase_done "configure and build (mae_pretrain, mra_train)"

"$build/bin/mae_pretrain" -c configs/fashion_mnist/mae_small.yaml --output "$out/mae" --overwrite \
  --set "train.epochs=$mae_epochs"
phase_done "MRA augmentor ($mae_epochs epochs)"
"$build/bin/mra_train" --output "$out/baseline" --overwrite --set "train.epochs=$epochs"
phase_done "baseline ($epochs epochs)"
"$build/bin/mra_train" -c configs/fashion_mnist/resnet20_mra.yaml --output "$out/mra" --overwrite \
  --set "train.epochs=$epochs" --set "policies.0.checkpoint=$out/mae/last.pt"
phase_done "MRA ($epochs epochs)"

top1() { sed -n 's/.*"val_top1": \([0-9.]*\).*/\1/p' "$1/summary.json"; }
echo
echo "Fashion-MNIST test top-1 after $epochs epochs of ResNet-20 (run directories under $out/):"
printf '  %-34s %s %%\n' "baseline" "$(top1 "$out/baseline")"
printf '  %-34s %s %%\n' "MRA (augmentor pretrained $mae_epochs ep)" "$(top1 "$out/mra")"
echo "Time per phase (total $SECONDS s; $(nproc) cores):"
printf '%s\n' "${phases[@]}"
