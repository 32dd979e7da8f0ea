#include "report.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace augcore::bench {

std::optional<double> Row::number(const std::string& key) const {
  const auto it = numbers.find(key);
  if (it == numbers.end()) return std::nullopt;
  return it->second;
}

std::string Row::str(const std::string& key) const {
  const auto it = text.find(key);
  return it == text.end() ? "" : it->second;
}

namespace {

// A figure in a table cell, in `format`.
std::string cell(const std::optional<double>& v, const char* format = "{:.0f}") {
  if (!v) return "not measured";
  return fmt::format(fmt::runtime(format), *v);
}

// Images/s with three significant figures below 1000.
std::string rate(const std::optional<double>& v) {
  if (!v) return "not measured";
  if (*v >= 100) return fmt::format("{:.0f}", *v);
  return fmt::format(*v >= 10 ? "{:.1f}" : "{:.2f}", *v);
}

std::string ratio(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}×", *v) : "—";
}

}  // namespace

std::string ratio_text(const Row& r, const std::string& key) {
  const auto low = r.number(key + "_low"), high = r.number(key + "_high");
  if (!r.number(key) || !low || !high) return ratio(r.number(key));
  const double coverage = r.number("coverage").value_or(1);
  return fmt::format("{:.2f}× [{:.2f}–{:.2f}]{}", *r.number(key), *low, *high,
                     coverage < 0.95 ? fmt::format(" ({:.0f} %)", 100 * coverage) : "");
}

namespace {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kMet:
      return "met";
    case Verdict::kMissed:
      return "missed";
    case Verdict::kUndecided:
      return "undecided";
    case Verdict::kNotMeasured:
      break;
  }
  return "not measured";
}

// A verdict as written by `verdict_name`; older reports have only `met` (true, false, null).
Verdict verdict_from(const nlohmann::ordered_json& t) {
  if (t.contains("verdict")) {
    for (const Verdict v :
         {Verdict::kMet, Verdict::kMissed, Verdict::kUndecided, Verdict::kNotMeasured}) {
      if (t["verdict"] == verdict_name(v)) return v;
    }
    return Verdict::kNotMeasured;
  }
  if (!t.contains("met") || !t["met"].is_boolean()) return Verdict::kNotMeasured;
  return t["met"].get<bool>() ? Verdict::kMet : Verdict::kMissed;
}

std::vector<const Row*> section(const Report& r, const std::string& name) {
  std::vector<const Row*> rows;
  for (const auto& row : r.rows) {
    if (row.section == name) rows.push_back(&row);
  }
  return rows;
}

// The toolchain a report belongs to: its LibTorch major version.
std::string major(const std::string& version) {
  return version.substr(0, version.find('.'));
}

std::string label(const Report& r) {
  return "LibTorch " + r.libtorch;
}

using Json = nlohmann::ordered_json;

Json report_json(const Report& report) {
  Json rows = Json::array(), targets = Json::array();
  for (const Row& row : report.rows) {
    Json r{{"section", row.section}};
    for (const auto& [k, v] : row.text)
      r[k] = v;
    for (const auto& [k, v] : row.numbers) {
      if (std::isfinite(v)) r[k] = v;  // JSON has no NaN: a figure that is not one is absent
    }
    rows.push_back(r);
  }
  for (const Target& t : report.targets) {
    targets.push_back({{"target", t.what},
                       {"measured", t.measured},
                       {"verdict", verdict_name(t.verdict)},
                       {"floor_above_target", t.floor_above}});
  }
  return Json{{"libtorch", report.libtorch}, {"command", report.command},
              {"date", report.date},         {"seconds", std::round(report.seconds * 10) / 10},
              {"machine", report.machine},   {"rows", rows},
              {"targets", targets}};
}

Report report_from(const Json& j) {
  Report r;
  r.command = j.at("command").get<std::string>();
  r.date = j.at("date").get<std::string>();
  r.seconds = j.at("seconds").get<double>();
  r.machine = j.at("machine").get<std::map<std::string, std::string>>();
  // The older one-report form has the version only inside machine.libtorch ("1.13.0 (no CUDA)").
  r.libtorch = j.contains("libtorch")
                   ? j["libtorch"].get<std::string>()
                   : r.machine.at("libtorch").substr(0, r.machine.at("libtorch").find(' '));
  for (const auto& row : j.at("rows")) {
    Row out;
    for (const auto& [k, v] : row.items()) {
      if (k == "section")
        out.section = v.get<std::string>();
      else if (v.is_null())
        continue;
      else if (v.is_number())
        out.numbers[k] = v.get<double>();
      else
        out.text[k] = v.get<std::string>();
    }
    r.rows.push_back(std::move(out));
  }
  for (const auto& t : j.at("targets")) {
    r.targets.push_back({t.at("target").get<std::string>(), t.at("measured").get<std::string>(),
                         verdict_from(t), t.value("floor_above_target", false)});
  }
  return r;
}

