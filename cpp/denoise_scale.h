/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: the automatic length scale, the same recipe as lmp_denoise/scale.py.
   Per atom, a smoothed count of neighbours within SPHERE_RADIUS x d (d = median nearest-neighbour
   distance, cosine window of half-width SMOOTHING x d) gives a local density; the volume per
   atom is the window volume over the median count.
------------------------------------------------------------------------- */

#ifndef LMP_DENOISE_SCALE_H
#define LMP_DENOISE_SCALE_H

#include <vector>

namespace LAMMPS_NS {
namespace DenoiseScale {

  constexpr double SPHERE_RADIUS = 1.8;
  constexpr double SMOOTHING = 0.8;
  constexpr double FIRST_SEARCH = 1.6;    // x (box volume per atom)^(1/3): nearest-neighbour search
  constexpr double OVERLAP_FRACTION = 0.3;

  double window(double r, double radius, double width);
  double window_volume(double radius, double width, int samples = 4000);
  // median as numpy computes it (mean of the two middle values for an even count); reorders v
  double median(std::vector<double> &v);
  // nearest-neighbour distance of fcc/hcp with this volume per atom
  double close_packed_distance(double volume);

}    // namespace DenoiseScale
}    // namespace LAMMPS_NS

#endif
