#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "augcore/core/malloc.h"

// GCC defines __SANITIZE_ADDRESS__; clang before 17 says it only through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define AUGCORE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUGCORE_TEST_ASAN 1
#endif
#endif

namespace {

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Allocates `count` blocks of `bytes`, writes every byte, frees them all (the way a step's
// activations come and go); returns the minor page faults that took.
long faults_of_a_round(std::size_t count, std::size_t bytes) {
  const long before = minor_faults();
  std::vector<char*> blocks;
  for (std::size_t i = 0; i < count; ++i) {
    char* block = static_cast<char*>(std::malloc(bytes));
    if (!block) return -1;
    std::memset(block, 1, bytes);
    asm volatile("" : : "r"(block) : "memory");  // the compiler may not elide the block
    blocks.push_back(block);
  }
  for (char* block : blocks)
    std::free(block);
  return minor_faults() - before;
}

}  // namespace

// ctest runs each test in a process of its own: the heap holds no free blocks from other tests
// that could serve a round without faults.
TEST(MallocTest, RetainedMemoryIsReusedWithoutFaultingItInAgain) {
#if defined(AUGCORE_TEST_ASAN) || !defined(__GLIBC__)
  GTEST_SKIP() << "glibc's malloc is not the allocator here";
#endif
  // Transparent huge pages (where the system enables them always) would map a 16 MiB block in
  // a few faults: this process's blocks take 4 KiB pages.
  ASSERT_EQ(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), 0);
  constexpr std::size_t kBlocks = 8, kBytes = 16 << 20;  // 128 MiB in blocks of 16 MiB
  const long pages = static_cast<long>(kBlocks * kBytes) / sysconf(_SC_PAGESIZE);
  // glibc's starting thresholds (blocks above 128 KiB mapped, a free heap top above 128 KiB
  // trimmed), set fixed: every round maps its blocks afresh and faults in their pages.
  ASSERT_EQ(mallopt(M_MMAP_THRESHOLD, 128 << 10), 1);
  ASSERT_EQ(mallopt(M_TRIM_THRESHOLD, 128 << 10), 1);
  faults_of_a_round(kBlocks, kBytes);
  EXPECT_GT(faults_of_a_round(kBlocks, kBytes), pages / 2);
  EXPECT_FALSE(augcore::configure_malloc(false));
  EXPECT_GT(faults_of_a_round(kBlocks, kBytes), pages / 2);
  ASSERT_TRUE(augcore::configure_malloc(true));
  faults_of_a_round(kBlocks, kBytes);  // the heap grows to the round's size once
  for (int round = 0; round < 2; ++round) {
    const long faults = faults_of_a_round(kBlocks, kBytes);
    EXPECT_GE(faults, 0) << "malloc failed";
    EXPECT_LT(faults, pages / 100);
  }
}
