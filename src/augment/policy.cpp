#include "augcore/augment/policy.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "augcore/data/rng.h"

namespace augcore::augment {

std::vector<std::unique_ptr<BatchPolicy>> make_policies(
    const std::vector<config::ComponentConfig>& components, const PolicySetup& setup) {
  std::vector<std::unique_ptr<BatchPolicy>> out;
  for (const auto& c : components) {
    out.push_back(
        config::Registry::global().factory<PolicyFactory>("policy", c.name)(c.options(), setup));
  }
  return out;
}

at::Tensor channel_values(const std::vector<double>& values, std::int64_t channels,
                          at::Device device) {
  at::Tensor t = at::tensor(std::vector<float>(values.begin(), values.end()), at::kFloat);
  if (t.numel() == 1) t = t.expand({channels}).contiguous();
  return t.view({1, channels, 1, 1}).to(device);
}

at::Generator step_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t step,
                             data::Stream stream) {
  data::Rng rng =
      data::Rng::derive({seed, static_cast<std::uint64_t>(stream),
                         static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(step)});
  return at::make_generator<at::CPUGeneratorImpl>(rng.next());
}

}  // namespace augcore::augment
