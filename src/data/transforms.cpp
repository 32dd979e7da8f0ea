#include "augcore/data/transforms.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

namespace augcore::data {

CropBox random_resized_crop_box(int height, int width, std::array<double, 2> scale,
                                std::array<double, 2> ratio, Rng& rng) {
  const double area = double(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale[0], scale[1]);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target_area * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = static_cast<int>(rng.randint(0, height - h + 1));
      const int left = static_cast<int>(rng.randint(0, width - w + 1));
      return {top, left, h, w};
    }
  }
  const double in_ratio = double(width) / height;
  int w = width, h = height;
  if (in_ratio < std::min(ratio[0], ratio[1])) {
    h = static_cast<int>(std::nearbyint(w / std::min(ratio[0], ratio[1])));
  } else if (in_ratio > std::max(ratio[0], ratio[1])) {
    w = static_cast<int>(std::nearbyint(h * std::max(ratio[0], ratio[1])));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

CropBox center_crop_box(int height, int width, int crop_height, int crop_width) {
  return {static_cast<int>(std::nearbyint((height - crop_height) / 2.0)),
          static_cast<int>(std::nearbyint((width - crop_width) / 2.0)), crop_height, crop_width};
}

namespace {

cv::Mat view(const Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels),
                 const_cast<std::uint8_t*>(image.pixels.data()));
}

int cv_interpolation(Interpolation i) {
  switch (i) {
    case Interpolation::kNearest:
      return cv::INTER_NEAREST;
    case Interpolation::kBilinear:
      return cv::INTER_LINEAR;
    case Interpolation::kBicubic:
      return cv::INTER_CUBIC;
    case Interpolation::kArea:
      return cv::INTER_AREA;
  }
  return cv::INTER_LINEAR;
}

Image resize_mat(const cv::Mat& src, int height, int width, int channels,
                 Interpolation interpolation) {
  Image out(height, width, channels);
  if (src.rows == height && src.cols == width) {
    cv::Mat dst(height, width, CV_8UC(channels), out.pixels.data());
    src.copyTo(dst);
    return out;
  }
  cv::Mat dst(height, width, CV_8UC(channels), out.pixels.data());
  cv::resize(src, dst, cv::Size(width, height), 0, 0, cv_interpolation(interpolation));
  return out;
}

}  // namespace

Image crop(const Image& image, const CropBox& box) {
  if (box.top < 0 || box.left < 0 || box.height <= 0 || box.width <= 0 ||
      box.top + box.height > image.height || box.left + box.width > image.width) {
    throw std::out_of_range("crop box outside the image");
  }
  Image out(box.height, box.width, image.channels);
  const std::size_t row = std::size_t(box.width) * image.channels;
  for (int y = 0; y < box.height; ++y) {
    const auto* src =
        &image.pixels[(std::size_t(box.top + y) * image.width + box.left) * image.channels];
    std::copy(src, src + row, out.pixels.begin() + y * row);
  }
  return out;
}

Image resize(const Image& image, int height, int width, Interpolation interpolation) {
  return resize_mat(view(image), height, width, image.channels, interpolation);
}

Image hflip(const Image& image) {
  Image out(image.height, image.width, image.channels);
  cv::Mat dst(image.height, image.width, CV_8UC(image.channels), out.pixels.data());
  cv::flip(view(image), dst, 1);
  return out;
}

Image pad(const Image& image, int top, int bottom, int left, int right, std::uint8_t fill) {
  Image out(image.height + top + bottom, image.width + left + right, image.channels);
  std::fill(out.pixels.begin(), out.pixels.end(), fill);
  const std::size_t row = std::size_t(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y) {
    std::copy(image.pixels.begin() + y * row, image.pixels.begin() + (y + 1) * row,
              out.pixels.begin() + (std::size_t(y + top) * out.width + left) * out.channels);
  }
  return out;
}

Image pad(const Image& image, int padding, std::uint8_t fill) {
  return pad(image, padding, padding, padding, padding, fill);
}

CropBox Transform::first_crop(int, int, Rng&) const {
  throw std::logic_error("this transform does not crop first");
}

Image Transform::apply_cropped(Image, Rng&) const {
  throw std::logic_error("this transform does not crop first");
}

