// augcore_bench suite: every benchmark of docs/benchmarks.md in one run, side by side with
// Python PyTorch (eager, and torch.compile where it exists), written as JSON and Markdown.
#pragma once

#include <string>

namespace augcore::bench {

struct SuiteOptions {
  std::string markdown = "docs/benchmarks.md";
  std::string json = "docs/benchmarks.json";
  std::string work = "build/bench-data";  // generated images, CIFAR files, augmentors
  std::string python;     // the build's AUGCORE_BENCH_PYTHON unless --python names another
  std::string reference;  // tools/bench/torch_reference.py
  std::string fashion_mnist = "/usr/share/datasets/fashion-mnist";
  bool quick = false;     // a smoke run: the same measurements, a fraction of the repetitions
  bool gpu_only = false;  // only the CUDA rows (tools/gpu_check.sh)
  std::string command;
};

// Runs the suite and writes both files. Returns the process exit code.
int run_suite(const SuiteOptions& options);

}  // namespace augcore::bench
