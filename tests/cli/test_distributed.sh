#!/usr/bin/env bash
# Data-parallel training end to end, on Gloo over 127.0.0.1: 2 processes train what 1 does,
# evaluation is sharded exactly, killed and hung ranks end the job with one line, and runs
# resume bitwise (2 -> 2) or closely (2 -> 1). Usage: test_distributed.sh BIN_DIR [TORCHRUN]
set -u
bin="$1"
torchrun="${2:-}"
configs="$(cd "$(dirname "$0")/../../configs/fashion_mnist" && pwd)"
source "$(dirname "$0")/common.sh"
py=/usr/bin/python3
slow="${AUGCORE_TIME_FACTOR:-1}"  # sanitizer builds: wall-clock bounds × this

# A ViT without BatchNorm or dropout (2 blocks, 32 wide), 8 steps of 32 per epoch, 2 epochs,
# with SGD: Adam's update divides by the root of tiny second moments, which turns differences
# in summation order (1e-9) into 1e-6 after a few steps; SGD's stays at the level of the sums.
recipe=(-c "$configs/vit_mini.yaml" --set "optimizer={name: sgd, momentum: 0.9}" --set train.lr=0.05
  --set model.embed_dim=32 --set model.depth=2
  --set model.num_heads=2 --set model.drop_path=0 --set data.train.limit=256
  --set data.val.limit=101 --set data.loader.batch_size=32 --set data.loader.workers=1
  --set train.epochs=2 --set train.checkpoint_every_steps=2 --set train.step_log=true
  --set threads=1 --set dist.timeout_s=20)

# max |a - b| over the model weights of two checkpoints.
weight_diff() {
  $py - "$1" "$2" <<'PY'
import sys, torch
a, b = (torch.load(p, map_location="cpu")["model"] for p in sys.argv[1:3])
assert a.keys() == b.keys()
print(max((a[k].double() - b[k].double()).abs().max().item() for k in a))
PY
}

run() {  # run NAME NPROC ARGS...: a run into $tmp/NAME, output in $tmp/NAME.out
  local name="$1" n="$2"
  shift 2
  "$bin/mra_train" -o "$tmp/$name" --nproc "$n" "${recipe[@]}" "$@" >"$tmp/$name.out" 2>&1
}

# 1 process x 32 and 2 processes x 16 train the same weights.
run one 1 || fail "1-process run: $(tail -2 "$tmp/one.out")"
run two 2 || fail "2-process run: $(tail -2 "$tmp/two.out")"
d=$(weight_diff "$tmp/one/last.pt" "$tmp/two/last.pt")
$py -c "import sys; sys.exit(0 if $d <= 1e-6 else 1)" || fail "1 vs 2 processes: weights differ by $d"
echo "1 vs 2 processes: max weight difference $d"
[[ $(grep -c "epoch 2/2: train loss" "$tmp/two.out") -eq 1 ]] || fail "2-process run did not log once per epoch"
grep -q '"world_size": 2' "$tmp/two/summary.json" && grep -q '"backend": "gloo"' "$tmp/two/summary.json" ||
  fail "summary.json lacks world_size/backend: $(cat "$tmp/two/summary.json")"
[[ $(wc -l <"$tmp/two/steps.jsonl") -eq 16 ]] || fail "2-process steps.jsonl has $(wc -l <"$tmp/two/steps.jsonl") lines, not 16"
# The reference engine gives the same weights as the overlapped one.
run post 2 --set dist.grad_engine=post_backward || fail "post_backward run: $(tail -2 "$tmp/post.out")"
d=$(weight_diff "$tmp/two/last.pt" "$tmp/post/last.pt")
$py -c "import sys; sys.exit(0 if $d <= 1e-6 else 1)" || fail "overlap vs post_backward: weights differ by $d"
# Gradient accumulation: 2 processes x 2 micro-batches of 8 = 1 process x 32.
run accum 2 --set train.accum_steps=2 --set data.loader.batch_size=16 || fail "accumulation run: $(tail -2 "$tmp/accum.out")"
d=$(weight_diff "$tmp/one/last.pt" "$tmp/accum/last.pt")
$py -c "import sys; sys.exit(0 if $d <= 1e-6 else 1)" || fail "accumulation under 2 processes: weights differ by $d"

# ResNet-20 with SyncBatchNorm: one step of 2 x 16 equals one of 1 x 32 (later steps drift apart
# as fast as a single process on 1 vs 2 threads does: BatchNorm networks at initialisation
# amplify summation-order differences about 100-fold per step). Local BatchNorm differs. How far
# one step's summation orders move the weights depends on the CPU's kernels: 1.6e-5 on an AVX2
# EPYC, below 1e-5 on earlier machines; local BatchNorm's 7e-2. The bounds sit between.
resnet=(-c "$configs/resnet20.yaml" --set data.train.limit=32 --set data.val.limit=16
  --set data.loader.batch_size=32 --set data.loader.workers=1 --set train.epochs=1 --set threads=1)
