// How glibc's malloc treats the memory that tensors free: kept in the process for the next step.
#pragma once

namespace augcore {

// With `retain_freed` (the recipes' `retain_freed_memory`, default true): glibc's malloc serves
// blocks up to 32 MiB (its limit for heap-served blocks) from its heap and never hands the heap's
// free top back to the operating system, so each training step reuses the pages of the last one
// instead of mapping and faulting in fresh zero-filled pages for its activations (a ResNet-50
// step at 224 px, batch 8, faulted about 60,000 pages under glibc's adaptive thresholds, and how
// many depended on what the process had allocated before: docs/performance.md). The process
// keeps at most its peak heap. Blocks above 32 MiB stay mapped and unmapped as before. Without
// `retain_freed` nothing changes. Returns whether glibc took the setting (false elsewhere).
bool configure_malloc(bool retain_freed);

}  // namespace augcore
