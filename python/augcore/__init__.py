"""augcore from Python: MRA, KeepAugment, MaskSub and batch augmentations over PyTorch tensors.

Every policy takes float N×C×H×W images with pixels in [0, 1] on any device and returns them in
the input's dtype, device and memory format. Every random draw comes from `generator=`, a CPU
torch.Generator (None: torch's default generator), so a seed gives the same result on every
device. `sample()` returns what a call draws and `apply()` replays it. Bad options or inputs
raise augcore.OptionError (a ValueError) with augcore's one-line message.
"""

import torch

from ._build_info import TORCH_VERSION as _BUILT_FOR

# Checked before the extension loads: against another torch it would fail on missing symbols.
if not torch.__version__.startswith(_BUILT_FOR + "."):
    raise ImportError(
        f"augcore was built against torch {_BUILT_FOR} but torch {torch.__version__} is "
        "installed: rebuild it with `pip install --no-build-isolation ./python`"
    )

from . import _C  # noqa: E402
from ._C import (
    AutoAugment,
    Boxes,
    ConfigError,
    Cutout,
    CutMix,
    DataError,
    ErasedBoxes,
    FixMatchRandAugment,
    KeepAutoAugment,
    KeepCutMix,
    KeepCutout,
    KeepRandAugment,
    KeepRandomErasing,
    MaskSubLoss,
    Mixup,
    MixupOrCutMix,
    MraDraw,
    OpLayer,
    OptionError,
    PastedOps,
    RandAugment,
    RandomErasing,
    Saliency,
    ThreeAugment,
    ThreeAugmentDraw,
    TrivialAugment,
    UsageError,
    gradient_saliency,
)
from .masksub import MaskSub, timm_vit_kept_forward
from .mra import MRA

__all__ = [name for name in dir() if not name.startswith("_") and name != "torch"]
