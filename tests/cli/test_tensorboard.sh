#!/usr/bin/env bash
# TensorBoard event files, read back by TensorBoard's own reader (tests/python/
# tensorboard_check.py): they hold exactly the figures of metrics.jsonl and steps.jsonl, after a
# plain run, after a kill and --resume auto (rewritten from the cut-back logs), and for
# mae_pretrain; --no-tensorboard writes none.
#   test_tensorboard.sh BIN_DIR PYTHON_WITH_TENSORBOARD
set -u
bin="$1"
python="$2"
here="$(cd "$(dirname "$0")/.." && pwd)"
configs="$here/../configs/fashion_mnist"
check="$here/python/tensorboard_check.py"
source "$(dirname "$0")/common.sh"
events() { ls "$1" | grep -c '^events\.out\.tfevents\.'; }

# MaskSub with EMA: the epoch records carry train_loss_sub and ema_val_top1.
recipe=(-c "$configs/resnet20_masksub.yaml" --set data.train.limit=256 --set data.val.limit=64
  --set data.loader.batch_size=32 --set train.epochs=3 --set train.step_log=true
  --set train.ema.enabled=true --set train.checkpoint_every_steps=2 --set threads=2)

"$bin/mra_train" -o "$tmp/plain" "${recipe[@]}" >"$tmp/plain.out" 2>&1 ||
  fail "plain run: $(tail -2 "$tmp/plain.out")"
grep -q '"train_loss_sub"' "$tmp/plain/metrics.jsonl" || fail "metrics.jsonl has no train_loss_sub"
out=$("$python" "$check" "$tmp/plain") || fail "plain run: $out"
echo "plain run: $out"

# Killed after step 13 of 24, resumed: the old event file is replaced by one rewritten from
# the logs, which now hold the resumed run's figures only once.
"$bin/mra_train" -o "$tmp/kill" "${recipe[@]}" >"$tmp/kill.out" 2>&1 &
pid=$!
wait_for_lines "$tmp/kill/steps.jsonl" 13 || fail "the run never reached step 13"
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$bin/mra_train" -o "$tmp/kill" "${recipe[@]}" --resume auto >"$tmp/kill.resume.out" 2>&1 ||
  fail "resume: $(tail -2 "$tmp/kill.resume.out")"
[[ $(wc -l <"$tmp/kill/steps.jsonl") -eq 24 ]] || fail "resumed steps.jsonl has $(wc -l <"$tmp/kill/steps.jsonl") lines, not 24"
out=$("$python" "$check" "$tmp/kill") || fail "killed and resumed run: $out"
echo "killed and resumed: $out"

"$bin/mra_train" -o "$tmp/none" "${recipe[@]}" --set train.epochs=1 --no-tensorboard \
  >"$tmp/none.out" 2>&1 || fail "--no-tensorboard run: $(tail -2 "$tmp/none.out")"
[[ $(events "$tmp/none") -eq 0 ]] || fail "--no-tensorboard wrote an event file"

"$bin/mae_pretrain" -o "$tmp/mae" --set data.train.limit=128 --set data.val.limit=8 \
  --set train.epochs=2 --set data.loader.batch_size=64 >"$tmp/mae.out" 2>&1 ||
  fail "mae_pretrain: $(tail -2 "$tmp/mae.out")"
out=$("$python" "$check" "$tmp/mae") || fail "mae_pretrain: $out"
echo "mae_pretrain: $out"

[[ $fails -eq 0 ]] && echo "all TensorBoard checks passed"
exit $((fails > 0))
