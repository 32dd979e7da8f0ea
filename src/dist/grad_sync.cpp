#include "augcore/dist/grad_sync.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include <exception>
#include <mutex>

namespace augcore::dist {

std::vector<std::vector<std::size_t>> plan_buckets(const std::vector<at::Tensor>& params,
                                                   const BucketOptions& options) {
  std::vector<std::vector<std::size_t>> buckets;
  std::int64_t filled = 0;
  for (std::size_t k = params.size(); k-- > 0;) {
    const at::Tensor& p = params[k];
    const std::int64_t cap = buckets.size() <= 1 ? options.first_bytes : options.bytes;
    const bool fits = !buckets.empty() && filled < cap &&
                      params[buckets.back().front()].scalar_type() == p.scalar_type() &&
                      params[buckets.back().front()].device() == p.device();
    if (!fits) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += p.numel() * static_cast<std::int64_t>(p.element_size());
  }
  return buckets;
}

namespace {

// The flat buffers of a bucket plan: each bucket holds its parameters' gradients one after
// another, then one flag per parameter (1 where the rank has a gradient for it).
class Buckets {
 public:
  Buckets(Group& group, std::vector<at::Tensor> params, const BucketOptions& options)
      : group_(group), params_(std::move(params)), plan_(plan_buckets(params_, options)) {
    where_.resize(params_.size());
    for (std::size_t b = 0; b < plan_.size(); ++b) {
      std::int64_t size = 0;
      for (std::size_t j = 0; j < plan_[b].size(); ++j) {
        const std::size_t k = plan_[b][j];
        where_[k] = {b, size, params_[k].numel(), j};
        size += params_[k].numel();
      }
      data_sizes_.push_back(size);
      flat_.push_back(at::empty({size + static_cast<std::int64_t>(plan_[b].size())},
                                params_[plan_[b].front()].options()));
    }
  }

  std::size_t count() const { return plan_.size(); }
  const std::vector<std::size_t>& members(std::size_t b) const { return plan_[b]; }
  std::size_t bucket_of(std::size_t k) const { return where_[k].bucket; }

  // Writes `grad` (undefined: none) as parameter k's contribution.
  void put(std::size_t k, const at::Tensor& grad) {
    const Place& w = where_[k];
    at::Tensor view = flat_[w.bucket].narrow(0, w.offset, w.numel);
    at::Tensor flag = flat_[w.bucket].narrow(0, data_sizes_[w.bucket] + w.slot, 1);
    if (grad.defined()) {
      view.copy_(grad.reshape(-1));
      flag.fill_(1);
    } else {
      view.zero_();
      flag.zero_();
    }
  }
  void put_current(std::size_t k) { put(k, params_[k].grad()); }

  Pending launch(std::size_t b) {
    return group_.all_reduce_sum_async(
        flat_[b], fmt::format("all_reduce(gradients, bucket {} of {})", b + 1, plan_.size()));
  }

  // After bucket b's all-reduce: the mean into each member's .grad.
  void take(std::size_t b) {
    at::Tensor flat = flat_[b];
    flat.narrow(0, 0, data_sizes_[b]).div_(group_.world_size());
    const at::Tensor flags =
        flat.narrow(0, data_sizes_[b], static_cast<std::int64_t>(plan_[b].size()))
            .to(at::kCPU, at::kFloat);
    const float* f = flags.data_ptr<float>();
    for (std::size_t j = 0; j < plan_[b].size(); ++j) {
      if (f[j] == 0) continue;
      at::Tensor& p = params_[plan_[b][j]];
      const Place& w = where_[plan_[b][j]];
      const at::Tensor mean = flat.narrow(0, w.offset, w.numel).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else {
        p.mutable_grad() = mean.clone();
      }
    }
  }

  // Every bucket in order, from the gradients as they are now (the reference path).
  void reduce_all() {
    std::vector<Pending> pending;
    for (std::size_t b = 0; b < plan_.size(); ++b) {
      for (std::size_t k : plan_[b])
        put_current(k);
      pending.push_back(launch(b));
    }
    for (std::size_t b = 0; b < plan_.size(); ++b) {
      pending[b].wait();
      take(b);
    }
  }

  std::vector<at::Tensor>& params() { return params_; }
  Group& group() { return group_; }

