#!/usr/bin/env bash
# Fingerprints of short training runs, to show that a refactoring of the training loop changes
# no result: runs mae_pretrain and five classifier recipes (baseline with accumulation, clipping
# and EMA; MRA; MRA + KeepCutMix + MaskSub; FixMatch; ViT + MaskSub) for a few steps on
# Fashion-MNIST and prints the SHA-256 of each run's last.pt and steps.jsonl; the MAE's
# checkpoint also entry by entry without its "config" text, which grows when the pretraining
# recipe gains keys (at their defaults they keep today's behaviour).
#   tools/loop_identity.sh BIN_DIR OUT_DIR [MAE_CHECKPOINT] > hashes.txt
# Compare two builds' lists with diff; the hashes hold for one toolchain on one machine. The
# MRA runs read MAE_CHECKPOINT when given (its fingerprint is in their checkpoints), otherwise
# the MAE this script pretrains.
set -euo pipefail
bin="$(cd "$1" && pwd)"
out="$2"
configs="$(cd "$(dirname "$0")/../configs/fashion_mnist" && pwd)"
rm -rf "$out"
mkdir -p "$out"
small=(--set data.val.limit=64 --set data.loader.batch_size=32 --set threads=1)
limit=(--set data.train.limit=256)

"$bin/mae_pretrain" -o "$out/mae" "${small[@]}" "${limit[@]}" --set train.epochs=2 --set data.val.limit=8 \
  >"$out/mae.out" 2>&1
augmentor="${3:-$out/mae/last.pt}"
mae="{name: mra, checkpoint: $augmentor, preset: mae_tiny_patch4_28, in_chans: 1"

run() {
  local name="$1"
  shift
  "$bin/mra_train" -o "$out/$name" "$@" "${small[@]}" --set train.epochs=2 \
    --set train.step_log=true >"$out/$name.out" 2>&1
}
run baseline "${limit[@]}" -c "$configs/resnet20.yaml" --set train.accum_steps=2 --set train.grad_clip=1.0 \
  --set train.ema.enabled=true --set train.ema.decay=0.9
run mra "${limit[@]}" -c "$configs/resnet20_mra.yaml" --set "policies=[$mae, mask_ratio: 0.6, mode: low,
  attention: patches, p: 1.0}]"
run all_three "${limit[@]}" -c "$configs/resnet20_all_three.yaml" --set "policies=[$mae, mask_ratio: 0.6,
  mode: low, attention: patches, p: 1.0}, {name: keep_cutmix, saliency: low_res}]"
run fixmatch -c "$configs/fixmatch_resnet20.yaml" --set semi.steps_per_epoch=4 \
  --set semi.ratio=2
run vit_masksub "${limit[@]}" -c "$configs/vit_mini_masksub.yaml" --set data.loader.batch_size=16

cd "$out"
sha256sum */last.pt */steps.jsonl | sort -k2
/usr/bin/python3 - <<'EOF'
import hashlib, torch
ckpt = torch.load("mae/last.pt", map_location="cpu")
def digest(v):
    if isinstance(v, torch.Tensor):
        return hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest()[:16]
    if isinstance(v, dict):
        return {k: digest(x) for k, x in v.items()}
    if isinstance(v, list):
        return [digest(x) for x in v]
    return v
for key, value in ckpt.items():
    if key != "config":
        print("mae/last.pt[%s]" % key, hashlib.sha256(repr(digest(value)).encode()).hexdigest())
EOF
