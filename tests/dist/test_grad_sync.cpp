// Gradient engines on two real Gloo ranks (two threads of this process over 127.0.0.1),
// against the gradients one process computes on the whole batch.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "augcore/dist/grad_sync.h"
#include "augcore/dist/process_group.h"
#include "augcore/models/batch_norm.h"

namespace augcore::dist {
namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Runs body(group) on `world` ranks, one thread each, and rethrows the first failure.
void on_ranks(int world, const std::function<void(Group&)>& body, double timeout_s = 20) {
  const int port = free_port();
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        LaunchInfo info;
        info.rank = r;
        info.world_size = world;
        info.local_world_size = world;
        info.local_rank = r;
        info.master_port = port;
        GroupOptions o;
        o.timeout_s = timeout_s;
        Group group(info, o);
        body(group);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

torch::nn::Sequential mlp() {
  torch::nn::Sequential net(torch::nn::Linear(6, 16), torch::nn::Tanh(), torch::nn::Linear(16, 16),
                            torch::nn::Tanh(), torch::nn::Linear(16, 3));
  at::manual_seed(7);
  at::NoGradGuard no_grad;
  for (auto& p : net->parameters())
    p.uniform_(-0.5, 0.5);
  return net;
}

struct Data {
  at::Tensor x, y;
};

Data batch(std::int64_t n) {
  at::manual_seed(3);
  return {at::randn({n, 6}, at::kDouble).to(at::kFloat), at::randint(0, 3, {n}, at::kLong)};
}

std::vector<at::Tensor> grads(torch::nn::Sequential& net) {
  std::vector<at::Tensor> out;
  for (const auto& p : net->parameters())
    out.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  return out;
}

// Mean cross-entropy of rows [begin, end), scaled by `scale`, backward.
void backward(torch::nn::Sequential& net, const Data& d, std::int64_t begin, std::int64_t end,
              double scale) {
  const at::Tensor logits = net->forward(d.x.slice(0, begin, end));
  (at::cross_entropy_loss(logits, d.y.slice(0, begin, end)) * scale).backward();
}

std::vector<at::Tensor> reference_grads(std::int64_t n) {
  auto net = mlp();
  backward(net, batch(n), 0, n, 1.0);
  return grads(net);
}

void expect_close(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].defined() && b[i].defined()) << "parameter " << i;
    EXPECT_LE((a[i] - b[i]).abs().max().item<double>(), tol) << "parameter " << i;
  }
}

class EngineTest : public testing::TestWithParam<GradEngine> {};

TEST_P(EngineTest, TwoRanksOnHalfBatchesGiveTheWholeBatchGradient) {
  const std::int64_t n = 16;
  const auto want = reference_grads(n);
  std::vector<std::vector<at::Tensor>> got(2);
  // Models and data are made here: the default generator is not for concurrent use.
  std::vector<torch::nn::Sequential> nets{mlp(), mlp()};
  const Data d = batch(n);
  on_ranks(2, [&](Group& group) {
    auto& net = nets[group.rank()];
    // Tiny buckets: several all-reduces per step, launched as backward goes.
    auto sync = make_gradient_sync(GetParam(), group, net->parameters(), {256, 512});
    const std::int64_t half = n / 2, begin = group.rank() * half;
    for (int step = 0; step < 2; ++step) {
      for (auto& p : net->parameters())
        p.mutable_grad() = at::Tensor();
      sync->begin_micro_step(true);
      backward(net, d, begin, begin + half, 1.0);
      sync->finish();
    }
    got[group.rank()] = grads(net);
  });
  expect_close(got[0], want, 1e-6);
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(at::equal(got[0][i], got[1][i])) << "ranks differ at parameter " << i;
}

TEST_P(EngineTest, AccumulationSynchronisesOnlyTheLastMicroStep) {
  const std::int64_t n = 16;
  const auto want = reference_grads(n);
  std::vector<at::Tensor> got;
  std::vector<torch::nn::Sequential> nets{mlp(), mlp()};
  const Data d = batch(n);
  on_ranks(2, [&](Group& group) {
    auto& net = nets[group.rank()];
    auto sync = make_gradient_sync(GetParam(), group, net->parameters(), {256, 512});
    // Rank r's half of the batch in two micro-batches of 4, each loss halved (accum_steps 2).
    const std::int64_t begin = group.rank() * 8;
    sync->begin_micro_step(false);
    backward(net, d, begin, begin + 4, 0.5);
    sync->begin_micro_step(true);
    backward(net, d, begin + 4, begin + 8, 0.5);
    sync->finish();
    if (group.rank() == 1) got = grads(net);
  });
  expect_close(got, want, 1e-6);
}

