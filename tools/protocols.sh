#!/usr/bin/env bash
# Regenerates the figures of docs/results.md section 4 (the papers' other protocols) on this
# machine: the occlusion test's checkpoints and curve, Fashion-MNIST-LT under three samplers,
# few-shot with and without MRA, FixMatch with RandAugment or MRA as the strong view (its
# 8-epoch augmentor, then two sweeps), and MAE fine-tuning from that augmentor. Finished runs
# are kept (--resume auto); safe to re-run.
# Needs the mid-data sweep's baseline and MRA runs (tools/results.sh sweeps/fmnist_mid_data.yaml)
# and the MRA augmentor runs/mae_small (tools/results.sh pretrains it). About two hours on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${AUGCORE_BUILD_DIR:-$root/build}/bin"
cd "$root"
out=runs/protocols
mid=runs/sweeps/fmnist_mid_data
one=(--set threads=1 --set data.loader.workers=1 --resume auto)

# Occlusion: Cutout, Mixup and CutMix in the mid-data setting, then the curve with the baseline
# and MRA of the mid-data sweep (seed 0 each).
"$bin/augcore_sweep" --grid sweeps/fmnist_occlusion.yaml
occ=runs/sweeps/fmnist_occlusion
"$bin/augcore_eval" --output "$out/occlusion" --occlusion --hole-steps 7 \
  --checkpoint "$mid/baseline/seed0/last.pt" --label baseline \
  --checkpoint "$occ/cutout/seed0/last.pt" --label Cutout \
  --checkpoint "$occ/mixup/seed0/last.pt" --label Mixup \
  --checkpoint "$occ/cutmix/seed0/last.pt" --label CutMix \
  --checkpoint "$mid/mra_low/seed0/last.pt" --label MRA
cp "$out/occlusion/occlusion.png" docs/images/occlusion.png

# Long tail: Fashion-MNIST-LT (imbalance 200) with three samplers, two at a time.
for sampler in random class_balanced; do
  "$bin/mra_train" -c configs/fashion_mnist/resnet20_lt.yaml -o "$out/lt_$sampler" \
    --set data.loader.sampler=$sampler "${one[@]}" &
done
wait
"$bin/mra_train" -c configs/fashion_mnist/resnet20_lt.yaml -o "$out/lt_square_root" \
  --set data.loader.sampler=square_root --resume auto

# Few-shot: base-class pretraining with and without MRA, then 600 episodes of 5-way 1/5-shot.
"$bin/mra_train" -c configs/fashion_mnist/fewshot_resnet20.yaml -o "$out/fewshot_base" "${one[@]}" &
"$bin/mra_train" -c configs/fashion_mnist/fewshot_resnet20_mra.yaml -o "$out/fewshot_mra" "${one[@]}" &
wait
for run in base mra; do
  "$bin/augcore_fewshot" --checkpoint "$out/fewshot_$run/last.pt" \
    --output "$out/fewshot_eval_$run"
done

# FixMatch, 40 labels (two seeds) and 250 labels (one seed): RandAugment + Cutout against MRA
# with an augmentor pretrained for 8 epochs. The sweeps write their tables into docs/results.md.
"$bin/mae_pretrain" -c configs/fashion_mnist/mae_small.yaml -o runs/mae_small8 \
  --set train.epochs=8 --set threads=1 --set data.loader.workers=1 --resume auto
"$bin/augcore_sweep" --grid sweeps/fmnist_fixmatch.yaml --update-doc docs/results.md
"$bin/augcore_sweep" --grid sweeps/fmnist_fixmatch_250.yaml --update-doc docs/results.md

# MAE fine-tuning (the recipe's components) from the same augmentor against training from
# scratch, and with MaskSub (docs/results.md section 3).
"$bin/augcore_sweep" --grid sweeps/fmnist_mae_finetune.yaml --update-doc docs/results.md