Image TransformPipeline::apply(Image image, Rng& rng) const {
  for (const auto& step : steps_)
    image = step->apply(std::move(image), rng);
  return image;
}

Sample TransformPipeline::load(const Dataset& dataset, std::size_t index, Rng& rng) const {
  if (steps_.empty() || !steps_.front()->crops_first()) {
    Sample s = dataset.get(index);
    s.image = apply(std::move(s.image), rng);
    return s;
  }
  std::optional<CropBox> box;  // drawn once, even if the dataset asks again after a fallback
  Sample s = dataset.get_region(index, [&](int height, int width) {
    if (!box) box = steps_.front()->first_crop(height, width, rng);
    return *box;
  });
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    s.image = i == 0 ? steps_[i]->apply_cropped(std::move(s.image), rng)
                     : steps_[i]->apply(std::move(s.image), rng);
  }
  return s;
}

TransformPipeline TransformPipeline::from_config(
    const std::vector<config::ComponentConfig>& components) {
  std::vector<std::shared_ptr<const Transform>> steps;
  for (const auto& c : components) {
    steps.push_back(
        config::Registry::global().factory<TransformFactory>("transform", c.name)(c.options()));
  }
  return TransformPipeline(std::move(steps));
}

// ---------------------------------------------------------------- registered transforms

namespace {

Interpolation parse_interpolation(const std::string& s) {
  if (s == "nearest") return Interpolation::kNearest;
  if (s == "bicubic") return Interpolation::kBicubic;
  if (s == "area") return Interpolation::kArea;
  return Interpolation::kBilinear;
}

std::array<int, 2> size_hw(const config::Options& o) {
  const auto s = o.integers("size");
  return {static_cast<int>(s[0]), static_cast<int>(s.size() > 1 ? s[1] : s[0])};
}

void add_size(config::Schema& s, const std::string& doc) {
  s.add_ints("size", {}, doc).require().items(1, 2).range(1, 1 << 16);
}

void add_interpolation(config::Schema& s) {
  s.add_choice("interpolation", "bilinear", {"nearest", "bilinear", "bicubic", "area"},
               "resampling filter (OpenCV's, without antialiasing except 'area')");
}

class RandomResizedCrop : public Transform {
 public:
  explicit RandomResizedCrop(const config::Options& o)
      : size_(size_hw(o)), interpolation_(parse_interpolation(o.string("interpolation"))) {
    const auto scale = o.reals("scale"), ratio = o.reals("ratio");
    scale_ = {scale[0], scale[1]};
    ratio_ = {ratio[0], ratio[1]};
  }
  Image apply(Image image, Rng& rng) const override {
    const CropBox b = first_crop(image.height, image.width, rng);
    const cv::Mat roi = view(image)(cv::Rect(b.left, b.top, b.width, b.height));
    return resize_mat(roi, size_[0], size_[1], image.channels, interpolation_);
  }
  bool crops_first() const override { return true; }
  CropBox first_crop(int height, int width, Rng& rng) const override {
    return random_resized_crop_box(height, width, scale_, ratio_, rng);
  }
  Image apply_cropped(Image region, Rng&) const override {
    return resize_mat(view(region), size_[0], size_[1], region.channels, interpolation_);
  }

 private:
  std::array<int, 2> size_;
  std::array<double, 2> scale_{}, ratio_{};
  Interpolation interpolation_;
};

class RandomCrop : public Transform {
 public:
  explicit RandomCrop(const config::Options& o)
      : size_(size_hw(o)),
        padding_(static_cast<int>(o.integer("padding"))),
        fill_(static_cast<std::uint8_t>(o.integer("fill"))) {}
  Image apply(Image image, Rng& rng) const override {
    if (padding_ > 0) image = pad(image, padding_, fill_);
    if (image.height < size_[0] || image.width < size_[1]) {
      throw std::invalid_argument("random_crop: size is larger than the padded image");
    }
    const int top = static_cast<int>(rng.randint(0, image.height - size_[0] + 1));
    const int left = static_cast<int>(rng.randint(0, image.width - size_[1] + 1));
    return crop(image, {top, left, size_[0], size_[1]});
  }