TEST_P(EngineTest, SeveralBackwardPassesPerStep) {
  // MaskSub-style: two backward passes before the optimizer step.
  const std::int64_t n = 16;
  const auto want = reference_grads(n);
  std::vector<at::Tensor> got;
  std::vector<torch::nn::Sequential> nets{mlp(), mlp()};
  const Data d = batch(n);
  on_ranks(2, [&](Group& group) {
    auto& net = nets[group.rank()];
    auto sync = make_gradient_sync(GetParam(), group, net->parameters(), {256, 512});
    const std::int64_t begin = group.rank() * 8;
    for (int step = 0; step < 2; ++step) {
      for (auto& p : net->parameters())
        p.mutable_grad() = at::Tensor();
      sync->begin_micro_step(true);
      backward(net, d, begin, begin + 4, 0.5);
      backward(net, d, begin + 4, begin + 8, 0.5);
      sync->finish();
    }
    if (group.rank() == 0) got = grads(net);
  });
  expect_close(got, want, 1e-6);
}

TEST_P(EngineTest, AParameterWithoutGradientOnOneRankGetsTheMean) {
  std::vector<std::vector<at::Tensor>> got(2);
  on_ranks(2, [&](Group& group) {
    at::Tensor used = at::ones({3}).requires_grad_();
    at::Tensor sometimes = at::ones({2}).requires_grad_();
    at::Tensor never = at::ones({2}).requires_grad_();
    auto sync = make_gradient_sync(GetParam(), group, {used, sometimes, never}, {8, 8});
    sync->begin_micro_step(true);
    at::Tensor loss = used.sum() * (group.rank() + 1.0);
    if (group.rank() == 0) loss = loss + (sometimes * 4.0).sum();
    loss.backward();
    sync->finish();
    got[group.rank()] = {used.grad(), sometimes.grad(), never.grad()};
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(at::allclose(got[r][0], at::full({3}, 1.5)));  // (1 + 2) / 2
    ASSERT_TRUE(got[r][1].defined());
    EXPECT_TRUE(at::allclose(got[r][1], at::full({2}, 2.0)));  // (4 + 0) / 2
    EXPECT_FALSE(got[r][2].defined());
  }
}

// conv - BatchNorm - relu - mean pool - linear.
struct ConvNetImpl : torch::nn::Module {
  ConvNetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3)));
    bn = register_module("bn", models::BatchNorm2d(4));
    fc = register_module("fc", torch::nn::Linear(4, 3));
    at::manual_seed(11);
    at::NoGradGuard no_grad;
    for (auto& p : parameters())
      p.uniform_(-0.7, 0.7);
  }
  at::Tensor forward(const at::Tensor& x) {
    return fc->forward(bn->forward(conv->forward(x)).relu().mean({2, 3}));
  }
  torch::nn::Conv2d conv{nullptr};
  models::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ConvNet);

TEST_P(EngineTest, SyncBatchNormMatchesOneProcessOnTheWholeBatch) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({8, 2, 6, 6}) * 3 + 1;
  const at::Tensor y = at::randint(0, 3, {8}, at::kLong);
  ConvNet whole;
  whole->train();
  at::cross_entropy_loss(whole->forward(x), y).backward();
  std::vector<ConvNet> nets{ConvNet(), ConvNet()};
  on_ranks(2, [&](Group& group) {
    ConvNet& net = nets[group.rank()];
    net->train();
    EXPECT_EQ(models::synchronise_batch_norm(*net,
                                             [&](at::Tensor& t) {
                                               std::vector<at::Tensor> one{t};
                                               group.all_reduce_sum(one, "sync bn");
                                             }),
              1);
    auto sync = make_gradient_sync(GetParam(), group, net->parameters(), {64, 64});
    sync->begin_micro_step(true);
    const std::int64_t begin = group.rank() * 4;
    at::cross_entropy_loss(net->forward(x.slice(0, begin, begin + 4)), y.slice(0, begin, begin + 4))
        .backward();
    sync->finish();
  });
  const auto want = whole->named_parameters();
  for (const auto& net : nets) {
    for (const auto& p : net->named_parameters()) {
      EXPECT_LE((p.value().grad() - want[p.key()].grad()).abs().max().item<double>(), 1e-6)
          << p.key();
    }
    EXPECT_TRUE(at::allclose(net->bn->running_mean, whole->bn->running_mean, 1e-5, 1e-6));
    EXPECT_TRUE(at::allclose(net->bn->running_var, whole->bn->running_var, 1e-5, 1e-6));
    EXPECT_EQ(net->bn->num_batches_tracked.item<std::int64_t>(), 1);
  }
  // Unsynchronised halves would differ: the test can fail.
  ConvNet half;
  half->train();
  at::cross_entropy_loss(half->forward(x.slice(0, 0, 4)), y.slice(0, 0, 4)).backward();
  EXPECT_FALSE(at::allclose(half->bn->running_mean, whole->bn->running_mean, 1e-3, 1e-4));
}

