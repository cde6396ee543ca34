/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: a TorchScript denoising model and the metadata it carries.
   Kept free of LAMMPS headers so that torch and LAMMPS meet only here.
------------------------------------------------------------------------- */

#ifndef LMP_DENOISE_MODEL_H
#define LMP_DENOISE_MODEL_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace LAMMPS_NS {

struct DenoiseModelInfo {
  int format_version = 0;
  double cutoff = 0.0;              // graph cutoff at the reference volume (A)
  int num_layers = 0;               // message-passing layers: receptive field = num_layers x cutoff
  double reference_volume = 0.0;    // volume per atom of the training lattices (A^3)
  std::vector<std::string> species;
  std::string dtype;
};

class DenoiseModel {
 public:
  static constexpr int FORMAT_VERSION = 1;

  // throws std::runtime_error with a message that says what to fix
  DenoiseModel(const std::string &path, const std::string &device, int device_index);
  ~DenoiseModel();

  const DenoiseModelInfo &info() const { return info_; }
  std::string device_name() const;

  // g(r) for natoms atoms: edge_vectors (nedges x 3, center -> neighbour, already scaled),
  // edge_index (2 x nedges: centers, then neighbours), species (natoms); out: natoms x 3
  void predict(const std::vector<float> &edge_vectors, const std::vector<int64_t> &edge_index,
               const std::vector<int64_t> &species, std::vector<float> &out);

  static bool cuda_available();
  static int cuda_device_count();
  static void set_threads(int);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DenoiseModelInfo info_;
};

}    // namespace LAMMPS_NS

#endif
