#include "augcore/eval/few_shot.h"

#include <ATen/ATen.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "augcore/data/rng.h"

namespace augcore::eval {
namespace {

// The first k entries of a partial Fisher-Yates shuffle of `pool`.
std::vector<std::int64_t> draw_distinct(std::vector<std::int64_t> pool, std::int64_t k,
                                        data::Rng& rng) {
  for (std::int64_t i = 0; i < k; ++i) {
    const auto j = rng.randint(i, static_cast<std::int64_t>(pool.size()));
    std::swap(pool[static_cast<std::size_t>(i)], pool[static_cast<std::size_t>(j)]);
  }
  pool.resize(static_cast<std::size_t>(k));
  return pool;
}

}  // namespace

Episode draw_episode(const std::vector<std::int64_t>& labels, const EpisodeOptions& options,
                     std::uint64_t seed, std::int64_t index) {
  std::map<std::int64_t, std::vector<std::int64_t>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_class[labels[i]].push_back(static_cast<std::int64_t>(i));
  if (static_cast<std::int64_t>(by_class.size()) < options.ways()) {
    throw std::invalid_argument(std::to_string(options.ways()) + "-way episodes need " +
                                std::to_string(options.ways()) + " classes; the data has " +
                                std::to_string(by_class.size()));
  }
  std::vector<std::int64_t> classes;
  for (const auto& kv : by_class)
    classes.push_back(kv.first);
  auto rng = data::Rng::derive({seed, static_cast<std::uint64_t>(data::Stream::kEpisode),
                                static_cast<std::uint64_t>(index)});
  Episode e;
  e.classes = draw_distinct(classes, options.ways(), rng);
  const std::int64_t per = options.shots() + options.queries();
  for (std::int64_t w = 0; w < options.ways(); ++w) {
    const auto& members = by_class[e.classes[static_cast<std::size_t>(w)]];
    if (static_cast<std::int64_t>(members.size()) < per) {
      throw std::invalid_argument("class " +
                                  std::to_string(e.classes[static_cast<std::size_t>(w)]) +
                                  " holds " + std::to_string(members.size()) +
                                  " samples, fewer than shots + queries = " + std::to_string(per));
    }
    const auto drawn = draw_distinct(members, per, rng);
    for (std::int64_t k = 0; k < per; ++k) {
      auto& rows = k < options.shots() ? e.support : e.query;
      auto& ys = k < options.shots() ? e.support_labels : e.query_labels;
      rows.push_back(drawn[static_cast<std::size_t>(k)]);
      ys.push_back(w);
    }
  }
  return e;
}

double linear_probe_accuracy(const at::Tensor& support, const at::Tensor& support_labels,
                             const at::Tensor& query, const at::Tensor& query_labels,
                             std::int64_t classes, const LinearProbeOptions& options,
                             std::uint64_t seed, std::int64_t episode) {
  const auto d = support.size(1), n = support.size(0);
  auto rng = data::Rng::derive({seed, static_cast<std::uint64_t>(data::Stream::kEpisode),
                                static_cast<std::uint64_t>(episode), 1});
  at::Generator generator = at::detail::createCPUGenerator(rng.next());
  // nn.Linear's default initialisation: weight and bias uniform in ±1/sqrt(in_features).
  const double bound = 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor weight = at::empty({classes, d}, at::kFloat).uniform_(-bound, bound, generator);
  at::Tensor bias = at::empty({classes}, at::kFloat).uniform_(-bound, bound, generator);
  weight = weight.to(support.device()).requires_grad_();
  bias = bias.to(support.device()).requires_grad_();
  torch::optim::SGD sgd({weight, bias}, torch::optim::SGDOptions(options.lr())
                                            .momentum(options.momentum())
                                            .dampening(options.dampening())
                                            .weight_decay(options.weight_decay()));
  const at::Tensor x = support.to(at::kFloat), y = support_labels.to(at::kLong);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t epoch = 0; epoch < options.epochs(); ++epoch) {
    for (std::int64_t i = 0; i < n; ++i)
      order[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(rng.randint(0, i + 1))]);
    for (std::int64_t b = 0; b < n; b += options.batch_size()) {
      const auto end = std::min(n, b + options.batch_size());
      const at::Tensor rows =
          at::tensor(std::vector<std::int64_t>(order.begin() + b, order.begin() + end))
              .to(x.device());
      sgd.zero_grad();
      const at::Tensor logits = at::linear(x.index_select(0, rows), weight, bias);
      at::cross_entropy_loss(logits, y.index_select(0, rows)).backward();
      sgd.step();
    }
  }
  at::NoGradGuard no_grad;
  const at::Tensor predicted = at::linear(query.to(at::kFloat), weight, bias).argmax(1);
  return 100.0 *
         predicted.eq(query_labels.to(predicted.device())).to(at::kDouble).mean().item<double>();
}

MeanInterval mean_ci95(const std::vector<double>& values) {
  MeanInterval r;
  if (values.empty()) return r;
  const double n = static_cast<double>(values.size());
  for (const double v : values)
    r.mean += v / n;
  double var = 0;
  for (const double v : values)
    var += (v - r.mean) * (v - r.mean) / n;
  r.half_width = 1.96 * std::sqrt(var) / std::sqrt(n);
  return r;
}

}  // namespace augcore::eval