// The synchronised forward and backward never read a value on the host: they run on the meta
// device, where .item() and copies to the CPU throw.
TEST(SyncBatchNormTest, ForwardAndBackwardMakeNoHostSynchronisation) {
  models::BatchNorm2d bn(3);
  bn->train();
  int reductions = 0;
  models::synchronise_batch_norm(*bn, [&](at::Tensor& t) {
    t.mul_(2);  // as two ranks with the same batch
    ++reductions;
  });
  // The forward reads these members (Module::to cannot move a parameter to meta in 1.13).
  const auto meta = at::TensorOptions().device(at::kMeta);
  bn->weight = at::ones({3}, meta).requires_grad_(true);
  bn->bias = at::zeros({3}, meta).requires_grad_(true);
  bn->running_mean = at::zeros({3}, meta);
  bn->running_var = at::ones({3}, meta);
  bn->num_batches_tracked = at::zeros({}, meta.dtype(at::kLong));
  const at::Tensor x = at::empty({4, 3, 5, 5}, meta).requires_grad_(true);
  bn->forward(x).sum().backward();
  EXPECT_EQ(reductions, 3);  // Σx and n, Σ(x - mean)², then Σg and Σg·x̂
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(x.grad().is_meta());
  EXPECT_EQ(x.grad().sizes(), x.sizes());
  EXPECT_TRUE(bn->running_var.is_meta());
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest,
                         testing::Values(GradEngine::kPostBackward, GradEngine::kOverlap),
                         [](const testing::TestParamInfo<GradEngine>& info) {
                           return info.param == GradEngine::kOverlap ? "overlap" : "post_backward";
                         });

TEST(BucketPlanTest, ReverseOrderDtypeBreaksAndASmallFirstBucket) {
  const std::vector<at::Tensor> params{at::zeros({100}), at::zeros({200}),
                                       at::zeros({50}, at::kDouble), at::zeros({300})};
  // Bytes: 400, 800, 400, 1200. Reverse order: p3 fills the first bucket (cap 1000); p2 is
  // double; p1 and p0 share the third (800 < 1500 when p0 arrives).
  EXPECT_EQ(plan_buckets(params, {1000, 1500}),
            (std::vector<std::vector<std::size_t>>{{3}, {2}, {1, 0}}));
  EXPECT_EQ(plan_buckets(params, {100000, 100000}).size(), 3u);
  EXPECT_EQ(plan_buckets({at::zeros({10}), at::zeros({10}), at::zeros({10})}, {40, 40}),
            (std::vector<std::vector<std::size_t>>{{2}, {1}, {0}}));
}

TEST(GroupTest, CollectivesAndAnAbsentPeer) {
  on_ranks(2, [](Group& group) {
    std::vector<at::Tensor> t{at::full({3}, group.rank() + 1.0)};
    group.all_reduce_sum(t, "sum");
    EXPECT_TRUE(at::equal(t[0], at::full({3}, 3.0)));
    EXPECT_TRUE(group.any(group.rank() == 1, "flag"));
    EXPECT_FALSE(group.any(false, "flag"));
    at::Tensor m = at::full({1}, group.rank() * 10.0);
    group.all_reduce_min(m, "min");
    EXPECT_EQ(m.item<double>(), 0.0);
    std::vector<at::Tensor> b{at::full({2}, group.rank() + 5.0)};
    group.broadcast(b, 1, "broadcast");
    EXPECT_TRUE(at::equal(b[0], at::full({2}, 6.0)));
  });
  // Rank 1 never reaches the collective: rank 0 fails after the timeout, naming it. Rank 1
  // leaves only once rank 0 has joined: gloo's connection handshake is not over on rank 0 when
  // rank 1's constructor returns, and a peer closing mid-handshake fails the join instead.
  std::string message;
  std::atomic<int> joined{0};
  on_ranks(
      2,
      [&](Group& group) {
        group.set_step(7);
        ++joined;
        if (group.rank() == 1) {
          for (int ms = 0; ms < 20000 && joined.load() < 2; ++ms) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          return;
        }
        try {
          std::vector<at::Tensor> t{at::ones({1})};
          group.all_reduce_sum(t, "all_reduce(test)");
        } catch (const CollectiveError& e) {
          message = e.what();
        }
      },
      2);
  EXPECT_NE(message.find("rank 0: all_reduce(test) failed at step 7"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace augcore::dist
