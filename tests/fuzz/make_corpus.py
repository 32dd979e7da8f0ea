#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets into corpus/<target>/ (run with Debian's
/usr/bin/python3, which has torch). The seeds are small valid inputs and a few broken ones;
libFuzzer grows the corpus from them (tools/fuzz.sh)."""
import gzip
import io
import os
import struct
import sys

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def idx(dims, data):
    return struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims) + bytes(data)


def idx_input(channels, images, labels):
    return bytes([channels]) + struct.pack("<H", len(images)) + images + labels


def fashion_slice(n):
    path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    with gzip.open(path) as f:
        raw = f.read(16 + n * 784)
    with gzip.open(path.replace("images-idx3", "labels-idx1")) as f:
        labels = f.read(8 + n)
    return idx([n, 28, 28], raw[16:]), idx([n], labels[8:])


def main():
    grey = idx([3, 4, 4], range(48))
    labels = idx([3], [0, 1, 2])
    put("idx", "grey_raw", idx_input(0, grey, labels))
    put("idx", "grey_gzip", idx_input(1, gzip.compress(grey), gzip.compress(labels)))
    put("idx", "rgb_raw", idx_input(2, idx([2, 2, 2, 3], range(24)), idx([2], [1, 0])))
    put("idx", "truncated", idx_input(0, grey[:30], labels))
    put("idx", "label_count_mismatch", idx_input(0, grey, idx([2], [0, 1])))
    images, fashion_labels = fashion_slice(2)
    put("idx", "fashion_gzip", idx_input(0, gzip.compress(images), gzip.compress(fashion_labels)))

    record10 = bytes([3]) + bytes(range(256)) * 12
    record100 = bytes([4, 57]) + bytes(range(256)) * 12
    put("cifar", "cifar10_two", bytes([0]) + record10 * 2)
    put("cifar", "cifar100_fine", bytes([1]) + record100)
    put("cifar", "cifar100_coarse_rgb", bytes([8]) + record100)
    put("cifar", "truncated", bytes([0]) + record10[:1000])
    put("cifar", "bad_label", bytes([0]) + bytes([10]) + record10[1:])

    put("config", "empty", b"")
    put("config", "train", b"train:\n  epochs: 3\n  lr: 0.05\n  ema: {enabled: true}\n")
    put("config", "policies", b"policies:\n  - {name: cutout, length: 8}\n"
        b"  - {name: keep_cutmix, saliency: low_res}\nobjective: {name: masksub, cell: 4}\n")
    put("config", "overrides", b"seed: 3\n\0model.name=vit_mini_patch4_28\n"
        b"policies=[{name: randaugment, num_ops: 2}]\ndata.loader.batch_size=32\n")
    put("config", "typo", b"train:\n  epoch: 3\n")
    put("config", "broken", b"a: [1,\n")
    put("config", "data", b"data:\n  train: {name: cifar10, root: /x}\n  val: null\n"
        b"  train_transforms: [{name: random_resized_crop, size: 32}, hflip]\n"
        b"  mean: [0.49, 0.48, 0.45]\n  std: [0.25, 0.24, 0.26]\n")

    def saved(obj):
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    torch.manual_seed(0)
    put("pth", "tensors", saved({"f": torch.randn(2, 3), "h": torch.randn(4).half(),
                                 "l": torch.arange(5), "b": torch.tensor([True, False]),
                                 "view": torch.randn(4, 4)[1:, ::2]}))
    put("pth", "nested", saved({"list": [1, 2.5, "x", None, True], "tuple": (1, (2, 3)),
                                "dict": {0: "a", "k": {"deep": [torch.zeros(1)]}}}))
    checkpoint = {
        "model": {"fc.weight": torch.randn(10, 64), "fc.bias": torch.zeros(10),
                  "conv1.weight": torch.randn(16, 1, 3, 3)},
        "optimizer": {"state": {0: {"momentum_buffer": torch.zeros(16, 1, 3, 3)}},
                      "param_groups": [{"lr": 0.1, "params": [0, 1, 2]}]},
        "epoch": 1, "batch": 2, "step": 7, "best_top1": 50.0,
        "epoch_sums": {"loss": 3.5, "seen": 64.0}, "config": "train:\n  epochs: 2\n",
        "format": "augcore-checkpoint-2"}
    whole = saved(checkpoint)
    put("pth", "checkpoint", whole)
    put("pth", "checkpoint_truncated", whole[: len(whole) // 2])
    put("pth", "state_dict_wrapped", saved({"state_dict": {"module.fc.bias": torch.ones(10)}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