// One table: `header` (Markdown, without the leading LibTorch column), then every report's rows
// of `name`, each written by `row` after the report's label.
void table(std::ostringstream& md, const std::vector<Report>& reports, const std::string& name,
           const std::string& header, const std::function<std::string(const Row&)>& row) {
  const auto columns = static_cast<std::size_t>(std::count(header.begin(), header.end(), '|'));
  md << "| LibTorch " << header << "\n|";
  for (std::size_t i = 0; i < columns; ++i)
    md << "---|";
  md << "\n";
  for (const Report& r : reports) {
    for (const Row* x : section(r, name))
      md << "| " << r.libtorch << " | " << row(*x) << " |\n";
  }
}

}  // namespace

std::string to_json(const std::vector<Report>& reports) {
  Json all = Json::array();
  for (const Report& r : reports)
    all.push_back(report_json(r));
  return Json{{"toolchains", all}}.dump(2) + "\n";
}

std::vector<Report> from_json(const std::string& text) {
  const Json j = Json::parse(text);
  std::vector<Report> reports;
  if (j.contains("toolchains")) {
    for (const auto& r : j["toolchains"])
      reports.push_back(report_from(r));
  } else {
    reports.push_back(report_from(j));
  }
  return reports;
}

std::vector<Report> merge(std::vector<Report> reports, Report report) {
  reports.erase(
      std::remove_if(reports.begin(), reports.end(),
                     [&](const Report& r) { return major(r.libtorch) == major(report.libtorch); }),
      reports.end());
  reports.push_back(std::move(report));
  std::sort(reports.begin(), reports.end(), [](const Report& a, const Report& b) {
    return std::atoi(major(a.libtorch).c_str()) < std::atoi(major(b.libtorch).c_str());
  });
  return reports;
}

