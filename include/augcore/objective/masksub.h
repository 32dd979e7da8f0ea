// MaskSub (Heo et al., "Masking Augmentation for Supervised Learning"): a sub-model pass on a
// masked input, sharing the main model's weights, trained toward the main pass's detached
// predictions — around any forward function and criterion.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <functional>

namespace augcore::objective {

enum class MaskSubVariant {
  kMask,      // MaskSub: the sub pass sees a masked input
  kDropout,   // DropSub: the sub pass runs with dropout at `ratio` (needs rate_forward)
  kDropPath,  // PathSub: the sub pass runs with drop-path at `ratio` (needs rate_forward)
};

struct MaskSubOptions {
  // Mask ratio r of the sub pass (the dropout/drop-path rate for those variants).
  TORCH_ARG(double, ratio) = 0.5;
  TORCH_ARG(MaskSubVariant, variant) = MaskSubVariant::kMask;
  TORCH_ARG(double, weight_main) = 0.5;
  TORCH_ARG(double, weight_sub) = 0.5;
  // Masking without kept_forward (CNNs): side of the square cells in pixels; must tile the input.
  TORCH_ARG(std::int64_t, cell) = 32;
};

// The model as MaskSub sees it; only `forward` is required.
struct MaskSubModel {
  // Logits N×K of a (normalised) batch: the main pass, and the sub pass on a cell-masked input.
  std::function<at::Tensor(const at::Tensor& x)> forward;
  // Token-dropping models (ViTs): logits when only the patch tokens `keep` (int64 N×K indices
  // into the num_patches patches) enter the encoder. Used for the mask variant when set.
  std::function<at::Tensor(const at::Tensor& x, const at::Tensor& keep)> kept_forward;
  std::int64_t num_patches = 0;
  // Mask-token models (augsub's Swin): logits when the units marked 1 in `masked` (float
  // N×rows×cols) are replaced by the model's mask token. Used for the mask variant when set
  // (and kept_forward is not).
  std::function<at::Tensor(const at::Tensor& x, const at::Tensor& masked)> token_mask_forward;
  std::int64_t mask_rows = 0, mask_cols = 0;
  // The dropout/drop-path variants: logits with every such layer at `rate` for this pass.
  std::function<at::Tensor(const at::Tensor& x, double rate)> rate_forward;
};

// The losses of one MaskSub step.
struct MaskSubLoss {
  at::Tensor loss;         // weight_main·main + weight_sub·sub (detached in split mode)
  at::Tensor to_backward;  // what the caller backpropagates: `loss`, or the sub part in split mode
  at::Tensor logits;       // the main pass's logits (for accuracy)
  at::Tensor main_loss, sub_loss;  // detached, for logging
};

class MaskSub {
 public:
  using Criterion = std::function<at::Tensor(const at::Tensor& logits, const at::Tensor& targets)>;
  using Probabilities = std::function<at::Tensor(const at::Tensor& logits)>;
  using Backward = std::function<void(const at::Tensor& loss)>;

  // `criterion` takes int64 labels or float N×K targets (the sub pass's targets are
  // probabilities(main logits), softmax unless given: sigmoid for a BCE criterion).
  MaskSub(MaskSubOptions options, Criterion criterion, Probabilities probabilities = nullptr);

  // One step: the main pass, then the sub pass. With `backward` (split mode), the main part is
  // backpropagated through it before the sub pass, freeing the main graph, and the caller
  // backpropagates `to_backward` (the sub part) with its own scaling.
  MaskSubLoss operator()(const MaskSubModel& model, const at::Tensor& images,
                         const at::Tensor& targets, at::Generator generator = {},
                         const Backward& backward = nullptr) const;

  // The same with the main pass done by the caller (its logits and loss).
  MaskSubLoss after_main(const MaskSubModel& model, const at::Tensor& images,
                         const at::Tensor& main_logits, const at::Tensor& main_loss,
                         at::Generator generator = {}, const Backward& backward = nullptr) const;

  const MaskSubOptions& options() const { return options_; }

 private:
  at::Tensor sub_logits(const MaskSubModel& model, const at::Tensor& images,
                        at::Generator& generator) const;
  MaskSubOptions options_;
  Criterion criterion_;
  Probabilities probabilities_;
};

// The patch tokens a ViT's sub pass keeps: per image, a random floor(L·(1−ratio)) of the L
// indices (argsort of uniform noise, as MAE masks). int64 N×K on the CPU.
at::Tensor random_kept_tokens(std::int64_t n, std::int64_t patches, double ratio,
                              at::Generator& generator);

// A CNN's sub-pass mask: per image, exactly floor(L·ratio) random cells of the cell×cell
// grid (L cells) are 1 (masked), the rest 0. Float N×1×H×W on the CPU; `cell` divides H, W.
at::Tensor random_cell_mask(std::int64_t n, std::int64_t height, std::int64_t width,
                            std::int64_t cell, double ratio, at::Generator& generator);

// A mask-token model's sub-pass mask, as augsub's Swin draws it: per image, of the L units
// exactly L − ⌊L·(1 − ratio)⌋ random ones are 1 (masked). Float N×rows×cols on the CPU.
at::Tensor random_unit_mask(std::int64_t n, std::int64_t rows, std::int64_t cols, double ratio,
                            at::Generator& generator);

}  // namespace augcore::objective
