#!/usr/bin/python3
"""Python PyTorch references for augcore_bench's suite: the same measurement done the way a
Python user does it, with torchvision, in eager mode or (step --compile) under torch.compile.
Prints one JSON object on stdout.

  loader  --kind idx|cifar|jpeg --root DIR --workers W --batch B --seconds S
  step    --model resnet20|resnet50|vit ... --batch B --steps N --threads T [--compile]
  info    the torch and torchvision versions, and whether torch.compile exists
  augment --policy randaugment|autoaugment --root CIFAR_DIR --workers W --batch B --seconds S
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms as T


# ---- datasets -------------------------------------------------------------------------------

def read_idx_images(root):
    with gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz"), "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(data, np.uint8, n * h * w, 16).reshape(n, h, w)
    with gzip.open(os.path.join(root, "train-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, n, 8)
    return images, labels


def read_cifar_binary(root):
    """CIFAR-10's binary version: data_batch_1..5.bin, 3073-byte records (label, CHW)."""
    records = []
    for i in range(1, 6):
        path = os.path.join(root, f"data_batch_{i}.bin")
        if os.path.exists(path):
            records.append(np.fromfile(path, np.uint8).reshape(-1, 3073))
    records = np.concatenate(records)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, records[:, 0].astype(np.int64)


