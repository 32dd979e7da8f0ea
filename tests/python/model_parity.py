"""Reference models for augcore's parity tests.

  model_parity.py resnet NAME OUT      torchvision model: random weights and BN statistics,
                                       a fixed input and its eval-mode logits
  model_parity.py vit OUT              the same for a ViT: timm's own VisionTransformer where
                                       timm is installed (the modern toolchain's venv), else
                                       the independent ViT written below from the DeiT/timm
                                       description (pre-norm blocks, CLS pooling); prints which
  model_parity.py swin OUT             the same for a Swin (3 stages, shifted windows, a stage
                                       whose window shrinks to its grid): timm's own
                                       SwinTransformer where timm is installed, else the
                                       independent RefSwin below; prints which
  model_parity.py swin-agree           RefSwin with timm's Swin's weights gives timm's logits
                                       (run with the venv: checks the independent reference)
  model_parity.py check NAME CKPT      loads augcore's checkpoint["model"] into torchvision's
                                       model with strict=True and compares logits
"""
import math
import sys

import torch
import torch.nn.functional as F
import torchvision


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def resnet(name, out):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = getattr(torchvision.models, name)(num_classes=10)
    randomize_bn(model, gen)
    model.eval()
    x = torch.randn(2, 3, 64, 64, generator=gen)
    with torch.no_grad():
        logits = model(x)
    torch.save({"model": model.state_dict(), "input": x, "logits": logits}, out)


