#include "augcore/eval/long_tail.h"

#include <limits>
#include <stdexcept>

namespace augcore::eval {

ShotAccuracy shot_accuracy(const std::vector<std::int64_t>& train_counts,
                           const std::vector<std::int64_t>& class_images,
                           const std::vector<std::int64_t>& class_hits) {
  if (train_counts.size() != class_images.size() || class_images.size() != class_hits.size()) {
    throw std::invalid_argument("shot_accuracy: per-class vectors of different sizes");
  }
  ShotAccuracy out;
  double sums[3] = {0, 0, 0};
  ShotGroup* groups[3] = {&out.many, &out.medium, &out.few};
  for (std::size_t c = 0; c < train_counts.size(); ++c) {
    if (class_images[c] == 0) continue;
    const int g = train_counts[c] > 100 ? 0 : train_counts[c] >= 20 ? 1 : 2;
    sums[g] += 100.0 * static_cast<double>(class_hits[c]) / static_cast<double>(class_images[c]);
    ++groups[g]->classes;
  }
  for (int g = 0; g < 3; ++g) {
    groups[g]->accuracy = groups[g]->classes > 0 ? sums[g] / static_cast<double>(groups[g]->classes)
                                                 : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

}  // namespace augcore::eval
