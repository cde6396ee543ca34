/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: per-atom structure labels by template matching, the same rule as
   lmp_denoise/infer/labels.py. For a template with k neighbours, an atom's descriptor is its k nearest
   neighbours' distances sorted within each species (species counts must equal the template's)
   and the k (k - 1) / 2 distances between those neighbours, sorted; the score is the RMS
   difference from the template over all entries divided by the template's nearest-neighbour
   distance, capped at 1. Best template wins if its score is at most the threshold, else "other"
   (the last label). An atom of an inheriting species (O in silica: not a label neighbour) left
   "other" takes the label and score of the best-matched of its first shell of neighbours if all
   of them are labelled and within reach. Templates, names, threshold and the inheritance rules
   come from the model file ('labels').
------------------------------------------------------------------------- */

#ifndef LMP_DENOISE_LABELS_H
#define LMP_DENOISE_LABELS_H

#include <string>
#include <vector>

namespace LAMMPS_NS {

struct DenoiseLabels {
  struct Template {
    int label = 0;
    int species = 0;              // model species of the centre atom
    std::vector<int> counts;      // neighbours of each model species among the k nearest
    std::vector<double> radial;   // k values
    std::vector<double> pairs;    // k (k - 1) / 2 values
    double spacing = 1.0;
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

  bool empty() const { return templates.empty(); }
  int other() const { return static_cast<int>(names.size()) - 1; }
  int width() const;    // neighbours that templates and inheritance look at
  bool counts_as_neighbour(int species) const;
  const Inherit *inherit_rule(int species) const;    // nullptr: this species does not inherit
  // label and score of an atom of this species, from its neighbours in model units sorted by
  // distance (at least width() of them where available)
  std::pair<int, double> classify(int species, const std::vector<Neighbour> &sorted) const;
  // the neighbours an atom left "other" may inherit from ('count' atoms, or none)
  std::vector<int> donors(int species, int label, const std::vector<Neighbour> &sorted) const;

 private:
  struct Descriptor {    // of one atom for one k: species counts, sorted radial and pair distances
    size_t k = 0;
    std::vector<int> counts;
    std::vector<double> radial, pairs;
  };
  void describe(const std::vector<Neighbour> &sorted, size_t k, Descriptor &out) const;
};

}    // namespace LAMMPS_NS

#endif
