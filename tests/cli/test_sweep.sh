#!/usr/bin/env bash
# augcore_sweep and augcore_plot: grid errors name file and line (exit 2); a sweep runs every
# configuration x seed, tabulates mean ± std (n) and draws the curves; a killed sweep resumes
# without re-running finished runs and continues the interrupted one from its checkpoint; its
# records alone (no run directories) give the same table; augcore_plot draws run directories
# into a PNG.
set -u
bin="$1"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
source "$(dirname "$0")/common.sh"
cd "$repo"

# Exit code 2 and a message holding $2 for the grid in $1.
bad_grid() {
  printf '%s\n' "$1" >"$tmp/bad.yaml"
  out=$("$bin/augcore_sweep" --grid "$tmp/bad.yaml" --dry-run 2>&1)
  local rc=$?
  [[ $rc -eq 2 ]] || fail "bad grid ($3): exit $rc, not 2: $out"
  [[ $out == *"$2"* ]] || fail "bad grid ($3): message lacks '$2': $out"
  [[ $(printf '%s\n' "$out" | wc -l) -eq 1 ]] || fail "bad grid ($3): more than one line: $out"
}
good='name: t
output: OUT
seeds: [0, 1]
configs:
  - name: base
    recipe: configs/fashion_mnist/resnet20.yaml'
bad_grid "${good/output: OUT/output: OUT
colour: red}" "bad.yaml:3: grid: unknown key 'colour'" "unknown key"
bad_grid "${good/seeds: \[0, 1\]/seeds: [0, x]}" "bad.yaml:3" "seed not an integer"
bad_grid "${good/resnet20.yaml/nothing.yaml}" "recipe 'configs/fashion_mnist/nothing.yaml' does not exist" "missing recipe"
bad_grid "$good
    set: {train.epochs: -3}" "bad.yaml:7: train.epochs" "bad override value"
bad_grid "$good
  - {name: base, recipe: configs/fashion_mnist/resnet20.yaml}" "name 'base' twice" "duplicate name"
bad_grid "$good
    set: {train.epoch: 3}" "unknown key" "unknown override key"
bad_grid "$good
compare: [[base, nope]]" "bad.yaml:7: grid.compare: no configuration named 'nope'" "compare names"
bad_grid "$good
split: train" "bad.yaml:7: grid.split: 'train' is not test or validation" "split value"
bad_grid "$good
holdout_per_class: 5" "bad.yaml:7: grid.holdout_per_class: needs split: validation" "holdout without split"
out=$("$bin/augcore_sweep" --grid "$tmp/none.yaml" 2>&1)
[[ $? -eq 2 && $out == *none.yaml* ]] || fail "missing grid file: $out"

# 2 configurations x 2 seeds, evaluated on 20 images per class held out of the training set;
# cutout evaluates every 2nd epoch (and after the last).
cat >"$tmp/grid.yaml" <<EOT
name: smoke
output: $tmp/sweep
seeds: [0, 1]
parallel: 2
threads: 1
split: validation
holdout_per_class: 20
set:
  data.train.labelled_per_class: 20
  data.loader.batch_size: 50
  train.epochs: 3
configs:
  - {name: baseline, recipe: configs/fashion_mnist/resnet20.yaml}
  - name: cutout
    recipe: configs/fashion_mnist/resnet20_cutout.yaml
    set: {train.eval_every: 2}
compare: [[cutout, baseline]]
EOT
"$bin/augcore_sweep" --grid "$tmp/grid.yaml" --update-doc "$tmp/doc.md" >"$tmp/sweep.out" 2>&1 ||
  fail "sweep: $(tail -3 "$tmp/sweep.out")"
# Runs start seed by seed, so a sweep stopped part-way leaves paired seeds.
order=$(sed -n 's/^sweep: \[[0-9]*\/[0-9]*\] \([a-z]*\) seed \([0-9]*\) started.*/\1:\2/p' "$tmp/sweep.out" | tr '\n' ' ')
[[ $order == "baseline:0 cutout:0 baseline:1 cutout:1 " ]] || fail "runs did not start seed by seed: $order"
[[ $(grep -c '^| baseline | [0-9.]* ± [0-9.]* (2) | — | — | — |' "$tmp/sweep/results.md") -eq 1 ]] ||
  fail "results.md lacks the baseline row with n = 2: $(cat "$tmp/sweep/results.md")"
grep -q 'Top-1 on the \*\*validation split\*\*: 20 images of every class' "$tmp/sweep/results.md" ||
  fail "results.md does not name the validation split"