"$bin/mra_train" -o "$tmp/r1" "${resnet[@]}" >/dev/null 2>&1 || fail "ResNet-20, 1 process"
"$bin/mra_train" -o "$tmp/r2" --nproc 2 "${resnet[@]}" --set dist.batch_norm=sync >"$tmp/r2.out" 2>&1 ||
  fail "ResNet-20, 2 processes, sync BN: $(tail -2 "$tmp/r2.out")"
"$bin/mra_train" -o "$tmp/r3" --nproc 2 "${resnet[@]}" >/dev/null 2>&1 || fail "ResNet-20, 2 processes, local BN"
d=$(weight_diff "$tmp/r1/last.pt" "$tmp/r2/last.pt")
$py -c "import sys; sys.exit(0 if $d <= 2e-4 else 1)" || fail "sync BN: 1 vs 2 processes differ by $d"
d=$(weight_diff "$tmp/r1/last.pt" "$tmp/r3/last.pt")
$py -c "import sys; sys.exit(0 if $d > 2e-3 else 1)" || fail "local BN: 1 vs 2 processes differ by only $d"

# mae_pretrain: 2 processes x 16 pretrain the MAE that 1 x 32 does (the masks of the global
# batch are drawn alike everywhere and each rank takes its rows), with gradient accumulation,
# clipping and EMA from the training loop.
mae=(--set data.train.limit=128 --set data.val.limit=8 --set data.loader.batch_size=32
  --set data.loader.workers=1 --set train.epochs=1 --set threads=1 --set train.lr=0.05
  --set "optimizer={name: sgd, momentum: 0.9}" --set train.accum_steps=2
  --set train.grad_clip=1.0 --set train.ema.enabled=true --set train.ema.decay=0.5)
"$bin/mae_pretrain" -o "$tmp/mae1" "${mae[@]}" >"$tmp/mae1.out" 2>&1 || fail "mae_pretrain, 1 process: $(tail -2 "$tmp/mae1.out")"
"$bin/mae_pretrain" -o "$tmp/mae2" --nproc 2 "${mae[@]}" >"$tmp/mae2.out" 2>&1 || fail "mae_pretrain, 2 processes: $(tail -2 "$tmp/mae2.out")"
d=$(weight_diff "$tmp/mae1/last.pt" "$tmp/mae2/last.pt")
$py -c "import sys; sys.exit(0 if $d <= 1e-6 else 1)" || fail "mae_pretrain: 1 vs 2 processes differ by $d"

# Sharded evaluation (101 images: uneven slices) counts exactly what one process counts.
for n in 1 3; do
  "$bin/mra_train" -o "$tmp/eval$n" --nproc $n "${recipe[@]}" --set data.loader.batch_size=33 \
    --resume "$tmp/one/last.pt" --eval-only \
    >"$tmp/eval$n.out" 2>&1 || fail "eval-only with $n processes: $(tail -1 "$tmp/eval$n.out")"
done
e1=$(grep -o "top-1 .*" "$tmp/eval1.out")
e3=$(grep -o "top-1 .*" "$tmp/eval3.out")
[[ -n "$e1" && "$e1" == "$e3" ]] || fail "sharded evaluation differs: '$e1' vs '$e3'"
[[ $(grep -c "^eval:" "$tmp/eval3.out") -eq 1 ]] || fail "sharded evaluation printed more than once"

# Killing a rank ends the job within seconds, with one line naming it; --resume auto then
# completes the run bitwise equal to the uninterrupted 2-process run.
start_until() {  # start_until NAME STEPS: a 2-process run in the background, $pid the launcher
  local name="$1" steps="$2"
  "$bin/mra_train" -o "$tmp/$name" --nproc 2 "${recipe[@]}" >"$tmp/$name.out" 2>&1 &
  pid=$!
  wait_for_lines "$tmp/$name/steps.jsonl" "$steps" || fail "$name never reached step $steps"
}
rank_pid() {  # rank_pid LAUNCHER_PID RANK
  for c in $(pgrep -P "$1"); do
    tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "RANK=$2" && echo "$c" && return
  done
}
start_until kill 5
t0=$(date +%s)
kill -9 "$(rank_pid $pid 1)"
wait "$pid"
rc=$?
t=$(($(date +%s) - t0))
[[ $rc -ne 0 ]] || fail "job with a killed rank exited 0"
[[ $t -le $((10 * slow)) ]] || fail "job with a killed rank took ${t}s to end (bound $((10 * slow)) s)"
grep -q "launch: rank 1 was killed by signal 9" "$tmp/kill.out" || fail "no line names the killed rank: $(tail -3 "$tmp/kill.out")"
grep -q "rank 0: .* failed at step" "$tmp/kill.out" || fail "rank 0 did not name the collective: $(cat "$tmp/kill.out")"
"$bin/mra_train" -o "$tmp/kill" --nproc 2 "${recipe[@]}" --resume auto >"$tmp/kill.resume.out" 2>&1 ||
  fail "resume after a killed rank: $(tail -2 "$tmp/kill.resume.out")"
