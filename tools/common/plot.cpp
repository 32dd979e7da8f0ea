#include "common/plot.h"

#include <fmt/core.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace augcore::plot {
namespace {

// A gnuplot string literal (single quotes; a quote is doubled).
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s)
    out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string number(double v) {
  return std::isfinite(v) ? fmt::format("{:.9g}", v) : "NaN";
}

// Twelve distinguishable colours (Paul Tol's "muted" and "bright" schemes); past twelve the
// colours repeat with dashed lines.
const char* const kPalette[] = {"#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
                                "#CC6677", "#882255", "#AA4499", "#EE6677", "#4477AA", "#000000"};

std::string colour_of(int index) {
  return kPalette[(index - 1) % 12];
}

bool has_data(const Panel& p) {
  for (const auto& s : p.series) {
    if (!s.x.empty()) return true;
  }
  return false;
}

}  // namespace

void write_png(const std::string& path, const std::vector<Panel>& panels, int columns, int width,
               int height) {
  std::vector<const Panel*> shown;
  for (const auto& p : panels) {
    if (has_data(p)) shown.push_back(&p);
  }
  if (shown.empty()) throw std::runtime_error("nothing to plot for " + path);
  std::string script;
  int block = 0;
  std::vector<std::vector<std::string>> plots(shown.size());
  for (std::size_t k = 0; k < shown.size(); ++k) {
    int position = 0;
    for (const auto& s : shown[k]->series) {
      ++position;
      const int colour = s.colour > 0 ? s.colour : position;
      if (s.x.empty()) continue;
      const std::string name = fmt::format("$d{}", block++);
      script += name + " << EOD\n";
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        script += number(s.x[i]) + " " + number(s.y[i]);
        if (!s.lo.empty()) script += " " + number(s.lo[i]) + " " + number(s.hi[i]);
        script += "\n";
      }
      script += "EOD\n";
      const bool dashed = s.dashed != ((colour - 1) / 12 % 2 == 1);
      // One point (a run evaluated only at its end) has no line to draw: a marker (open when
      // dashed), with its band as an error bar.
      if (s.x.size() == 1) {
        plots[k].push_back(
            fmt::format("{} using 1:2{} with {} pt {} ps 1.5 lw 2 lc rgb '{}' title {}", name,
                        s.lo.empty() ? "" : ":3:4", s.lo.empty() ? "points" : "yerrorbars",
                        dashed ? 6 : 7, colour_of(colour), quoted(s.name)));
        continue;
      }
      if (!s.lo.empty()) {
        plots[k].push_back(fmt::format(
            "{} using 1:3:4 with filledcurves lc rgb '{}' fs transparent solid 0.15 noborder "
            "notitle",
            name, colour_of(colour)));
      }
      plots[k].push_back(fmt::format("{} using 1:2 with lines lw 2 lc rgb '{}' dt {} title {}",
                                     name, colour_of(colour), dashed ? 2 : 1, quoted(s.name)));
    }
  }
  const int cols = std::max(1, std::min<int>(columns, static_cast<int>(shown.size())));
  const int rows = static_cast<int>((shown.size() + cols - 1) / cols);
  script += fmt::format(
      "set terminal pngcairo noenhanced size {},{} font 'sans,10'\nset output {}\nset grid\n"
      "set multiplot layout {},{}\n",
      width, height, quoted(path), rows, cols);
  for (std::size_t k = 0; k < shown.size(); ++k) {
    const Panel& p = *shown[k];
    script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n{}\n{}\n", quoted(p.title),
                          quoted(p.xlabel), quoted(p.ylabel),
                          p.log_y ? "set logscale y" : "unset logscale y",
                          p.key_inside ? "set key inside right top opaque font ',8'"
                                       : "set key outside right top vertical font ',8'");
    script += "plot ";
    for (std::size_t i = 0; i < plots[k].size(); ++i)
      script += (i ? ", \\\n  " : "") + plots[k][i];
    script += "\n";
  }
  script += "unset multiplot\nset output\n";
  std::FILE* gp = ::popen("gnuplot 2>&1", "w");
  if (!gp) throw std::runtime_error("cannot start gnuplot");
  std::fwrite(script.data(), 1, script.size(), gp);
  const int status = ::pclose(gp);
  if (status != 0) {
    throw std::runtime_error(
        WIFEXITED(status) && WEXITSTATUS(status) == 127
            ? std::string("gnuplot is not installed (tools/install_deps.sh installs gnuplot-nox)")
            : "gnuplot failed writing " + path);
  }
}

}  // namespace augcore::plot
