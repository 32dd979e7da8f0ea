// Generated sections inside hand-written Markdown pages, between named marker comments.
#pragma once

#include <string>

namespace augcore::cli {

// Replaces the text between "<!-- NAME begin -->" and "<!-- NAME end -->" in the Markdown file
// `doc` with `text` (appends the marked section when absent; creates the file when missing).
void replace_doc_section(const std::string& doc, const std::string& name, const std::string& text);

}  // namespace augcore::cli
