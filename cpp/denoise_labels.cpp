/* ----------------------------------------------------------------------
   lmp-denoise: structure labels by template matching (see denoise_labels.h)
------------------------------------------------------------------------- */

#include "denoise_labels.h"

#include <algorithm>
#include <cmath>

using namespace LAMMPS_NS;

int DenoiseLabels::max_k() const
{
  size_t k = 0;
  for (const auto &t : templates) k = std::max(k, t.radial.size());
  return static_cast<int>(k);
}

bool DenoiseLabels::counts_as_neighbour(int species) const
{
  return std::find(neighbour_species.begin(), neighbour_species.end(), species) != neighbour_species.end();
}

double DenoiseLabels::score(const Template &t, const std::vector<Neighbour> &sorted) const
{
  const size_t k = t.radial.size();
  if (sorted.size() < k) return 1.0;
  std::vector<int> counts(t.counts.size(), 0);
  for (size_t n = 0; n < k; ++n) {
    const int s = sorted[n].species;
    if (s < 0 || s >= (int) counts.size()) return 1.0;
    ++counts[s];
  }
  if (counts != t.counts) return 1.0;
  // radial part: by species, then distance (the list is sorted by distance: a stable partition)
  double squares = 0.0;
  size_t at = 0;
  for (size_t s = 0; s < counts.size(); ++s)
    for (size_t n = 0; n < k; ++n)
      if (sorted[n].species == (int) s) {
        const double diff = sorted[n].distance - t.radial[at++];
        squares += diff * diff;
      }
  std::vector<double> pairs;
  pairs.reserve(k * (k - 1) / 2);
  for (size_t a = 0; a < k; ++a)
    for (size_t b = a + 1; b < k; ++b) {
      double d2 = 0.0;
      for (int c = 0; c < 3; ++c) {
        const double d = sorted[a].vector[c] - sorted[b].vector[c];
        d2 += d * d;
      }
      pairs.push_back(std::sqrt(d2));
    }
  std::sort(pairs.begin(), pairs.end());
  for (size_t p = 0; p < pairs.size(); ++p) {
    const double diff = pairs[p] - t.pairs[p];
    squares += diff * diff;
  }
  return std::min(1.0, std::sqrt(squares / static_cast<double>(k + pairs.size())) / t.spacing);
}

std::pair<int, double> DenoiseLabels::classify(int species, const std::vector<Neighbour> &sorted) const
{
  int label = static_cast<int>(names.size()) - 1;
  double best = 1.0;
  for (const auto &t : templates) {
    if (t.species != species) continue;
    const double s = score(t, sorted);
    if (s < best) {
      best = s;
      label = t.label;
    }
  }
  if (best > threshold) label = static_cast<int>(names.size()) - 1;
  return {label, best};
}
