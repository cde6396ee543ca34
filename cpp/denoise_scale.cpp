/* ----------------------------------------------------------------------
   lmp-denoise: automatic length scale (see denoise_scale.h)
------------------------------------------------------------------------- */

#include "denoise_scale.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

using namespace LAMMPS_NS;

double DenoiseScale::window(double r, double radius, double width)
{
  const double inner = radius - width;
  if (r <= inner) return 1.0;
  if (r >= radius + width) return 0.0;
  return 0.5 * (1.0 + std::cos(M_PI * (r - inner) / (2.0 * width)));
}

double DenoiseScale::window_volume(double radius, double width, int samples)
{
  const double h = (radius + width) / samples;
  double sum = 0.0;
  for (int k = 0; k <= samples; ++k) {
    const double r = k * h;
    const double weight = (k == 0 || k == samples) ? 1.0 : ((k % 2) ? 4.0 : 2.0);
    sum += weight * 4.0 * M_PI * r * r * window(r, radius, width);
  }
  return h / 3.0 * sum;
}

DenoiseScale::Spread::Spread(std::vector<double> mine, MPI_Comm comm) : world(comm)
{
  bits.reserve(mine.size());
  for (double v : mine) {
    if (!(v >= 0.0)) throw std::invalid_argument("order statistics of a negative or NaN value");
    uint64_t b;
    std::memcpy(&b, &v, sizeof b);    // for v >= 0 the bit patterns order as the values do
    bits.push_back(b);
  }
  std::sort(bits.begin(), bits.end());
  const auto n = static_cast<int64_t>(bits.size());
  MPI_Allreduce(&n, &total, 1, MPI_INT64_T, MPI_SUM, world);
}

double DenoiseScale::Spread::kth(int64_t k) const
{
  // the smallest pattern p with more than k values <= p is the k-th smallest value's pattern
  uint64_t lo = 0, hi = std::numeric_limits<uint64_t>::max();
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const auto mine = static_cast<int64_t>(std::upper_bound(bits.begin(), bits.end(), mid) - bits.begin());
    int64_t below = 0;
    MPI_Allreduce(&mine, &below, 1, MPI_INT64_T, MPI_SUM, world);
    if (below > k)
      hi = mid;
    else
      lo = mid + 1;
  }
  double v;
  std::memcpy(&v, &lo, sizeof v);
  return v;
}

double DenoiseScale::Spread::median() const
{
  const int64_t mid = total / 2;
  if (total % 2) return kth(mid);
  return 0.5 * (kth(mid - 1) + kth(mid));
}

double DenoiseScale::Spread::quantile(double q) const
{
  return kth(static_cast<int64_t>(q * static_cast<double>(total - 1)));
}

DenoiseScale::Spread DenoiseScale::Spread::at_least(double fraction, double q) const
{
  const double floor = fraction * quantile(q);
  std::vector<double> kept;
  for (uint64_t b : bits) {
    double v;
    std::memcpy(&v, &b, sizeof v);
    if (!(v < floor)) kept.push_back(v);
  }
  return Spread(std::move(kept), world);
}

double DenoiseScale::dense_median(const Spread &count, const Recipe &recipe)
{
  if (recipe.dense_fraction > 0.0) return count.at_least(recipe.dense_fraction, recipe.dense_quantile).median();
  return count.median();
}

double DenoiseScale::close_packed_distance(double volume)
{
  return std::cbrt(std::sqrt(2.0) * volume);
}