class RefViT(torch.nn.Module):
    """A ViT from the paper's equations, with timm's parameter names."""

    def __init__(self, img=32, patch=8, dim=48, depth=2, heads=3, classes=7, ls=0.1):
        super().__init__()
        self.patch, self.heads = patch, heads
        self.patch_embed = torch.nn.Module()
        self.patch_embed.proj = torch.nn.Conv2d(3, dim, patch, patch)
        self.cls_token = torch.nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = torch.nn.Parameter(torch.randn(1, (img // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = torch.nn.ModuleList()
        for _ in range(depth):
            b = torch.nn.Module()
            b.norm1 = torch.nn.LayerNorm(dim, eps=1e-6)
            b.attn = torch.nn.Module()
            b.attn.qkv = torch.nn.Linear(dim, 3 * dim)
            b.attn.proj = torch.nn.Linear(dim, dim)
            b.ls1 = torch.nn.Module()
            b.ls1.gamma = torch.nn.Parameter(ls * torch.ones(dim) + 0.01 * torch.randn(dim))
            b.norm2 = torch.nn.LayerNorm(dim, eps=1e-6)
            b.mlp = torch.nn.Module()
            b.mlp.fc1 = torch.nn.Linear(dim, 4 * dim)
            b.mlp.fc2 = torch.nn.Linear(4 * dim, dim)
            b.ls2 = torch.nn.Module()
            b.ls2.gamma = torch.nn.Parameter(ls * torch.ones(dim) + 0.01 * torch.randn(dim))
            self.blocks.append(b)
        self.norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.head = torch.nn.Linear(dim, classes)

    def attention(self, b, x):
        n, t, d = x.shape
        h = self.heads
        q, k, v = b.attn.qkv(x).split(d, dim=-1)
        q, k, v = [z.reshape(n, t, h, d // h).transpose(1, 2) for z in (q, k, v)]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        out = (a @ v).transpose(1, 2).reshape(n, t, d)
        return b.attn.proj(out), a[:, :, 0, 1:].mean(1)

    def forward(self, x, keep=None):
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        if keep is not None:
            tokens = torch.stack([tokens[i, keep[i]] for i in range(x.shape[0])])
        cls = self.cls_token + self.pos_embed[:, :1]
        x = torch.cat([cls.expand(x.shape[0], -1, -1), tokens], 1)
        attn = None
        for b in self.blocks:
            a, attn = self.attention(b, b.norm1(x))
            x = x + b.ls1.gamma * a
            x = x + b.ls2.gamma * b.mlp.fc2(F.gelu(b.mlp.fc1(b.norm2(x))))
        return self.head(self.norm(x)[:, 0]), attn


def timm_vit():
    """timm's VisionTransformer in the test's shape: (logits, CLS attention) and kept-token
    forwards made of timm's own modules; the attention is the softmax timm itself computes in
    the last block (its unfused path), read where it enters attn_drop."""
    import timm
    from timm.models.vision_transformer import VisionTransformer

    model = VisionTransformer(img_size=32, patch_size=8, num_classes=7, embed_dim=48, depth=2,
                              num_heads=3, mlp_ratio=4.0, qkv_bias=True, init_values=0.1,
                              global_pool="token").eval()
    with torch.no_grad():  # move LayerNorm/LayerScale/bias values off their trivial inits
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    last = model.blocks[-1].attn
    last.fused_attn = False
    seen = {}
    last.attn_drop.register_forward_hook(lambda m, i, o: seen.__setitem__("attn", o))

    def full(x):
        logits = model(x)
        return logits, seen["attn"][:, :, 0, 1:].mean(1)

    def kept(x, keep):
        t = model._pos_embed(model.patch_embed(x))
        cls, patches = t[:, :model.num_prefix_tokens], t[:, model.num_prefix_tokens:]
        patches = torch.stack([patches[i, keep[i]] for i in range(x.shape[0])])
        t = model.norm_pre(torch.cat([cls, patches], 1))
        return model.forward_head(model.norm(model.blocks(t)))

    print(f"reference: timm {timm.__version__} VisionTransformer, torch {torch.__version__}")
    return model, full, kept


def vit(out):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    keep = torch.tensor([[0, 5, 9, 15, 2], [14, 1, 3, 7, 8]])
    try:
        model, full, kept = timm_vit()
    except ImportError:
        print(f"reference: hand-written ViT (no timm), torch {torch.__version__}")
        model = RefViT().eval()
        full, kept = model, lambda x, keep: model(x, keep)[0]
    with torch.no_grad():
        logits, attn = full(x)
        kept_logits = kept(x, keep)
    torch.save({"model": model.state_dict(), "input": x, "logits": logits, "attention": attn,
                "keep": keep, "kept_logits": kept_logits}, out)


def check(name, path):
    ckpt = torch.load(path, **({"weights_only": True} if int(torch.__version__[0]) >= 2 else {}))
    model = getattr(torchvision.models, name)(num_classes=ckpt["num_classes"])
    model.load_state_dict(ckpt["model"], strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(ckpt["input"])
    diff = (logits - ckpt["logits"]).abs().max().item()
    # float32 summation order: relative to the logits' scale (ResNet-50's reach ~135 here)
    bound = 1e-5 * max(1.0, ckpt["logits"].abs().max().item())
    print(f"max abs diff {diff:.3g} (bound {bound:.3g})")
    sys.exit(0 if diff <= bound else 1)


class RefSwin(torch.nn.Module):
    """A Swin Transformer from the paper's description (shifted windows with a region mask,
    relative position bias, patch merging), with timm's parameter names; no timm code."""

    def __init__(self, img=32, patch=2, dim=16, depths=(2, 2, 2), heads=(2, 2, 4), window=4,
                 classes=7):
        super().__init__()
        lin = torch.nn.Linear
        self.patch_embed = torch.nn.Module()
        self.patch_embed.proj = torch.nn.Conv2d(3, dim, patch, patch)
        self.patch_embed.norm = torch.nn.LayerNorm(dim)
        self.layers, self.plan = torch.nn.ModuleList(), []
        grid, width = img // patch, dim
        for s, (depth, h) in enumerate(zip(depths, heads)):
            stage = torch.nn.Module()
            if s > 0:
                stage.downsample = torch.nn.Module()
                stage.downsample.norm = torch.nn.LayerNorm(4 * width)
                stage.downsample.reduction = lin(4 * width, 2 * width, bias=False)
                width, grid = 2 * width, (grid + 1) // 2
            stage.blocks = torch.nn.ModuleList()
            w = min(window, grid)
            for b in range(depth):
                blk = torch.nn.Module()
                blk.norm1, blk.norm2 = torch.nn.LayerNorm(width), torch.nn.LayerNorm(width)
                blk.attn = torch.nn.Module()
                blk.attn.relative_position_bias_table = torch.nn.Parameter(
                    torch.zeros((2 * w - 1) ** 2, h))
                blk.attn.qkv, blk.attn.proj = lin(width, 3 * width), lin(width, width)
                blk.mlp = torch.nn.Module()
                blk.mlp.fc1, blk.mlp.fc2 = lin(width, 4 * width), lin(4 * width, width)
                stage.blocks.append(blk)
                shift = 0 if b % 2 == 0 or grid <= window else window // 2
                self.plan.append((s, b, w, shift, h))
            self.layers.append(stage)
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Module()
        self.head.fc = lin(width, classes)

    @staticmethod
    def attention(blk, x, w, shift, heads):
        n, hh, ww, c = x.shape
        if shift:
            x = torch.roll(x, (-shift, -shift), (1, 2))
        # windows: (n * windows) x w*w x c, row-major over the grid
        win = x.view(n, hh // w, w, ww // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)
        q, k, v = blk.attn.qkv(win).view(win.shape[0], w * w, 3, heads, -1).permute(2, 0, 3, 1, 4)
        a = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
        # relative position (dy, dx) of every token pair -> row of the bias table
        yx = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
        rel = (yx[:, :, None] - yx[:, None, :]) + (w - 1)
        index = rel[0] * (2 * w - 1) + rel[1]
        a = a + blk.attn.relative_position_bias_table[index].permute(2, 0, 1)[None]
        if shift:
            # tokens that came from different regions of the rolled grid do not attend
            region = torch.zeros(hh, ww)
            cuts = (slice(0, -w), slice(-w, -shift), slice(-shift, None))
            for r, (ys, xs) in enumerate((ys, xs) for ys in cuts for xs in cuts):
                region[ys, xs] = r
            rw = region.view(hh // w, w, ww // w, w).permute(0, 2, 1, 3).reshape(-1, w * w)
            mask = (rw[:, None, :] != rw[:, :, None]).float() * -100.0
            a = (a.view(n, -1, heads, w * w, w * w) + mask[None, :, None]).view(a.shape)
        out = blk.attn.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(win.shape[0], w * w, c))
        out = out.view(n, hh // w, ww // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(n, hh, ww, c)
        return torch.roll(out, (shift, shift), (1, 2)) if shift else out

    def forward(self, x):
        x = self.patch_embed.norm(self.patch_embed.proj(x).permute(0, 2, 3, 1))
        for s, b, w, shift, heads in self.plan:
            stage = self.layers[s]
            if b == 0 and s > 0:
                n, hh, ww, c = x.shape
                quad = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
                x = stage.downsample.reduction(stage.downsample.norm(torch.cat(quad, -1)))
            blk = stage.blocks[b]
            x = x + self.attention(blk, blk.norm1(x), w, shift, heads)
            x = x + blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.norm2(x))))
        return self.head.fc(self.norm(x).mean((1, 2)))


def randomize_swin(model, gen):
    """Weights far from the initialisation (0.2 s.d. matrices, norms around 1), so that every
    part of the forward moves the logits."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            is_norm_weight = name.endswith(("norm.weight", "norm1.weight", "norm2.weight"))
            p.copy_(torch.randn(p.shape, generator=gen) * (0.2 if p.dim() > 1 else 0.5)
                    + (1.0 if is_norm_weight else 0.0))


def swin_agree():
    import timm
    ref = timm.models.swin_transformer.SwinTransformer(
        img_size=32, patch_size=2, num_classes=7, embed_dim=16, depths=(2, 2, 2),
        num_heads=(2, 2, 4), window_size=4).eval()
    randomize_swin(ref, torch.Generator().manual_seed(5))
    ours = RefSwin().eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    print(f"RefSwin vs timm: max abs diff {diff:.3g}")
    sys.exit(0 if diff < 1e-5 else 1)


def swin(out):
    try:
        import timm
        model = timm.models.swin_transformer.SwinTransformer(
            img_size=32, patch_size=2, num_classes=7, embed_dim=16, depths=(2, 2, 2),
            num_heads=(2, 2, 4), window_size=4)
        print("reference: timm", timm.__version__)
    except ImportError:
        model = RefSwin()
        print(f"reference: hand-written Swin (no timm), torch {torch.__version__}")
    gen = torch.Generator().manual_seed(2)
    randomize_swin(model, gen)
    model.eval()
    x = torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        logits = model(x)
    torch.save({"model": model.state_dict(), "input": x, "logits": logits}, out)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "resnet":
        resnet(sys.argv[2], sys.argv[3])
    elif cmd == "vit":
        vit(sys.argv[2])
    elif cmd == "swin":
        swin(sys.argv[2])
    elif cmd == "swin-agree":
        swin_agree()
    else:
        check(sys.argv[2], sys.argv[3])
