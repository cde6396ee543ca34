/* ----------------------------------------------------------------------
   lmp-denoise: structure labels by template matching (see denoise_labels.h)
------------------------------------------------------------------------- */

#include "denoise_labels.h"

#include <algorithm>
#include <cmath>

using namespace LAMMPS_NS;

int DenoiseLabels::width() const
{
  size_t k = 0;
  for (const auto &t : templates) k = std::max(k, t.radial.size());
  for (const auto &rule : inherit) k = std::max(k, static_cast<size_t>(rule.count));
  return static_cast<int>(k);
}

const DenoiseLabels::Inherit *DenoiseLabels::inherit_rule(int species) const
{
  for (const auto &rule : inherit)
    if (rule.species == species) return &rule;
  return nullptr;
}

std::vector<int> DenoiseLabels::donors(int species, int label, const std::vector<Neighbour> &sorted) const
{
  const Inherit *rule = inherit_rule(species);
  if (!rule || label != other() || (int) sorted.size() < rule->count) return {};
  std::vector<int> out;
  for (int n = 0; n < rule->count; ++n) {
    if (sorted[n].distance > rule->within) return {};
    out.push_back(sorted[n].atom);
  }
  return out;
}

bool DenoiseLabels::counts_as_neighbour(int species) const
{
  return std::find(neighbour_species.begin(), neighbour_species.end(), species) != neighbour_species.end();
}

void DenoiseLabels::describe(const std::vector<Neighbour> &sorted, size_t k, Descriptor &out) const
{
  out.k = k;
  out.counts.assign(templates.front().counts.size(), 0);
  out.radial.clear();
  out.pairs.clear();
  for (size_t n = 0; n < k; ++n) {
    const int s = sorted[n].species;
    if (s >= 0 && s < (int) out.counts.size()) ++out.counts[s];
  }
  // radial part: by species, then distance (the list is sorted by distance: a stable partition)
  for (size_t s = 0; s < out.counts.size(); ++s)
    for (size_t n = 0; n < k; ++n)
      if (sorted[n].species == (int) s) out.radial.push_back(sorted[n].distance);
  for (size_t a = 0; a < k; ++a)
    for (size_t b = a + 1; b < k; ++b) {
      double d2 = 0.0;
      for (int c = 0; c < 3; ++c) {
        const double d = sorted[a].vector[c] - sorted[b].vector[c];
        d2 += d * d;
      }
      out.pairs.push_back(std::sqrt(d2));
    }
  std::sort(out.pairs.begin(), out.pairs.end());
}

std::pair<int, double> DenoiseLabels::classify(int species, const std::vector<Neighbour> &sorted) const
{
  int label = other();
  double best = 1.0;
  std::vector<Descriptor> seen;    // one per distinct k among this species' templates
  for (const auto &t : templates) {
    const size_t k = t.radial.size();
    if (t.species != species || sorted.size() < k) continue;
    auto found = std::find_if(seen.begin(), seen.end(), [k](const Descriptor &d) { return d.k == k; });
    if (found == seen.end()) {
      seen.emplace_back();
      describe(sorted, k, seen.back());
      found = seen.end() - 1;
    }
    if (found->counts != t.counts) continue;
    double squares = 0.0;
    for (size_t n = 0; n < k; ++n) squares += (found->radial[n] - t.radial[n]) * (found->radial[n] - t.radial[n]);
    for (size_t p = 0; p < found->pairs.size(); ++p)
      squares += (found->pairs[p] - t.pairs[p]) * (found->pairs[p] - t.pairs[p]);
    const double s = std::min(1.0, std::sqrt(squares / static_cast<double>(k + found->pairs.size())) / t.spacing);
    if (s < best) {
      best = s;
      label = t.label;
    }
  }
  if (best > threshold) label = other();
  return {label, best};
}
