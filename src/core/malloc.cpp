#include "augcore/core/malloc.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace augcore {

bool configure_malloc(bool retain_freed) {
  if (!retain_freed) return false;
#if defined(__GLIBC__)
  // Setting either threshold turns off glibc's adaptive ones. 32 MiB is the most the adaptive
  // mmap threshold ever reaches (and the most glibc accepted before 2.35): the sizes of a
  // step's activations at the batches a CPU trains; -1 is stored as the largest size, "never
  // trim".
  constexpr int kHeapServedMax = 32 << 20;
  return mallopt(M_MMAP_THRESHOLD, kHeapServedMax) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1;
#else
  return false;
#endif
}

}  // namespace augcore
