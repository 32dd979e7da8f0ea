#!/usr/bin/env bash
# Installs dependencies (if missing), builds Release, then runs the main job on the built-in
# data (Fashion-MNIST from /usr/share/datasets/fashion-mnist): pretrain a small MRA augmentor,
# train the built-in ResNet-20 recipe without and with MRA, and print both test accuracies.
# QUICKSTART_MAE_EPOCHS and QUICKSTART_EPOCHS shorten or lengthen the runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AUGCORE_BUILD_DIR:-$root/build}"
mae_epochs="${QUICKSTART_MAE_EPOCHS:-2}"
epochs="${QUICKSTART_EPOCHS:-3}"
out=runs/quickstart
cd "$root"

./tools/install_deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"

"$build/bin/mae_pretrain" -c configs/fashion_mnist/mae_small.yaml --output "$out/mae" --overwrite \
  --set "train.epochs=$mae_epochs"
"$build/bin/mra_train" --output "$out/baseline" --overwrite --set "train.epochs=$epochs"
"$build/bin/mra_train" -c configs/fashion_mnist/resnet20_mra.yaml --output "$out/mra" --overwrite \
  --set "train.epochs=$epochs" --set "policies.0.checkpoint=$out/mae/last.pt"

top1() { sed -n 's/.*"val_top1": \([0-9.]*\).*/\1/p' "$1/summary.json"; }
echo
echo "Fashion-MNIST test top-1 after $epochs epochs of ResNet-20 (run directories under $out/):"
printf '  %-34s %s %%\n' "baseline" "$(top1 "$out/baseline")"
printf '  %-34s %s %%\n' "MRA (augmentor pretrained $mae_epochs ep)" "$(top1 "$out/mra")"