class ArrayDataset(torch.utils.data.Dataset):
    """torchvision's MNIST/CIFAR10 pattern: arrays in memory, a PIL image per sample."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def make_dataset(kind, root):
    if kind == "idx":
        images, labels = read_idx_images(root)
        tf = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.PILToTensor()])
        return ArrayDataset(images, labels, tf)
    if kind == "cifar":
        images, labels = read_cifar_binary(root)
        tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.PILToTensor()])
        return ArrayDataset(images, labels, tf)
    tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.PILToTensor()])
    return torchvision.datasets.ImageFolder(root, transform=tf)


def time_loader(loader, seconds):
    """Images/s after the first batch (worker start-up), over at least `seconds`."""
    images, start = 0, None
    while True:
        for x, _ in loader:
            if start is None:
                start = time.perf_counter()
                continue
            images += x.shape[0]
            if time.perf_counter() - start >= seconds:
                return images / (time.perf_counter() - start)


def loader_main(a):
    ds = make_dataset(a.kind, a.root)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=True,
                                         num_workers=a.workers, drop_last=True,
                                         persistent_workers=a.workers > 0)
    return {"images_per_s": time_loader(loader, a.seconds)}


def augment_main(a):
    images, labels = read_cifar_binary(a.root)
    op = T.RandAugment(num_ops=2, magnitude=9) if a.policy == "randaugment" else \
        T.AutoAugment(T.AutoAugmentPolicy.CIFAR10)
    ds = ArrayDataset(images, labels, T.Compose([op, T.PILToTensor()]))
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=True,
                                         num_workers=a.workers, drop_last=True,
                                         persistent_workers=a.workers > 0)
    return {"images_per_s": time_loader(loader, a.seconds)}


# ---- models ---------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet with projection shortcuts (augcore's cifar_resnet)."""

    def __init__(self, depth, in_chans, num_classes):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for i, cout in enumerate((16, 32, 64)):
            for j in range(n):
                layers.append(BasicBlock(cin, cout, 2 if i > 0 and j == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Attention(nn.Module):
    def __init__(self, dim, heads, fused):
        super().__init__()
        self.heads = heads
        self.fused = fused
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            x = ((q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5).softmax(-1) @ v
        return self.proj(x.transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, fused):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, fused)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """The timm/DeiT ViT (class token, learned positions, pre-norm blocks)."""

    def __init__(self, img, patch, in_chans, num_classes, dim, depth, heads, fused, mlp_ratio=4.0):
        super().__init__()
        self.patch_embed = nn.Conv2d(in_chans, dim, patch, patch)
        tokens = (img // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio, fused) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


def make_model(a):
    if a.model == "resnet20":
        return CifarResNet(20, a.channels, a.classes)
    if a.model == "resnet50":
        return torchvision.models.resnet50(num_classes=a.classes)
    return ViT(a.image, a.patch, a.channels, a.classes, a.dim, a.depth, a.heads,
               a.attention == "fused")


def step_main(a):
    if a.attention == "fused" and not hasattr(F, "scaled_dot_product_attention"):
        print(f"--attention fused: torch {torch.__version__} has no fused attention (2.0+)",
              file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    memory_format = torch.channels_last if a.channels_last else torch.contiguous_format
    model = make_model(a).train().to(device, memory_format=memory_format)
    # torch.compile wraps the module (inductor: C++/OpenMP kernels on a CPU, Triton on a GPU);
    # the optimizer keeps the original parameters, which the compiled module shares.
    forward = torch.compile(model) if a.compile else model
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                              weight_decay=5e-4 if a.weight_decay is None else a.weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3,
                                weight_decay=0.05 if a.weight_decay is None else a.weight_decay)
    mean = torch.full((1, a.channels, 1, 1), 0.5, device=device)
    std = torch.full((1, a.channels, 1, 1), 0.25, device=device)
    batches = [(torch.randint(0, 256, (a.batch, a.channels, a.image, a.image), dtype=torch.uint8),
                torch.randint(0, a.classes, (a.batch,))) for _ in range(4)]
    state = {"i": 0}

    def run(steps):
        seconds = 0.0
        for _ in range(steps):
            seconds += one_step()
        return seconds

    def one_step():
        u8, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        t0 = time.perf_counter()
        u8, y = u8.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x = ((u8.float().div(255) - mean) / std).contiguous(memory_format=memory_format)
        opt.zero_grad()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.amp == "bf16"):
            logits = forward(x)
            loss = F.cross_entropy(logits, y)
        loss.backward()
        loss.item()
        logits.argmax(1).eq(y).sum().item()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    params = sum(p.numel() for p in model.parameters())
    # The first step compiles the forward and backward graphs under torch.compile: its time is
    # the compile time (less one step), reported apart from the steady rate.
    first = run(1)
    run(a.warmup)
    if a.serve:
        # Lines "K" on stdin: run K steps, answer with their seconds; the caller interleaves
        # these runs with its own.
        print(json.dumps({"parameters": params, "first_step_seconds": first}), flush=True)
        for line in sys.stdin:
            k = int(line)
            print(json.dumps({"seconds": run(k)}), flush=True)
        return None
    seconds = run(a.steps)
    return {"seconds_per_step": seconds / a.steps, "images_per_s": a.batch * a.steps / seconds,
            "parameters": params, "first_step_seconds": first}


def info_main(a):
    return {"compile": hasattr(torch, "compile")}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    ld = sub.add_parser("loader")
    ld.add_argument("--kind", choices=["idx", "cifar", "jpeg"], required=True)
    ld.add_argument("--root", required=True)
    for q in (ld, sub.add_parser("augment")):
        q.add_argument("--workers", type=int, default=1)
        q.add_argument("--batch", type=int, default=128)
        q.add_argument("--seconds", type=float, default=3.0)
    aug = sub.choices["augment"]
    aug.add_argument("--policy", choices=["randaugment", "autoaugment"], required=True)
    aug.add_argument("--root", required=True)
    st = sub.add_parser("step")
    st.add_argument("--model", choices=["resnet20", "resnet50", "vit"], required=True)
    st.add_argument("--image", type=int, required=True)
    st.add_argument("--channels", type=int, default=3)
    st.add_argument("--classes", type=int, default=10)
    st.add_argument("--patch", type=int, default=16)
    st.add_argument("--dim", type=int, default=192)
    st.add_argument("--depth", type=int, default=12)
    st.add_argument("--heads", type=int, default=3)
    st.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    st.add_argument("--weight-decay", type=float, default=None,
                    help="SGD: 5e-4 by default (CIFAR recipes); AdamW: 0.05")
    # The ViT's attention: the explicit formula (as augcore on a CPU up to 128 tokens) or
    # PyTorch's fused kernel (torch 2.x); docs/performance.md compares the two.
    st.add_argument("--attention", choices=["explicit", "fused"], default="explicit")
    st.add_argument("--batch", type=int, default=128)
    st.add_argument("--steps", type=int, default=20)
    st.add_argument("--warmup", type=int, default=3)
    st.add_argument("--threads", type=int, default=2)
    st.add_argument("--device", default="cpu")
    st.add_argument("--amp", choices=["none", "bf16"], default="none")
    st.add_argument("--channels-last", action="store_true")
    st.add_argument("--serve", action="store_true", help="run steps on request (stdin)")
    st.add_argument("--compile", action="store_true", help="the model under torch.compile")
    sub.add_parser("info", help="the versions, and whether torch.compile exists")
    a = p.parse_args()
    result = {"loader": loader_main, "augment": augment_main, "step": step_main,
              "info": info_main}[a.command](a)
    if result is None:
        return
    result["torch"] = torch.__version__
    result["torchvision"] = torchvision.__version__
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
