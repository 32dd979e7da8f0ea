#include "common/doc_section.h"

#include <fstream>
#include <sstream>

#include "augcore/core/runtime.h"

namespace augcore::cli {

void replace_doc_section(const std::string& doc, const std::string& name, const std::string& text) {
  std::string page;
  {
    std::ifstream in(doc);
    std::stringstream ss;
    ss << in.rdbuf();
    page = ss.str();
  }
  const std::string begin = "<!-- " + name + " begin -->";
  const std::string end = "<!-- " + name + " end -->";
  const std::string block = begin + "\n" + text + end;
  const auto b = page.find(begin);
  const auto e = page.find(end);
  if (b != std::string::npos && e != std::string::npos && e > b) {
    page.replace(b, e + end.size() - b, block);
  } else {
    page += (page.empty() || page.back() == '\n' ? "\n" : "\n\n") + block + "\n";
  }
  write_file_atomic(doc, page);
}

}  // namespace augcore::cli
