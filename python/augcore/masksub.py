"""MaskSub as a loss helper around any model: a masked sub pass sharing the model's weights."""

import torch

from . import _C


class MaskSub:
    """MaskSub's loss (augsub's): weight_main·criterion(main logits, targets) +
    weight_sub·criterion(sub logits, softmax(main logits).detach()).

    criterion: (logits, targets) -> loss, for int64 labels and N×K probabilities; None is
    cross-entropy. variant 'mask' (MaskSub), 'dropout' (DropSub) or 'droppath' (PathSub, these
    two need rate_forward). cell: a CNN's mask cell in pixels (it must tile the input).
    """

    def __init__(self, criterion=None, **options):
        """options (MaskSubOptions, the C++ defaults unless given): ratio=0.5, variant='mask',
        weight_main=0.5, weight_sub=0.5, cell=32, probabilities=None (softmax)."""
        self._loss = _C.MaskSub(criterion, **options)

    def __call__(self, model, images, targets, generator=None, backward=None, kept_forward=None,
                 num_patches=0, rate_forward=None):
        """One step: the main pass model(images), then the sub pass. Returns an
        augcore.MaskSubLoss (loss, to_backward, logits, main_loss, sub_loss).

        A timm VisionTransformer drops tokens in the sub pass (kept_forward and num_patches
        filled in from timm_vit_kept_forward); other models see a cell-masked input. With
        `backward` (a function of the loss), the main part is backpropagated first and
        to_backward is the sub part.
        """
        vit = _timm_vit(model)
        if kept_forward is None and vit is not None:
            kept_forward = timm_vit_kept_forward(vit)
            height, width = vit.patch_embed.patch_size
            num_patches = (images.shape[-2] // height) * (images.shape[-1] // width)
        return self._loss(model, images, targets, generator, backward, kept_forward, num_patches,
                          rate_forward)


def _timm_vit(model):
    """The timm VisionTransformer inside `model` (itself, or wrapped by DistributedDataParallel
    or torch.compile), else None."""
    try:
        from timm.models.vision_transformer import VisionTransformer
    except ImportError:
        return None
    for _ in range(3):
        if isinstance(model, VisionTransformer):
            return model
        model = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
    return None


def timm_vit_kept_forward(model):
    """The sub pass of a timm VisionTransformer: logits when only the patch tokens `keep`
    (int64 N×K) enter the encoder, after the position embedding (as augsub drops them)."""

    def forward(images, keep):
        x = model._pos_embed(model.patch_embed(images))
        prefix = model.num_prefix_tokens
        index = keep.to(x.device).unsqueeze(-1).expand(-1, -1, x.shape[-1])
        x = torch.cat([x[:, :prefix], x[:, prefix:].gather(1, index)], dim=1)
        x = model.norm(model.blocks(model.norm_pre(x)))
        return model.forward_head(x)

    return forward
