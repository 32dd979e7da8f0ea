#!/usr/bin/env bash
# augcore_bench suite --quick: every section measured on both sides (augcore and the Python
# reference; torch.compile too where the build's Python has PyTorch 2.x), every policy overhead
# and target present, another toolchain's report kept beside this one's, the Markdown page
# complete; the step of a semi-supervised recipe; every timed ratio inside its 95 % interval and
# each target's verdict (met, missed, undecided) and whether its floor puts it out of reach
# recomputed from its rows' intervals.
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Another toolchain's report, already in the file: the run must keep it and add its own.
cat >"$tmp/b.json" <<'JSON'
{"toolchains": [{"libtorch": "0.1.0", "command": "other", "date": "then", "seconds": 60,
  "machine": {"cores": "1"}, "rows": [{"section": "step", "model": "kept_model", "ratio": 0.5}],
  "targets": [{"target": "kept target", "measured": "0.50×", "met": false}]}]}
JSON
if ! "$bin/augcore_bench" suite --quick --markdown "$tmp/b.md" --json "$tmp/b.json" \
  --work "$tmp/data" >"$tmp/out" 2>&1; then
  echo "FAIL: suite exited $?: $(tail -3 "$tmp/out")"
  exit 1
fi
# The step of a semi-supervised recipe: its objective draws its own unlabelled batches.
fixmatch="$(dirname "$0")/../../configs/fashion_mnist/fixmatch_resnet20.yaml"
if ! "$bin/augcore_bench" step -c "$fixmatch" --set threads=1 --steps 2 >"$tmp/semi" 2>&1; then
  echo "FAIL: augcore_bench step on FixMatch: $(tail -2 "$tmp/semi")"
  exit 1
fi
/usr/bin/python3 - "$tmp/b.json" "$tmp/b.md" <<'PY'
import json, math, sys
reports = json.load(open(sys.argv[1]))["toolchains"]
md = open(sys.argv[2]).read()
fails = []
# An older report's "met": false reads back as the verdict "missed".
if reports[0]["targets"][0].get("verdict") != "missed":
    fails.append(f"the older report's target came back as {reports[0]['targets'][0]}")
if [r["libtorch"] for r in reports][:1] != ["0.1.0"] or len(reports) != 2:
    fails.append(f"the other toolchain's report was not kept first: {[r['libtorch'] for r in reports]}")
if "kept_model" not in md or "kept target" not in md or "LibTorch 0.1.0" not in md:
    fails.append("markdown lacks the other toolchain's rows")
report = reports[-1]
rows = report["rows"]
# PyTorch 2.x on the Python side: the first model also under torch.compile.
if " torch 2." in report["machine"]["python"]:
    first = [r for r in rows if r["section"] == "step"][0]
    for key in ("compiled_images_per_s", "ratio_compiled", "compile_seconds"):
        if not isinstance(first.get(key), (int, float)) or first[key] <= 0 and key != "compile_seconds":
            fails.append(f"step {first['model']}: no {key} under torch.compile")
def section(name):
    return [r for r in rows if r["section"] == name]
for name, count in [("loader", 6), ("step", 4), ("augment", 4), ("gpu", 4), ("data_parallel", 4)]:
    if len(section(name)) != count:
        fails.append(f"{name}: {len(section(name))} rows, expected {count}")
for r in section("loader") + section("step") + section("augment"):
    for key in ("augcore_images_per_s", "torch_images_per_s", "ratio"):
        v = r.get(key)
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            fails.append(f"{r['section']} row {r} lacks a positive {key}")
    if r["section"] == "step" and r["augcore_parameters"] != r["torch_parameters"]:
        fails.append(f"step {r['model']}: parameter counts differ")
# The floors: the essential pass of each method with an overhead target, timed alone.
floors = {(r["model"], r["policy"]) for r in section("floor")
          if r.get("pass_ms", 0) > 0 and r.get("floor", 0) > 1 and r.get("measured", 0) > 0}
for want in [("resnet20", "keep_cutout"), ("preact_resnet18", "keep_cutout"),
             ("resnet20", "masksub"), ("vit (6×128, patch 7)", "masksub"), ("resnet50", "mra"),
             ("vit_tiny_patch16_224", "masksub")]:
    if want not in floors:
        fails.append(f"floor: no row with a pass time for {want}")
# A floor's "measured" is its overhead row's own ratio (to Cutout's step for KeepCutout).
for f in section("floor"):
    o = [r for r in section("overhead") if (r["model"], r["policy"], r["settings"]) ==
         (f["model"], f["policy"], f["settings"])]
    key = "ratio_to_cutout" if f["policy"] == "keep_cutout" else "ratio"
    if len(o) != 1 or abs(o[0].get(key, -1) - f.get("measured", 0)) > 1e-9:
        fails.append(f"floor {f['model']} {f['policy']}: measured {f.get('measured')} is not "
                     f"its overhead row's {key}")
for r in section("data_parallel"):
    for key in ("ms_per_step", "images_per_s", "speedup", "allreduce_ms"):
        v = r.get(key)
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            fails.append(f"data_parallel row {r} lacks {key}")
    if r.get("processes") == 1 and r.get("allreduce_ms") != 0:
        fails.append(f"data_parallel: one process waited for an all-reduce: {r}")