std::string to_markdown(const std::vector<Report>& reports) {
  std::ostringstream md;
  md << "# Benchmarks\n\n"
     << "<!-- Generated by augcore_bench suite; edit tools/bench/report.cpp, not this file. -->\n\n"
     << "augcore against Python PyTorch on the same machine, once per LibTorch toolchain: "
        "Debian's LibTorch 1.13 (CPU) against Debian's Python torch 1.13 in eager mode, and the "
        "PyPI wheel's LibTorch 2.x against the same wheel's Python torch, in eager mode and "
        "under `torch.compile`. Each toolchain's suite replaces its own tables and keeps the "
        "other's.\n\n| toolchain | regenerate | measured | wall time |\n|---|---|---|---|\n";
  for (const Report& r : reports) {
    md << "| " << label(r) << " | `" << r.command << "` | " << r.date << " | "
       << fmt::format("{:.0f} min", r.seconds / 60.0 + 0.5) << " |\n";
  }
  md << "\nThe raw figures are in `docs/benchmarks.json`. What each measurement does, why the "
        "figures are what they are and what was optimised: [performance.md](performance.md).\n"
     << "\n## Machine\n\n|";
  std::map<std::string, bool> keys;
  for (const Report& r : reports) {
    md << " | " << label(r);
    for (const auto& kv : r.machine)
      keys[kv.first] = true;
  }
  md << " |\n|---|";
  for (std::size_t i = 0; i < reports.size(); ++i)
    md << "---|";
  md << "\n";
  for (const auto& kv : keys) {
    md << "| " << kv.first;
    for (const Report& r : reports) {
      const auto it = r.machine.find(kv.first);
      md << " | " << (it == r.machine.end() ? "–" : it->second);
    }
    md << " |\n";
  }

  md << "\n## Targets\n\nA ratio timed over rounds is the median of its per-round ratios (both "
        "sides of a round met the same machine), with the median's distribution-free 95 % "
        "interval in brackets (order statistics: x(2)–x(8) of 9 rounds, x(4)–x(12) of 15; the "
        "exact coverage is `coverage` in the JSON). A target is *met* when the whole interval "
        "clears it, *missed* when none of it does, and *undecided* when the interval holds the "
        "target: then the machine's noise, not the code, decides the figure. An overhead target "
        "not met is *at its floor* (missed) or *out of reach* (undecided) when, for every "
        "figure short of it, the method's essential pass alone (its floor, section 7) misses "
        "it: the method at these settings cannot meet it on this machine (a GPU figure, which "
        "has no floor, keeps the plain verdict). (A report written "
        "before 2026-12-07 has single figures and met/missed verdicts without intervals.)\n\n"
        "| target";
  for (const Report& r : reports)
    md << " | " << label(r) << " | ";
  md << " |\n|---|";
  for (std::size_t i = 0; i < reports.size(); ++i)
    md << "---|---|";
  md << "\n";
  std::vector<std::string> whats;
  for (const Report& r : reports) {
    for (const Target& t : r.targets) {
      if (std::find(whats.begin(), whats.end(), t.what) == whats.end()) whats.push_back(t.what);
    }
  }
  for (const auto& what : whats) {
    md << "| " << what;
    for (const Report& r : reports) {
      const auto t = std::find_if(r.targets.begin(), r.targets.end(),
                                  [&](const Target& x) { return x.what == what; });
      if (t == r.targets.end()) {
        md << " | – | ";
        continue;
      }
      md << " | " << t->measured << " | "
         << (t->floor_above && t->verdict == Verdict::kMissed
                 ? "**missed**, at its floor: the essential pass alone misses it too (section 7)"
             : t->floor_above ? "**out of reach**: the essential pass alone misses it (section "
                                "7); the step's own interval holds the target"
             : t->verdict == Verdict::kMissed    ? "**missed**"
             : t->verdict == Verdict::kUndecided ? "undecided (the interval holds the target)"
                                                 : verdict_name(t->verdict));
    }
    md << " |\n";
  }

  md << "\n## 1. Loader\n\nImages/s of the training loader (decode, per-sample transforms, "
        "batching) against torchvision's dataset + `DataLoader` with the same transforms and "
        "worker count (`PILToTensor`, no normalisation: both hand out uint8 batches).\n\n";
  table(md, reports, "loader",
        "| dataset | transforms | batch | workers | augcore img/s | torchvision img/s | ratio |",
        [](const Row& r) {
          return r.str("dataset") + " | " + r.str("transforms") + " | " + cell(r.number("batch")) +
                 " | " + cell(r.number("workers")) + " | " +
                 rate(r.number("augcore_images_per_s")) + " | " +
                 rate(r.number("torch_images_per_s")) + " | " + ratio(r.number("ratio"));
        });

  md << "\n## 2. Training step\n\nOne step (uint8 batch → pixels, normalise, forward, "
        "cross-entropy, backward, optimizer step) of the same model, batch and thread count: "
        "augcore's is the trainer's own step (train::TrainStep; loss and accuracy stay on the "
        "device), Python PyTorch's reads them back each step (alike on a CPU), with "
        "torchvision's ResNet-50 and timm-style ResNet-20/ViT definitions written out in "
        "tools/bench/torch_reference.py. *Eager* is the plain Python loop; *compiled* wraps "
        "the model in `torch.compile` (default mode; inductor's C++/OpenMP kernels on a CPU), "
        "whose compile time (the first step, less one steady step) is given apart. A model's "
        "figures in sections 2, 3 and 7 come from one rotation: augcore's steps (plain and "
        "with each policy), the Python steps and the methods' essential passes take turns, "
        "in the balanced orders of a Williams design (over a whole cycle of rounds every "
        "contestant runs in every place, and right after every other within a round, equally "
        "often), and each figure is the median over rounds (9 rounds "
        "of 2 steps at 28–32 px, 15 rounds of 1 step at 224 px); a ratio is the median of the "
        "per-round ratios, with its 95 % interval (see Targets). The plain step's augcore "
        "img/s here is section 3's baseline row.\n\n";
  table(
      md, reports, "step",
      "| model | input | batch | optimizer | parameters (augcore / Python) | augcore img/s | "
      "eager img/s | augcore ÷ eager | compiled img/s | augcore ÷ compiled | compile s |",
      [](const Row& r) {
        return r.str("model") + " | " + r.str("input") + " | " + cell(r.number("batch")) + " | " +
               r.str("optimizer") + " | " + cell(r.number("augcore_parameters")) + " / " +
               cell(r.number("torch_parameters")) + " | " + rate(r.number("augcore_images_per_s")) +
               " | " + rate(r.number("torch_images_per_s")) + " | " + ratio_text(r, "ratio") +
               " | " +
               (r.number("compiled_images_per_s") ? rate(r.number("compiled_images_per_s"))
                                                  : std::string("–")) +
               " | " + ratio_text(r, "ratio_compiled") + " | " +
               (r.number("compile_seconds") ? cell(r.number("compile_seconds")) : std::string("–"));
      });

  md << "\n## 3. Policy overheads\n\nTraining-step time with each policy (or objective) "
        "relative to the plain step of the same model, same batches, same rounds (the "
        "rotation of section 2): the median of the per-round ratios and its 95 % interval, so "
        "× baseline is close to, not exactly, the quotient of the two ms/step medians.\n\n";
  table(md, reports, "overhead",
        "| model | input, batch | policy | settings | ms/step | img/s | × baseline |",
        [](const Row& r) {
          return r.str("model") + " | " + r.str("input") + " | " + r.str("policy") + " | " +
                 r.str("settings") + " | " + cell(r.number("ms_per_step"), "{:.1f}") + " | " +
                 rate(r.number("images_per_s")) + " | " + ratio_text(r, "ratio");
        });

  md << "\n## 4. Batched against per-image augmentation\n\naugcore's batched policy on "
        "in-memory uint8 batches (to pixels + policy, intra-op threads = workers) against "
        "torchvision's per-image transform in `DataLoader` workers (PIL image from the array, "
        "transform, `PILToTensor`, collate), the same 32×32 CIFAR-format images.\n\n";
  table(md, reports, "augment",
        "| policy | workers / threads | batch | augcore img/s | torchvision img/s | ratio |",
        [](const Row& r) {
          return r.str("policy") + " | " + cell(r.number("workers")) + " | " +
                 cell(r.number("batch")) + " | " + rate(r.number("augcore_images_per_s")) + " | " +
                 rate(r.number("torch_images_per_s")) + " | " + ratio(r.number("ratio"));
        });

  md << "\n## 5. Data parallel\n\nOne training step of the same global batch (128) on 1 and 2 "
        "processes of 1 thread each, Gloo over 127.0.0.1 (`augcore_bench data-parallel --nproc N`"
        "): each process trains on its half of the batch and the gradients are all-reduced. "
        "*All-reduce wait* is the time after backward spent waiting for the gradient all-reduce "
        "(the overlapped engine hides the rest behind backward). On N GPUs of one node: "
        "`augcore_bench data-parallel --nproc N -c configs/imagenet/r50.yaml --set device=cuda "
        "--set train.amp=bf16` (NCCL).\n\n";
  table(md, reports, "data_parallel",
        "| model | processes | batch per process | ms/step | img/s | speed-up | all-reduce wait |",
        [](const Row& r) {
          const auto n = r.number("processes");
          const auto wait = r.number("allreduce_ms");
          const auto share = r.number("allreduce_share");
          return r.str("model") + " | " + cell(n) + " | " +
                 (n ? cell(128.0 / *n) : std::string("–")) + " | " + cell(r.number("ms_per_step")) +
                 " | " + rate(r.number("images_per_s")) + " | " + ratio(r.number("speedup")) +
                 " | " +
                 (wait && share ? fmt::format("{:.1f} ms ({:.0f}%)", *wait, 100 * *share) : "–");
        });

  md << "\n## 6. GPU\n\nResNet-50 with AMP bf16 and channels_last at 224 px; Python eager: "
        "torchvision's resnet50 with the same batch, precision and memory format.\n\n";
  table(md, reports, "gpu",
        "| GPU | model | policy | batch | augcore img/s | PyTorch img/s | × baseline | "
        "ratio to PyTorch |",
        [](const Row& r) {
          return r.str("gpu") + " | " + r.str("model") + " | " + r.str("policy") + " | " +
                 cell(r.number("batch")) + " | " + rate(r.number("augcore_images_per_s")) + " | " +
                 rate(r.number("torch_images_per_s")) + " | " + ratio_text(r, "ratio_baseline") +
                 " | " + ratio(r.number("ratio"));
        });
  md << "\nThe procedure for a GPU machine is in [performance.md](performance.md#gpu).\n";

  md << "\n## 7. Floors: the essential pass alone\n\nWhat the overhead of a method could "
        "not go below: the pass it cannot do without, timed alone (no optimizer step, no "
        "policy around it) on the same model and batch, in the same rotation as the steps "
        "of sections 2 and 3; *step ms* is section 3's figure for the step it is compared "
        "with, and *floor* = 1 + pass / step per round (median and 95 % interval). A measured "
        "ratio near its floor leaves only the pass "
        "itself to make faster; a floor above the target means the target cannot be met by "
        "this design on this machine.\n\n";
  table(md, reports, "floor",
        "| model | input, batch | policy | settings | essential pass | pass ms | against | step ms "
        "| floor | measured |",
        [](const Row& r) {
          return r.str("model") + " | " + r.str("input") + " | " + r.str("policy") + " | " +
                 r.str("settings") + " | " + r.str("pass") + " | " +
                 cell(r.number("pass_ms"), "{:.1f}") + " | " + r.str("against") + " | " +
                 cell(r.number("step_ms"), "{:.1f}") + " | " + ratio_text(r, "floor") + " | " +
                 ratio_text(r, "measured");
        });
  return md.str();
}

}  // namespace augcore::bench
