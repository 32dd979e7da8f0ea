// How glibc's malloc treats the memory that tensors free: kept in the process for the next step.
#pragma once

namespace augcore {

// With `retain_freed` (the recipes' `retain_freed_memory`, default true): glibc's malloc serves
// blocks up to 32 MiB from its heap and never trims the main heap's free top, so each training
// step reuses the pages of the last one instead of mapping and faulting in fresh zero-filled
// pages for its activations (a ResNet-50 step at 224 px, batch 8, faulted about 63,000 pages
// more per step under glibc's adaptive thresholds, and how many depended on what the process
// had allocated before: docs/performance.md). The process then keeps its peak heap, and its
// resident memory reads as that peak. Larger blocks may still be mapped and unmapped, and a
// thread's arena still unmaps a secondary heap that empties entirely. Process-wide, and not
// undone by a later call: without `retain_freed` nothing changes. Returns whether glibc took
// the setting (false elsewhere, and under AddressSanitizer, whose allocator replaces glibc's).
bool configure_malloc(bool retain_freed);

}  // namespace augcore
