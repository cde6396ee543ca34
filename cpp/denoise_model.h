/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: a model file (tabulated network + metadata) and its evaluation, layer by layer.
   Kept free of LAMMPS headers so that torch and LAMMPS meet only here.
------------------------------------------------------------------------- */

#ifndef LMP_DENOISE_MODEL_H
#define LMP_DENOISE_MODEL_H

#include "denoise_labels.h"
#include "denoise_scale.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace LAMMPS_NS {

using lmp_denoise::DenoiseLabels;    // one source with the Python package (lmp_denoise/nn/kernel)

struct DenoiseModelInfo {
  int format_version = 0;
  double cutoff = 0.0;              // graph cutoff at the reference volume (A)
  int num_layers = 0;               // message-passing layers
  double reference_volume = 0.0;    // volume per atom of the training lattices (A^3)
  int feature_size = 0;             // floats per atom exchanged between layers
  DenoiseScale::Recipe scale_recipe;    // constants of the automatic scale
  std::vector<std::string> species;
  std::string dtype;
  DenoiseLabels labels;                 // empty for files written before lmp-denoise 0.4
  double stepsize = 1.0, momentum = 0.0;    // iteration recipe (plain before lmp-denoise 0.4)
  double largest_response = 0.0;            // of the network at its lattices (0: not measured)
  double stability_margin = 0.9;            // share of the heavy-ball bound a stepsize may use
  bool disorder_first = false;    // disordered atoms keep the first iteration's move (all before 0.9)
  double ordered_share = 0.05;    // largest share of labelled neighbours of a disordered atom
  double disorder_reach = 1.5;    // those neighbours are within this many model cutoffs
  double open_gap = 0.0;    // vacuum gap (model cutoffs) that opens a periodic direction; 0: off (before 0.12)
  double open_spread = 0.5;    // smallest RMS extent (model cutoffs) of an open direction that counts
};

class DenoiseModel {
 public:
  static constexpr int FORMAT_VERSION = 2;

  // throws std::runtime_error with a message that says what to fix
  DenoiseModel(const std::string &path, const std::string &device, int device_index);
  ~DenoiseModel();

  const DenoiseModelInfo &info() const { return info_; }
  std::string device_name() const;

  // features (n x feature_size) of atoms with these model species
  void embed(const std::vector<int64_t> &species, std::vector<float> &h);
  // one interaction layer: h holds nodes x feature_size rows; the edges of centre i (< ncenters)
  // are offsets[i] .. offsets[i+1]-1 with scaled vectors centre -> neighbour, and reach only centres
  // and the rows in 'others'; the first ncenters rows of h are updated in place (the other rows,
  // ghost atoms, are left as they were)
  void layer(int k, std::vector<float> &h, const std::vector<float> &edge_vectors,
             const std::vector<int64_t> &offsets, const std::vector<int64_t> &neighbours, int64_t ncenters,
             const std::vector<int64_t> &others);
  // g(r) of the first n rows of h: n x 3
  void readout(const std::vector<float> &h, int64_t n, std::vector<float> &out);

  static bool cuda_available();
  static int cuda_device_count();
  static void set_threads(int);
  // fn(begin, end) over chunks of [0, n) on torch's thread count
  static void parallel(int64_t n, const std::function<void(int64_t, int64_t)> &fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DenoiseModelInfo info_;
};

}    // namespace LAMMPS_NS

#endif
