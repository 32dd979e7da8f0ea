// Long-tail reporting: classes grouped by their training images (many > 100, medium 20–100,
// few < 20, as Liu et al.'s ImageNet-LT protocol) and the accuracy of each group.
#pragma once

#include <cstdint>
#include <vector>

namespace augcore::eval {

struct ShotGroup {
  double accuracy = 0;  // percent; mean of the group's per-class top-1 (NaN when empty)
  std::int64_t classes = 0;
};

struct ShotAccuracy {
  ShotGroup many, medium, few;
};

// Groups classes by `train_counts` and averages the per-class top-1 (`class_hits` /
// `class_images`, percent) within each group; classes without evaluation images are left out.
// Per-class averaging follows Kang et al.'s reference code; on the usual balanced test sets it
// equals the group's image accuracy. Throws std::invalid_argument when the sizes differ.
ShotAccuracy shot_accuracy(const std::vector<std::int64_t>& train_counts,
                           const std::vector<std::int64_t>& class_images,
                           const std::vector<std::int64_t>& class_hits);

}  // namespace augcore::eval
