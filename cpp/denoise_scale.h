/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: the automatic length scale, the same recipe as lmp_denoise/infer/scale.py.
   Per atom, a smoothed count of neighbours within sphere_radius x d (d = median nearest-neighbour
   distance, cosine window of half-width smoothing x d) gives a local density; the volume per
   atom is the window volume over the median count of the dense atoms (count at least
   dense_fraction x the count at quantile dense_quantile: surface atoms drop out). The constants come from the model file
   ('scale_recipe' in its metadata), the one place Python and the plugin read them from.
------------------------------------------------------------------------- */

#ifndef LMP_DENOISE_SCALE_H
#define LMP_DENOISE_SCALE_H

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace LAMMPS_NS {
namespace DenoiseScale {

  struct Recipe {
    double sphere_radius = 0.0;       // x d
    double smoothing = 0.0;           // x d
    double first_search = 0.0;        // x (box volume per atom)^(1/3): nearest-neighbour search
    double overlap_fraction = 0.0;    // pairs closer than this x d are overlapping atoms
    double dense_fraction = 0.0;      // 0: every atom counts (files written before 0.3)
    double dense_quantile = 0.9;
    double gas_spread = 0.0;          // interquartile range / median of nearest distances; 0: no check
    // the homogeneous deformation (lmp_denoise/infer/scale.py shape_correction); 0 rounds: none
    int shape_rounds = 0;
    double shape_search = 1.7;    // x d: neighbours searched for a first shell
    int shape_min_shell = 4;      // fewest neighbours of a first shell
    int64_t shape_min_atoms = 300;    // fewer dense atoms with a shell: no deformation measured
    // the last round may change the estimate by at most settle x its anisotropy before, plus
    // slack; else nothing is undone
    double shape_settle = 0.5, shape_slack = 0.005;

    // "" if every constant lies in its range, else which one does not and why (the ranges of
    // lmp_denoise/infer/scale.py SCALE_LIMITS, the same message)
    std::string problem() const;
  };

  // Order statistics of non-negative values spread over the ranks of a communicator, exact and
  // equal on every rank whatever the rank count, without gathering the values: the k-th smallest
  // is found by bisection on the bit patterns of the doubles (ordered as the values are), one
  // MPI_Allreduce of a count per step (at most 64, between the smallest and largest value).
  class Spread {
   public:
    Spread(std::vector<double> mine, MPI_Comm world);    // throws std::invalid_argument on a negative value
    int64_t size() const { return total; }
    double min() const { return value(smallest); }
    // median as numpy computes it (mean of the two middle values for an even count)
    double median() const;
    double quantile(double q) const;    // the element of rank floor(q (size - 1))
    // the values at least 'floor'
    Spread at_least(double floor) const;

   private:
    std::vector<uint64_t> bits;    // this rank's values as bit patterns, sorted
    MPI_Comm world;
    int64_t total = 0;
    uint64_t smallest = 0, largest = 0;    // over all ranks: the bisection's bounds

    static double value(uint64_t bits);
    int64_t count_up_to(uint64_t b) const;    // values <= b over all ranks
    uint64_t kth_bits(int64_t k) const;       // the k-th smallest (0-based) value's pattern
  };

  double window(double r, double radius, double width);
  double window_volume(double radius, double width, int samples = 4000);
  // the smallest count of a dense atom (see above; 0: every atom is dense)
  double dense_floor(const Spread &count, const Recipe &recipe);
  // the median count of the dense atoms
  double dense_median(const Spread &count, const Recipe &recipe);

  // the deformation estimate's 3 x 3 arithmetic (its per-atom part: lmp_denoise/nn/kernel/denoise_shape.h).
  // eigenvalues and eigenvectors (columns of 'vectors') of a symmetric 3x3 matrix (Jacobi)
  void symmetric_eigen(const double m[3][3], double values[3], double vectors[3][3]);
  // T <- T (tensor / its mean eigenvalue)^(-1/2), then T / det(T)^(1/3); tensor: xx yy zz xy xz yz.
  // Returns the anisotropy of this round's correction (largest / smallest stretch - 1)
  double shape_round(const int64_t tensor[6], double T[3][3]);
  // largest and smallest principal stretch of T (its singular values)
  void stretches(const double T[3][3], double &largest, double &smallest);
  // nearest-neighbour distance of fcc/hcp with this volume per atom
  double close_packed_distance(double volume);

}    // namespace DenoiseScale
}    // namespace LAMMPS_NS

#endif
