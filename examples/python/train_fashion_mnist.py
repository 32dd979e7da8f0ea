"""A plain PyTorch training loop with augcore's methods: a timm ViT on Fashion-MNIST with MRA
(an augmentor from mae_pretrain) and KeepCutMix on the images, and MaskSub around the model.

    python train_fashion_mnist.py --mra runs/<quickstart>/mae/last.pt --steps 2000

Reads the IDX files with numpy; augcore's policies take float N×C×H×W pixels in [0, 1], so
the batch is normalised for the model only after augmenting. Without --mra, MRA is left out.
"""

import argparse
import gzip
import os
import sys

import numpy as np
import torch
from timm.models.vision_transformer import VisionTransformer

import augcore

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's training pixels


def read_idx(path):
    """An IDX file (ubyte images or labels) as a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"))
    return (torch.from_numpy(images.copy()).unsqueeze(1).float() / 255,
            torch.from_numpy(labels.astype(np.int64)))


def normalise(pixels):
    return (pixels - MEAN) / STD


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--mra", help="an MAE checkpoint (mae_pretrain's last.pt)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--check-loss-falls", action="store_true",
                        help="exit 1 unless the last 20 steps' mean loss is below the first 20's")
    parser.add_argument("--out", help="a directory for the loss log (loss.csv)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    images, labels = load(args.data, "train")
    test_images, test_labels = load(args.data, "test")

    model = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=96,
                              depth=4, num_heads=3, drop_path_rate=0.1).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.steps,
                                                   pct_start=0.1)

    # The augmentations: every draw comes from one CPU generator, so a seed repeats a run.
    generator = torch.Generator().manual_seed(args.seed)
    mra = None
    if args.mra:
        mra = augcore.MRA.from_checkpoint(args.mra, attention="patches", mask_ratio=0.4,
                                          p=0.5).to(device)
    saliency = augcore.gradient_saliency(model, mean=MEAN, std=STD)
    keep_cutmix = augcore.KeepCutMix(10, saliency, p=0.5, label_smoothing=0.1)
    masksub = augcore.MaskSub(ratio=0.5)  # a timm ViT: the sub pass drops half the tokens

    losses = []
    order = torch.randperm(len(images), generator=generator)
    for step in range(args.steps):
        start = (step * args.batch_size) % (len(images) - args.batch_size)
        index = order[start:start + args.batch_size]
        pixels, targets = images[index].to(device), labels[index].to(device)
        if mra is not None:
            pixels = mra(pixels, generator)
        pixels, targets = keep_cutmix(pixels, targets, generator)
        out = masksub(model, normalise(pixels), targets, generator)
        optimizer.zero_grad(set_to_none=True)
        out.to_backward.backward()
        optimizer.step()
        schedule.step()
        losses.append(out.main_loss.item())
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step}: main loss {out.main_loss.item():.4f} "
                  f"sub loss {out.sub_loss.item():.4f}", flush=True)

    model.eval()
    with torch.no_grad():
        correct = sum((model(normalise(x.to(device))).argmax(1).cpu() == y).sum().item()
                      for x, y in zip(test_images[:2000].split(500), test_labels[:2000].split(500)))
    print(f"test accuracy on the first 2000 test images: {100 * correct / 2000:.2f} %")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "loss.csv"), "w") as f:
            f.write("step,main_loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate(losses)))
    if args.check_loss_falls:
        first, last = np.mean(losses[:20]), np.mean(losses[-20:])
        print(f"mean loss of the first 20 steps {first:.4f}, of the last 20 {last:.4f}")
        if not last < first:
            sys.exit(1)


if __name__ == "__main__":
    main()
