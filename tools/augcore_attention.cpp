// augcore_attention: where an MAE augmentor's attention falls on images whose foreground is
// known (objects on a zero background, e.g. Fashion-MNIST), for each way of reading it.
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <filesystem>

#include "augcore/augment/mra.h"
#include "augcore/core/error.h"
#include "augcore/data/idx.h"
#include "augcore/models/mae.h"
#include "common/cli.h"
#include "common/doc_section.h"

namespace {

using namespace augcore;

struct Probe {
  at::Tensor fg_patch;  // N×L: 1 where the patch's mean pixel exceeds the threshold
  at::Tensor fg_share;  // N×L: fraction of the patch's pixels above zero
  std::int64_t keep = 0;
};

// One row: attention mass on foreground patches against their share (the uniform baseline),
// mass on foreground pixels against theirs, and the foreground rate among the patches MRA's
// `low` mode keeps (the top `keep` by attention).
void report(std::string& out, const std::string& name, const at::Tensor& attention,
            const Probe& p) {
  const at::Tensor a = attention / attention.sum(1, true);
  const double mass = (a * p.fg_patch).sum(1).mean().item<double>();
  const double base = p.fg_patch.mean().item<double>();
  const double px_mass = (a * p.fg_share).sum(1).mean().item<double>();
  const double px_base = p.fg_share.mean().item<double>();
  const at::Tensor top = std::get<1>(a.topk(p.keep, 1));
  const double kept = p.fg_patch.gather(1, top).mean().item<double>();
  out += fmt::format("| {} | {:.3f} | {:.3f} | {:.2f}× | {:.3f} / {:.3f} ({:.2f}×) | {:.3f} |\n",
                     name, mass, base, mass / base, px_mass, px_base, px_mass / px_base, kept);
}

// Attention received by each patch from the patch queries (CLS row and column left out).
at::Tensor received(const at::Tensor& map) {
  return map.mean(1).slice(1, 1).slice(2, 1).mean(1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"augcore_attention: how much of an MAE augmentor's attention falls on the object"};
  std::string checkpoint, preset = "mae_tiny_patch4_28", split = "train";
  std::string root = "/usr/share/datasets/fashion-mnist";
  int images = 512;
  double mask_ratio = 0.4, threshold = 0.1;
  app.add_option("--checkpoint", checkpoint, "the augmentor (mae_pretrain's last.pt)")->required();
  app.add_option("--preset", preset, "its architecture");
  app.add_option("--root", root, "Fashion-MNIST's IDX files");
  app.add_option("--split", split, "train (to choose a reading) or test (to report it)")
      ->check(CLI::IsMember({"train", "test"}));
  app.add_option("--images", images, "images probed (the split's first N)")
      ->check(CLI::Range(1, 60000));
  app.add_option("--mask-ratio", mask_ratio, "MRA's mask ratio (the kept share is 1 - it)")
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--threshold", threshold, "a patch is foreground when its mean pixel exceeds it");
  std::vector<double> mean, std;
  app.add_option("--mean", mean, "the augmentor's input normalisation (default: the checkpoint's)");
  app.add_option("--std", std, "(default: the checkpoint's)");
  std::string doc;
  app.add_option("--update-doc", doc,
                 "also put the tables into this Markdown file (between attention-probe:SPLIT "
                 "markers)");
  return cli::run_main(app, argc, argv, [&] {
    const std::string stem = split == "train" ? "train" : "t10k";
    data::IdxDataset ds(root + "/" + stem + "-images-idx3-ubyte.gz",
                        root + "/" + stem + "-labels-idx1-ubyte.gz", 1);
    const auto n = std::min<std::int64_t>(images, static_cast<std::int64_t>(ds.size()));
    std::vector<at::Tensor> xs;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto s = ds.get(static_cast<std::size_t>(i));
      xs.push_back(at::from_blob(const_cast<std::uint8_t*>(s.image.pixels.data()),
                                 {1, 1, s.image.height, s.image.width}, at::kByte)
                       .to(at::kFloat)
                       .div(255));
    }
    const at::Tensor pixels = at::cat(xs);
    std::string out;
    auto config = models::mae_preset(preset);
    config.in_chans = 1;
    // As the mra policy loads it: the normalisation is the checkpoint's unless given.
    const auto augmentor = augment::load_mra_augmentor(
        checkpoint, config, augment::MraOptions().mask_ratio(mask_ratio).mean(mean).std(std));
    models::MaskedAutoencoder mae = augmentor->mae();
    const auto normalise = [&](const at::Tensor& x) {
      const at::Tensor m =
          at::tensor(augmentor->options().mean()).to(at::kFloat).view({1, -1, 1, 1});
      const at::Tensor s =
          at::tensor(augmentor->options().std()).to(at::kFloat).view({1, -1, 1, 1});
      return (x - m) / s;
    };
    mae->eval();
    at::NoGradGuard no_grad;
    const auto maps = mae->attention_maps(normalise(pixels));
    const at::Tensor patches = mae->patchify(pixels);  // N×L×p²
    Probe probe{(patches.mean(2) > threshold).to(at::kFloat), (patches > 0).to(at::kFloat).mean(2),
                augment::augment_keep_count(patches.size(1), mask_ratio)};
    out += fmt::format(
        "{} {} images of {}; patch foreground: mean pixel > {}; MRA keeps {} of {} "
        "patches\n\n",
        n, split, checkpoint, threshold, probe.keep, patches.size(1));
    out += fmt::format(
        "| reading | mass on fg patches | fg patch share | ratio | mass on fg pixels / "
        "share | fg rate of kept patches |\n|---|---|---|---|---|---|\n");
    const auto depth = static_cast<int>(maps.size());
    for (int b = 0; b < depth; ++b) {
      const at::Tensor cls = maps[b].mean(1).select(1, 0).slice(1, 1);
      report(out,
             fmt::format("CLS row, block {}{}", b + 1,
                         b + 1 == depth ? " (MRA's attention: cls, the paper's)" : ""),
             cls, probe);
    }
    for (int b = 0; b < depth; ++b)
      report(out, fmt::format("received from patches, block {}", b + 1), received(maps[b]), probe);
    report(out, "received from patches, mean of all blocks (MRA's attention: patches)",
           mae->patch_attention(normalise(pixels)), probe);
    at::Tensor rollout = at::eye(maps[0].size(-1)).expand_as(maps[0].mean(1));
    for (const auto& m : maps) {
      const at::Tensor a = 0.5 * m.mean(1) + 0.5 * at::eye(m.size(-1));
      rollout = at::matmul(a / a.sum(-1, true), rollout);
    }
    report(out, "rollout, CLS row", rollout.select(1, 0).slice(1, 1), probe);
    for (int h = 0; h < maps.back().size(1); ++h) {
      report(out, fmt::format("CLS row, block {}, head {}", depth, h + 1),
             maps.back().select(1, h).select(1, 0).slice(1, 1), probe);
    }
    const auto grid = static_cast<std::int64_t>(std::lround(std::sqrt(patches.size(1))));
    const at::Tensor cls = maps.back().mean(1).select(1, 0).slice(1, 1);
    const at::Tensor column = (cls / cls.sum(1, true)).reshape({n, grid, grid}).mean(0).sum(0);
    std::string cols;
    for (std::int64_t c = 0; c < grid; ++c)
      cols += fmt::format(" {:.3f}", column[c].item<double>());
    out += fmt::format(
        "\nMRA's reading (CLS row, last block), mass per image column, left to right:{}\n", cols);
    // How much the decoder uses the CLS token: the reconstruction loss with the encoder's CLS
    // output replaced by its batch mean (the same random masks either way).
    const at::Tensor noise =
        at::rand({n, patches.size(1)}, at::Generator(at::detail::createCPUGenerator(0)));
    const auto keep = models::pretrain_keep_count(patches.size(1), mask_ratio);
    const at::Tensor x = normalise(pixels);
    const auto encoder_out = mae->forward_encoder(x, noise, keep);
    const at::Tensor& encoded = encoder_out.first;
    const models::MaskedTokens& masking = encoder_out.second;
    const auto loss_of = [&](const at::Tensor& e) {
      const at::Tensor pred = mae->forward_decoder(e, masking.ids_restore, x.size(2), x.size(3));
      return mae->loss(x, pred, masking.mask).item<double>();
    };
    at::Tensor flat_cls = encoded.clone();
    flat_cls.slice(1, 0, 1).copy_(encoded.slice(1, 0, 1).mean(0, true).expand({n, 1, -1}));
    out += fmt::format(
        "reconstruction loss (mask ratio {}): {:.4f}; with every image's CLS output "
        "replaced by the batch mean: {:.4f}\n",
        mask_ratio, loss_of(encoded), loss_of(flat_cls));
    fmt::print("{}", out);
    if (!doc.empty()) {
      std::string command = "augcore_attention";
      for (std::size_t i = 1; i < cli::command_line().size(); ++i)
        command += " " + cli::command_line()[i];
      cli::replace_doc_section(doc, "attention-probe:" + split,
                               "Regenerate: `" + command + "`\n\n" + out);
    }
    return 0;
  });
}
