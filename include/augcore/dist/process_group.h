// The collectives data-parallel training needs, over PyTorch's c10d (Gloo for CPU tensors,
// NCCL for CUDA ones), with errors that name the rank, the collective and the step.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "augcore/dist/launch.h"

namespace augcore::dist {

// A collective failed: a peer died, hung past the timeout, or the transport broke.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GroupOptions {
  std::string backend = "auto";  // auto (NCCL for CUDA, else Gloo) | gloo | nccl
  double timeout_s = 1800;       // for joining and for every collective
  c10::Device device = c10::kCPU;
};

// A collective launched and not yet finished.
class Pending {
 public:
  Pending() = default;
  explicit Pending(std::function<void()> wait) : wait_(std::move(wait)) {}
  // Blocks until it finished; throws CollectiveError.
  void wait();

 private:
  std::function<void()> wait_;
};

// The processes of one job. With one process every collective is the identity and nothing
// touches the network.
class Group {
 public:
  Group();
  // Connects to the job `info` describes: rank 0 hosts the TCP store unless the launcher does;
  // blocks until every rank has joined. Throws ConfigError when the store cannot be reached,
  // the port is taken, or not every rank joins within the timeout.
  Group(const LaunchInfo& info, const GroupOptions& options);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool distributed() const { return world_size_ > 1; }
  const std::string& backend() const { return backend_; }
  // Where collective tensors live: the CPU for Gloo, this rank's GPU for NCCL.
  c10::Device device() const { return device_; }
  // The training step errors name (optimizer steps done so far).
  void set_step(std::int64_t step) { step_ = step; }

  // Sums each tensor over the ranks, in place.
  void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what);
  // Starts summing `flat` over the ranks in place; wait() on the result before reading it.
  Pending all_reduce_sum_async(const at::Tensor& flat, const std::string& what);
  // Elementwise minimum / maximum over the ranks, in place.
  void all_reduce_min(at::Tensor& tensor, const std::string& what);
  void all_reduce_max(at::Tensor& tensor, const std::string& what);
  // Rank `root`'s values in every rank's tensors.
  void broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what);
  // Returns once every rank has called it.
  void barrier(const std::string& what);
  // Whether any rank passed true (every rank gets the same answer).
  bool any(bool flag, const std::string& what);

 private:
  struct Impl;
  [[noreturn]] void fail(const std::string& what, const std::exception& e) const;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int world_size_ = 1;
  std::string backend_ = "none";
  c10::Device device_ = c10::kCPU;
  double timeout_s_ = 0;
  std::int64_t step_ = 0;
};

}  // namespace augcore::dist