 private:
  struct Place {
    std::size_t bucket = 0;
    std::int64_t offset = 0, numel = 0;
    std::size_t slot = 0;
  };
  Group& group_;
  std::vector<at::Tensor> params_;
  std::vector<std::vector<std::size_t>> plan_;
  std::vector<Place> where_;
  std::vector<std::int64_t> data_sizes_;
  std::vector<at::Tensor> flat_;
};

class PostBackwardSync : public GradientSync {
 public:
  PostBackwardSync(Group& group, std::vector<at::Tensor> params, const BucketOptions& options)
      : buckets_(group, std::move(params), options) {}
  void begin_micro_step(bool) override {}
  void finish() override { buckets_.reduce_all(); }
  std::string name() const override { return "post_backward"; }

 private:
  Buckets buckets_;
};

// Gradient hooks copy each parameter's full gradient (what it accumulated so far plus this
// pass's part) into its bucket; a bucket's all-reduce starts once all its members are in and
// every earlier bucket has started, so all ranks issue the collectives in the same order.
class OverlapSync : public GradientSync {
 public:
  OverlapSync(Group& group, std::vector<at::Tensor> params, const BucketOptions& options)
      : buckets_(group, std::move(params), options) {
    for (std::size_t k = 0; k < buckets_.params().size(); ++k) {
      at::Tensor& p = buckets_.params()[k];
      if (!p.requires_grad()) continue;
      p.register_hook([this, k](const at::Tensor& grad) { on_grad(k, grad); });
    }
  }

  void begin_micro_step(bool last) override {
    armed_ = last && !several_passes_;
    if (!armed_) return;
    fired_.assign(buckets_.params().size(), false);
    missing_.clear();
    for (std::size_t b = 0; b < buckets_.count(); ++b)
      missing_.push_back(buckets_.members(b).size());
    pending_.assign(buckets_.count(), Pending());
    next_launch_ = 0;
    refired_ = false;
    error_ = nullptr;
  }

  void finish() override {
    if (!armed_) {
      buckets_.reduce_all();
      return;
    }
    armed_ = false;
    if (error_) std::rethrow_exception(error_);
    for (std::size_t k = 0; k < fired_.size(); ++k) {
      if (!fired_[k]) {
        buckets_.put_current(k);
        fired_[k] = true;
        --missing_[buckets_.bucket_of(k)];
      }
    }
    launch_ready();
    for (auto& p : pending_)
      p.wait();
    if (buckets_.group().any(refired_, "all_reduce(several backward passes?)")) {
      several_passes_ = true;
      buckets_.reduce_all();
      return;
    }
    for (std::size_t b = 0; b < buckets_.count(); ++b)
      buckets_.take(b);
  }

  std::string name() const override {
    return several_passes_ ? "overlap (post_backward: several backward passes per step)"
                           : "overlap";
  }

 private:
  void on_grad(std::size_t k, const at::Tensor& grad) {
    if (!armed_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (fired_[k]) {
      refired_ = true;
      return;
    }
    fired_[k] = true;
    try {
      const at::Tensor& sofar = buckets_.params()[k].grad();
      buckets_.put(k, sofar.defined() ? sofar + grad : grad);
      --missing_[buckets_.bucket_of(k)];
      launch_ready();
    } catch (...) {
      if (!error_) error_ = std::current_exception();
    }
  }

  void launch_ready() {
    while (next_launch_ < buckets_.count() && missing_[next_launch_] == 0) {
      pending_[next_launch_] = buckets_.launch(next_launch_);
      ++next_launch_;
    }
  }

  Buckets buckets_;
  std::mutex mutex_;
  bool armed_ = false, refired_ = false, several_passes_ = false;
  std::vector<bool> fired_;
  std::vector<std::size_t> missing_;
  std::vector<Pending> pending_;
  std::size_t next_launch_ = 0;
  std::exception_ptr error_;
};

}  // namespace

std::unique_ptr<GradientSync> make_gradient_sync(GradEngine engine, Group& group,
                                                 std::vector<at::Tensor> params,
                                                 const BucketOptions& options) {
  if (engine == GradEngine::kPostBackward) {
    return std::make_unique<PostBackwardSync>(group, std::move(params), options);
  }
  return std::make_unique<OverlapSync>(group, std::move(params), options);
}

}  // namespace augcore::dist
