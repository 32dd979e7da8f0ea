#!/usr/bin/env bash
# Exit codes and one-line messages of the programs for good and bad input.
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

expect() {  # expect CODE PATTERN -- command...
  local code="$1" pattern="$2"
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $code ]] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> rc=$rc (want $code), output:"
    echo "$out" | head -5
    fails=$((fails + 1))
  fi
}

printf 'train:\n  epoch: 3\n' >"$tmp/typo.yaml"
expect 2 "config error: $tmp/typo.yaml:2: unknown key 'train.epoch' (did you mean 'train.epochs'?)" -- \
  "$bin/mra_train" --config "$tmp/typo.yaml"
expect 2 "train.epochs: expected an integer in [1, 1000000], got 'x'" -- \
  "$bin/mra_train" --set train.epochs=x
expect 2 "cannot read config file '$tmp/none.yaml'" -- "$bin/mra_train" --config "$tmp/none.yaml"
printf 'a: [1,\n' >"$tmp/broken.yaml"
expect 2 "not valid YAML" -- "$bin/mra_train" --config "$tmp/broken.yaml"
expect 2 "usage error" -- "$bin/mra_train" --no-such-flag
expect 2 "data error: idx dataset: neither" -- "$bin/mra_train" --set data.train.root="$tmp" -o "$tmp/run"
expect 2 "no component named 'hflp' (did you mean 'hflip'?)" -- "$bin/mra_train" --help-component hflp
expect 0 "random_resized_crop" -- "$bin/mra_train" --list
expect 0 "p (number, default 0.5)" -- "$bin/mra_train" --help-component hflip
expect 0 "data.loader.workers" -- "$bin/mra_train" --help-component recipe
expect 2 "usage error" -- "$bin/augcore_bench"
expect 2 "mae.preset: expected one of" -- "$bin/mae_pretrain" --set mae.preset=mae_huge
expect 0 "policies:" -- "$bin/mra_train" --list
# Recipes by name, from the checkout's configs/ (the installed ones: tools/test.sh).
expect 0 "imagenet/imagenet_r50" -- "$bin/mra_train" --list-recipes
expect 0 "ResNet-20 on Fashion-MNIST with MRA: every training image" -- "$bin/mra_train" --list-recipes
expect 2 "config: 'base' names several recipes: cifar10/base, cifar100/base, fashion_mnist/base, imagenet/base" -- \
  "$bin/mra_train" --config base
expect 2 "config: no recipe file or name 'resnet20_mrx' (did you mean 'resnet20_mra'?)" -- \
  "$bin/mra_train" --config resnet20_mrx
# The card's recipe resolves (on CPU it stops at the missing ImageNet folder).
expect 2 "image_folder: 'data/imagenet/train' is not a folder" -- "$bin/mra_train" \
  --config imagenet_r50.yaml -o "$tmp/r50" --set device=cpu --set train.amp=none

# The main job on a slice of the built-in recipe (Fashion-MNIST) trains and writes its files.
small=(--set data.train.limit=128 --set data.val.limit=64 --set train.epochs=1
       --set data.loader.batch_size=32)
expect 0 "run directory: $tmp/run" -- "$bin/mra_train" -o "$tmp/run" "${small[@]}"
expect 2 "data error: cannot open '/nonexistent.pt'" -- "$bin/mra_train" -o "$tmp/run4" \
  "${small[@]}" --set 'policies=[{name: mra, checkpoint: /nonexistent.pt, preset: mae_tiny_patch4_28, in_chans: 1}]'
for f in config.yaml train.log metrics.jsonl last.pt best.pt summary.json; do
  [[ -s "$tmp/run/$f" ]] || { echo "FAIL: run directory lacks $f"; fails=$((fails + 1)); }