cmp -s "$tmp/two/last.pt" "$tmp/kill/last.pt" || fail "killed and resumed 2-process run differs from the uninterrupted one"
cmp -s "$tmp/two/steps.jsonl" "$tmp/kill/steps.jsonl" || fail "killed and resumed 2-process run: losses differ"

# SIGTERM to the launcher: every rank stops at the same step; resuming on 1 process continues
# the trajectory (up to summation order).
start_until term 3
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 143 ]] || fail "SIGTERM to the launcher: exit code $rc, want 143: $(tail -2 "$tmp/term.out")"
"$bin/mra_train" -o "$tmp/term" --nproc 1 "${recipe[@]}" --resume auto >"$tmp/term.resume.out" 2>&1 ||
  fail "resume 2 -> 1 process: $(tail -2 "$tmp/term.resume.out")"
d=$(weight_diff "$tmp/two/last.pt" "$tmp/term/last.pt")
$py -c "import sys; sys.exit(0 if $d <= 1e-5 else 1)" || fail "resumed 2 -> 1: weights differ by $d"

# A hung rank (stopped): the other fails after dist.timeout_s (5 s), naming the collective,
# and the launcher kills the hung one: all over within timeout + 10 s.
recipe+=(--set dist.timeout_s=5)
start_until hang 3
kill -STOP "$(rank_pid $pid 1)"
t0=$(date +%s)
wait "$pid"
rc=$?
t=$(($(date +%s) - t0))
[[ $rc -ne 0 ]] || fail "job with a hung rank exited 0"
[[ $t -le $((15 * slow)) ]] || fail "job with a hung rank took ${t}s to end (bound $((15 * slow)) s)"
grep -q "rank 0: .* failed at step .* dist.timeout_s = 5 s" "$tmp/hang.out" || fail "hung rank: $(tail -3 "$tmp/hang.out")"
$py -c "import torch; torch.load('$tmp/hang/last.pt')" || fail "hung rank: last checkpoint unreadable"

# Bad input: one line, exit 2.
out=$("$bin/mra_train" -o "$tmp/bad" --nproc 3 "${recipe[@]}" 2>&1)
[[ $? -eq 2 && $out == *"data.loader.batch_size: 32 does not divide among 3 processes"* ]] || fail "batch not dividing: $out"
port=$($py -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
t0=$(date +%s)
out=$(RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$bin/mra_train" -o "$tmp/bad" \
  "${recipe[@]}" --set dist.timeout_s=2 2>&1)
rc=$?
[[ $rc -eq 2 && $out == *"rank 1 could not reach the rendezvous store at 127.0.0.1:$port"* ]] || fail "unreachable master ($rc): $out"
[[ $(($(date +%s) - t0)) -le $((10 * slow)) ]] || fail "unreachable master took too long"
out=$("$bin/mra_train" -o "$tmp/bad" --nproc 2 "${recipe[@]}" --set device=cuda 2>&1)
[[ $? -eq 2 ]] || fail "--nproc with CUDA and no CUDA device: $out"

# torchrun's error file gets the one-line reason.
TORCHELASTIC_ERROR_FILE="$tmp/error.json" "$bin/mra_train" -o "$tmp/bad" "${recipe[@]}" \
  --set data.loader.batch_size=0 >/dev/null 2>&1
$py -c "import json, sys; m = json.load(open('$tmp/error.json'))['message']['message']; sys.exit(0 if 'batch_size' in m else 1)" ||
  fail "TORCHELASTIC_ERROR_FILE: $(cat "$tmp/error.json" 2>&1)"

# A real launcher: torchrun starts the processes and hosts the store.
if [[ -n "$torchrun" ]]; then
  # Debian's torchrun (1.13) under Python 3.11 crashes on the default --redirects/--tee (and
  # on 0): give 1, stdout teed to the console.
  extra=(--redirects 1 --tee 1)
  "$torchrun" "${extra[@]}" --nproc_per_node=2 --no_python "$bin/mra_train" -o "$tmp/torchrun" \
    "${recipe[@]}" >"$tmp/torchrun.out" 2>&1 || fail "torchrun: $(tail -3 "$tmp/torchrun.out")"
  grep -q "data parallel: 2 processes via torchrun" "$tmp/torchrun.out" || fail "torchrun: no data-parallel line"
  d=$(weight_diff "$tmp/two/last.pt" "$tmp/torchrun/last.pt")
  $py -c "import sys; sys.exit(0 if $d == 0 else 1)" || fail "torchrun and --nproc runs differ by $d"
fi

[[ $fails -eq 0 ]] && echo "distributed: all checks passed"
exit $((fails > 0))
