#include "augcore/train/loop/data_parallel.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <functional>

#include "augcore/config/config.h"
#include "augcore/core/error.h"
#include "augcore/core/torch_compat.h"
#include "augcore/models/batch_norm.h"

namespace augcore::train {

config::Schema dist_schema() {
  config::Schema s;
  s.add_choice("backend", "auto", {"auto", "gloo", "nccl"},
               "collectives: auto = NCCL on CUDA, Gloo on CPU");
  s.add_float("timeout_s", 1800, "seconds to wait for every rank to join or reach a collective")
      .range(1, 86400 * 7);
  s.add_choice("grad_engine", "overlap", {"overlap", "post_backward"},
               "gradient all-reduce while backward runs, or after it (the reference)");
  s.add_float("bucket_mb", 25, "gradient bucket size in MiB (PyTorch DDP's default)")
      .range(0.001, 4096);
  s.add_float("first_bucket_mb", 1, "size of the first bucket in MiB").range(0.001, 4096);
  s.add_choice("batch_norm", "local", {"local", "sync", "reduce_epoch"},
               "local: each rank's batch statistics, rank 0's running statistics kept (as DDP); "
               "sync: statistics of the global batch (SyncBatchNorm); reduce_epoch: running "
               "statistics averaged over ranks before each evaluation");
  return s;
}

DataParallelOptions data_parallel_options(const config::Options& dist) {
  DataParallelOptions o;
  o.grad_engine = dist.string("grad_engine") == "post_backward" ? dist::GradEngine::kPostBackward
                                                                : dist::GradEngine::kOverlap;
  const std::string batch_norm = dist.string("batch_norm");
  o.batch_norm = batch_norm == "sync"           ? BatchNormMode::kSync
                 : batch_norm == "reduce_epoch" ? BatchNormMode::kReduceEpoch
                                                : BatchNormMode::kLocal;
  o.buckets.bytes = static_cast<std::int64_t>(dist.real("bucket_mb") * (1 << 20));
  o.buckets.first_bytes = static_cast<std::int64_t>(dist.real("first_bucket_mb") * (1 << 20));
  return o;
}

std::unique_ptr<dist::Group> join_job(const dist::LaunchInfo& launch, const config::Options& root,
                                      c10::Device& device) {
  const std::int64_t batch = root.section("data").section("loader").integer("batch_size");
  if (batch % launch.world_size != 0) {
    throw ConfigError(fmt::format(
        "data.loader.batch_size: {} does not divide among {} processes (the batch is global: "
        "each process trains on batch_size / processes)",
        batch, launch.world_size));
  }
  if (!launch.distributed()) return std::make_unique<dist::Group>();
  if (device.is_cuda()) {
    const int devices = compat::cuda_device_count();
    if (devices < launch.local_world_size) {
      throw ConfigError(
          fmt::format("device: {} processes on this node train on CUDA but it has {} CUDA device{}",
                      launch.local_world_size, devices, devices == 1 ? "" : "s"));
    }
    device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank));
    compat::set_cuda_device(launch.local_rank);
  }
  const config::Options d = root.section("dist");
  dist::GroupOptions o;
  o.backend = d.string("backend");
  o.timeout_s = d.real("timeout_s");
  o.device = device;
  return std::make_unique<dist::Group>(launch, o);
}

