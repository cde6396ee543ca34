/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: compute denoise, score-based denoising of atomic positions
   (Hsu et al., npj Comput. Mater. 10, 2024), evaluated per MPI domain with ghost atoms.
------------------------------------------------------------------------- */

#ifdef COMPUTE_CLASS
// clang-format off
ComputeStyle(denoise,ComputeDenoise);
// clang-format on
#else

#ifndef LMP_COMPUTE_DENOISE_H
#define LMP_COMPUTE_DENOISE_H

#include "compute.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class DenoiseModel;

class ComputeDenoise : public Compute {
 public:
  ComputeDenoise(class LAMMPS *, int, char **);
  ~ComputeDenoise() override;
  void init() override;
  void init_list(int, class NeighList *) override;
  void compute_peratom() override;
  void compute_vector() override;
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  double memory_usage() override;

 private:
  std::unique_ptr<DenoiseModel> model;
  std::string model_path;
  int max_steps;
  double tol;                    // stop once the largest move (A) is below it
  double stepsize, momentum;     // r <- r - A g(r) + B (r - r_prev) after the first iteration
  bool user_recipe;              // keywords given: else the model file's recipe
  double user_distance;          // > 0: nearest-neighbour distance given by 'scale D'; 0: auto
  bool with_shape;               // 'shape auto': undo the homogeneous deformation (if the model's recipe measures it)
  double margin;                 // room for denoising moves in the candidate list, reference units
  std::string device;
  bool with_labels;              // 'labels yes': columns 5 and 6 hold the label index and its score
  int disorder;                  // 'disorder first|all' given (1 first, 0 all), else -1: the model file's
  bool disorder_first;           // disordered atoms go back to their first-iteration positions
  std::vector<std::string> type_names;  // 'types' keyword values, one per atom type
  std::vector<int64_t> type_species;    // model species of each atom type (index 1..ntypes)

  class NeighList *pairs;    // owned atoms' neighbours: graph candidates and the automatic scale
  double list_cutoff;        // of the occasional list: the model cutoff + margin at the smallest expected
                             // scale, or the density sphere of scale auto or the labels' reach if longer
  double density_cutoff;     // density sphere of the automatic scale (0 with 'scale D')
  double scale;              // factor applied to lengths before the model
  double shape[3][3];        // det 1: lengths (row vectors) x shape undo the homogeneous deformation
  double to_model[3][3];     // scale x shape: input lengths to model units
  double to_input[3][3];     // its inverse
  double shortest;           // smallest stretch of to_model: model units per input length, at least
  double nn_distance;        // median nearest-neighbour distance of the last automatic scale
  std::vector<int> shell_size;    // first-shell size of each dense owned atom (0: none, not dense)
  std::vector<std::vector<int>> shell_neighbours;    // their neighbours searched for it, per evaluation
  bool warned_moves;
  enum class Forward { POSITIONS, FEATURES, LABELS, SCORES } forward;    // what forward communication carries

  int nmax;
  double **xd;        // denoised positions of owned and ghost atoms
  double **output;    // per-atom array: x, y, z, |displacement| (, label index, score)
  double stats[6];    // iterations, max and mean displacement, scale, deformation, atoms that kept the first move

  std::vector<int64_t> candidate_offsets;    // CSR over owned atoms: neighbours within cutoff + margin
  std::vector<int> candidates;
  std::vector<int64_t> reached_ghosts;    // ghost atoms among the candidates: the only ones edges reach
  std::vector<int> list_row;              // each owned atom's row in the occasional list (-1: none)
  std::vector<int64_t> edge_offsets, edge_neighbours;    // CSR graph of one iteration
  std::vector<float> edge_vectors;                       // scaled, centre -> neighbour
  std::vector<int64_t> species;                          // model species of owned and ghost atoms
  std::vector<float> features, prediction;    // node features (all atoms, owned ones updated in place), g
  std::vector<double> last_move;                         // owned atoms' previous move (momentum)
  std::vector<double> first_x;                           // owned atoms after the first iteration (disorder first)
  std::vector<double> moves;                             // owned atoms' g(r) in input lengths, one iteration
  // open directions (find_open_space): orthonormal rows, how many, and the owned atoms' unwrapping
  double open_basis[3][3] = {};
  int open_dims = 0;
  std::vector<double> open_offsets;
  // of owned and ghost atoms, from label_atoms(); label_index -1 where only whether an atom is
  // labelled was asked (the disorder rule, labels not output)
  std::vector<double> label_index, label_score;
  std::vector<double> structure_scores;                  // labels.other() per atom, where labels average

  void parse_keywords(int, char **);
  void map_types(const std::vector<std::string> &);
  void check_recipe();
  double occupied_volume_per_atom() const;
  double auto_scale();
  double fixed_scale() const;
  void check_scale(double) const;
  bool measures_shape() const;
  void measure_shape();
  void set_length_map();
  void check_reach();
  void collect_candidates();
  void find_open_space();
  void remove_homogeneous_moves();
  // doubles per atom in a feature exchange: the float features travel two per double
  int feature_words() const;
  void build_edges();
  void evaluate_network();
  double move_atoms(bool);
  void label_atoms(bool which);
  void average_structure_scores();
  double model_vector(int i, int j, double *out) const;
  bigint keep_first_moves();
  void finish(int);
};

}    // namespace LAMMPS_NS

#endif
#endif
