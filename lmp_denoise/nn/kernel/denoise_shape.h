// lmp-denoise: the per-atom arithmetic of the deformation estimate (lmp_denoise/infer/scale.py
// shape_correction), one source for the LAMMPS plugin (cpp/compute_denoise.cpp) and the Python
// package (python_binding.cpp): an atom's first shell from its sorted neighbour distances, and
// its share of the bond tensor, summed as integers so that any order of summation (any rank
// count, any slab split) gives the same tensor.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace lmp_denoise {

// bond tensor terms v_a v_b / d^2 are summed as integers of this size (2^-24)
constexpr double SHAPE_UNIT = 1.0 / 16777216.0;

inline int64_t shape_term(double a, double b, double d2)
{
  return static_cast<int64_t>(std::nearbyint(a * b / d2 / SHAPE_UNIT));    // ties to even, as numpy's rint
}

// the first shell of sorted distances r[0..n-1]: the largest r[e] / r[e-1] for e >= min_shell
// (the first of equals), as the number of neighbours before it; 0 when n <= min_shell
inline int first_shell(const double *r, int n, int min_shell)
{
  int shell = 0;
  double best = -1.0;
  for (int e = std::max(min_shell, 1); e < n; ++e) {
    const double ratio = r[e] / r[e - 1];
    if (ratio > best) {
      best = ratio;
      shell = e;
    }
  }
  return shell;
}

// one atom's share of the tensor (xx yy zz xy xz yz): its k nearest neighbours within 'reach'
// after the map T (row vectors: w = v T); 'found' is scratch. Returns false (nothing added) when
// fewer than k lie within reach.
template <typename Vectors>
bool add_shell_tensor(const Vectors &vectors, size_t count, const double T[3][3], double reach, int k, double d2,
                      std::vector<std::array<double, 4>> &found, int64_t tensor[6])
{
  found.clear();
  for (size_t n = 0; n < count; ++n) {
    const double *v = vectors(n);
    std::array<double, 4> w{};
    for (int b = 0; b < 3; ++b) w[b] = v[0] * T[0][b] + v[1] * T[1][b] + v[2] * T[2][b];
    w[3] = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
    if (w[3] < reach * reach) found.push_back(w);
  }
  if (static_cast<int>(found.size()) < k || k < 1) return false;
  std::nth_element(found.begin(), found.begin() + (k - 1), found.end(),
                   [](const auto &p, const auto &q) { return p[3] < q[3]; });
  for (int n = 0; n < k; ++n) {
    const auto &w = found[n];
    tensor[0] += shape_term(w[0], w[0], d2);
    tensor[1] += shape_term(w[1], w[1], d2);
    tensor[2] += shape_term(w[2], w[2], d2);
    tensor[3] += shape_term(w[0], w[1], d2);
    tensor[4] += shape_term(w[0], w[2], d2);
    tensor[5] += shape_term(w[1], w[2], d2);
  }
  return true;
}

}    // namespace lmp_denoise
