"""References for augcore's optimizer tests.

  optim_reference.py lamb OUT          LAMB steps on fixed parameters and gradients: timm's own
                                       Lamb where timm is installed (the modern toolchain's
                                       venv), else the update written below from the LAMB
                                       paper and NVIDIA's FusedLAMB description; prints which
  optim_reference.py layer_decay OUT   per parameter of a small global-pool ViT (MAE's
                                       fine-tuning model), [lr scale, weight decay] from timm's
                                       param_groups_layer_decay (else BEiT/MAE's rule written
                                       below; timm and MAE agree for this model, not for a
                                       CLS-token ViT's final norm)
"""
import sys

import torch

# Three cases, each a list of parameter groups [(shapes, weight_decay)] and Lamb options. The
# gradients are large (global norm ≫ 1) in case 0, so max_grad_norm clipping acts; case 1 has
# a zero parameter (‖w‖ = 0) and trust clipping; case 2 turns bias correction and grad
# averaging off and adapts every parameter.
CASES = [
    ([([(4, 3), (5,)], 0.02), ([(3,), (2, 2)], 0.0)],
     dict(lr=0.01, betas=(0.9, 0.999), eps=1e-6, max_grad_norm=1.0)),
    ([([(3, 3), (6,)], 0.05)],
     dict(lr=0.02, betas=(0.8, 0.99), eps=1e-8, max_grad_norm=None, trust_clip=True)),
    ([([(2, 5)], 0.1), ([(4,)], 0.0)],
     dict(lr=0.005, bias_correction=False, grad_averaging=False, always_adapt=True,
          max_grad_norm=5.0)),
]
STEPS = 4


def reference_lamb(groups, o):
    """One LAMB step over groups [(params, grads, state, wd)] (state: dict per parameter)."""
    b1, b2 = o.get("betas", (0.9, 0.999))
    eps, lr = o.get("eps", 1e-6), o["lr"]
    clip = 1.0
    if o.get("max_grad_norm", 1.0) is not None:
        total = sum(float((g.double() ** 2).sum()) for _, gs, _, _ in groups for g in gs) ** 0.5
        clip = max(total / o["max_grad_norm"], 1.0)
    for params, grads, state, wd in groups:
        state["step"] = state.get("step", 0) + 1
        t = state["step"]
        bc1 = 1 - b1 ** t if o.get("bias_correction", True) else 1.0
        bc2 = 1 - b2 ** t if o.get("bias_correction", True) else 1.0
        b3 = 1 - b1 if o.get("grad_averaging", True) else 1.0
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g / clip
            m, v = state.setdefault(i, (torch.zeros_like(p), torch.zeros_like(p)))
            m = b1 * m + b3 * g
            v = b2 * v + (1 - b2) * g * g
            state[i] = (m, v)
            u = (m / bc1) / ((v / bc2).sqrt() + eps)
            if wd != 0:
                u = u + wd * p
            if wd != 0 or o.get("always_adapt", False):
                wn, un = p.norm(), u.norm()
                r = wn / un if wn > 0 and un > 0 else torch.tensor(1.0)
                if o.get("trust_clip", False):
                    r = min(r, torch.tensor(1.0))
                u = u * r
            p.sub_(lr * u)


def lamb(out):
    try:
        from timm.optim import Lamb
        print("reference: timm", __import__("timm").__version__)
    except ImportError:
        Lamb = None
        print("reference: the independent LAMB in optim_reference.py")
    gen = torch.Generator().manual_seed(0)
    saved = {}
    for c, (groups, opts) in enumerate(CASES):
        params = []
        for gi, (shapes, _) in enumerate(groups):
            for pi, shape in enumerate(shapes):
                p = torch.randn(shape, generator=gen)
                if c == 1 and gi == 0 and pi == 0:
                    p.zero_()
                saved[f"{c}.{gi}.{pi}.init"] = p.clone()
                params.append((gi, pi, p))
        if Lamb is not None:
            torch_params = [torch.nn.Parameter(p.clone()) for _, _, p in params]
            it = iter(torch_params)
            pg = [{"params": [next(it) for _ in shapes], "weight_decay": wd}
                  for shapes, wd in groups]
            opt = Lamb(pg, foreach=False, **opts)
        else:
            ref_groups, it = [], iter(params)
            for shapes, wd in groups:
                ps = [next(it)[2].clone() for _ in shapes]
                ref_groups.append((ps, None, {}, wd))
        for s in range(STEPS):
            grads = []
            for gi, pi, p in params:
                g = torch.randn(p.shape, generator=gen) * (3.0 if c == 0 else 0.1)
                saved[f"{c}.{gi}.{pi}.grad{s}"] = g
                grads.append(g)
            if Lamb is not None:
                for tp, g in zip(torch_params, grads):
                    tp.grad = g.clone()
                opt.step()
                now = [tp.detach() for tp in torch_params]
            else:
                it = iter(grads)
                ref_groups = [(ps, [next(it) for _ in ps], st, wd) for ps, _, st, wd in ref_groups]
                reference_lamb(ref_groups, opts)
                now = [p for ps, _, _, _ in ref_groups for p in ps]
            for (gi, pi, _), p in zip(params, now):
                saved[f"{c}.{gi}.{pi}.after{s}"] = p.clone()
    torch.save(saved, out)


def layer_decay(out):
    decay, wd = 0.65, 0.05
    try:
        import timm
        from timm.optim._param_groups import param_groups_layer_decay
        model = timm.models.vision_transformer.VisionTransformer(
            img_size=32, patch_size=8, embed_dim=48, depth=3, num_heads=3, num_classes=7,
            global_pool="avg")
        groups = param_groups_layer_decay(model, weight_decay=wd, layer_decay=decay,
                                          no_weight_decay_list=model.no_weight_decay())
        by_param = {id(p): (g["lr_scale"], g["weight_decay"]) for g in groups for p in g["params"]}
        table = {n: torch.tensor(by_param[id(p)]) for n, p in model.named_parameters()}
        print("reference: timm", timm.__version__)
    except ImportError:
        names = ["cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"]
        for b in range(3):
            for sub in ["norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"]:
                names += [f"blocks.{b}.{sub}.weight", f"blocks.{b}.{sub}.bias"]
        names += ["fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"]
        table = {}
        for n in names:
            lid = 0 if n.split(".")[0] in ("cls_token", "pos_embed", "patch_embed") else (
                int(n.split(".")[1]) + 1 if n.startswith("blocks.") else 4)
            is_matrix = n.endswith("weight") and "norm" not in n
            table[n] = torch.tensor([decay ** (4 - lid), wd if is_matrix else 0.0])
        print("reference: BEiT/MAE's rule in optim_reference.py")
    torch.save(table, out)


if __name__ == "__main__":
    {"lamb": lamb, "layer_decay": layer_decay}[sys.argv[1]](sys.argv[2])