policies = {(r["model"], r["policy"]) for r in section("overhead")}
for want in ["cutout", "keep_cutout", "keep_cutmix", "randaugment", "keep_randaugment",
             "masksub", "mra", "mra + keep_cutmix + masksub"]:
    if ("resnet20", want) not in policies:
        fails.append(f"overhead: no resnet20 row for {want}")
for model, policy in [("resnet50", "mra"), ("vit_tiny_patch16_224", "masksub"),
                      ("preact_resnet18", "keep_cutout")]:
    if (model, policy) not in policies:
        fails.append(f"overhead: no {model} row for {policy}")
# Every ratio timed over rounds has its interval around it, and each target's verdict follows
# from its rows' intervals: met when all clear it, missed when one lies wholly on the wrong side.
timed = [("step", "ratio"), ("step", "ratio_compiled"), ("overhead", "ratio"),
         ("overhead", "ratio_to_cutout"), ("floor", "floor"), ("floor", "measured"),
         ("gpu", "ratio_baseline")]
for name, key in timed:
    for r in section(name):
        v, lo, hi = r.get(key), r.get(key + "_low"), r.get(key + "_high")
        if v is None:
            continue
        if lo is None or hi is None or not lo <= v <= hi or not 0 < r.get("coverage", 0) < 1:
            fails.append(f"{name} {r.get('model')} {r.get('policy')}: {key} {v} without an "
                         f"interval around it ({lo}, {hi}, coverage {r.get('coverage')})")
def expected(rows, key, ok):
    verdicts = []
    for r in rows:
        if r.get(key) is None:
            continue
        lo, hi = r.get(key + "_low", r[key]), r.get(key + "_high", r[key])
        verdicts.append("met" if ok(lo) and ok(hi) else
                        "missed" if not ok(lo) and not ok(hi) else "undecided")
    if not verdicts:
        return "not measured"
    return "missed" if "missed" in verdicts else "undecided" if "undecided" in verdicts else "met"
def rows_of(name, **match):
    return [r for r in section(name) if all(r.get(k) == v for k, v in match.items())]
def gpu_as_ratio(rows):  # a GPU row's figure is its ratio to the plain GPU step
    return [{k.replace("ratio_baseline", "ratio"): v for k, v in r.items()} for r in rows]
# Out of reach / at its floor: not met, and every row short of the target is a CPU row whose
# floor (the essential pass alone) misses it with its whole interval.
def floor_bound(rows, key, ok):
    short = [r for r in rows if r.get(key) is not None and expected([r], key, ok) != "met"]
    def floor_misses(r):
        fl = [f for f in section("floor") if all(f.get(k) == r.get(k)
                                                 for k in ("model", "policy", "settings"))]
        return (r["section"] == "overhead" and bool(fl) and fl[0].get("floor") is not None
                and expected(fl[:1], "floor", ok) == "missed")
    return bool(short) and all(floor_misses(r) for r in short)
by_name = {t["target"]: t for t in report["targets"]}
vit_masksub = [r for r in rows_of("overhead", policy="masksub") if r["model"].startswith("vit")]
for what, figures, key, ok in [
        ("CPU training step ≥ 1.0× Python PyTorch eager", section("step"), "ratio",
         lambda v: v >= 1.0),
        ("keep_cutout low_res ≤ 1.10× cutout",
         rows_of("overhead", policy="keep_cutout", settings="low_res saliency"),
         "ratio_to_cutout", lambda v: v <= 1.10),
        ("masksub ViT ≤ 1.45× the ViT step",
         vit_masksub + gpu_as_ratio(rows_of("gpu", policy="masksub")), "ratio",
         lambda v: v <= 1.45),
        ("mra (MAE-Mini, 224 px) ≤ 1.2× the ResNet-50 step",
         rows_of("overhead", model="resnet50", policy="mra")
         + gpu_as_ratio(rows_of("gpu", policy="mra (MAE-Mini)")), "ratio", lambda v: v <= 1.2)]:
    got = by_name.get(what, {}).get("verdict")
    if got != expected(figures, key, ok):
        fails.append(f"target '{what}': verdict {got}, its rows give {expected(figures, key, ok)}")
    bound = floor_bound(figures, key, ok)
    if by_name.get(what, {}).get("floor_above_target") != bound:
        detail = [(r["section"], r.get("model"), r.get(key), r.get(key + "_low"),
                   r.get(key + "_high")) for r in figures] + [
                  (f["section"], f.get("model"), f.get("floor"), f.get("floor_low"),
                   f.get("floor_high")) for f in section("floor")]
        fails.append(f"target '{what}': floor_above_target "
                     f"{by_name.get(what, {}).get('floor_above_target')}, its rows give {bound}: "
                     f"{detail}")
if "undecided" not in md or "95 % interval" not in md:
    fails.append("markdown does not explain the intervals and the undecided verdict")
if len(report["targets"]) != 6:
    fails.append(f"{len(report['targets'])} targets, expected 6")
for heading in ["## Targets", "## 1. Loader", "## 2. Training step", "## 3. Policy overheads",
                "## 4. Batched", "## 5. Data parallel", "## 6. GPU", "## 7. Floors"]:
    if heading not in md:
        fails.append(f"markdown lacks '{heading}'")
if f"LibTorch {report['libtorch']}" not in md:
    fails.append("markdown lacks this toolchain's label")
if "augcore_bench suite" not in md or "nan" in md.lower().split():
    fails.append("markdown lacks the command or shows nan")
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