done
grep -q "batch_size: 32" "$tmp/run/config.yaml" || { echo "FAIL: resolved config"; fails=$((fails + 1)); }
expect 0 "eval: loss" -- "$bin/mra_train" -o "$tmp/run" "${small[@]}" --resume "$tmp/run/last.pt" --eval-only
expect 2 "unknown model 'resnet21' (did you mean 'resnet20'?)" -- "$bin/mra_train" --set model.name=resnet21
expect 2 "data error: cannot open" -- "$bin/mra_train" -o "$tmp/run2" --set data.train.images=/nonexistent/x.gz
expect 2 "train.amp: 'bf16' mixed precision needs a CUDA device" -- "$bin/mra_train" -o "$tmp/run3" "${small[@]}" --set train.amp=bf16
expect 0 "images/s" -- "$bin/augcore_bench" loader --workers 1 --batches 5

# A brief augmentor pretraining feeds the preview of an MRA recipe.
expect 0 "recon_epoch001.png" -- "$bin/mae_pretrain" -o "$tmp/mae" --set data.train.limit=128 \
  --set data.val.limit=16 --set train.epochs=1 --set data.loader.batch_size=32
expect 0 "columns: original | attention | masked (blue) | mra" -- "$bin/augcore_preview" \
  -c "$(dirname "$0")/../../configs/fashion_mnist/resnet20_mra.yaml" \
  --set "policies.0.checkpoint=$tmp/mae/last.pt" -n 3 --png "$tmp/preview.png"
[[ -s "$tmp/preview.png" ]] || { echo "FAIL: no preview.png"; fails=$((fails + 1)); }
# The strength meter on the same recipe: one table row per policy, MRA with its patch shares;
# written into a document section when asked, a usage error without the section's name.
expect 0 "| mra | " -- "$bin/augcore_preview" --strength -n 40 \
  -c "$(dirname "$0")/../../configs/fashion_mnist/resnet20_mra.yaml" \
  --set "policies.0.checkpoint=$tmp/mae/last.pt" --update-doc "$tmp/strength.md" --section t
grep -q 'strength:t begin' "$tmp/strength.md" && grep -q '40 images of' "$tmp/strength.md" ||
  { echo "FAIL: --update-doc wrote no strength:t section"; fails=$((fails + 1)); }
expect 2 "usage error: --update-doc needs --section" -- "$bin/augcore_preview" --strength \
  --update-doc "$tmp/strength.md"

# The papers' recipe components train for an epoch: DeiT-III's (LAMB, layer decay, 3-Augment,
# binarised BCE), MAE fine-tuning from the augmentor above with MaskSub, a Swin with MaskSub's
# mask token, Shake-Shake and a ShakeDrop PyramidNet; impossible combinations are named.
swin='{name: swin, patch_size: 2, embed_dim: 16, depths: [2, 2], num_heads: [2, 2], window_size: 7'
expect 0 "done: 1 epochs" -- "$bin/mra_train" -o "$tmp/r1" "${small[@]}" \
  -c "$(dirname "$0")/../../configs/fashion_mnist/vit_mini.yaml" --set optimizer.name=lamb \
  --set optimizer.layer_decay=0.75 --set 'policies=[{name: three_augment}, {name: mix}]' \
  --set loss.kind=bce --set loss.binary_targets=true
expect 0 "MAE encoder loaded" -- "$bin/mra_train" -o "$tmp/r2" "${small[@]}" \
  --set "model={name: vit, patch_size: 4, embed_dim: 64, depth: 3, num_heads: 4, global_pool: avg, pretrained: $tmp/mae/last.pt, pretrained_from: mae}" \
  --set objective.name=masksub --set 'optimizer={name: adamw, layer_decay: 0.75}'
expect 0 "done: 1 epochs" -- "$bin/mra_train" -o "$tmp/r3" "${small[@]}" \
  --set "model=$swin, mask_token: true, mask_unit: 14}" --set objective.name=masksub
expect 0 "done: 1 epochs" -- "$bin/mra_train" -o "$tmp/r4" "${small[@]}" \
  --set 'model={name: shake_shake, depth: 8, widen: 1}'
expect 0 "done: 1 epochs" -- "$bin/mra_train" -o "$tmp/r5" "${small[@]}" \
  --set 'model={name: pyramidnet_shakedrop, depth: 11, alpha: 12}'
expect 2 "config error: model.mask_token: MaskSub's Swin sub pass needs \`mask_token: true\`" -- \
  "$bin/mra_train" -o "$tmp/r6" "${small[@]}" --set "model=$swin}" --set objective.name=masksub
