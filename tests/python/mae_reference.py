"""An independent MAE (He et al. 2022) written from the paper and facebookresearch/mae's
documented conventions, for augcore's parity test.

  mae_reference.py OUT   saves {"model": state_dict, "images", "noise", "pred", "mask",
                                "loss", "cls_attention", "pos_embed"} for a small MAE
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def sincos_1d(dim, pos):
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, grid):
    gh = np.arange(grid, dtype=np.float32)
    gw = np.arange(grid, dtype=np.float32)
    mesh = np.stack(np.meshgrid(gw, gh), axis=0).reshape(2, 1, grid, grid)  # w goes first
    emb = np.concatenate([sincos_1d(dim // 2, mesh[0]), sincos_1d(dim // 2, mesh[1])], axis=1)
    return np.concatenate([np.zeros([1, dim]), emb], axis=0)


def block(dim, heads):
    b = torch.nn.Module()
    b.norm1 = torch.nn.LayerNorm(dim, eps=1e-6)
    b.attn = torch.nn.Module()
    b.attn.qkv = torch.nn.Linear(dim, 3 * dim)
    b.attn.proj = torch.nn.Linear(dim, dim)
    b.norm2 = torch.nn.LayerNorm(dim, eps=1e-6)
    b.mlp = torch.nn.Module()
    b.mlp.fc1 = torch.nn.Linear(dim, 4 * dim)
    b.mlp.fc2 = torch.nn.Linear(4 * dim, dim)
    b.heads = heads
    return b


def attend(b, x):
    n, t, d = x.shape
    q, k, v = b.attn.qkv(b.norm1(x)).split(d, dim=-1)
    q, k, v = [z.reshape(n, t, b.heads, d // b.heads).transpose(1, 2) for z in (q, k, v)]
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // b.heads), dim=-1)
    x = x + b.attn.proj((a @ v).transpose(1, 2).reshape(n, t, d))
    return x + b.mlp.fc2(F.gelu(b.mlp.fc1(b.norm2(x))))


class RefMAE(torch.nn.Module):
    def __init__(self, img=16, p=4, chans=3, dim=32, depth=2, heads=4, ddim=24, ddepth=1, dheads=3):
        super().__init__()
        self.p, self.heads = p, heads
        g = img // p
        self.patch_embed = torch.nn.Module()
        self.patch_embed.proj = torch.nn.Conv2d(chans, dim, p, p)
        self.cls_token = torch.nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = torch.nn.Parameter(torch.from_numpy(sincos_2d(dim, g)).float().unsqueeze(0),
                                            requires_grad=False)
        self.blocks = torch.nn.ModuleList([block(dim, heads) for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.decoder_embed = torch.nn.Linear(dim, ddim)
        self.mask_token = torch.nn.Parameter(torch.randn(1, 1, ddim) * 0.02)
        self.decoder_pos_embed = torch.nn.Parameter(
            torch.from_numpy(sincos_2d(ddim, g)).float().unsqueeze(0), requires_grad=False)
        self.decoder_blocks = torch.nn.ModuleList([block(ddim, dheads) for _ in range(ddepth)])
        self.decoder_norm = torch.nn.LayerNorm(ddim, eps=1e-6)
        self.decoder_pred = torch.nn.Linear(ddim, p * p * chans)

    def patchify(self, imgs):
        p = self.p
        n, c, h, w = imgs.shape
        x = imgs.reshape(n, c, h // p, p, w // p, p)
        return torch.einsum("nchpwq->nhwpqc", x).reshape(n, (h // p) * (w // p), p * p * c)

    def forward(self, imgs, noise, ratio):
        x = self.patch_embed.proj(imgs).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        n, l, d = x.shape
        keep = int(l * (1 - ratio))
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).repeat(1, 1, d))
        mask = torch.ones(n, l)
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        x = torch.cat([(self.cls_token + self.pos_embed[:, :1]).expand(n, -1, -1), x], 1)
        for b in self.blocks:
            x = attend(b, x)
        x = self.decoder_embed(self.norm(x))
        tokens = torch.cat([x[:, 1:], self.mask_token.repeat(n, l + 1 - x.shape[1], 1)], 1)
        tokens = torch.gather(tokens, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1], tokens], 1) + self.decoder_pos_embed
        for b in self.decoder_blocks:
            x = attend(b, x)
        pred = self.decoder_pred(self.decoder_norm(x))[:, 1:]
        loss = (((pred - self.patchify(imgs)) ** 2).mean(-1) * mask).sum() / mask.sum()
        return pred, mask, loss

    def cls_attention(self, imgs):
        x = self.patch_embed.proj(imgs).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        n, l, d = x.shape
        x = torch.cat([(self.cls_token + self.pos_embed[:, :1]).expand(n, -1, -1), x], 1)
        for b in self.blocks[:-1]:
            x = attend(b, x)
        b = self.blocks[-1]
        q, k, _ = b.attn.qkv(b.norm1(x)).split(d, dim=-1)
        h = self.heads
        q = q[:, :1].reshape(n, 1, h, d // h).transpose(1, 2)
        k = k[:, 1:].reshape(n, l, h, d // h).transpose(1, 2)
        a = torch.softmax((q @ k.transpose(-1, -2)).squeeze(2) / math.sqrt(d // h), dim=-1)
        return a.mean(1)

    def attention_maps(self, imgs):
        """Every encoder block's full softmax attention (CLS + patches), stacked: B×N×H×T×T."""
        x = self.patch_embed.proj(imgs).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        n, l, d = x.shape
        x = torch.cat([(self.cls_token + self.pos_embed[:, :1]).expand(n, -1, -1), x], 1)
        h = self.heads
        maps = []
        for b in self.blocks:
            q, k, _ = b.attn.qkv(b.norm1(x)).split(d, dim=-1)
            q = q.reshape(n, l + 1, h, d // h).transpose(1, 2)
            k = k.reshape(n, l + 1, h, d // h).transpose(1, 2)
            maps.append(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1))
            x = attend(b, x)
        return torch.stack(maps)


if __name__ == "__main__":
    torch.manual_seed(0)
    model = RefMAE().eval()
    images = torch.rand(2, 3, 16, 16)
    noise = torch.rand(2, 16)
    with torch.no_grad():
        pred, mask, loss = model(images, noise, 0.4)
        attention = model.cls_attention(images)
        maps = model.attention_maps(images)
    torch.save({"model": model.state_dict(), "images": images, "noise": noise, "pred": pred,
                "mask": mask, "loss": loss, "cls_attention": attention,
                "attention_maps": maps,
                # attention the patch queries pay each patch: mean over blocks, heads, queries
                "patch_attention": maps[:, :, :, 1:, 1:].mean(dim=(2, 3)).mean(0),
                "patches": model.patchify(images), "sincos_7": torch.from_numpy(sincos_2d(16, 7)).float()},
               sys.argv[1])
