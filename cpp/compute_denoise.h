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
  double user_distance;          // > 0: nearest-neighbour distance given by 'scale D'; 0: auto
  double margin;                 // room for denoising moves in the candidate list, reference units
  std::string device;
  std::vector<std::string> type_names;  // 'types' keyword values, one per atom type
  std::vector<int64_t> type_species;    // model species of each atom type (index 1..ntypes)

  class NeighList *list;            // candidates for the model's graph, with ghosts
  class NeighList *density_list;    // owned atoms' neighbours for the automatic scale
  double list_cutoff;               // requested cutoffs (LAMMPS adds the skin)
  double density_cutoff;
  double scale;          // factor applied to lengths before the model
  bool warned_moves;

  int nmax;
  double **xd;        // denoised positions of owned and ghost atoms
  double **output;    // per-atom array: x, y, z, |displacement|
  double stats[4];    // iterations, max and mean displacement, scale

  std::vector<float> edge_vectors, prediction;
  std::vector<int64_t> edge_index, species;
  std::vector<int64_t> compact;    // index of each owned/ghost atom in the model's graph, -1 if left out

  void parse_keywords(int, char **);
  void map_types(const std::vector<std::string> &);
  double box_volume_per_atom() const;
  double auto_scale();
  template <typename Visit> void for_each_local_pair(class NeighList *, Visit) const;
  double fixed_scale() const;
  void check_reach(double);
  void subdomain_box(double[3], double[3]) const;
  void build_graph(double);
  double move_atoms(double);
  void finish(int);
  std::vector<double> gather_all(const std::vector<double> &) const;
};

}    // namespace LAMMPS_NS

#endif
#endif
