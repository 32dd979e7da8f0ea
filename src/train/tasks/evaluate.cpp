#include "augcore/train/tasks/evaluate.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include "augcore/train/state/device_totals.h"

namespace augcore::train {

EvalResult evaluate(models::ClassifierImpl& model, data::Loader& loader, const EvalSetup& setup) {
  model.eval();
  at::NoGradGuard no_grad;
  DeviceTotals totals({}, setup.device);
  at::Tensor class_images, class_hits;
  if (setup.num_classes > 0) {
    class_images = at::zeros({setup.num_classes}, at::dtype(at::kLong).device(setup.device));
    class_hits = at::zeros_like(class_images);
  }
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    if (batch->labels.numel() == 0) continue;
    at::Tensor x = batch->images.to(setup.device, true).to(at::kFloat).div_(255.0);
    if (setup.pixels) x = setup.pixels(x);
    x = (x - setup.mean).div_(setup.std);
    if (setup.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor y = batch->labels.to(setup.device, true);
    const at::Tensor logits = model.forward(x).to(at::kFloat);
    totals.add("loss", at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum), 1.0);
    const auto k = std::min<std::int64_t>(5, logits.size(1));
    const at::Tensor topk = std::get<1>(logits.topk(k, 1));
    const at::Tensor hits = topk.eq(y.unsqueeze(1));
    totals.add("top1", hits.select(1, 0).sum(), 1.0);
    totals.add("top5", hits.any(1).sum(), 1.0);
    totals.add("images", static_cast<double>(x.size(0)));
    if (setup.num_classes > 0) {
      class_images.index_add_(0, y, at::ones_like(y));
      class_hits.index_add_(0, y, hits.select(1, 0).to(at::kLong));
    }
  }
  auto sums = totals.read();
  for (const char* key : {"loss", "top1", "top5", "images"})
    sums[key] += 0;  // a rank without validation rows still sends every total
  if (setup.num_classes > 0) {
    const at::Tensor images = class_images.cpu(), hits = class_hits.cpu();
    for (std::int64_t c = 0; c < setup.num_classes; ++c) {
      sums[fmt::format("class_images/{}", c)] = static_cast<double>(images[c].item<std::int64_t>());
      sums[fmt::format("class_hits/{}", c)] = static_cast<double>(hits[c].item<std::int64_t>());
    }
  }
  if (setup.combine) sums = setup.combine(sums);
  EvalResult r;
  r.images = static_cast<std::int64_t>(sums["images"]);
  for (std::int64_t c = 0; c < setup.num_classes; ++c) {
    r.class_images.push_back(static_cast<std::int64_t>(sums[fmt::format("class_images/{}", c)]));
    r.class_hits.push_back(static_cast<std::int64_t>(sums[fmt::format("class_hits/{}", c)]));
  }
  if (r.images == 0) return r;
  r.loss = sums["loss"] / r.images;
  r.top1 = 100.0 * sums["top1"] / r.images;
  r.top5 = 100.0 * sums["top5"] / r.images;
  return r;
}

}  // namespace augcore::train
