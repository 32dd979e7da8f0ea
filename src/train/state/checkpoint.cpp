#include "augcore/train/state/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/loop/task.h"
#include "augcore/train/state/amp.h"
#include "augcore/train/state/ema.h"
#include "augcore/train/state/optimizer.h"

namespace augcore::train {
namespace fs = std::filesystem;

namespace {

std::string type_error(const std::string& path, const std::string& key, const char* want) {
  return path + ": checkpoint entry '" + key + "' is not " + want + " (damaged or foreign file)";
}

// Keys whose value may change between a run and its resumption.
bool ignored_on_resume(const std::string& key) {
  static const char* const kIgnored[] = {"threads",
                                         "device",
                                         "output",
                                         "data.val",
                                         "data.val_transforms",
                                         "data.novel",
                                         "data.loader.workers",
                                         "data.loader.prefetch",
                                         "data.loader.pin_memory",
                                         "train.epochs",
                                         "train.log_every",
                                         "train.eval_ema",
                                         "train.eval_every",
                                         "train.checkpoint_every_steps",
                                         "train.step_log",
                                         "train.tensorboard",
                                         "train.recon_images",
                                         "dist.backend",
                                         "dist.timeout_s",
                                         "dist.grad_engine",
                                         "dist.bucket_mb",
                                         "dist.first_bucket_mb"};
  for (const char* k : kIgnored) {
    const std::string prefix(k);
    if (key == prefix || key.rfind(prefix + ".", 0) == 0) return true;
  }
  // An augmentor's file may move; its content is compared through its fingerprint.
  return key.rfind("policies[", 0) == 0 && key.size() > 11 &&
         key.compare(key.size() - 11, 11, ".checkpoint") == 0;
}

void flatten(const config::Node& node, const std::string& key,
             std::map<std::string, std::string>& out) {
  if (node.is_map()) {
    for (const auto& [k, v] : node.entries())
      flatten(v, key.empty() ? k : key + "." + k, out);
    if (node.entries().empty()) out[key] = "{}";
  } else if (node.is_sequence()) {
    for (std::size_t i = 0; i < node.items().size(); ++i)
      flatten(node.items()[i], key + "[" + std::to_string(i) + "]", out);
    if (node.items().empty()) out[key] = "[]";
  } else {
    out[key] = node.is_null() ? "null" : node.text();
  }
}

}  // namespace

void put_progress(c10::impl::GenericDict& checkpoint, const Progress& progress) {
  checkpoint.insert("epoch", progress.epoch);
  checkpoint.insert("batch", progress.batch);
  checkpoint.insert("step", progress.step);
  checkpoint.insert("best_top1", progress.best_top1);
  auto sums = pth::new_dict();
  for (const auto& [k, v] : progress.sums)
    sums.insert(k, v);
  checkpoint.insert("epoch_sums", sums);
}

Progress read_progress(const c10::impl::GenericDict& checkpoint, const std::string& path) {
  Progress p;
  p.epoch = int_entry(checkpoint, "epoch", path);
  p.step = int_entry(checkpoint, "step", path);
  if (checkpoint.contains("batch")) p.batch = int_entry(checkpoint, "batch", path);
  if (checkpoint.contains("best_top1")) p.best_top1 = real_entry(checkpoint, "best_top1", path);
  if (checkpoint.contains("epoch_sums")) {
    for (const auto& kv : dict_entry(checkpoint, "epoch_sums", path)) {
      if (!kv.key().isString() || !kv.value().isDouble()) {
        throw DataError(type_error(path, "epoch_sums", "a dict of numbers"));
      }
      p.sums[kv.key().toStringRef()] = kv.value().toDouble();
    }
  }
  if (p.epoch < 0 || p.batch < 0 || p.step < 0) {
    throw DataError(path + ": checkpoint position (epoch " + std::to_string(p.epoch) + ", batch " +
                    std::to_string(p.batch) + ", step " + std::to_string(p.step) +
                    ") is negative (damaged file)");
  }
  return p;
}

void save_checkpoint(const std::string& path, const RunState& state, const Progress& progress,
                     const config::Config& config) {
  auto ckpt = pth::new_dict();
  ckpt.insert("model", models::state_dict_ivalue(state.task.model()));
  ckpt.insert("optimizer", optimizer_state(state.optimizer));
  state.task.save_head(ckpt, progress);
  if (state.ema) ckpt.insert("ema", state.ema->state_dict());
  if (state.scaler) ckpt.insert("scaler", state.scaler->state_dict());
  put_progress(ckpt, progress);
  state.task.save_tail(ckpt);
  ckpt.insert("config", config.to_yaml());
  ckpt.insert("format", state.task.checkpoint_format());
  pth::save(ckpt, path);
}

void restore_weights(const c10::impl::GenericDict& checkpoint, const std::string& path, Task& task,
                     bool check_task) {
  if (check_task) task.check_checkpoint(checkpoint, path);
  const auto report = models::load_state_dict(
      task.model(), models::find_state_dict(c10::IValue(checkpoint), path), true);
  if (!report.ok()) throw DataError(path + ": does not fit the model: " + report.describe());
}

Progress restore_training(const c10::impl::GenericDict& checkpoint, const std::string& path,
                          const RunState& state, const config::Config& config) {
  if (checkpoint.contains("config")) {
    check_resumable(string_entry(checkpoint, "config", path), config, path, state.task.schema());
  }
  state.task.restore(checkpoint, path);
  try {
    load_optimizer_state(state.optimizer, entry(checkpoint, "optimizer", path));
  } catch (const DataError& e) {
    throw DataError(path + ": " + e.what());
  }
  if (state.ema && checkpoint.contains("ema")) {
    state.ema->load_state_dict(dict_entry(checkpoint, "ema", path), path);
  }
  if (state.scaler && checkpoint.contains("scaler")) {
    state.scaler->load_state_dict(dict_entry(checkpoint, "scaler", path), path);
  }
  return read_progress(checkpoint, path);
}

c10::impl::GenericDict load_checkpoint(const std::string& path) {
  const c10::IValue payload = pth::load(path);
  if (!payload.isGenericDict()) throw DataError(path + ": not an augcore checkpoint (no dict)");
  return payload.toGenericDict();
}

c10::IValue entry(const c10::impl::GenericDict& d, const std::string& key,
                  const std::string& path) {
  const auto it = d.find(key);
  if (it == d.end()) throw DataError(path + ": checkpoint has no '" + key + "' entry");
  return it->value();
}

std::int64_t int_entry(const c10::impl::GenericDict& d, const std::string& key,
                       const std::string& path) {
  const c10::IValue v = entry(d, key, path);
  if (!v.isInt()) throw DataError(type_error(path, key, "an integer"));
  return v.toInt();
}

double real_entry(const c10::impl::GenericDict& d, const std::string& key,
                  const std::string& path) {
  const c10::IValue v = entry(d, key, path);
  if (v.isInt()) return static_cast<double>(v.toInt());
  if (!v.isDouble()) throw DataError(type_error(path, key, "a number"));
  return v.toDouble();
}

std::string string_entry(const c10::impl::GenericDict& d, const std::string& key,
                         const std::string& path) {
  const c10::IValue v = entry(d, key, path);
  if (!v.isString()) throw DataError(type_error(path, key, "a string"));
  return v.toStringRef();
}

c10::impl::GenericDict dict_entry(const c10::impl::GenericDict& d, const std::string& key,
                                  const std::string& path) {
  const c10::IValue v = entry(d, key, path);
  if (!v.isGenericDict()) throw DataError(type_error(path, key, "a dict"));
  return v.toGenericDict();
}

std::string newest_checkpoint(const std::string& run_dir, std::vector<std::string>& skipped) {
  std::string best;
  std::int64_t best_step = -1;
  bool any = false;
  for (const char* name : {"last.pt", "best.pt"}) {
    const std::string path = (fs::path(run_dir) / name).string();
    if (!fs::exists(path)) continue;
    any = true;
    try {
      const auto step = int_entry(load_checkpoint(path), "step", path);
      if (step > best_step) {
        best_step = step;
        best = path;
      }
    } catch (const DataError& e) {
      skipped.push_back(e.what());
    }
  }
  if (any && best.empty()) {
    throw DataError("--resume auto: no readable checkpoint in '" + run_dir +
                    "': " + skipped.front());
  }
  return best;
}

void check_resumable(const std::string& saved_yaml, const config::Config& config,
                     const std::string& path, const config::Schema& schema) {
  std::map<std::string, std::string> before, now;
  const config::Node saved = config::parse_yaml(saved_yaml, path + " (its config)");
  try {
    // Keys added to augcore after the checkpoint was written take their defaults, the
    // behaviour the run had.
    flatten(config::Config::from_node(saved, schema).resolved(), "", before);
  } catch (const ConfigError&) {
    flatten(saved, "", before);  // it no longer validates: compare what it holds
  }
  flatten(config::parse_yaml(config.to_yaml(), "the config"), "", now);
  auto show = [](const std::map<std::string, std::string>& m, const std::string& k) {
    const auto it = m.find(k);
    return it == m.end() ? std::string("(absent)") : "'" + it->second + "'";
  };
  std::map<std::string, std::string> keys = before;
  keys.insert(now.begin(), now.end());
  for (const auto& kv : keys) {
    const std::string& k = kv.first;
    if (ignored_on_resume(k)) continue;
    const auto a = before.find(k), b = now.find(k);
    if (a != before.end() && b != now.end() && a->second == b->second) continue;
    throw ConfigError(k + ": the config has " + show(now, k) + " but checkpoint " + path +
                      " was trained with " + show(before, k) +
                      "; resuming would not continue that run (use --overwrite to start over)");
  }
}

void truncate_jsonl(const std::string& path, const std::string& key, std::int64_t max) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains(key) || !record[key].is_number_integer()) continue;
    if (record[key].get<std::int64_t>() <= max) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace augcore::train
