#!/usr/bin/env bash
# Runs examples/python/train_fashion_mnist.py for 200 steps with an MAE checkpoint from
# augcore_parity_reference, and fails unless its loss falls.
#   test_example.sh PYTHON PARITY_REFERENCE OUT_DIR
set -euo pipefail
python="$1" driver="$2" out="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rm -rf "$out" && mkdir -p "$out"
"$driver" "$out"
"$python" "$root/examples/python/train_fashion_mnist.py" --mra "$out/mae_augcore.pt" \
  --steps 200 --batch-size 32 --threads 1 --check-loss-falls --out "$out"
