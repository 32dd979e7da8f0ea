// Mixed precision on CUDA: an autocast scope (bf16/fp16) and fp16's dynamic loss scaling.
#pragma once

#include <ATen/core/Dict.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace augcore::train {

// The forward pass's precision on CUDA: float32, bfloat16 autocast, or float16 autocast with a
// LossScaler.
enum class AmpMode { kNone, kBf16, kFp16 };

// Autocasts CUDA ops to `dtype` for the guard's lifetime (no-op when disabled).
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, at::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
};

// Dynamic loss scaling as torch.cuda.amp.GradScaler does it: multiply the loss by S, unscale
// the gradients before clipping and stepping; if any gradient is inf/NaN, skip the step and
// halve S; after `interval` clean steps, double S.
class LossScaler {
 public:
  explicit LossScaler(double initial = 65536.0, std::int64_t interval = 2000);
  at::Tensor scale(const at::Tensor& loss) const { return loss * scale_; }
  // Divides every defined gradient by S; returns true when all are finite (step allowed).
  bool unscale(const std::vector<at::Tensor>& params);
  // Adjusts S after a step attempt.
  void update(bool finite);
  double value() const { return scale_; }
  std::int64_t clean_steps() const { return clean_steps_; }
  // {"scale", "clean_steps"}, and back (DataError naming `path` when an entry is missing).
  c10::impl::GenericDict state_dict() const;
  void load_state_dict(const c10::impl::GenericDict& state, const std::string& path);

 private:
  double scale_;
  std::int64_t interval_;
  std::int64_t clean_steps_ = 0;
};

}  // namespace augcore::train