for s in 0 1; do
  grep -q 'held-out validation split (20 per class' "$tmp/sweep/baseline/seed$s/train.log" ||
    fail "seed $s did not evaluate on the held-out split: $(grep -i 'val' "$tmp/sweep/baseline/seed$s/train.log" | head -3)"
  grep -q 'without the validation split (20 per class' "$tmp/sweep/baseline/seed$s/train.log" ||
    fail "seed $s trained on images of the validation split"
done
# The paired test recomputed from the runs' last epochs: 2 seeds, 1 degree of freedom, so
# p = 1 - 2 atan(|t|) / pi with t = mean / (std / sqrt(2)); the interval is mean ± 12.706 s.e.
final() { tail -1 "$tmp/sweep/$1/seed$2/metrics.jsonl" | sed 's/.*"val_top1":\([0-9.]*\).*/\1/'; }
want=$(awk -v a0="$(final cutout 0)" -v b0="$(final baseline 0)" -v a1="$(final cutout 1)" \
         -v b1="$(final baseline 1)" 'BEGIN {
  d0 = a0 - b0; d1 = a1 - b1; m = (d0 + d1) / 2; sd = sqrt((d0 - m)^2 + (d1 - m)^2)
  se = sd / sqrt(2); h = 12.706204736 * se
  p = se > 0 ? 1 - 2 * atan2(m < 0 ? -m / se : m / se, 1) / 3.14159265358979 : (m == 0 ? 1 : 0)
  printf "%+.2f [%+.2f, %+.2f] | %s |", m, m - h, m + h, p < 0.001 ? "< 0.001" : sprintf("%.3f", p)
}')
grep -qF "| cutout | " "$tmp/sweep/results.md" && grep -F "| cutout | " "$tmp/sweep/results.md" | grep -qF -- "$want" ||
  fail "results.md's cutout row lacks the paired test '$want': $(grep -F '| cutout |' "$tmp/sweep/results.md")"
grep -qF -- "| cutout − baseline | $want" "$tmp/sweep/results.md" ||
  fail "results.md lacks the comparison row '$want'"
grep -F -- "| cutout − baseline | $want" "$tmp/sweep/results.md" |
  grep -qE '\| (higher|lower|no evidence either way) \|$' ||
  fail "the finished grid's comparison has no verdict: $(grep -F '| cutout − baseline |' "$tmp/sweep/results.md")"
# A third seed planned and not run: the same two pairs, and the verdict waits for the third.
sed 's/^seeds: \[0, 1\]$/seeds: [0, 1, 2]/' "$tmp/grid.yaml" >"$tmp/grid3.yaml"
"$bin/augcore_sweep" --grid "$tmp/grid3.yaml" --report-only >"$tmp/interim.out" 2>&1 ||
  fail "--report-only with a planned seed missing: $(tail -3 "$tmp/interim.out")"
grep -qF -- "| cutout − baseline | $want none yet (2 of 3 seeds) |" "$tmp/sweep/results.md" ||
  fail "an interim table gave a verdict: $(grep -F '| cutout − baseline |' "$tmp/sweep/results.md")"
"$bin/augcore_sweep" --grid "$tmp/grid.yaml" --report-only >"$tmp/final.out" 2>&1 ||
  fail "--report-only: $(tail -3 "$tmp/final.out")"
[[ $(wc -l <"$tmp/sweep/runs.csv") -eq 5 ]] || fail "runs.csv does not have 4 runs"
# The table's figures are the runs' final epochs: recompute the baseline mean from metrics.jsonl.
mean=$(for s in 0 1; do tail -1 "$tmp/sweep/baseline/seed$s/metrics.jsonl"; done |
  sed 's/.*"val_top1":\([0-9.]*\).*/\1/' | awk '{s += $1} END {printf "%.4f", s / NR}')
grep -q "^baseline,2,$mean," "$tmp/sweep/results.csv" || fail "results.csv baseline mean is not $mean: $(cat "$tmp/sweep/results.csv")"
[[ $(grep -c '"val_top1"' "$tmp/sweep/cutout/seed0/metrics.jsonl") -eq 2 ]] ||
  fail "eval_every 2 over 3 epochs did not evaluate exactly twice"
[[ $(head -c 4 "$tmp/sweep/curves.png" | od -An -c | tr -d ' ') == '211PNG' ]] || fail "curves.png is not a PNG"
grep -q 'sweep:smoke begin' "$tmp/doc.md" && [[ -f "$tmp/images/sweep_smoke.png" ]] ||
  fail "--update-doc did not write the section and its image"

# A second sweep over finished runs starts nothing.
"$bin/augcore_sweep" --grid "$tmp/grid.yaml" >"$tmp/again.out" 2>&1 || fail "second sweep failed"
grep -q ' started (' "$tmp/again.out" && fail "a finished run was started again"

