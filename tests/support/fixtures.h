// Helpers for tests: temporary folders, file writers, an in-memory dataset, a linear model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "augcore/augment/policy.h"
#include "augcore/config/config.h"
#include "augcore/data/dataset.h"
#include "augcore/models/classifier.h"

namespace augcore::testing {

// The message of the `Error` that `f` throws, or "(no error)" when it throws none.
template <class Error>
std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);
void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes);
void write_text(const std::string& path, const std::string& text);

// An IDX file image: the header for `dims` followed by `data`.
std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& data);

// Images whose pixels encode (index, y, x, c), of one size, labelled index % classes.
// Indices in `broken` throw SampleError.
class MemoryDataset : public data::Dataset {
 public:
  MemoryDataset(std::size_t size, int height, int width, int channels, std::int64_t classes,
                std::set<std::size_t> broken = {});
  // Arbitrary labels (for sampler tests).
  MemoryDataset(std::vector<std::int64_t> labels, std::int64_t classes);

  std::size_t size() const override { return labels_.size(); }
  data::Sample get(std::size_t index) const override;
  std::int64_t label(std::size_t index) const override { return labels_[index]; }
  std::int64_t num_classes() const override { return classes_; }
  std::string description() const override { return "memory dataset"; }
  static std::uint8_t pixel(std::size_t index, int y, int x, int c);

 private:
  std::vector<std::int64_t> labels_;
  int height_ = 8, width_ = 8, channels_ = 1;
  std::int64_t classes_;
  std::set<std::size_t> broken_;
};

// logits = W · flatten(x): its input gradient for class y is W_y whatever x is.
class LinearClassifier : public models::ClassifierImpl {
 public:
  explicit LinearClassifier(const at::Tensor& weight);
  at::Tensor forward(const at::Tensor& x) override;
  std::string head_name() const override { return "weight"; }
  std::int64_t num_classes() const override { return weight_.size(0); }

 private:
  at::Tensor weight_;
};

// The policy `yaml` (one entry of a recipe's `policies` list) built for `setup`; `keep_alive`
// holds the config it was read from.
std::unique_ptr<augment::BatchPolicy> policy_from_yaml(const std::string& yaml,
                                                       const augment::PolicySetup& setup,
                                                       std::vector<config::Config>& keep_alive);

// A registered component of `kind` read from YAML ("{name: sgd, momentum: 0}") under the key
// `kind` (errors name "optimizer.momentum"); its config lives as long as the process.
config::ComponentConfig component(const std::string& kind, const std::string& yaml);

// A registered model read from YAML ("{name: resnet18}"), built for `shape`.
std::shared_ptr<models::ClassifierImpl> build_model(const std::string& yaml,
                                                    const models::ModelShape& shape);

std::int64_t count_parameters(const torch::nn::Module& module);

}  // namespace augcore::testing
