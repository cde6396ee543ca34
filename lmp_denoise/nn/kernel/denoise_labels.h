// lmp-denoise: per-atom structure labels by template matching, one source for the LAMMPS plugin
// (cpp/compute_denoise.cpp) and the Python package (python_binding.cpp; lmp_denoise/infer/labels.py
// holds the same rule in numpy for machines without a compiler). For a template with k neighbours,
// an atom's descriptor is its k nearest neighbours' distances sorted within each species (species
// counts must equal the template's) and the k (k - 1) / 2 distances between those neighbours,
// sorted; the score is the RMS difference from the template over all entries divided by the
// template's nearest-neighbour distance, capped at 1. Best template wins if its score is at most
// the threshold, else "other" (the last label). An atom of an inheriting species (O in silica: not
// a label neighbour) left "other" takes the label and score of the best-matched of its first shell
// of neighbours if all of them are labelled and within reach. Where the model file sets 'average'
// (silica), the choice between structures is made on each structure's best score averaged over the
// label neighbour atoms (Si in silica) within that reach (structure_scores, choose): thermal distortions that
// make one atom's network look like a neighbouring polymorph average out, while the threshold on
// the atom's own score still leaves defects and liquid "other". Templates, names, threshold,
// 'average' and the inheritance rules come from the model file ('labels').
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace lmp_denoise {

struct DenoiseLabels {
  struct Template {
    int label = 0;
    int species = 0;              // model species of the centre atom
    std::vector<int> counts;      // neighbours of each model species among the k nearest
    std::vector<double> radial;   // k values
    std::vector<double> pairs;    // k (k - 1) / 2 values
    double spacing = 1.0;
    // the sorted pairs as runs of equal values (an ideal lattice has few distances): each run's
    // value and end, and the midpoints between consecutive runs (group_pairs() fills them)
    std::vector<double> run_value, run_split;
    std::vector<size_t> run_end;
  };
  struct Neighbour {
    double distance;
    double vector[3];
    int species;
    int atom;    // the caller's index of the neighbour
  };
  struct Inherit {
    int species = -1;
    int count = 0;          // first-shell neighbours that pass their label on
    double within = 0.0;    // each of them at most this far (model units)
  };

  std::vector<std::string> names;    // structures, then "other"
  std::vector<Template> templates;
  double threshold = 0.0;
  double reach = 0.0;    // neighbours are searched this far (model units)
  std::vector<int> neighbour_species;    // model species whose atoms count as neighbours
  std::vector<Inherit> inherit;          // species labelled through their first shell
  double average = 0.0;    // model units: the choice between structures averages the structure scores
                           // of the label neighbour atoms this close (itself included); 0: off

  bool empty() const { return templates.empty(); }

  // the runs of equal values in each template's sorted pairs, which fits() uses (call once the
  // templates are read)
  void group_pairs()
  {
    for (auto &t : templates) {
      t.run_value.clear();
      t.run_split.clear();
      t.run_end.clear();
      for (size_t p = 0; p < t.pairs.size(); ++p) {
        if (p > 0 && t.pairs[p] != t.pairs[p - 1]) {
          t.run_end.push_back(p);
          t.run_split.push_back(0.5 * (t.pairs[p - 1] + t.pairs[p]));
        }
        if (p == 0 || t.pairs[p] != t.pairs[p - 1]) t.run_value.push_back(t.pairs[p]);
      }
      if (!t.pairs.empty()) t.run_end.push_back(t.pairs.size());
    }
  }

  int other() const { return static_cast<int>(names.size()) - 1; }

  // neighbours that templates and inheritance look at
  int width() const
  {
    size_t k = 0;
    for (const auto &t : templates) k = std::max(k, t.radial.size());
    for (const auto &rule : inherit) k = std::max(k, static_cast<size_t>(rule.count));
    return static_cast<int>(k);
  }

  bool counts_as_neighbour(int species) const
  {
    return std::find(neighbour_species.begin(), neighbour_species.end(), species) != neighbour_species.end();
  }

  // nullptr: this species does not inherit
  const Inherit *inherit_rule(int species) const
  {
    for (const auto &rule : inherit)
      if (rule.species == species) return &rule;
    return nullptr;
  }

  // keeps the width() nearest of 'near' (model units, any order), sorted by distance
  void keep_nearest(std::vector<Neighbour> &near) const
  {
    const size_t keep = std::min(static_cast<size_t>(width()), near.size());
    std::partial_sort(near.begin(), near.begin() + keep, near.end(),
                      [](const Neighbour &a, const Neighbour &b) { return a.distance < b.distance; });
    near.resize(keep);
  }

  struct Descriptor {    // of one atom for one k: species counts, radial and pair distances
    size_t k = 0;
    std::vector<int> counts;
    std::vector<double> radial, pairs;    // pairs: unsorted until a template needs them sorted
    bool pairs_sorted = false;
    std::vector<size_t> run_count;    // per run of the template being scored
  };
  // one per distinct k among a species' templates; kept between atoms by the caller (one per
  // thread) so that its buffers are allocated once
  using Scratch = std::vector<Descriptor>;

  // label and score of an atom of this species, from its neighbours in model units sorted by
  // distance (at least width() of them where available)
  std::pair<int, double> classify(int species, const std::vector<Neighbour> &sorted, Scratch &seen) const
  {
    int label = other();
    double best = 1.0;
    size_t described = 0;    // seen[0 .. described) hold this atom's descriptors
    for (const auto &t : templates) {
      // a template whose radial part alone scores at or beyond the best so far cannot win
      const double s = score(t, species, sorted, seen, described, best);
      if (s < best) {
        best = s;
        label = t.label;
      }
    }
    if (best > threshold) label = other();
    return {label, best};
  }

  // whether an atom of this species takes a structure label from its own templates, i.e. whether
  // classify() would not call it "other", without finding the best template: the first that
  // scores at most the threshold decides; its pair distances are compared unsorted with the
  // template's runs, which is exact where they fall into them and otherwise often enough bounds
  // the score above the threshold (what the disorder rule needs, on every atom of every frame)
  bool fits(int species, const std::vector<Neighbour> &sorted, Scratch &seen) const
  {
    const double above = std::nextafter(threshold, 2.0);    // a radial part this large rules a template out
    size_t described = 0;
    for (const auto &t : templates)
      if (score(t, species, sorted, seen, described, above, true) <= threshold) return true;
    return false;
  }

  // every structure's best template score of an atom of this species (1 where none applies), in
  // scores[0 .. other()): what an average over neighbouring atoms needs
  void structure_scores(int species, const std::vector<Neighbour> &sorted, Scratch &seen, double *scores) const
  {
    std::fill(scores, scores + other(), 1.0);
    size_t described = 0;
    for (const auto &t : templates)
      scores[t.label] = std::min(scores[t.label], score(t, species, sorted, seen, described, scores[t.label]));
  }

  // label and score from averaged structure scores: the structure of the lowest mean, if the atom's
  // own score for it is at most the threshold; the score reported is the atom's own
  std::pair<int, double> choose(const double *mean, const double *own) const
  {
    const int label = static_cast<int>(std::min_element(mean, mean + other()) - mean);
    if (own[label] > threshold) return {other(), own[label]};
    return {label, own[label]};
  }

  // the neighbours an atom of this species may inherit from if it is left "other" ('count' atoms,
  // or none)
  std::vector<int> donors(int species, const std::vector<Neighbour> &sorted) const
  {
    const Inherit *rule = inherit_rule(species);
    if (!rule || static_cast<int>(sorted.size()) < rule->count) return {};
    std::vector<int> out;
    for (int n = 0; n < rule->count; ++n) {
      if (sorted[n].distance > rule->within) return {};
      out.push_back(sorted[n].atom);
    }
    return out;
  }

 private:
  // template t's score of an atom of this species, or a value >= bound where its radial part alone
  // already reaches bound (its pair distances are then not sorted); 1 where t does not apply
  // (runs: first try the template's runs, see run_squares: exact, or a lower bound that may
  // already reach the bound)
  double score(const Template &t, int species, const std::vector<Neighbour> &sorted, Scratch &seen, size_t &described,
               double bound, bool runs = false) const
  {
    const size_t k = t.radial.size();
    if (t.species != species || sorted.size() < k) return 1.0;
    auto found = std::find_if(seen.begin(), seen.begin() + described, [k](const Descriptor &d) { return d.k == k; });
    if (found == seen.begin() + described) {
      if (described == seen.size()) seen.emplace_back();
      describe_radial(sorted, k, seen[described]);
      found = seen.begin() + described++;
    }
    if (found->counts != t.counts) return 1.0;
    const double entries = static_cast<double>(k + k * (k - 1) / 2);
    double squares = 0.0;
    for (size_t n = 0; n < k; ++n) squares += (found->radial[n] - t.radial[n]) * (found->radial[n] - t.radial[n]);
    const double radial_only = std::sqrt(squares / entries) / t.spacing;
    if (radial_only >= bound) return radial_only;
    if (found->pairs.empty() && k > 1) describe_pairs(sorted, k, *found);
    if (runs && !found->pairs_sorted && !t.run_value.empty()) {    // each pair distance against its nearest run
      double nearest = 0.0;
      const bool exact = run_squares(t, *found, nearest);
      const double s = std::sqrt((squares + nearest) / entries) / t.spacing;
      if (exact) return std::min(1.0, s);
      if (s >= bound) return s;    // a lower bound already at the bound: no need to sort
    }
    if (!found->pairs_sorted) std::sort(found->pairs.begin(), found->pairs.end());
    found->pairs_sorted = true;
    for (size_t p = 0; p < found->pairs.size(); ++p)
      squares += (found->pairs[p] - t.pairs[p]) * (found->pairs[p] - t.pairs[p]);
    return std::min(1.0, std::sqrt(squares / entries) / t.spacing);
  }
  // species counts and the radial part (by species, then distance: the list is sorted by distance,
  // so this is a stable partition); the pair part is left empty until needed
  void describe_radial(const std::vector<Neighbour> &sorted, size_t k, Descriptor &out) const
  {
    out.k = k;
    out.counts.assign(templates.front().counts.size(), 0);
    out.radial.clear();
    out.pairs.clear();
    out.pairs_sorted = false;
    for (size_t n = 0; n < k; ++n) {
      const int s = sorted[n].species;
      if (s >= 0 && s < static_cast<int>(out.counts.size())) ++out.counts[s];
    }
    for (size_t s = 0; s < out.counts.size(); ++s)
      for (size_t n = 0; n < k; ++n)
        if (sorted[n].species == static_cast<int>(s)) out.radial.push_back(sorted[n].distance);
  }

  // the k (k - 1) / 2 distances between the k nearest neighbours, sorted
  void describe_pairs(const std::vector<Neighbour> &sorted, size_t k, Descriptor &out) const
  {
    for (size_t a = 0; a < k; ++a)
      for (size_t b = a + 1; b < k; ++b) {
        double d2 = 0.0;
        for (int c = 0; c < 3; ++c) {
          const double d = sorted[a].vector[c] - sorted[b].vector[c];
          d2 += d * d;
        }
        out.pairs.push_back(std::sqrt(d2));
      }
  }

  // the pair part of the score without sorting: each pair distance against the nearest of the
  // template's runs (split at their midpoints). No pairing of the distances with the template's
  // sorted values costs less, so this bounds the sorted sum from below; where each run receives
  // its own count of distances it is the sorted sum (sorting would pair the same values with each
  // run's value): returns whether it is exact
  static bool run_squares(const Template &t, Descriptor &d, double &out)
  {
    const size_t runs = t.run_value.size();
    d.run_count.assign(runs, 0);
    out = 0.0;
    for (double a : d.pairs) {
      const size_t r = std::upper_bound(t.run_split.begin(), t.run_split.end(), a) - t.run_split.begin();
      ++d.run_count[r];
      out += (a - t.run_value[r]) * (a - t.run_value[r]);
    }
    size_t start = 0;
    for (size_t r = 0; r < runs; ++r) {
      if (d.run_count[r] != t.run_end[r] - start) return false;
      start = t.run_end[r];
    }
    return true;
  }
};

}    // namespace lmp_denoise
