// Per-sample CPU transforms on uint8 HWC images: random-resized crop, padded random crop,
// resize, centre crop, horizontal flip.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "augcore/config/config.h"
#include "augcore/data/dataset.h"
#include "augcore/data/image.h"
#include "augcore/data/rng.h"

namespace augcore::data {

enum class Interpolation { kNearest, kBilinear, kBicubic, kArea };

// torchvision's RandomResizedCrop.get_params: up to 10 tries of area fraction ~ U(scale) and
// log-aspect ~ U(log ratio), else a centred crop with the ratio clamped.
CropBox random_resized_crop_box(int height, int width, std::array<double, 2> scale,
                                std::array<double, 2> ratio, Rng& rng);
// torchvision's CenterCrop offsets (round half to even).
CropBox center_crop_box(int height, int width, int crop_height, int crop_width);

// Copies a box, which must lie inside the image.
Image crop(const Image& image, const CropBox& box);
Image resize(const Image& image, int height, int width, Interpolation interpolation);
Image hflip(const Image& image);
// Constant padding on all four sides.
Image pad(const Image& image, int padding, std::uint8_t fill);
Image pad(const Image& image, int top, int bottom, int left, int right, std::uint8_t fill);

// A per-sample transform; `rng` is the sample's own generator.
class Transform {
 public:
  virtual ~Transform() = default;
  virtual Image apply(Image image, Rng& rng) const = 0;
  // Whether apply() starts by cropping a box drawn from the image size alone; the loader then
  // decodes only that box (first_crop) and finishes with apply_cropped.
  virtual bool crops_first() const { return false; }
  // The box apply() would crop, drawn from `rng` exactly as apply() draws it.
  virtual CropBox first_crop(int height, int width, Rng& rng) const;
  // apply() for an image already cropped to first_crop's box.
  virtual Image apply_cropped(Image region, Rng& rng) const;
};

// The factory signature of registered transforms (kind "transform").
using TransformFactory = std::function<std::shared_ptr<const Transform>(const config::Options&)>;

// Transforms applied in order.
class TransformPipeline {
 public:
  TransformPipeline() = default;
  explicit TransformPipeline(std::vector<std::shared_ptr<const Transform>> steps)
      : steps_(std::move(steps)) {}
  // Builds the pipeline a validated component list describes.
  static TransformPipeline from_config(const std::vector<config::ComponentConfig>& components);

  Image apply(Image image, Rng& rng) const;
  // Sample `index` of `dataset` with the transforms applied; when the first transform crops
  // first, the dataset decodes only the box it draws (the same pixels, less work).
  Sample load(const Dataset& dataset, std::size_t index, Rng& rng) const;
  bool empty() const { return steps_.empty(); }

 private:
  std::vector<std::shared_ptr<const Transform>> steps_;
};

}  // namespace augcore::data
