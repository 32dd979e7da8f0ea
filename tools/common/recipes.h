// Recipes by name: `--config NAME` finds a recipe in the checkout's or the installed configs/.
#pragma once

#include <string>
#include <vector>

namespace augcore::cli {

struct RecipeFile {
  std::string name;     // the path under configs/ without ".yaml", e.g. "imagenet/r50_mra"
  std::string path;     // the file
  std::string summary;  // its first comment line
};

// The configs/ folders searched, in order: the working directory's, the checkout's (next to
// build*/bin) and the installed package's (share/augcore/configs).
std::vector<std::string> recipe_dirs();

// Every recipe in those folders, by name (the first folder holding a name wins).
std::vector<RecipeFile> list_recipes();

// The file `given` names: itself when it exists, else the recipe whose name, name + ".yaml" or
// file name (e.g. "imagenet_r50.yaml") it is; a missing path with a '/' is returned as given.
// Throws ConfigError listing the candidates when a name is ambiguous, or the closest name when
// there is none.
std::string resolve_recipe(const std::string& given);

}  // namespace augcore::cli
