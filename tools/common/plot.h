// Line plots to PNG through gnuplot: curves with optional spread bands, several panels a page.
#pragma once

#include <string>
#include <vector>

namespace augcore::plot {

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  // a shaded band (e.g. mean ± std) when not empty; same size as x
  int colour = 0;              // gnuplot line colour index; 0: the series' position in the panel
  bool dashed = false;
};

struct Panel {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool log_y = false;
  bool key_inside = false;  // legend inside the plot (top right) instead of beside it
};

// Writes `panels` (in a grid of `columns`) to a PNG of width x height pixels by running
// gnuplot (its pngcairo terminal) on a generated script. Panels without data are skipped; a
// series of one point is drawn as a marker (with its band as an error bar).
// Throws std::runtime_error when gnuplot is missing or fails.
void write_png(const std::string& path, const std::vector<Panel>& panels, int columns = 1,
               int width = 900, int height = 600);

}  // namespace augcore::plot
