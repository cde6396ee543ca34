/* ----------------------------------------------------------------------
   lmp-denoise: automatic length scale (see denoise_scale.h)
------------------------------------------------------------------------- */

#include "denoise_scale.h"

#include <algorithm>
#include <cmath>

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

double DenoiseScale::median(std::vector<double> &v)
{
  const size_t n = v.size();
  const size_t mid = n / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (n % 2) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + mid);
  return 0.5 * (lower + upper);
}

double DenoiseScale::quantile(std::vector<double> &v, double q)
{
  const auto rank = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + rank, v.end());
  return v[rank];
}

double DenoiseScale::dense_median(std::vector<double> &count, const Recipe &recipe)
{
  if (recipe.dense_fraction > 0.0) {
    const double floor = recipe.dense_fraction * quantile(count, recipe.dense_quantile);
    count.erase(std::remove_if(count.begin(), count.end(), [floor](double c) { return c < floor; }),
                count.end());
  }
  return median(count);
}

double DenoiseScale::close_packed_distance(double volume)
{
  return std::cbrt(std::sqrt(2.0) * volume);
}
