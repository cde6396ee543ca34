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
    // the values at least 'fraction' x quantile(q)
    Spread at_least(double fraction, double q) const;

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
  // the median count of the dense atoms (see above)
  double dense_median(const Spread &count, const Recipe &recipe);
  // nearest-neighbour distance of fcc/hcp with this volume per atom
  double close_packed_distance(double volume);

}    // namespace DenoiseScale
}    // namespace LAMMPS_NS

#endif
