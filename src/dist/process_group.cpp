#include "augcore/dist/process_group.h"

#include <ATen/ATen.h>
#include <fmt/core.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <csignal>
#include <cstdlib>

#include "augcore/core/error.h"
#include "dist/backends.h"

namespace augcore::dist {

namespace {

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  constexpr std::size_t kMax = 300;
  return line.size() > kMax ? line.substr(0, kMax) + "..." : line;
}

bool loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// The TCP store's protocol changed between PyTorch versions: torchrun's store (in the launcher)
// only talks to programs built against the same PyTorch's LibTorch.
std::string launcher_hint(const LaunchInfo& info) {
  if (!info.store_in_launcher) return "";
  return fmt::format(
      " (the store is torchrun's: it must be the torchrun of the PyTorch whose LibTorch this "
      "program was built with, {})",
      compat::torch_version());
}

c10::intrusive_ptr<c10d::Store> connect_store(const LaunchInfo& info,
                                              std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(info.master_port);
  o.isServer = !info.store_in_launcher && info.rank == 0;
  if (!info.store_in_launcher) o.numWorkers = static_cast<std::size_t>(info.world_size);
  o.waitWorkers = !info.store_in_launcher;
  o.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(info.master_addr, o);
  } catch (const std::exception& e) {
    const std::string where = fmt::format("{}:{}", info.master_addr, info.master_port);
    throw ConfigError(fmt::format(
        "dist: rank {} could not {} the rendezvous store at {} within {} s (MASTER_ADDR, "
        "MASTER_PORT; {}): {}{}",
        info.rank, o.isServer ? "host" : "reach", where, timeout.count() / 1000.0,
        o.isServer ? "is the port free, did every rank start?" : "is rank 0 running?",
        first_line(e.what()), launcher_hint(info)));
  }
  if (!info.store_prefix.empty()) {
    store = c10::make_intrusive<c10d::PrefixStore>(info.store_prefix, store);
  }
  return c10::make_intrusive<c10d::PrefixStore>("augcore", store);
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchInfo& info) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (loopback(info.master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct Group::Impl {
  c10::intrusive_ptr<compat::CollectiveBackend> backend;
};

void Pending::wait() {
  if (wait_) wait_();
  wait_ = nullptr;
}

Group::Group() = default;
Group::~Group() = default;

Group::Group(const LaunchInfo& info, const GroupOptions& options)
    : impl_(std::make_unique<Impl>()),
      rank_(info.rank),
      world_size_(info.world_size),
      timeout_s_(options.timeout_s) {
  if (world_size_ == 1) {
    impl_.reset();
    return;
  }
  // A peer that died closes its sockets; writing to one raises SIGPIPE, which would end this
  // process without a word. Ignored (as Python does), the write fails and the collective throws.
  std::signal(SIGPIPE, SIG_IGN);
  const auto timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(options.timeout_s * 1000.0));
  backend_ = options.backend;
  if (backend_ == "auto") backend_ = options.device.is_cuda() ? "nccl" : "gloo";
  if (backend_ == "nccl" && !options.device.is_cuda()) {
    throw ConfigError("dist.backend: nccl reduces CUDA tensors; this run trains on " +
                      options.device.str() + " (use gloo or auto)");
  }
  auto store = connect_store(info, timeout);
  try {
    if (backend_ == "nccl") {
      device_ = options.device;
      impl_->backend = make_nccl_backend(store, rank_, world_size_, timeout);
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create();
      o->timeout = timeout;
      o->devices.push_back(gloo_device(info));
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank_, world_size_, o);
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(fmt::format(
        "dist: rank {} could not join the {} process group of {} ({}): {}{}", rank_, backend_,
        world_size_, info.describe(), first_line(e.what()), launcher_hint(info)));
  }
}

void Group::fail(const std::string& what, const std::exception& e) const {
  throw CollectiveError(fmt::format(
      "rank {}: {} failed at step {} ({}): {}; another rank stopped, or did not reach it within "
      "dist.timeout_s = {} s",
      rank_, what, step_, backend_, first_line(e.what()), timeout_s_));
}

void Group::all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) {
  if (!impl_) return;
  for (auto& t : tensors)
    all_reduce_sum_async(t, what).wait();
}

Pending Group::all_reduce_sum_async(const at::Tensor& flat, const std::string& what) {
  if (!impl_) return {};
  try {
    std::vector<at::Tensor> one{flat};
    auto work = impl_->backend->allreduce(one);
    return Pending([this, work, what] {
      try {
        work->wait();
      } catch (const std::exception& e) {
        fail(what, e);
      }
    });
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void Group::all_reduce_min(at::Tensor& tensor, const std::string& what) {
  if (!impl_) return;
  try {
    std::vector<at::Tensor> one{tensor};
    impl_->backend->allreduce(one, c10d::AllreduceOptions{c10d::ReduceOp::MIN})->wait();
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void Group::all_reduce_max(at::Tensor& tensor, const std::string& what) {
  if (!impl_) return;
  try {
    std::vector<at::Tensor> one{tensor};
    impl_->backend->allreduce(one, c10d::AllreduceOptions{c10d::ReduceOp::MAX})->wait();
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void Group::broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what) {
  if (!impl_) return;
  try {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      impl_->backend->broadcast(one, o)->wait();
    }
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void Group::barrier(const std::string& what) {
  any(false, what);
}

bool Group::any(bool flag, const std::string& what) {
  if (!impl_) return flag;
  at::Tensor t = at::full({1}, flag ? 1 : 0, at::TensorOptions().dtype(at::kInt).device(device_));
  all_reduce_max(t, what);
  return t.item<int>() != 0;
}

}  // namespace augcore::dist