expect 2 "config error: optimizer.layer_decay: the model has no layer ids" -- \
  "$bin/mra_train" -o "$tmp/r7" "${small[@]}" --set optimizer.layer_decay=0.75
expect 2 "config error: loss.binary_targets: needs kind: bce" -- \
  "$bin/mra_train" -o "$tmp/r8" "${small[@]}" --set loss.binary_targets=true
expect 2 "config error: policies[0].blur_sigma: [2, 1] is not a range (min > max)" -- \
  "$bin/mra_train" -o "$tmp/r9" "${small[@]}" --set 'policies=[{name: three_augment, blur_sigma: [2, 1]}]'
expect 2 "config error: data.loader.repeats: repeated augmentation needs sampler: random" -- \
  "$bin/mra_train" -o "$tmp/r10" "${small[@]}" --set data.loader.repeats=3 --set data.loader.sampler=sequential

# Impossible combinations of policies, models and objectives are config errors.
configs="$(dirname "$0")/../../configs/fashion_mnist"
expect 2 "config error: objective.cell: 32-pixel cells do not tile 28x28 images" -- \
  "$bin/mra_train" -o "$tmp/c1" "${small[@]}" --set objective.name=masksub --set objective.cell=32
expect 2 "config error: objective.variant: dropout and droppath sub-models need a ViT model" -- \
  "$bin/mra_train" -o "$tmp/c2" "${small[@]}" --set objective.name=masksub --set objective.variant=dropout
expect 2 "policies[0].saliency: early_head needs a model with \`early_head: true\`" -- \
  "$bin/mra_train" -o "$tmp/c3" -c "$configs/resnet20_keep_cutout_early.yaml" "${small[@]}" \
  --set model.early_head=false
expect 2 "model.early_head: model 'vit_mini_patch4_28' has no first stage" -- \
  "$bin/mra_train" -o "$tmp/c4" "${small[@]}" --set model.name=vit_mini_patch4_28 --set model.early_head=true
expect 2 "policies[0].area: [0.5, 0.1] is not a range (min > max)" -- \
  "$bin/mra_train" -o "$tmp/c5" "${small[@]}" --set 'policies=[{name: random_erasing, area: [0.5, 0.1]}]'
expect 2 "config error: data.unlabelled: semi.method fixmatch needs an unlabelled dataset" -- \
  "$bin/mra_train" -o "$tmp/c6" "${small[@]}" --set semi.method=fixmatch
expect 2 "config error: objective: semi.method uda trains with the standard objective, not masksub" -- \
  "$bin/mra_train" -o "$tmp/c7" -c "$configs/uda_resnet20.yaml" --set objective.name=masksub
expect 0 "semi-supervised (fixmatch): unlabelled data" -- "$bin/mra_train" -o "$tmp/c8" \
  -c "$configs/fixmatch_resnet20.yaml" --set semi.steps_per_epoch=2 --set train.epochs=1 \
  --set data.val.limit=16 --set data.loader.workers=0
expect 0 "semi-supervised (fixmatch): unlabelled data" -- "$bin/mra_train" -o "$tmp/c10" \
  -c "$configs/fixmatch_resnet20_usb.yaml" --set semi.steps_per_epoch=2 --set train.epochs=1 \
  --set data.val.limit=16 --set data.loader.workers=0
expect 0 "semi-supervised (uda): unlabelled data" -- "$bin/mra_train" -o "$tmp/c9" \
  -c "$configs/uda_resnet20_keep.yaml" --set semi.steps_per_epoch=2 --set train.epochs=1 \
  --set data.val.limit=16 --set data.loader.workers=0
grep -q '"mask_rate"' "$tmp/c8/metrics.jsonl" ||
  { echo "FAIL: a FixMatch run logs no mask_rate: $(head -c 300 "$tmp/c8/metrics.jsonl")"; fails=$((fails + 1)); }
expect 0 "columns: original | cutout | saliency | keep_cutout | autoaugment | keep_autoaugment" -- \
  "$bin/augcore_preview" -c "$configs/keep_preview.yaml" --weights "$tmp/run/last.pt" -n 3 \
  --png "$tmp/keep.png"

