// libaugcore for other trainers: MRA, KeepAugment, MaskSub and the batch augmentations as
// plain C++ objects over LibTorch, usable with any model and any training loop (docs/library.md).
//
// Conventions every policy follows:
// - Input pixels are float (fp32, fp16 or bf16) N×C×H×W in [0,1], on any device; the output
//   keeps the input's dtype, device and memory format (channels_last stays channels_last).
//   Any batch size works, odd ones included.
// - Every random draw comes from the `at::Generator` argument, a CPU generator (an undefined
//   one means the default CPU generator): the same generator state gives the same result on
//   every device.
// - Options are structs with fluent setters (`CutoutOptions(16).p(0.5)`), required values in
//   their constructor; a bad value throws augcore::OptionError naming the struct and field.
// - Image policies are callables `images = policy(images, generator)` and
//   `batch = policy(batch, generator)`; mixing policies take a Batch and return soft targets.
// - Where drawing is cheap to separate, `sample()` returns the drawn parameters and `apply()`
//   applies them, e.g. to a second tensor with the same geometry.
// - KeepAugment policies take a SaliencyFn: gradient_saliency(logits function) or
//   gradient_saliency_of(your TORCH_MODULE), or a precomputed map passed to sample().
#pragma once

#include "augcore/augment/auto_augment.h"
#include "augcore/augment/batch.h"
#include "augcore/augment/cutout.h"
#include "augcore/augment/keep.h"
#include "augcore/augment/mix.h"
#include "augcore/augment/mra.h"
#include "augcore/augment/random_erasing.h"
#include "augcore/augment/saliency.h"
#include "augcore/augment/strength.h"
#include "augcore/augment/three_augment.h"
#include "augcore/core/error.h"
#include "augcore/models/mae.h"
#include "augcore/objective/masksub.h"
#include "augcore/objective/semi_supervised.h"
