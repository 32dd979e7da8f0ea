#include "augcore/core/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "augcore/core/error.h"
#include "augcore/core/torch_compat.h"

namespace augcore {

int configure_threads(std::int64_t requested, bool flush_denormal) {
  int n = static_cast<int>(requested);
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  at::globalContext().setFlushDenormal(flush_denormal);
  // One chunk per intra-op thread: each sets its own floating-point control register.
  at::parallel_for(0, at::get_num_threads(), 1, [flush_denormal](std::int64_t, std::int64_t) {
    at::globalContext().setFlushDenormal(flush_denormal);
  });
  return at::get_num_threads();
}

bool torch_uses_mkl() {
  return at::hasMKL();
}

std::string blas_core() {
  using Corename = char* (*)();
  const auto f = reinterpret_cast<Corename>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  // Where LibTorch has MKL, MKL does its products: an OpenBLAS in the process is another
  // library's (OpenCV's).
  if (!f || torch_uses_mkl()) return "";
  return f();
}

bool blas_kernels_generic() {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2")) return false;
  std::string core = blas_core();
  std::transform(core.begin(), core.end(), core.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* generic : {"prescott", "katmai", "coppermine", "northwood", "banias", "core2",
                              "penryn", "dunnington", "nehalem", "atom"}) {
    if (core == generic) return true;
  }
#endif
  return false;
}

c10::Device select_device(const std::string& text) {
  if (text == "cpu") return c10::Device(c10::kCPU);
  if (text == "auto") {
    return compat::cuda_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    if (!compat::cuda_available()) {
      throw ConfigError("device: '" + text + "' requested, but " +
                        (AUGCORE_WITH_CUDA ? "no CUDA device is visible"
                                           : "this build's LibTorch has no CUDA support"));
    }
    try {
      return c10::Device(text);
    } catch (const std::exception&) {
      throw ConfigError("device: '" + text + "' is not a device name (cuda:N)");
    }
  }
  throw ConfigError("device: expected auto, cpu, cuda or cuda:N, got '" + text + "'");
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw DataError("cannot write '" + tmp + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw DataError("cannot write '" + tmp + "': " + std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw DataError("cannot flush '" + tmp + "': " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw DataError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(err));
  }
}

void copy_file_atomic(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  const std::string tmp = to + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_hard_link(from, tmp, ec);
  if (ec) fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) throw DataError("cannot copy '" + from + "' to '" + tmp + "': " + ec.message());
  if (std::rename(tmp.c_str(), to.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw DataError("cannot rename '" + tmp + "' to '" + to + "': " + std::strerror(err));
  }
}

void use_deterministic_algorithms() {
  ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicAlgorithms(true, false);
}

double resident_mb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kb = 0;
      status >> kb;
      return kb / 1024.0;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace augcore
