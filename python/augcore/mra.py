"""MRA as a torch.nn.Module: a frozen MAE that reconstructs each image's low-attention patches."""

import torch

from . import _C


class MRA(torch.nn.Module):
    """MRA's augmentor. Build it with MRA.from_checkpoint(path, ...); move it with .to(device).

    Calling it augments a float N×C×H×W batch in [0, 1] (each image with probability p); the
    images must have the augmentor's channels and a multiple of its patch size.
    """

    def __init__(self, augmentor):
        super().__init__()
        self._augmentor = augmentor

    @classmethod
    def from_checkpoint(cls, path, preset=None, in_chans=0, **options):
        """Loads mae_pretrain's last.pt or an official facebookresearch/mae .pth.

        preset: the MAE architecture (models::mae_preset); None reads mae_pretrain's "preset"
        entry (an official checkpoint needs it: 'mae_base' for ViT-B/16, 'mae_large' for
        ViT-L/16). in_chans 0 reads the channels from patch_embed.proj.weight.
        options (MraOptions, the C++ defaults unless given): mask_ratio=0.4, mode='low'
        ('high', 'random'), attention='cls' ('patches'), p=1.0, paste_visible=True,
        norm_pix=False, mean=None and std=None (the augmentor's normalisation in pixels: None
        takes the checkpoint's, else ImageNet's).
        """
        return cls(_C.MraAugmentor.load(str(path), preset, in_chans, **options))

    def forward(self, images, generator=None):
        """`images` with their low-attention patches reconstructed (each image with prob. p)."""
        return self._augmentor.forward(images, generator)

    def sample(self, images, generator=None):
        """The images a call would augment and their masking noise (an augcore.MraDraw)."""
        return self._augmentor.sample(images, generator)

    def apply(self, images, draw):
        """`images` augmented as `draw` (from sample()) says."""
        return self._augmentor.apply(images, draw)

    def attention_and_mask(self, images, noise):
        """The attention over patches (N×L) and the patch mask (N×L, 1 = reconstructed)."""
        return self._augmentor.attention_and_mask(images, noise)

    @property
    def patch_size(self):
        return self._augmentor.patch_size

    def _apply(self, fn, *args, **kwargs):
        # The C++ module's own tensors change in place, as torch.nn.cpp.ModuleWrapper does it.
        with torch.no_grad():
            for tensor in self._augmentor.tensors():
                tensor.data = fn(tensor.data)
        return self

    def extra_repr(self):
        return f"patch_size={self.patch_size}"
