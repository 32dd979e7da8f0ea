#!/usr/bin/env bash
# Exact resume: runs killed (SIGKILL, SIGTERM, SIGINT, twice SIGTERM, SIGKILL during a
# checkpoint write) and resumed with --resume auto end bitwise equal to an uninterrupted run.
set -u
bin="$1"
configs="$(cd "$(dirname "$0")/../../configs/fashion_mnist" && pwd)"
source "$(dirname "$0")/common.sh"

# An augmentor for MRA, pretrained briefly.
"$bin/mae_pretrain" -o "$tmp/mae" --set data.train.limit=128 --set data.val.limit=8 \
  --set train.epochs=1 --set data.loader.batch_size=64 >/dev/null 2>&1 || fail "mae_pretrain"

# MRA + RandAugment + KeepCutMix + MaskSub on ResNet-20, 12 steps per epoch, 2 epochs.
recipe=(-c "$configs/resnet20_all_three.yaml"
  --set "policies=[{name: randaugment, num_ops: 2, magnitude: 9},
    {name: mra, checkpoint: $tmp/mae/last.pt, preset: mae_tiny_patch4_28, in_chans: 1, p: 0.5},
    {name: keep_cutmix, saliency: low_res}]"
  --set data.train.limit=192 --set data.val.limit=32 --set data.loader.batch_size=16
  --set train.epochs=2 --set train.checkpoint_every_steps=2 --set train.step_log=true
  --set threads=2)

"$bin/mra_train" -o "$tmp/ref" "${recipe[@]}" >"$tmp/ref.out" 2>&1 || fail "reference run: $(tail -2 "$tmp/ref.out")"
[[ $(wc -l <"$tmp/ref/steps.jsonl") -eq 24 ]] || fail "reference run logged $(wc -l <"$tmp/ref/steps.jsonl") steps, not 24"

# Starts a run in the background and waits until it has logged at least $2 steps.
start_until() {
  local dir="$1" steps="$2"
  "$bin/mra_train" -o "$dir" "${recipe[@]}" >"$dir.out" 2>&1 &
  pid=$!
  wait_for_lines "$dir/steps.jsonl" "$steps" || fail "$dir never reached step $steps"
}

same_as_reference() {
  local dir="$1" what="$2"
  cmp -s "$tmp/ref/last.pt" "$dir/last.pt" || fail "$what: final checkpoint differs from the uninterrupted run"
  cmp -s "$tmp/ref/steps.jsonl" "$dir/steps.jsonl" || fail "$what: per-step losses differ from the uninterrupted run"
}

resume() {
  local dir="$1" what="$2"
  "$bin/mra_train" -o "$dir" "${recipe[@]}" --resume auto >"$dir.resume.out" 2>&1 ||
    fail "$what: resume failed: $(tail -2 "$dir.resume.out")"
  same_as_reference "$dir" "$what"
}

# SIGKILL at an arbitrary step (the 3rd to the 21st).
k=$((3 + RANDOM % 19))
start_until "$tmp/kill" "$k"
kill -9 "$pid"
wait "$pid" 2>/dev/null
resume "$tmp/kill" "SIGKILL after step $k"
grep -q "resumed from $tmp/kill/last.pt" "$tmp/kill.resume.out" || fail "SIGKILL: no resume line"

# SIGTERM and SIGINT: finish the step, checkpoint, one line, exit 143 / 130.
for sig in TERM INT; do
  start_until "$tmp/$sig" 7
  kill -$sig "$pid"
  wait "$pid"
  rc=$?
  want=$([[ $sig == TERM ]] && echo 143 || echo 130)
  [[ $rc -eq $want ]] || fail "SIG$sig exit code $rc, want $want"
  grep -q "interrupted: stopped by SIG$sig at epoch 1 step" "$tmp/$sig.out" || fail "SIG$sig message: $(tail -1 "$tmp/$sig.out")"
  resume "$tmp/$sig" "SIG$sig"
done

# A second SIGTERM exits at once; the previous checkpoint stays loadable.
start_until "$tmp/twice" 5
kill -TERM "$pid"
sleep 0.02
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 143 ]] || fail "second SIGTERM exit code $rc, want 143"
grep -q "second signal: exiting now without a checkpoint" "$tmp/twice.out" ||
  fail "second SIGTERM did not exit at once: $(tail -1 "$tmp/twice.out")"
resume "$tmp/twice" "two SIGTERMs"