# Bad inputs exit 2 with one line naming the file or key, and damage nothing already written.
sum_before=$(cksum <"$tmp/run/last.pt")
head -c 1000 "$tmp/run/last.pt" >"$tmp/truncated.pt"
expect 2 "data error: $tmp/truncated.pt: not a readable torch.save archive" -- \
  "$bin/mra_train" -o "$tmp/b1" "${small[@]}" --resume "$tmp/truncated.pt"
expect 2 "$tmp/run/last.pt: does not fit the model" -- \
  "$bin/mra_train" -o "$tmp/b2" "${small[@]}" --set model.name=preact_resnet18 --resume "$tmp/run/last.pt"
expect 2 "config error: train.lr: the config has '0.5' but checkpoint $tmp/run/last.pt was trained with '0.1'" -- \
  "$bin/mra_train" -o "$tmp/run" "${small[@]}" --set train.lr=0.5 --resume auto
expect 2 "config error: output: '$tmp/run' already holds a run" -- "$bin/mra_train" -o "$tmp/run" "${small[@]}"
[[ $(cksum <"$tmp/run/last.pt") == "$sum_before" ]] || { echo "FAIL: a refused run changed last.pt"; fails=$((fails + 1)); }
expect 2 "patch size 16 does not divide the 28x28 training images" -- "$bin/mra_train" -o "$tmp/b3" \
  "${small[@]}" --set "policies=[{name: mra, checkpoint: $tmp/mae/last.pt, preset: mae_mini, in_chans: 1}]"
expect 2 "does not fit the MAE architecture (patch 4" -- "$bin/mra_train" -o "$tmp/b4" "${small[@]}" \
  --set "policies=[{name: mra, checkpoint: $tmp/mae/last.pt, preset: mae_tiny_patch4_32, in_chans: 1}]"
