// Process-wide runtime facts and settings: intra-op threads, devices, resident memory, and
// atomic file writes.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace augcore {

// Sets LibTorch's intra-op thread count (0 means one per core) and, on that many threads and
// the caller's, whether subnormal floats are flushed to zero (x86 FTZ/DAZ, a per-thread
// setting): attention softmaxes produce subnormals, which cost 10-100x per operation and carry
// nothing a network needs. Returns the thread count in use.
int configure_threads(std::int64_t requested, bool flush_denormal = true);

// Whether LibTorch was built with MKL, which then does its matrix products (PyPI's wheels;
// Debian's LibTorch uses the system libblas, OpenBLAS with libopenblas0-openmp).
bool torch_uses_mkl();

// The kernel set OpenBLAS chose when it loaded ("" when LibTorch does not use OpenBLAS, even
// where another library has loaded it).
std::string blas_core();

// Whether OpenBLAS runs generic SSE kernels on a CPU with AVX2: it picks kernels by CPU model
// and falls back to those on models it does not know (virtual machines that report a generic
// model), making fp32 matrix products 3-4x slower. OPENBLAS_CORETYPE set (even empty) in the
// environment before the process starts makes it choose by CPU features instead.
bool blas_kernels_generic();

// The device a recipe's `device` key names: auto (CUDA when available, else CPU), cpu, cuda,
// cuda:N. Throws ConfigError for anything else or for CUDA without CUDA.
c10::Device select_device(const std::string& text);

// Writes `content` to `path` through a temporary file in the same folder, flushed and
// renamed over the target, so a crash never leaves a half-written file. Throws DataError.
void write_file_atomic(const std::string& path, const std::string& content);

// Makes `to` a copy of `from` atomically: a hard link (no bytes copied) where the file system
// allows one, else a copy, under a temporary name renamed over `to`. Throws DataError.
void copy_file_atomic(const std::string& from, const std::string& to);

// Deterministic kernels only (cuDNN without benchmarking, deterministic algorithms, and the
// cuBLAS workspace setting they need when the environment does not set it).
void use_deterministic_algorithms();

// This process's resident memory in MiB (VmRSS), or 0 where /proc is unavailable.
double resident_mb();

}  // namespace augcore