# Dropout and drop-path draw from LibTorch's default generator: a ViT with drop-path and a
# drop-path MaskSub sub-model, stopped by SIGTERM and resumed, also ends bitwise equal. It
# trains with LAMB (per-group step counts) under layer-wise lr decay and 3-Augment.
recipe=(-c "$configs/vit_mini_masksub.yaml" --set model.drop_path=0.2
  --set optimizer.name=lamb --set optimizer.layer_decay=0.8 --set 'policies=[three_augment]'
  --set objective.variant=droppath --set data.train.limit=128 --set data.val.limit=32
  --set data.loader.batch_size=16 --set train.epochs=1 --set train.step_log=true --set threads=2)
"$bin/mra_train" -o "$tmp/vit_ref" "${recipe[@]}" >/dev/null 2>&1 || fail "ViT reference run"
start_until "$tmp/vit" 3
kill -TERM "$pid"
wait "$pid"
"$bin/mra_train" -o "$tmp/vit" "${recipe[@]}" --resume auto >/dev/null 2>&1 || fail "ViT resume"
cmp -s "$tmp/vit_ref/last.pt" "$tmp/vit/last.pt" || fail "ViT drop-path: final checkpoint differs"
cmp -s "$tmp/vit_ref/steps.jsonl" "$tmp/vit/steps.jsonl" || fail "ViT drop-path: losses differ"

# FixMatch with MRA + KeepRandAugment as the strong view: 8 steps per epoch of 16 labelled and
# 2 x 16 unlabelled images from 200, so the unlabelled stream starts a new pass inside epochs;
# SIGKILL anywhere and resume ends bitwise equal (weights, EMA, losses, pseudo-label metrics).
recipe=(-c "$configs/fixmatch_resnet20.yaml"
  --set "data.unlabelled={name: idx, root: /usr/share/datasets/fashion-mnist, split: train, limit: 200}"
  --set "semi.strong=[{name: mra, checkpoint: $tmp/mae/last.pt, preset: mae_tiny_patch4_28, in_chans: 1},
    {name: keep_randaugment, saliency: low_res, paste_length: 14}]"
  --set semi.ratio=2 --set semi.steps_per_epoch=8 --set semi.threshold=0.5
  --set data.loader.batch_size=16 --set data.val.limit=32 --set train.epochs=2
  --set train.checkpoint_every_steps=2 --set train.step_log=true --set threads=2)
"$bin/mra_train" -o "$tmp/fm_ref" "${recipe[@]}" >"$tmp/fm_ref.out" 2>&1 || fail "FixMatch reference run: $(tail -2 "$tmp/fm_ref.out")"
grep -q '"pseudo_label_top1"' "$tmp/fm_ref/metrics.jsonl" || fail "FixMatch run logs no pseudo_label_top1"
k=$((3 + RANDOM % 11))
start_until "$tmp/fm" "$k"
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$bin/mra_train" -o "$tmp/fm" "${recipe[@]}" --resume auto >"$tmp/fm.resume.out" 2>&1 || fail "FixMatch resume: $(tail -2 "$tmp/fm.resume.out")"
cmp -s "$tmp/fm_ref/last.pt" "$tmp/fm/last.pt" || fail "FixMatch, SIGKILL after step $k: final checkpoint differs"
cmp -s "$tmp/fm_ref/steps.jsonl" "$tmp/fm/steps.jsonl" || fail "FixMatch, SIGKILL after step $k: losses differ"
/usr/bin/python3 - "$tmp/fm_ref/metrics.jsonl" "$tmp/fm/metrics.jsonl" <<'PY' || fail "FixMatch, SIGKILL after step $k: epoch metrics differ"
import json, sys
keys = ("train_loss", "train_loss_unlabelled", "mask_rate", "pseudo_label_top1", "ema_val_top1")
a, b = ([{k: json.loads(l).get(k) for k in keys} for l in open(p)] for p in sys.argv[1:3])
sys.exit(0 if a == b and a[-1]["mask_rate"] is not None else 1)
PY

# mae_pretrain, with what the training loop gives every task (gradient accumulation, clipping,
# EMA, the step log): SIGTERM inside its second epoch, then --resume auto, ends bitwise equal.
mae=(--set data.train.limit=512 --set data.val.limit=8 --set train.epochs=2
  --set data.loader.batch_size=32 --set threads=2 --set train.accum_steps=2
  --set train.grad_clip=0.5 --set train.ema.enabled=true --set train.ema.decay=0.9
  --set train.step_log=true)
