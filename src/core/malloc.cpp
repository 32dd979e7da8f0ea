#include "augcore/core/malloc.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace augcore {

bool configure_malloc(bool retain_freed) {
  if (!retain_freed) return false;
#if defined(__GLIBC__)
  // Setting either threshold also turns off glibc's adaptive ones. 32 MiB is the largest mmap
  // threshold glibc accepts on 64-bit (half its 64 MiB arena heaps); -1 is "never trim".
  constexpr int kHeapServedMax = 32 << 20;
  return mallopt(M_MMAP_THRESHOLD, kHeapServedMax) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1;
#else
  return false;
#endif
}

}  // namespace augcore
