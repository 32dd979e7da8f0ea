"""augcore's policies in timm's own train.py, in the place of its `mixup_fn`.

timm's train_one_epoch calls `input, target = mixup_fn(input, target)` on each normalised
batch, on the device, when the prefetcher is off (with the prefetcher, mixing happens in the
collate function instead). AugcoreBatchFn has that signature: it un-normalises the batch to
pixels in [0, 1], runs augcore's policies, normalises again and returns soft targets.
In train.py, after the blocks "# setup mixup / cutmix" and "# setup loss function" (both
assign these names):

    import augcore
    from timm_mixup_fn import AugcoreBatchFn
    net = model.module if hasattr(model, "module") else model   # the model under DDP
    saliency = augcore.gradient_saliency(net, mean=data_config["mean"], std=data_config["std"])
    mixup_fn = AugcoreBatchFn(
        [augcore.RandAugment(), augcore.KeepCutMix(args.num_classes, saliency, label_smoothing=0.1)],
        mean=data_config["mean"], std=data_config["std"], num_classes=args.num_classes)
    train_loss_fn = SoftTargetCrossEntropy().to(device)   # the targets are soft

Run train.py with --no-prefetcher (so that mixup_fn is called), --mixup 0 --cutmix 0
--smoothing 0 (timm's own mixing off; the label smoothing goes to augcore's mixing policy),
and --aa none when augcore's RandAugment replaces timm's.
"""

import torch
import torch.nn.functional as F


class AugcoreBatchFn:
    """Applies augcore policies to a normalised batch: image policies take the images, mixing
    and Keep policies (images, targets). Returns (normalised images, soft targets N×K)."""

    def __init__(self, policies, mean, std, num_classes, generator=None):
        self.policies = list(policies)
        self.mean = torch.tensor(mean).view(1, -1, 1, 1)
        self.std = torch.tensor(std).view(1, -1, 1, 1)
        self.num_classes = num_classes
        self.generator = generator

    def __call__(self, images, targets):
        mean, std = self.mean.to(images), self.std.to(images)
        pixels = (images * std + mean).clamp_(0, 1)
        for policy in self.policies:
            if _takes_targets(policy):
                pixels = policy(pixels, targets, generator=self.generator)
                if isinstance(pixels, tuple):
                    pixels, targets = pixels
            else:
                pixels = policy(pixels, generator=self.generator)
        if targets.dim() == 1:
            targets = F.one_hot(targets, self.num_classes).to(pixels.dtype)
        return (pixels - mean) / std, targets


def _takes_targets(policy):
    import augcore

    return isinstance(policy, (augcore.Mixup, augcore.CutMix, augcore.MixupOrCutMix,
                               augcore.KeepCutout, augcore.KeepRandomErasing, augcore.KeepCutMix,
                               augcore.KeepAutoAugment, augcore.KeepRandAugment))
