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
  const uint64_t first = bits.empty() ? std::numeric_limits<uint64_t>::max() : bits.front();
  const uint64_t last = bits.empty() ? 0 : bits.back();
  MPI_Allreduce(&first, &smallest, 1, MPI_UINT64_T, MPI_MIN, world);
  MPI_Allreduce(&last, &largest, 1, MPI_UINT64_T, MPI_MAX, world);
}

double DenoiseScale::Spread::value(uint64_t b)
{
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

int64_t DenoiseScale::Spread::count_up_to(uint64_t b) const
{
  const auto mine = static_cast<int64_t>(std::upper_bound(bits.begin(), bits.end(), b) - bits.begin());
  int64_t all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT64_T, MPI_SUM, world);
  return all;
}

uint64_t DenoiseScale::Spread::kth_bits(int64_t k) const
{
  // the smallest pattern p with more than k values <= p is the k-th smallest value's pattern
  uint64_t lo = smallest, hi = largest;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (count_up_to(mid) > k)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

double DenoiseScale::Spread::median() const
{
  const int64_t mid = total / 2;
  const uint64_t lower = kth_bits(total % 2 ? mid : mid - 1);
  if (total % 2 || count_up_to(lower) > mid) return value(lower);
  // the next value up: the smallest above 'lower' on any rank
  const auto above = std::upper_bound(bits.begin(), bits.end(), lower);
  const uint64_t mine = above == bits.end() ? std::numeric_limits<uint64_t>::max() : *above;
  uint64_t upper = 0;
  MPI_Allreduce(&mine, &upper, 1, MPI_UINT64_T, MPI_MIN, world);
  return 0.5 * (value(lower) + value(upper));
}

double DenoiseScale::Spread::quantile(double q) const
{
  return value(kth_bits(static_cast<int64_t>(q * static_cast<double>(total - 1))));
}

DenoiseScale::Spread DenoiseScale::Spread::at_least(double fraction, double q) const
{
  const double floor = fraction * quantile(q);
  std::vector<double> kept;
  for (uint64_t b : bits)
    if (!(value(b) < floor)) kept.push_back(value(b));
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
