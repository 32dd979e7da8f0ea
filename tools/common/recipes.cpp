#include "common/recipes.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "augcore/config/config.h"
#include "augcore/core/error.h"

namespace augcore::cli {
namespace fs = std::filesystem;

namespace {

std::string first_comment(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) != 0) break;
    const auto text = line.find_first_not_of("# ");
    if (text != std::string::npos) return line.substr(text);
  }
  return {};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::vector<std::string> recipe_dirs() {
  std::vector<fs::path> candidates{fs::current_path() / "configs"};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path bin = exe.parent_path();
    candidates.push_back(bin / ".." / ".." / "configs");
    candidates.push_back(bin / ".." / "share" / "augcore" / "configs");
  }
  std::vector<std::string> out;
  std::set<fs::path> seen;
  for (const auto& c : candidates) {
    if (!fs::is_directory(c, ec)) continue;
    const fs::path canonical = fs::canonical(c, ec);
    if (!ec && seen.insert(canonical).second) out.push_back(canonical.string());
  }
  return out;
}

std::vector<RecipeFile> list_recipes() {
  std::vector<RecipeFile> out;
  std::set<std::string> names;
  for (const auto& dir : recipe_dirs()) {
    std::vector<RecipeFile> found;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".yaml") continue;
      const std::string name = fs::relative(entry.path(), dir).replace_extension().generic_string();
      if (names.insert(name).second) {
        found.push_back({name, entry.path().string(), first_comment(entry.path())});
      }
    }
    std::sort(found.begin(), found.end(),
              [](const RecipeFile& a, const RecipeFile& b) { return a.name < b.name; });
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::string resolve_recipe(const std::string& given) {
  std::error_code ec;
  if (fs::is_regular_file(given, ec)) return given;
  std::string wanted = given;
  if (fs::path(wanted).extension() == ".yaml")
    wanted = fs::path(wanted).replace_extension().string();
  const auto recipes = list_recipes();
  std::vector<const RecipeFile*> by_name, by_file;
  for (const auto& r : recipes) {
    if (r.name == wanted) by_name.push_back(&r);
    if (fs::path(r.name).filename() == wanted) by_file.push_back(&r);
  }
  if (by_name.size() == 1) return by_name.front()->path;
  if (by_file.size() == 1) return by_file.front()->path;
  if (by_file.size() > 1) {
    std::vector<std::string> names;
    for (const auto* r : by_file)
      names.push_back(r->name);
    throw ConfigError(fmt::format("config: '{}' names several recipes: {}", given, join(names)));
  }
  // A path that does not exist is reported as such by the loader.
  if (given.find('/') != std::string::npos) return given;
  std::vector<std::string> names;
  for (const auto& r : recipes) {
    names.push_back(r.name);
    names.push_back(fs::path(r.name).filename().string());
  }
  const std::string close = config::closest_match(wanted, names);
  throw ConfigError(
      fmt::format("config: no recipe file or name '{}'{}", given,
                  close.empty() ? " (see --list-recipes)" : " (did you mean '" + close + "'?)"));
}

}  // namespace augcore::cli