# Killed: one run finished, the second mid-way (with a checkpoint), the third not begun.
cat >"$tmp/kill.yaml" <<EOT
name: kill
output: $tmp/ksweep
records: $tmp/krecords
seeds: [0, 1, 2]
parallel: 1
threads: 1
set:
  data.train.labelled_per_class: 40
  data.val.limit: 100
  data.loader.batch_size: 20
  train.epochs: 2
  train.checkpoint_every_steps: 2
  train.step_log: true
configs:
  - {name: base, recipe: configs/fashion_mnist/resnet20.yaml}
EOT
"$bin/augcore_sweep" --grid "$tmp/kill.yaml" >"$tmp/kill.out" 2>&1 &
pid=$!
wait_for_lines "$tmp/ksweep/base/seed1/steps.jsonl" 7 || fail "the second run never reached step 7"
kill -9 "$pid"
wait "$pid" 2>/dev/null
# The orphaned run gets SIGTERM, writes last.pt and exits (within a minute even under ASan).
for _ in $(seq 600); do
  pgrep -f "$tmp/ksweep" >/dev/null || break
  sleep 0.1
done
[[ -f "$tmp/ksweep/base/seed0/summary.json" ]] || fail "the first run had not finished before the kill"
[[ -f "$tmp/ksweep/base/seed1/summary.json" ]] && fail "the second run finished before the kill (test too slow to catch it)"
pgrep -f "$tmp/ksweep" >/dev/null && fail "a run outlived its killed sweep"
# A run is recorded as it finishes, not when the sweep ends.
[[ -f "$tmp/krecords/base/seed0/summary.json" && -f "$tmp/krecords/base/seed0/metrics.jsonl" ]] ||
  fail "the finished run was not recorded before the kill: $(ls -R "$tmp/krecords" 2>&1)"
[[ -e "$tmp/krecords/base/seed1" ]] && fail "the interrupted run was recorded"
before=$(stat -c %Y "$tmp/ksweep/base/seed0/summary.json")
"$bin/augcore_sweep" --grid "$tmp/kill.yaml" >"$tmp/resume.out" 2>&1 || fail "resumed sweep: $(tail -3 "$tmp/resume.out")"
grep -q 'seed 0 started (' "$tmp/resume.out" && fail "the finished run was re-run"
grep -q '(1 finished)' "$tmp/resume.out" || fail "the resumed sweep did not count the finished run: $(head -1 "$tmp/resume.out")"
[[ $(stat -c %Y "$tmp/ksweep/base/seed0/summary.json") == "$before" ]] || fail "the finished run was rewritten"
grep -q 'resumed from' "$tmp/ksweep/base/seed1/train.log" || fail "the interrupted run started over instead of resuming"
grep -q '^| base | [0-9.]* ± [0-9.]* (3) |' "$tmp/ksweep/results.md" || fail "resumed sweep: table lacks n = 3"
# Without the run directories (another machine, a fresh clone), the records give the same table
# and a sweep starts nothing.
row=$(grep '^| base |' "$tmp/ksweep/results.md")
cmp -s "$tmp/ksweep/base/seed2/metrics.jsonl" "$tmp/krecords/base/seed2/metrics.jsonl" ||
  fail "the record's metrics.jsonl differs from the run's"
rm -rf "$tmp/ksweep"
"$bin/augcore_sweep" --grid "$tmp/kill.yaml" >"$tmp/records.out" 2>&1 ||
  fail "sweep over the records: $(tail -3 "$tmp/records.out")"
grep -q ' started (' "$tmp/records.out" && fail "a recorded run was started again"
grep -q '(3 finished)' "$tmp/records.out" || fail "the records were not counted: $(head -1 "$tmp/records.out")"
[[ $(grep '^| base |' "$tmp/ksweep/results.md") == "$row" ]] ||
  fail "the table from the records differs: $(grep '^| base |' "$tmp/ksweep/results.md") vs $row"

# augcore_plot: two runs overlaid; a directory without metrics is exit 2.
"$bin/augcore_plot" "$tmp/sweep/baseline/seed0" "$tmp/krecords/base/seed1" -o "$tmp/plot.png" >"$tmp/plot.out" 2>&1 ||
  fail "augcore_plot: $(cat "$tmp/plot.out")"
[[ $(head -c 4 "$tmp/plot.png" | od -An -c | tr -d ' ') == '211PNG' && $(stat -c %s "$tmp/plot.png") -gt 20000 ]] ||
  fail "augcore_plot wrote no PNG of plausible size"
out=$("$bin/augcore_plot" "$tmp" -o "$tmp/x.png" 2>&1)
[[ $? -eq 2 && $out == *metrics.jsonl* ]] || fail "augcore_plot on a directory without metrics: $out"

[[ $fails -eq 0 ]] && echo "all sweep checks passed"
exit $((fails > 0))