 private:
  std::array<int, 2> size_;
  int padding_;
  std::uint8_t fill_;
};

class Resize : public Transform {
 public:
  explicit Resize(const config::Options& o)
      : size_(o.integers("size")), interpolation_(parse_interpolation(o.string("interpolation"))) {}
  Image apply(Image image, Rng&) const override {
    int h = 0, w = 0;
    if (size_.size() == 2) {
      h = static_cast<int>(size_[0]);
      w = static_cast<int>(size_[1]);
    } else if (image.height <= image.width) {  // shorter side to size, as torchvision
      h = static_cast<int>(size_[0]);
      w = static_cast<int>(size_[0] * image.width / image.height);
    } else {
      w = static_cast<int>(size_[0]);
      h = static_cast<int>(size_[0] * image.height / image.width);
    }
    return resize(image, h, w, interpolation_);
  }

 private:
  std::vector<std::int64_t> size_;
  Interpolation interpolation_;
};

class CenterCrop : public Transform {
 public:
  explicit CenterCrop(const config::Options& o) : size_(size_hw(o)) {}
  Image apply(Image image, Rng&) const override {
    // Smaller images are zero-padded first, as torchvision does.
    const int pad_h = std::max(0, size_[0] - image.height);
    const int pad_w = std::max(0, size_[1] - image.width);
    if (pad_h > 0 || pad_w > 0) {
      image = pad(image, pad_h / 2, (pad_h + 1) / 2, pad_w / 2, (pad_w + 1) / 2, 0);
    }
    return crop(image, center_crop_box(image.height, image.width, size_[0], size_[1]));
  }

 private:
  std::array<int, 2> size_;
};

class HorizontalFlip : public Transform {
 public:
  explicit HorizontalFlip(const config::Options& o) : p_(o.real("p")) {}
  Image apply(Image image, Rng& rng) const override {
    return rng.bernoulli(p_) ? hflip(image) : image;
  }

 private:
  double p_;
};

template <class T>
TransformFactory factory_of() {
  return [](const config::Options& o) { return std::make_shared<const T>(o); };
}

config::Schema rrc_options() {
  config::Schema s;
  add_size(s, "output size: [h, w] or one number for a square");
  s.add_floats("scale", {0.08, 1.0}, "range of the crop's area fraction").items(2, 2).range(0, 1);
  s.add_floats("ratio", {3.0 / 4.0, 4.0 / 3.0}, "range of the crop's aspect ratio (w/h)")
      .items(2, 2)
      .range(1e-3, 1e3);
  add_interpolation(s);
  return s;
}

config::Schema random_crop_options() {
  config::Schema s;
  add_size(s, "crop size: [h, w] or one number");
  s.add_int("padding", 0, "constant padding added on every side first (CIFAR: 4)").range(0, 4096);
  s.add_int("fill", 0, "padding value").range(0, 255);
  return s;
}

config::Schema resize_options() {
  config::Schema s;
  add_size(s, "one number: shorter side (aspect kept); [h, w]: exact size");
  add_interpolation(s);
  return s;
}

config::Schema center_crop_options() {
  config::Schema s;
  add_size(s, "crop size: [h, w] or one number");
  return s;
}

config::Schema flip_options() {
  config::Schema s;
  s.add_float("p", 0.5, "probability of flipping").range(0, 1);
  return s;
}

const bool registered =
    config::register_component("transform", "random_resized_crop",
                               "crop a random area/aspect box and resize it (Inception style)",
                               rrc_options(), factory_of<RandomResizedCrop>()) &&
    config::register_component("transform", "random_crop",
                               "pad, then crop at a random position (CIFAR style)",
                               random_crop_options(), factory_of<RandomCrop>()) &&
    config::register_component("transform", "resize", "resize (shorter side or exact size)",
                               resize_options(), factory_of<Resize>()) &&
    config::register_component("transform", "center_crop", "crop the centre (zero-pads if small)",
                               center_crop_options(), factory_of<CenterCrop>()) &&
    config::register_component("transform", "hflip", "mirror left-right with probability p",
                               flip_options(), factory_of<HorizontalFlip>());

}  // namespace
}  // namespace augcore::data