namespace {

std::vector<at::Tensor> detached(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  for (const auto& t : tensors)
    out.push_back(t.detach());
  return out;
}

// Runs `collective` on one flat tensor per dtype holding all of `tensors`, then copies back.
void flat_collective(const std::vector<at::Tensor>& tensors,
                     const std::function<void(at::Tensor&)>& collective) {
  std::map<at::ScalarType, std::vector<at::Tensor>> by_type;
  for (const auto& t : tensors)
    by_type[t.scalar_type()].push_back(t);
  for (auto& [type, group] : by_type) {
    std::vector<at::Tensor> flat_parts;
    for (const auto& t : group)
      flat_parts.push_back(t.reshape(-1));
    at::Tensor flat = at::cat(flat_parts);
    collective(flat);
    std::int64_t offset = 0;
    for (auto& t : group) {
      t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

// Every BatchNorm running mean and variance of `model`.
std::vector<at::Tensor> batch_norm_statistics(torch::nn::Module& model) {
  std::vector<at::Tensor> stats;
  for (const auto& item : model.named_buffers()) {
    const std::string& name = item.key();
    const auto dot = name.rfind('.');
    const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    if (leaf == "running_mean" || leaf == "running_var") stats.push_back(item.value());
  }
  return stats;
}

}  // namespace

DataParallel::DataParallel(dist::Group& group, DataParallelOptions options)
    : group_(group), options_(std::move(options)) {}

void DataParallel::start(torch::nn::Module& model) {
  if (!distributed()) return;
  std::string shapes;
  for (const auto& item : model.named_parameters())
    shapes += item.key() + fmt::format("{}", fmt::join(item.value().sizes(), "x")) + ";";
  for (const auto& item : model.named_buffers())
    shapes += item.key() + fmt::format("{}", fmt::join(item.value().sizes(), "x")) + ";";
  const auto hash = static_cast<std::int64_t>(std::hash<std::string>{}(shapes) >> 1);
  auto opts = at::TensorOptions().dtype(at::kLong).device(group_.device());
  at::Tensor low = at::full({1}, hash, opts), high = at::full({1}, hash, opts);
  group_.all_reduce_min(low, "all_reduce(model shape check)");
  group_.all_reduce_max(high, "all_reduce(model shape check)");
  if (low.item<std::int64_t>() != high.item<std::int64_t>()) {
    throw ConfigError(fmt::format(
        "dist: rank {} built a model whose parameter or buffer shapes differ from another "
        "rank's; every rank must run the same recipe",
        group_.rank()));
  }
  share_weights(model);
  if (options_.batch_norm == BatchNormMode::kSync) {
    models::synchronise_batch_norm(model, [this](at::Tensor& t) {
      std::vector<at::Tensor> one{t};
      group_.all_reduce_sum(one, "all_reduce(SyncBatchNorm)");
    });
  }
  std::vector<at::Tensor> trainable;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  sync_ = dist::make_gradient_sync(options_.grad_engine, group_, trainable, options_.buckets);
}

void DataParallel::share_weights(torch::nn::Module& module) {
  if (!distributed()) return;
  at::NoGradGuard no_grad;
  auto tensors = detached(module.parameters());
  auto buffers = detached(module.buffers());
  tensors.insert(tensors.end(), buffers.begin(), buffers.end());
  flat_collective(tensors, [&](at::Tensor& flat) {
    std::vector<at::Tensor> one{flat};
    group_.broadcast(one, 0, "broadcast(weights from rank 0)");
  });
}

int DataParallel::agreed_signal(int local) {
  if (!distributed()) return local;
  at::Tensor t = at::full({1}, local, at::TensorOptions().dtype(at::kInt).device(group_.device()));
  group_.all_reduce_max(t, "all_reduce(stop signal)");
  return t.item<int>();
}

void DataParallel::begin_micro_step(bool last) {
  if (sync_) sync_->begin_micro_step(last);
}

void DataParallel::finish_gradients() {
  if (sync_) sync_->finish();
}

void DataParallel::broadcast_buffers(torch::nn::Module& model, const std::string& what) {
  at::NoGradGuard no_grad;
  flat_collective(batch_norm_statistics(model), [&](at::Tensor& flat) {
    std::vector<at::Tensor> one{flat};
    group_.broadcast(one, 0, what);
  });
}

void DataParallel::after_step(torch::nn::Module& model) {
  if (!distributed() || options_.batch_norm != BatchNormMode::kLocal) return;
  broadcast_buffers(model, "broadcast(BatchNorm statistics from rank 0)");
}

void DataParallel::end_epoch(torch::nn::Module& model) {
  if (!distributed() || options_.batch_norm != BatchNormMode::kReduceEpoch) return;
  at::NoGradGuard no_grad;
  flat_collective(batch_norm_statistics(model), [&](at::Tensor& flat) {
    std::vector<at::Tensor> one{flat};
    group_.all_reduce_sum(one, "all_reduce(BatchNorm statistics)");
    flat.div_(group_.world_size());
  });
}

std::map<std::string, double> DataParallel::sum(const std::map<std::string, double>& local,
                                                const std::string& what) {
  if (!distributed() || local.empty()) return local;
  std::vector<double> values;
  for (const auto& [key, v] : local)
    values.push_back(v);
  at::Tensor t = at::tensor(values, at::kDouble).to(group_.device());
  std::vector<at::Tensor> one{t};
  group_.all_reduce_sum(one, what);
  const at::Tensor host = t.cpu();
  std::map<std::string, double> out;
  std::size_t i = 0;
  for (const auto& [key, v] : local)
    out[key] = host.data_ptr<double>()[i++];
  return out;
}

std::map<std::string, double> DataParallel::share(
    const std::map<std::string, double>& saved) const {
  if (group_.rank() == 0) return saved;
  std::map<std::string, double> zero;
  for (const auto& [key, v] : saved)
    zero[key] = 0;
  return zero;
}

}  // namespace augcore::train
