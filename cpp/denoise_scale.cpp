/* ----------------------------------------------------------------------
   lmp-denoise: automatic length scale (see denoise_scale.h)
------------------------------------------------------------------------- */

#include "denoise_scale.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

using namespace LAMMPS_NS;

std::string DenoiseScale::Recipe::problem() const
{
  const struct {
    const char *name;
    double value, low, high;
  } limits[] = {{"sphere_radius", sphere_radius, 1.0, 10.0},
                {"smoothing", smoothing, 0.0, 5.0},
                {"first_search", first_search, 1.0, 5.0},
                {"overlap_fraction", overlap_fraction, 0.0, 1.0},
                {"dense_fraction", dense_fraction, 0.0, 1.0},
                {"dense_quantile", dense_quantile, 0.0, 1.0},
                {"gas_spread", gas_spread, 0.0, 10.0},
                {"shape_rounds", double(shape_rounds), 0.0, 10.0},
                {"shape_search", shape_search, 1.0, 5.0},
                {"shape_min_shell", double(shape_min_shell), 1.0, 64.0},
                {"shape_min_atoms", double(shape_min_atoms), 1.0, 1e9},
                {"shape_settle", shape_settle, 0.0, 10.0},
                {"shape_slack", shape_slack, 0.0, 1.0}};
  for (const auto &limit : limits) {
    if (limit.value >= limit.low && limit.value <= limit.high) continue;
    char text[160];
    snprintf(text, sizeof(text), "%s must be %g to %g, not %g", limit.name, limit.low, limit.high, limit.value);
    return text;
  }
  return "";
}

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

DenoiseScale::Spread DenoiseScale::Spread::at_least(double floor) const
{
  std::vector<double> kept;
  for (uint64_t b : bits)
    if (!(value(b) < floor)) kept.push_back(value(b));
  return Spread(std::move(kept), world);
}

double DenoiseScale::dense_floor(const Spread &count, const Recipe &recipe)
{
  return recipe.dense_fraction > 0.0 ? recipe.dense_fraction * count.quantile(recipe.dense_quantile) : 0.0;
}

double DenoiseScale::dense_median(const Spread &count, const Recipe &recipe)
{
  if (recipe.dense_fraction > 0.0) return count.at_least(dense_floor(count, recipe)).median();
  return count.median();
}

void DenoiseScale::symmetric_eigen(const double m[3][3], double values[3], double vectors[3][3])
{
  double a[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      a[i][j] = m[i][j];
      vectors[i][j] = i == j ? 1.0 : 0.0;
    }
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off = std::fabs(a[0][1]) + std::fabs(a[0][2]) + std::fabs(a[1][2]);
    if (off <= 1e-300) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (a[p][q] == 0.0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
        const double t = (theta >= 0.0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < 3; ++k) {    // a <- J^T a J, vectors <- vectors J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {
          const double vkp = vectors[k][p], vkq = vectors[k][q];
          vectors[k][p] = c * vkp - s * vkq;
          vectors[k][q] = s * vkp + c * vkq;
        }
      }
  }
  for (int i = 0; i < 3; ++i) values[i] = a[i][i];
}

double DenoiseScale::shape_round(const int64_t tensor[6], double T[3][3])
{
  const double m[3][3] = {{(double) tensor[0], (double) tensor[3], (double) tensor[4]},
                          {(double) tensor[3], (double) tensor[1], (double) tensor[5]},
                          {(double) tensor[4], (double) tensor[5], (double) tensor[2]}};
  double values[3], vectors[3][3];
  symmetric_eigen(m, values, vectors);
  const double mean = (values[0] + values[1] + values[2]) / 3.0;
  const double change = std::sqrt(std::max({values[0], values[1], values[2]}) / std::min({values[0], values[1], values[2]})) - 1.0;
  double S[3][3] = {}, U[3][3] = {};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) S[i][j] += vectors[i][k] * vectors[j][k] / std::sqrt(values[k] / mean);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) U[i][j] += T[i][k] * S[k][j];
  const double det = U[0][0] * (U[1][1] * U[2][2] - U[1][2] * U[2][1]) -
      U[0][1] * (U[1][0] * U[2][2] - U[1][2] * U[2][0]) + U[0][2] * (U[1][0] * U[2][1] - U[1][1] * U[2][0]);
  const double norm = std::cbrt(det);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) T[i][j] = U[i][j] / norm;
  return change;
}

void DenoiseScale::stretches(const double T[3][3], double &largest, double &smallest)
{
  double g[3][3] = {};    // T^T T
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) g[i][j] += T[k][i] * T[k][j];
  double values[3], vectors[3][3];
  symmetric_eigen(g, values, vectors);
  largest = std::sqrt(std::max({values[0], values[1], values[2]}));
  smallest = std::sqrt(std::min({values[0], values[1], values[2]}));
}

double DenoiseScale::close_packed_distance(double volume)
{
  return std::cbrt(std::sqrt(2.0) * volume);
}
