"""Reads a run directory's TensorBoard event files with TensorBoard's own reader and checks
that they hold exactly the figures of metrics.jsonl ("epoch/<key>" at step = epoch) and
steps.jsonl ("step/<key>" at step = step): every tag, every step, every value (as float32),
nothing more. Prints one line per problem and exits 1 on any."""
import json
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator


def expected(run_dir):
    want = {}
    for name, index, prefix in (("metrics.jsonl", "epoch", "epoch/"), ("steps.jsonl", "step", "step/")):
        path = os.path.join(run_dir, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                for key, value in record.items():
                    if key in ("epoch", "step") or not isinstance(value, (int, float)):
                        continue
                    want.setdefault(prefix + key, []).append((record[index], np.float32(value)))
    return want


def main(run_dir):
    files = [f for f in os.listdir(run_dir) if f.startswith("events.out.tfevents.")]
    if len(files) != 1:
        print(f"expected one event file in {run_dir}, found {files}")
        return 1
    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    got_tags = sorted(acc.Tags()["scalars"])
    want = expected(run_dir)
    problems = []
    if got_tags != sorted(want):
        problems.append(f"tags differ: event file {got_tags}, JSON logs {sorted(want)}")
    for tag, points in want.items():
        if tag not in got_tags:
            continue
        got = [(e.step, np.float32(e.value)) for e in acc.Scalars(tag)]
        if got != points:
            problems.append(f"{tag}: event file {got[:6]}... ({len(got)}), JSON {points[:6]}... ({len(points)})")
    for p in problems:
        print(p)
    if not problems:
        print(f"ok: {len(want)} tags, {sum(len(v) for v in want.values())} scalars")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
