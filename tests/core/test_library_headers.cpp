// The library's face stays free of the config layer: no header that augcore/augcore.h reaches
// includes augcore/config/ (recipes are translated into typed options at the boundary).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string kInclude = std::string(AUGCORE_SOURCE_DIR) + "/include/";

// The augcore headers `header` includes directly.
std::vector<std::string> includes_of(const std::string& header) {
  std::ifstream in(kInclude + header);
  EXPECT_TRUE(in.good()) << header << " is missing";
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::regex line(R"re(#include\s+"(augcore/[^"]+)")re");
  std::vector<std::string> out;
  for (std::sregex_iterator it(s.begin(), s.end(), line), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

TEST(LibraryHeadersTest, NoHeaderReachableFromAugcoreHIncludesTheConfigLayer) {
  std::set<std::string> seen;
  std::vector<std::pair<std::string, std::string>> todo{{"augcore/augcore.h", "augcore/augcore.h"}};
  while (!todo.empty()) {
    const auto [header, chain] = todo.back();
    todo.pop_back();
    if (!seen.insert(header).second) continue;
    EXPECT_EQ(header.rfind("augcore/config/", 0), std::string::npos)
        << "the library's face includes the config layer: " << chain;
    for (const auto& next : includes_of(header))
      todo.emplace_back(next, chain + " -> " + next);
  }
  // The walk really follows the includes: the policies' and MaskSub's headers are reached.
  EXPECT_TRUE(seen.count("augcore/augment/keep.h"));
  EXPECT_TRUE(seen.count("augcore/objective/masksub.h"));
  EXPECT_TRUE(seen.count("augcore/core/error.h"));
}

// Every library area keeps recipe factories and schemas in its *_registry.h headers; the
// typed headers beside them never include the config layer.
TEST(LibraryHeadersTest, OnlyRegistryHeadersOfLibraryAreasIncludeTheConfigLayer) {
  std::size_t registries = 0, headers = 0;
  for (const char* area : {"augment", "objective", "models", "core", "eval", "dist"}) {
    for (const auto& file : std::filesystem::directory_iterator(kInclude + "augcore/" + area)) {
      const std::string name = file.path().filename().string();
      const std::string header = std::string("augcore/") + area + "/" + name;
      const bool registry =
          name.size() > 11 && name.compare(name.size() - 11, 11, "_registry.h") == 0;
      bool config = false;
      for (const auto& next : includes_of(header))
        config = config || next.rfind("augcore/config/", 0) == 0;
      EXPECT_TRUE(registry || !config) << header << " includes the config layer";
      registries += registry && config;
      ++headers;
    }
  }
  // The check sees the headers: the three registries that build from recipes are among them.
  EXPECT_EQ(registries, 3u);
  EXPECT_GT(headers, 40u);
}

}  // namespace
