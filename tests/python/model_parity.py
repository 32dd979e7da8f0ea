"""Reference models for augcore's parity tests.

  model_parity.py resnet NAME OUT      torchvision model: random weights and BN statistics,
                                       a fixed input and its eval-mode logits
  model_parity.py vit OUT              the same for a ViT: timm's own VisionTransformer where
                                       timm is installed (the modern toolchain's venv), else
                                       the independent ViT written below from the DeiT/timm
                                       description (pre-norm blocks, CLS pooling); prints which
  model_parity.py swin OUT             timm's own SwinTransformer (3 stages, shifted windows, a
                                       stage whose window shrinks to its grid), random weights,
                                       and its logits; exits 3 when timm is not installed
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


def swin(out):
    try:
        import timm
    except ImportError:
        print("timm is not installed")
        sys.exit(3)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2)
    model = timm.models.swin_transformer.SwinTransformer(
        img_size=32, patch_size=2, num_classes=7, embed_dim=16, depths=(2, 2, 2),
        num_heads=(2, 2, 4), window_size=4)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.2 if p.dim() > 1 else 0.5)
                    + (1.0 if name.endswith("norm.weight") or "norm1.weight" in name
                       or "norm2.weight" in name else 0.0))
    model.eval()
    x = torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        logits = model(x)
    torch.save({"model": model.state_dict(), "input": x, "logits": logits}, out)
    print("reference: timm", timm.__version__)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "resnet":
        resnet(sys.argv[2], sys.argv[3])
    elif cmd == "vit":
        vit(sys.argv[2])
    elif cmd == "swin":
        swin(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
