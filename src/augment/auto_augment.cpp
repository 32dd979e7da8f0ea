#include "augcore/augment/auto_augment.h"

#include <ATen/ATen.h>

#include <cmath>

#include <fmt/core.h>

#include "augcore/core/error.h"

namespace augcore::augment {

const char* op_name(Op op) {
  static const char* const names[] = {"Identity",    "ShearX",       "ShearY",     "TranslateX",
                                      "TranslateY",  "Rotate",       "Brightness", "Color",
                                      "Contrast",    "Sharpness",    "Posterize",  "Solarize",
                                      "SolarizeAdd", "AutoContrast", "Equalize",   "Invert"};
  return names[static_cast<std::int64_t>(op)];
}

namespace {

constexpr std::int64_t kOpCount = static_cast<std::int64_t>(Op::kInvert) + 1;

bool geometric(Op op) {
  return op == Op::kShearX || op == Op::kShearY || op == Op::kTranslateX || op == Op::kTranslateY ||
         op == Op::kRotate;
}

at::Tensor warp(const at::Tensor& images, const std::vector<std::int64_t>& ops,
                const std::vector<double>& mags, const OpSettings& settings) {
  const auto n = static_cast<std::int64_t>(ops.size());
  const double h = static_cast<double>(images.size(2)), w = static_cast<double>(images.size(3));
  std::vector<double> angle(n), tx(n), ty(n), sx(n), sy(n), cx(n), cy(n);
  const double to_deg = 180.0 / M_PI;
  for (std::int64_t i = 0; i < n; ++i) {
    const Op op = static_cast<Op>(ops[i]);
    const double m = mags[i];
    if (op == Op::kShearX || op == Op::kShearY) {
      // torchvision shears about the top-left corner: centre (0, 0) = (-w/2, -h/2) relative.
      (op == Op::kShearX ? sx : sy)[i] = std::atan(m) * to_deg;
      cx[i] = -w * 0.5;
      cy[i] = -h * 0.5;
    } else if (op == Op::kTranslateX) {
      tx[i] = std::trunc(m);
    } else if (op == Op::kTranslateY) {
      ty[i] = std::trunc(m);
    } else {
      angle[i] = -m;  // F.rotate turns counter-clockwise: the matrix takes -angle
    }
  }
  auto t = [](const std::vector<double>& v) { return at::tensor(v, at::kDouble); };
  const ops::Affine affine{t(angle), t(tx), t(ty), t(sx), t(sy), t(cx), t(cy)};
  return ops::warp_affine(images, ops::inverse_affine_matrix(affine), settings.interpolation,
                          settings.fill);
}

at::Tensor colour(Op op, const at::Tensor& images, const at::Tensor& m) {
  switch (op) {
    case Op::kBrightness:
      return ops::brightness(images, m);
    case Op::kColor:
      return ops::saturation(images, m);
    case Op::kContrast:
      return ops::contrast(images, m);
    case Op::kSharpness:
      return ops::sharpness(images, m);
    case Op::kPosterize:
      return ops::posterize(images, m);
    case Op::kSolarize:
      return ops::solarize(images, m);
    case Op::kSolarizeAdd:
      return ops::solarize_add(images, m, 128.0 / 255.0);
    case Op::kAutoContrast:
      return ops::autocontrast(images);
    case Op::kEqualize:
      return ops::equalize(images);
    case Op::kInvert:
      return ops::invert(images);
    default:
      return images;
  }
}

}  // namespace

at::Tensor apply_ops(const at::Tensor& images, const at::Tensor& ops, const at::Tensor& magnitudes,
                     const OpSettings& settings) {
  const auto n = images.size(0);
  const at::Tensor op_ids = ops.to(at::kLong).cpu().contiguous();
  const at::Tensor mags = magnitudes.to(at::kDouble).cpu().contiguous();
  const auto* op = op_ids.data_ptr<std::int64_t>();
  const auto* mag = mags.data_ptr<double>();
  std::vector<std::vector<std::int64_t>> rows(kOpCount);
  std::vector<std::int64_t> warp_rows, warp_ops;
  std::vector<double> warp_mags;
  for (std::int64_t i = 0; i < n; ++i) {
    if (op[i] < 0 || op[i] >= kOpCount) throw OptionError("apply_ops", "ops", "unknown op id");
    if (geometric(static_cast<Op>(op[i]))) {
      warp_rows.push_back(i);
      warp_ops.push_back(op[i]);
      warp_mags.push_back(mag[i]);
    } else {
      rows[op[i]].push_back(i);
    }
  }
  at::Tensor out = images.clone();
  auto index = [&](const std::vector<std::int64_t>& r) {
    return at::tensor(r, at::kLong).to(images.device());
  };
  if (!warp_rows.empty()) {
    const at::Tensor idx = index(warp_rows);
    out.index_copy_(0, idx, warp(images.index_select(0, idx), warp_ops, warp_mags, settings));
  }
  for (std::int64_t k = 1; k < kOpCount; ++k) {
    if (rows[k].empty() || geometric(static_cast<Op>(k))) continue;
    const at::Tensor idx = index(rows[k]);
    const at::Tensor m = mags.index_select(0, at::tensor(rows[k], at::kLong));
    out.index_copy_(0, idx, colour(static_cast<Op>(k), images.index_select(0, idx), m));
  }
  return out;
}

const std::vector<SubPolicy>& autoaugment_policy(const std::string& name) {
  using O = Op;
  // Cubuk et al. 2019, Table 9 (ImageNet) and Table 7 (CIFAR-10), magnitudes as 0–9 levels.
  static const std::vector<SubPolicy> imagenet = {
      {{{O::kPosterize, 0.4, 8}, {O::kRotate, 0.6, 9}}},
      {{{O::kSolarize, 0.6, 5}, {O::kAutoContrast, 0.6, -1}}},
      {{{O::kEqualize, 0.8, -1}, {O::kEqualize, 0.6, -1}}},
      {{{O::kPosterize, 0.6, 7}, {O::kPosterize, 0.6, 6}}},
      {{{O::kEqualize, 0.4, -1}, {O::kSolarize, 0.2, 4}}},
      {{{O::kEqualize, 0.4, -1}, {O::kRotate, 0.8, 8}}},
      {{{O::kSolarize, 0.6, 3}, {O::kEqualize, 0.6, -1}}},
      {{{O::kPosterize, 0.8, 5}, {O::kEqualize, 1.0, -1}}},
      {{{O::kRotate, 0.2, 3}, {O::kSolarize, 0.6, 8}}},
      {{{O::kEqualize, 0.6, -1}, {O::kPosterize, 0.4, 6}}},
      {{{O::kRotate, 0.8, 8}, {O::kColor, 0.4, 0}}},
      {{{O::kRotate, 0.4, 9}, {O::kEqualize, 0.6, -1}}},
      {{{O::kEqualize, 0.0, -1}, {O::kEqualize, 0.8, -1}}},
      {{{O::kInvert, 0.6, -1}, {O::kEqualize, 1.0, -1}}},
      {{{O::kColor, 0.6, 4}, {O::kContrast, 1.0, 8}}},
      {{{O::kRotate, 0.8, 8}, {O::kColor, 1.0, 2}}},
      {{{O::kColor, 0.8, 8}, {O::kSolarize, 0.8, 7}}},
      {{{O::kSharpness, 0.4, 7}, {O::kInvert, 0.6, -1}}},
      {{{O::kShearX, 0.6, 5}, {O::kEqualize, 1.0, -1}}},
      {{{O::kColor, 0.4, 0}, {O::kEqualize, 0.6, -1}}},
      {{{O::kEqualize, 0.4, -1}, {O::kSolarize, 0.2, 4}}},
      {{{O::kSolarize, 0.6, 5}, {O::kAutoContrast, 0.6, -1}}},
      {{{O::kInvert, 0.6, -1}, {O::kEqualize, 1.0, -1}}},
      {{{O::kColor, 0.6, 4}, {O::kContrast, 1.0, 8}}},
      {{{O::kEqualize, 0.8, -1}, {O::kEqualize, 0.6, -1}}},
  };
  static const std::vector<SubPolicy> cifar10 = {
      {{{O::kInvert, 0.1, -1}, {O::kContrast, 0.2, 6}}},
      {{{O::kRotate, 0.7, 2}, {O::kTranslateX, 0.3, 9}}},
      {{{O::kSharpness, 0.8, 1}, {O::kSharpness, 0.9, 3}}},
      {{{O::kShearY, 0.5, 8}, {O::kTranslateY, 0.7, 9}}},
      {{{O::kAutoContrast, 0.5, -1}, {O::kEqualize, 0.9, -1}}},
      {{{O::kShearY, 0.2, 7}, {O::kPosterize, 0.3, 7}}},
      {{{O::kColor, 0.4, 3}, {O::kBrightness, 0.6, 7}}},
      {{{O::kSharpness, 0.3, 9}, {O::kBrightness, 0.7, 9}}},
      {{{O::kEqualize, 0.6, -1}, {O::kEqualize, 0.5, -1}}},
      {{{O::kContrast, 0.6, 7}, {O::kSharpness, 0.6, 5}}},
      {{{O::kColor, 0.7, 7}, {O::kTranslateX, 0.5, 8}}},
      {{{O::kEqualize, 0.3, -1}, {O::kAutoContrast, 0.4, -1}}},
      {{{O::kTranslateY, 0.4, 3}, {O::kSharpness, 0.2, 6}}},
      {{{O::kBrightness, 0.9, 6}, {O::kColor, 0.2, 8}}},
      {{{O::kSolarize, 0.5, 2}, {O::kInvert, 0.0, -1}}},
      {{{O::kEqualize, 0.2, -1}, {O::kAutoContrast, 0.6, -1}}},
      {{{O::kEqualize, 0.2, -1}, {O::kEqualize, 0.6, -1}}},
      {{{O::kColor, 0.9, 9}, {O::kEqualize, 0.6, -1}}},
      {{{O::kAutoContrast, 0.8, -1}, {O::kSolarize, 0.2, 8}}},
      {{{O::kBrightness, 0.1, 3}, {O::kColor, 0.7, 0}}},
      {{{O::kSolarize, 0.4, 5}, {O::kAutoContrast, 0.9, -1}}},
      {{{O::kTranslateY, 0.9, 9}, {O::kTranslateY, 0.7, 9}}},
      {{{O::kAutoContrast, 0.9, -1}, {O::kSolarize, 0.8, 3}}},
      {{{O::kEqualize, 0.8, -1}, {O::kInvert, 0.1, -1}}},
      {{{O::kTranslateY, 0.7, 9}, {O::kAutoContrast, 0.9, -1}}},
  };
  if (name == "imagenet") return imagenet;
  if (name == "cifar10") return cifar10;
  throw OptionError("AutoAugmentOptions", "policy",
                    "'" + name + "' is not one of imagenet, cifar10");
}

double autoaugment_magnitude(Op op, int level, std::int64_t height, std::int64_t width) {
  const double f = level / 9.0;  // position on torchvision's linspace over 10 bins
  switch (op) {
    case Op::kShearX:
    case Op::kShearY:
      return 0.3 * f;
    case Op::kTranslateX:
      return 150.0 / 331.0 * static_cast<double>(width) * f;
    case Op::kTranslateY:
      return 150.0 / 331.0 * static_cast<double>(height) * f;
    case Op::kRotate:
      return 30.0 * f;
    case Op::kBrightness:
    case Op::kColor:
    case Op::kContrast:
    case Op::kSharpness:
      return 0.9 * f;
    case Op::kPosterize:
      return 8.0 - std::nearbyint(level / 2.25);
    case Op::kSolarize:
      return 1.0 - f;
    default:
      return 0.0;
  }
}

namespace {

bool signed_op(Op op) {
  return geometric(op) || op == Op::kBrightness || op == Op::kColor || op == Op::kContrast ||
         op == Op::kSharpness;
}

bool enhancement(Op op) {
  return op == Op::kBrightness || op == Op::kColor || op == Op::kContrast || op == Op::kSharpness;
}

at::Tensor run_ops(const at::Tensor& images, const OpDraw& draw, ops::Interpolation interpolation,
                   const std::vector<double>& fill, const std::string& owner) {
  check_images(images, owner);
  return in_float(images, [&](const at::Tensor& x) {
    const OpSettings settings{interpolation, channel_tensor(fill, x, owner + "Options", "fill")};
    at::Tensor out = x;
    for (const OpLayer& layer : draw)
      out = apply_ops(out, layer.ops, layer.magnitudes, settings);
    return out;
  });
}

void check_unit(double v, const char* owner, const char* option) {
  if (!(v >= 0 && v <= 1)) throw OptionError(owner, option, fmt::format("{} is outside [0, 1]", v));
}

}  // namespace

AutoAugment::AutoAugment(AutoAugmentOptions options) : OpPolicy(std::move(options)) {
  policy_ = &autoaugment_policy(options_.policy());
}

OpDraw AutoAugment::draw(std::int64_t n, std::int64_t h, std::int64_t w,
                         at::Generator& generator) const {
  const at::Tensor which_t =
      at::randint(static_cast<std::int64_t>(policy_->size()), {n}, generator, at::kLong);
  const at::Tensor u_t = at::rand({n, 2}, generator, at::kDouble);
  const at::Tensor sign_t = at::rand({n, 2}, generator, at::kDouble);
  const auto which = which_t.accessor<std::int64_t, 1>();
  const auto u = u_t.accessor<double, 2>();
  const auto sign = sign_t.accessor<double, 2>();
  OpDraw layers;
  for (int l = 0; l < 2; ++l) {
    std::vector<std::int64_t> ops(n);
    std::vector<double> mags(n);
    for (std::int64_t i = 0; i < n; ++i) {
      const SubPolicyStep& step = (*policy_)[which[i]][l];
      const bool applied = u[i][l] < step.probability;
      ops[i] = static_cast<std::int64_t>(applied ? step.op : Op::kIdentity);
      double m = step.level < 0 ? 0.0 : autoaugment_magnitude(step.op, step.level, h, w);
      if (signed_op(step.op) && sign[i][l] < 0.5) m = -m;
      mags[i] = enhancement(step.op) ? 1.0 + m : m;
    }
    layers.push_back({at::tensor(ops, at::kLong), at::tensor(mags, at::kDouble)});
  }
  return layers;
}

RandAugment::RandAugment(RandAugmentOptions options) : OpPolicy(std::move(options)) {
  if (options_.num_ops() < 1 || options_.num_ops() > 16) {
    throw OptionError("RandAugmentOptions", "num_ops",
                      fmt::format("{} is outside [1, 16]", options_.num_ops()));
  }
  for (const auto& [name, v] : {std::pair<const char*, double>{"magnitude", options_.magnitude()},
                                {"magnitude_std", options_.magnitude_std()},
                                {"magnitude_max", options_.magnitude_max()}}) {
    if (!(v >= 0 && v <= 100)) {
      throw OptionError("RandAugmentOptions", name, fmt::format("{} is outside [0, 100]", v));
    }
  }
  check_unit(options_.prob(), "RandAugmentOptions", "prob");
}

OpDraw RandAugment::draw(std::int64_t n, std::int64_t h, std::int64_t w,
                         at::Generator& generator) const {
  static const Op set[] = {Op::kAutoContrast, Op::kEqualize,   Op::kInvert,      Op::kRotate,
                           Op::kPosterize,    Op::kSolarize,   Op::kSolarizeAdd, Op::kColor,
                           Op::kContrast,     Op::kBrightness, Op::kSharpness,   Op::kShearX,
                           Op::kShearY,       Op::kTranslateX, Op::kTranslateY};
  const std::int64_t k = static_cast<std::int64_t>(std::size(set));
  OpDraw layers;
  for (std::int64_t l = 0; l < options_.num_ops(); ++l) {
    const at::Tensor which_t = at::randint(k, {n}, generator, at::kLong);
    const at::Tensor u_t = at::rand({n}, generator, at::kDouble);
    const at::Tensor sign_t = at::rand({n}, generator, at::kDouble);
    at::Tensor m_t = at::full({n}, options_.magnitude(), at::kDouble);
    if (options_.magnitude_std() > 0) {
      m_t = m_t + options_.magnitude_std() * at::normal(0, 1, {n}, generator).to(at::kDouble);
    }
    m_t = m_t.clamp(0, options_.magnitude_max()).contiguous();
    const auto which = which_t.accessor<std::int64_t, 1>();
    const auto u = u_t.accessor<double, 1>();
    const auto sign = sign_t.accessor<double, 1>();
    const auto m = m_t.accessor<double, 1>();
    std::vector<std::int64_t> ops(n);
    std::vector<double> mags(n);
    for (std::int64_t i = 0; i < n; ++i) {
      const Op op = set[which[i]];
      const double f = m[i] / 10.0;
      const double s = sign[i] < 0.5 ? -1.0 : 1.0;
      double v = 0;
      switch (op) {
        case Op::kRotate:
          v = s * 30.0 * f;
          break;
        case Op::kShearX:
        case Op::kShearY:
          v = s * 0.3 * f;
          break;
        case Op::kTranslateX:
          v = s * 0.45 * f * static_cast<double>(w);
          break;
        case Op::kTranslateY:
          v = s * 0.45 * f * static_cast<double>(h);
          break;
        case Op::kPosterize: {
          const double bits = std::trunc(f * 4);
          v = options_.increasing() ? 4 - bits : bits;
          break;
        }
        case Op::kSolarize: {
          const double t = std::trunc(f * 256);
          v = (options_.increasing() ? 256 - t : t) / 255.0;
          break;
        }
        case Op::kSolarizeAdd:
          v = std::trunc(f * 110) / 255.0;
          break;
        case Op::kColor:
        case Op::kContrast:
        case Op::kBrightness:
        case Op::kSharpness:
          v = options_.increasing() ? 1.0 + s * 0.9 * f : 1.8 * f + 0.1;
          break;
        default:
          break;
      }
      ops[i] = static_cast<std::int64_t>(u[i] < options_.prob() ? op : Op::kIdentity);
      mags[i] = v;
    }
    layers.push_back({at::tensor(ops, at::kLong), at::tensor(mags, at::kDouble)});
  }
  return layers;
}

TrivialAugment::TrivialAugment(TrivialAugmentOptions options) : OpPolicy(std::move(options)) {}

OpDraw TrivialAugment::draw(std::int64_t n, std::int64_t, std::int64_t,
                            at::Generator& generator) const {
  static const Op set[] = {Op::kIdentity,     Op::kShearX,    Op::kShearY,     Op::kTranslateX,
                           Op::kTranslateY,   Op::kRotate,    Op::kBrightness, Op::kColor,
                           Op::kContrast,     Op::kSharpness, Op::kPosterize,  Op::kSolarize,
                           Op::kAutoContrast, Op::kEqualize};
  const std::int64_t k = static_cast<std::int64_t>(std::size(set));
  const at::Tensor which_t = at::randint(k, {n}, generator, at::kLong);
  const at::Tensor bin_t = at::randint(31, {n}, generator, at::kLong);
  const at::Tensor sign_t = at::rand({n}, generator, at::kDouble);
  const auto which = which_t.accessor<std::int64_t, 1>();
  const auto bin = bin_t.accessor<std::int64_t, 1>();
  const auto sign = sign_t.accessor<double, 1>();
  std::vector<std::int64_t> ops(n);
  std::vector<double> mags(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const Op op = set[which[i]];
    const double b = static_cast<double>(bin[i]), f = b / 30.0;
    double v = 0;
    switch (op) {
      case Op::kShearX:
      case Op::kShearY:
        v = 0.99 * f;
        break;
      case Op::kTranslateX:
      case Op::kTranslateY:
        v = 32.0 * f;
        break;
      case Op::kRotate:
        v = 135.0 * f;
        break;
      case Op::kBrightness:
      case Op::kColor:
      case Op::kContrast:
      case Op::kSharpness:
        v = 0.99 * f;
        break;
      case Op::kPosterize:
        v = 8.0 - std::nearbyint(b / 5.0);
        break;
      case Op::kSolarize:
        v = 1.0 - f;
        break;
      default:
        break;
    }
    if (signed_op(op) && sign[i] < 0.5) v = -v;
    ops[i] = static_cast<std::int64_t>(op);
    mags[i] = enhancement(op) ? 1.0 + v : v;
  }
  return {{at::tensor(ops, at::kLong), at::tensor(mags, at::kDouble)}};
}

FixMatchRandAugment::FixMatchRandAugment(FixMatchRandAugmentOptions options)
    : OpPolicy(std::move(options)) {
  if (options_.num_ops() < 1 || options_.num_ops() > 16) {
    throw OptionError("FixMatchRandAugmentOptions", "num_ops",
                      fmt::format("{} is outside [1, 16]", options_.num_ops()));
  }
}

OpDraw FixMatchRandAugment::draw(std::int64_t n, std::int64_t h, std::int64_t w,
                                 at::Generator& generator) const {
  static const Op set[] = {Op::kIdentity,   Op::kAutoContrast, Op::kBrightness, Op::kColor,
                           Op::kContrast,   Op::kEqualize,     Op::kPosterize,  Op::kRotate,
                           Op::kSharpness,  Op::kShearX,       Op::kShearY,     Op::kSolarize,
                           Op::kTranslateX, Op::kTranslateY};
  const std::int64_t k = static_cast<std::int64_t>(std::size(set));
  OpDraw layers;
  for (std::int64_t l = 0; l < options_.num_ops(); ++l) {
    const at::Tensor which_t = at::randint(k, {n}, generator, at::kLong);
    const at::Tensor u_t = at::rand({n}, generator, at::kDouble);
    const auto which = which_t.accessor<std::int64_t, 1>();
    const auto u = u_t.accessor<double, 1>();
    std::vector<std::int64_t> ops(n);
    std::vector<double> mags(n);
    for (std::int64_t i = 0; i < n; ++i) {
      const Op op = set[which[i]];
      // min + (max − min) · u over each op's range, as semilearn's augment_list gives it.
      const auto within = [&](double lo, double hi) { return lo + (hi - lo) * u[i]; };
      double v = 0;
      switch (op) {
        case Op::kBrightness:
        case Op::kColor:
        case Op::kContrast:
        case Op::kSharpness:
          v = within(0.05, 0.95);
          break;
        case Op::kPosterize:
          v = std::trunc(within(4, 8));
          break;
        case Op::kRotate:
          v = within(-30, 30);
          break;
        case Op::kShearX:
        case Op::kShearY:
          v = within(-0.3, 0.3);
          break;
        case Op::kSolarize:
          v = within(0, 256) / 255.0;
          break;
        case Op::kTranslateX:
          v = within(-0.3, 0.3) * static_cast<double>(w);
          break;
        case Op::kTranslateY:
          v = within(-0.3, 0.3) * static_cast<double>(h);
          break;
        default:
          break;
      }
      ops[i] = static_cast<std::int64_t>(op);
      mags[i] = v;
    }
    layers.push_back({at::tensor(ops, at::kLong), at::tensor(mags, at::kDouble)});
  }
  return layers;
}

template <typename Derived, typename OptionsT>
OpDraw OpPolicy<Derived, OptionsT>::sample(const at::Tensor& images,
                                           at::Generator generator) const {
  check_images(images, Derived::kName);
  return static_cast<const Derived&>(*this).draw(images.size(0), images.size(2), images.size(3),
                                                 generator);
}

template <typename Derived, typename OptionsT>
at::Tensor OpPolicy<Derived, OptionsT>::apply(const at::Tensor& images, const OpDraw& draw) const {
  return run_ops(images, draw, options_.interpolation(), options_.fill(), Derived::kName);
}

template class OpPolicy<AutoAugment, AutoAugmentOptions>;
template class OpPolicy<RandAugment, RandAugmentOptions>;
template class OpPolicy<TrivialAugment, TrivialAugmentOptions>;
template class OpPolicy<FixMatchRandAugment, FixMatchRandAugmentOptions>;

template <typename Policy>
KeepPaste<Policy>::KeepPaste(Options options, std::int64_t paste_length, SaliencyFn saliency,
                             KeepOptions keep)
    : policy_(std::move(options)),
      paste_length_(paste_length),
      keep_(std::move(saliency), keep, std::string("Keep") + Policy::kName) {
  if (paste_length_ < 1) {
    throw OptionError(std::string("Keep") + Policy::kName, "paste_length",
                      fmt::format("{} is below 1", paste_length_));
  }
}

template <typename Policy>
PastedOps KeepPaste<Policy>::sample(const at::Tensor& images, const at::Tensor& targets,
                                    at::Generator generator, const at::Tensor& saliency) const {
  const std::string owner = std::string("Keep") + Policy::kName;
  check_images(images, owner);
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  if (paste_length_ > h || paste_length_ > w) {
    throw OptionError(owner, "paste_length",
                      fmt::format("{} exceeds the {}×{} images", paste_length_, h, w));
  }
  const at::Tensor map = keep_.saliency(images, targets, saliency);
  PastedOps out;
  out.ops = policy_.draw(n, h, w, generator);
  const at::Tensor sizes = at::full({n}, paste_length_, at::kLong).to(images.device());
  const at::Tensor pos = keep_.positions(map, sizes, sizes, Placement::kCentered, true, generator);
  out.paste =
      boxes_at(pos.select(1, 0), pos.select(1, 1), sizes, sizes, Placement::kCentered, h, w);
  return out;
}

template <typename Policy>
at::Tensor KeepPaste<Policy>::apply(const at::Tensor& images, const PastedOps& draw) const {
  const at::Tensor augmented = policy_.apply(images, draw.ops);
  const at::Tensor mask = box_mask(draw.paste, images.size(2), images.size(3));
  return like_input(at::where(mask, images, augmented), images);
}

template <typename Policy>
Batch KeepPaste<Policy>::operator()(Batch batch, at::Generator generator) const {
  batch.images = apply(batch.images, sample(batch.images, batch.targets, generator));
  return batch;
}

template class KeepPaste<AutoAugment>;
template class KeepPaste<RandAugment>;

}  // namespace augcore::augment
