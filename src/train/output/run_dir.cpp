#include "augcore/train/output/run_dir.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "augcore/core/error.h"
#include "augcore/core/runtime.h"
#include "augcore/train/output/tensorboard.h"
#include "augcore/train/state/checkpoint.h"

namespace augcore::train {
namespace fs = std::filesystem;

namespace {

// Files a training program writes into its run directory.
bool is_run_file(const std::string& name) {
  static const char* const kFiles[] = {"last.pt",   "best.pt",      "metrics.jsonl", "steps.jsonl",
                                       "train.log", "summary.json", "config.yaml"};
  for (const char* f : kFiles) {
    if (name == f) return true;
  }
  if (is_event_file(name)) return true;
  return name.rfind("recon_epoch", 0) == 0 && fs::path(name).extension() == ".png";
}

}  // namespace

bool resumes_run_in(const std::string& resume, const std::string& dir) {
  if (resume == "auto") return true;
  if (resume.empty()) return false;
  return fs::weakly_canonical(fs::absolute(resume).parent_path()) ==
         fs::weakly_canonical(fs::absolute(dir));
}

bool holds_run(const std::string& dir) {
  for (const char* f : {"last.pt", "best.pt", "metrics.jsonl"}) {
    if (fs::exists(fs::path(dir) / f)) return true;
  }
  return false;
}

std::string check_run_dir(const std::string& dir, bool resuming, bool overwrite) {
  if (resuming && overwrite) {
    throw ConfigError("--overwrite: cannot be combined with resuming the run in '" + dir +
                      "' (one continues it, the other deletes it)");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw ConfigError("output: cannot create run directory '" + dir +
                      "': " + (ec ? ec.message() : "not a directory"));
  }
  if (!resuming && !overwrite && holds_run(dir)) {
    throw ConfigError("output: '" + dir +
                      "' already holds a run; pass --resume auto to continue it or "
                      "--overwrite to replace it");
  }
  const fs::path probe = fs::path(dir) / (".write-test." + std::to_string(::getpid()));
  {
    std::ofstream out(probe);
    out << "augcore";
    out.flush();
    if (!out) {
      const int err = errno;
      fs::remove(probe, ec);
      throw ConfigError("output: cannot write in '" + dir + "': " + std::strerror(err));
    }
  }
  fs::remove(probe, ec);
  const fs::space_info space = fs::space(dir, ec);
  if (ec) return "free space unknown";
  return fmt::format("{:.1f} GiB free", static_cast<double>(space.available) / (1ull << 30));
}

void clear_run_dir(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && is_run_file(e.path().filename().string())) {
      fs::remove(e.path(), ec);
      if (ec) throw ConfigError("--overwrite: cannot delete '" + e.path().string() + "'");
    }
  }
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  const std::string own = ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const auto at = name.find(".tmp.");
    if (at == std::string::npos || !is_run_file(name.substr(0, at))) continue;
    if (name.compare(at, std::string::npos, own) == 0) continue;
    if (fs::remove(e.path(), ec)) removed.push_back(name);
  }
  return removed;
}

std::vector<std::string> open_run_dir(const std::string& dir, const RunStart& start,
                                      const std::string& config_yaml) {
  const fs::path d(dir);
  if (start.overwrite) clear_run_dir(dir);
  std::vector<std::string> lines;
  for (const auto& f : remove_stale_temporaries(dir))
    lines.push_back("note: removed " + f + ", an incomplete write of a killed run");
  if (start.same_run && !start.resumed_from.empty()) {
    truncate_jsonl((d / "metrics.jsonl").string(), "epoch", start.epoch);
    truncate_jsonl((d / "steps.jsonl").string(), "step", start.step);
  } else {
    for (const char* f : {"metrics.jsonl", "steps.jsonl", "train.log"})
      fs::remove(d / f);
  }
  write_file_atomic((d / "config.yaml").string(), config_yaml);
  if (!start.resumed_from.empty()) {
    lines.push_back(fmt::format("resumed from {} at epoch {}, batch {} (step {})",
                                start.resumed_from, start.epoch + 1, start.batch, start.step));
  }
  return lines;
}

}  // namespace augcore::train