mkdir -p "$tmp/empty" "$tmp/gap"
printf '\x00\x00\x08\x03\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$tmp/empty/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x00' >"$tmp/empty/train-labels-idx1-ubyte"
expect 2 "data error: $tmp/empty/train-images-idx3-ubyte: holds no images" -- \
  "$bin/mra_train" -o "$tmp/b5" --set data.train.root="$tmp/empty" --set data.val=null
{ printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02'; printf '\x07%.0s' 1 2 3 4 5 6 7 8; } \
  >"$tmp/gap/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x00\x02' >"$tmp/gap/train-labels-idx1-ubyte"
expect 2 "class 1 of 3 has no samples" -- \
  "$bin/mra_train" -o "$tmp/b6" --set data.train.root="$tmp/gap" --set data.val=null
mkdir -p "$tmp/folder/cat" "$tmp/folder/dog"
printf 'x' >"$tmp/folder/cat/a.png"
expect 2 "class folder '$tmp/folder/dog' holds no image files" -- "$bin/mra_train" -o "$tmp/b7" \
  --set "data.train={name: image_folder, root: $tmp/folder}" --set data.val=null
head -c 3000 "$tmp/run/last.pt" >"$tmp/binary.yaml"
out=$("$bin/mra_train" -c "$tmp/binary.yaml" -o "$tmp/b8" 2>&1)
rc=$?
if [[ $rc -ne 2 || $(wc -l <<<"$out") -ne 1 || $out != "config error: $tmp/binary.yaml"* ]]; then
  echo "FAIL: a binary file as config -> rc=$rc: $out"
  fails=$((fails + 1))
fi

expect 2 "config error: config file '$tmp' is not a regular file (it is a directory)" -- \
  "$bin/mra_train" -c "$tmp" -o "$tmp/b9"

# Labelled subsets: exclusive with `limit`; a class too small for them is named.
expect 2 "config error: data.train: \`limit\` and \`labelled_per_class\` cannot both be set" -- \
  "$bin/mra_train" -o "$tmp/l1" --set data.train.limit=100 --set data.train.labelled_per_class=5
expect 2 "class 0 holds 6000 samples, fewer than labelled_per_class = 6001" -- \
  "$bin/mra_train" -o "$tmp/l2" --set data.train.labelled_per_class=6001

# Long-tailed subsets: the profile's limits and conflicts are named; a long-tailed run reports
# its shot groups.
expect 2 "data.train.long_tail_imbalance: 0.5 is below 1" -- \
  "$bin/mra_train" -o "$tmp/t1" --set data.train.long_tail_imbalance=0.5
expect 2 "data.train: \`long_tail_imbalance\` cannot be combined with \`limit\`" -- \
  "$bin/mra_train" -o "$tmp/t2" --set data.train.long_tail_imbalance=10 --set data.train.limit=50
expect 2 "class 0 holds 6000 samples, fewer than data.train.long_tail_max's profile = 7000" -- \
  "$bin/mra_train" -o "$tmp/t3" --set data.train.long_tail_imbalance=10 \
  --set data.train.long_tail_max=7000
expect 0 "(many " -- "$bin/mra_train" -o "$tmp/lt" --set data.train.long_tail_imbalance=100 \
  --set data.train.long_tail_max=300 --set train.shot_accuracy=true --set data.val.limit=128 \
  --set train.epochs=1 --set data.loader.batch_size=64
grep -q '"val_few_shot_top1"' "$tmp/lt/metrics.jsonl" ||
  { echo "FAIL: no shot groups in metrics.jsonl"; fails=$((fails + 1)); }

# augcore_eval: a hole as large as the image is the plain evaluation; bad holes and files are named.
expect 0 "wrote $tmp/eval/occlusion.png" -- "$bin/augcore_eval" --checkpoint "$tmp/run/last.pt" \
  --holes 0 14 28 --output "$tmp/eval"
plain=$(awk -F, '$3=="" {print $4}' "$tmp/eval/eval.csv")
full=$(awk -F, '$3=="28" {print $4}' "$tmp/eval/eval.csv")
[[ -n $plain && $plain == "$full" ]] ||
  { echo "FAIL: hole 28 gives top-1 $full, the plain evaluation $plain"; fails=$((fails + 1)); }
[[ $(awk -F, 'NR == 2 {print $1}' "$tmp/eval/eval.csv") == run ]] ||
  { echo "FAIL: the default label is not the run directory's name"; fails=$((fails + 1)); }
[[ $(head -c 4 "$tmp/eval/occlusion.png" | od -An -c | tr -d ' ') == "211PNG" ]] ||
  { echo "FAIL: occlusion.png is not a PNG"; fails=$((fails + 1)); }
expect 2 "--holes: 40 is larger than the 28-pixel images of $tmp/run/last.pt" -- \
  "$bin/augcore_eval" --checkpoint "$tmp/run/last.pt" --holes 40 --output "$tmp/eval2"
expect 2 "$tmp/none.pt" -- "$bin/augcore_eval" --checkpoint "$tmp/none.pt"
expect 2 "--label: 2 labels for 1 checkpoints" -- "$bin/augcore_eval" \
  --checkpoint "$tmp/run/last.pt" --label a --label b

# augcore_fewshot: episodes from data.novel; impossible episodes and a missing novel set are named.
novel=(--set 'data.novel={name: idx, split: test, classes: [5, 6, 7, 8, 9], limit: 200}')
expect 0 "5-way 1-shot: episode 5/5" -- "$bin/augcore_fewshot" --checkpoint "$tmp/run/last.pt" \
  "${novel[@]}" --shots 1 --queries 5 --episodes 5 --output "$tmp/fs"
[[ $(awk -F, 'NR == 2 {print $1 "," $3 "," $4}' "$tmp/fs/fewshot.csv") == "run,5,1" ]] ||
  { echo "FAIL: fewshot.csv row"; fails=$((fails + 1)); }
expect 2 "--shots: 30 shots + 15 queries need 45 images of every novel class; class 0 holds" -- \
  "$bin/augcore_fewshot" --checkpoint "$tmp/run/last.pt" "${novel[@]}" --shots 30
expect 2 "data.novel: no dataset configured" -- "$bin/augcore_fewshot" --checkpoint "$tmp/run/last.pt"

echo "$((72 - fails)) passed, $fails failed"
[[ $fails -eq 0 ]]
