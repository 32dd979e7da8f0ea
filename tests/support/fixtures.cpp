#include "support/fixtures.h"

#include "augcore/augment/policy_registry.h"
#include "augcore/config/yaml_io.h"
#include "augcore/models/model_registry.h"

#include <ATen/ATen.h>

#include <zlib.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace augcore::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  path_ =
      fs::temp_directory_path() / ("augcore_test_" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("gzopen failed");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

MemoryDataset::MemoryDataset(std::size_t size, int height, int width, int channels,
                             std::int64_t classes, std::set<std::size_t> broken)
    : height_(height),
      width_(width),
      channels_(channels),
      classes_(classes),
      broken_(std::move(broken)) {
  for (std::size_t i = 0; i < size; ++i)
    labels_.push_back(static_cast<std::int64_t>(i) % classes);
}

MemoryDataset::MemoryDataset(std::vector<std::int64_t> labels, std::int64_t classes)
    : labels_(std::move(labels)), classes_(classes) {}

std::uint8_t MemoryDataset::pixel(std::size_t index, int y, int x, int c) {
  return static_cast<std::uint8_t>((index * 131 + y * 31 + x * 7 + c * 101) % 251);
}

data::Sample MemoryDataset::get(std::size_t index) const {
  if (broken_.count(index)) {
    throw data::SampleError("memory/" + std::to_string(index), "broken on purpose");
  }
  data::Sample s;
  s.label = labels_[index];
  s.image = data::Image(height_, width_, channels_);
  for (int y = 0; y < height_; ++y) {
    for (int x = 0; x < width_; ++x) {
      for (int c = 0; c < channels_; ++c)
        s.image.at(y, x, c) = pixel(index, y, x, c);
    }
  }
  return s;
}

LinearClassifier::LinearClassifier(const at::Tensor& weight)
    : weight_(register_parameter("weight", weight)) {}

at::Tensor LinearClassifier::forward(const at::Tensor& x) {
  return at::matmul(x.flatten(1), weight_.t());
}

std::unique_ptr<augment::BatchPolicy> policy_from_yaml(const std::string& yaml,
                                                       const augment::PolicySetup& setup,
                                                       std::vector<config::Config>& keep_alive) {
  config::Schema schema;
  schema.add_component_list("policies", "policy", "policies");
  keep_alive.push_back(
      config::Config::from_node(config::parse_yaml("policies: [" + yaml + "]\n", "t"), schema));
  return std::move(
      augment::make_policies(keep_alive.back().root().components("policies"), setup).front());
}

config::ComponentConfig component(const std::string& kind, const std::string& yaml) {
  static std::vector<config::Config> keep;
  config::Schema schema;
  schema.add_component(kind, kind, "", kind);
  keep.push_back(
      config::Config::from_node(config::parse_yaml(kind + ": " + yaml + "\n", "t"), schema));
  return keep.back().root().component(kind);
}

std::shared_ptr<models::ClassifierImpl> build_model(const std::string& yaml,
                                                    const models::ModelShape& shape) {
  return models::make_model(component("model", yaml), shape);
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters())
    n += p.numel();
  return n;
}

}  // namespace augcore::testing