"$bin/mae_pretrain" -o "$tmp/mae_ref" "${mae[@]}" >/dev/null 2>&1 || fail "mae reference run"
"$bin/mae_pretrain" -o "$tmp/mae_stop" "${mae[@]}" >"$tmp/mae_stop.out" 2>&1 &
pid=$!
for _ in $(seq 6000); do
  [[ -f "$tmp/mae_stop/recon_epoch001.png" ]] && break
  sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 143 ]] || fail "mae_pretrain SIGTERM exit code $rc: $(tail -1 "$tmp/mae_stop.out")"
"$bin/mae_pretrain" -o "$tmp/mae_stop" "${mae[@]}" --resume auto >/dev/null 2>&1 || fail "mae resume"
cmp -s "$tmp/mae_ref/last.pt" "$tmp/mae_stop/last.pt" || fail "mae_pretrain: resumed checkpoint differs"
cmp -s "$tmp/mae_ref/steps.jsonl" "$tmp/mae_stop/steps.jsonl" || fail "mae_pretrain: resumed step losses differ"
[[ $(wc -l <"$tmp/mae_ref/steps.jsonl") -eq 16 ]] || fail "mae_pretrain logged $(wc -l <"$tmp/mae_ref/steps.jsonl") steps, not 2 x 512 / 64"
/usr/bin/python3 - "$tmp/mae_ref/last.pt" <<'PY' || fail "mae_pretrain: last.pt holds no EMA that differs from the weights"
import sys, torch
c = torch.load(sys.argv[1], map_location="cpu")
sys.exit(0 if any(not torch.equal(c["ema"][k], c["model"][k]) for k in c["model"]) else 1)
PY

# No silent overwrite: a run directory that holds a run needs --resume or --overwrite.
out=$("$bin/mra_train" -o "$tmp/ref" "${recipe[@]}" 2>&1)
[[ $? -eq 2 && $out == *"already holds a run; pass --resume auto to continue it or --overwrite"* ]] ||
  fail "a second run into $tmp/ref was not refused: $out"
cmp -s "$tmp/ref/last.pt" "$tmp/kill/last.pt" || fail "the refused run damaged $tmp/ref"
out=$("$bin/mra_train" -o "$tmp/ref" "${recipe[@]}" --resume auto --overwrite 2>&1)
[[ $? -eq 2 && $out == *"--overwrite: cannot be combined with resuming"* ]] || fail "--resume with --overwrite: $out"

# SIGKILL in the middle of a checkpoint write (a 90 MB one, every step) leaves the previous
# checkpoint loadable, and the next start removes the partial file.
big=(--set model.name=resnet18 --set data.train.limit=4000 --set data.val.limit=32
  --set data.loader.batch_size=8 --set train.checkpoint_every_steps=1 --set train.epochs=1)
hit=0
for attempt in $(seq 8); do
  rm -rf "$tmp/write"
  "$bin/mra_train" -o "$tmp/write" "${big[@]}" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 40000); do
    [[ -f "$tmp/write/last.pt" ]] && compgen -G "$tmp/write/last.pt.tmp.*" >/dev/null && break
    sleep 0.005
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  compgen -G "$tmp/write/last.pt.tmp.*" >/dev/null || continue
  hit=1
  out=$("$bin/mra_train" -o "$tmp/write" "${big[@]}" --resume auto --eval-only 2>&1) ||
    fail "checkpoint unreadable after a kill during its write: $out"
  # Resuming removes the partial file; SIGTERM then stops it after one step.
  "$bin/mra_train" -o "$tmp/write" "${big[@]}" --resume auto >"$tmp/write.out" 2>&1 &
  pid=$!
  for _ in $(seq 6000); do
    grep -q "resumed from" "$tmp/write.out" && break
    sleep 0.05
  done
  kill -TERM "$pid"
  wait "$pid"
  grep -q "note: removed last.pt.tmp" "$tmp/write.out" || fail "the partial write was not removed: $(head -3 "$tmp/write.out")"
  compgen -G "$tmp/write/last.pt.tmp.*" >/dev/null && fail "a partial write is left"
  break
done
[[ $hit -eq 1 ]] || fail "no SIGKILL landed during a checkpoint write in 8 attempts"

echo "resume checks: $fails failed"
[[ $fails -eq 0 ]]
