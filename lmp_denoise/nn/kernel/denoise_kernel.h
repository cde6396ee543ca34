/* ----------------------------------------------------------------------
   lmp-denoise: the tabulated network (lmp_denoise/nn/tabulated.py) as fused CPU loops.

   One source for both runtimes: the LAMMPS plugin compiles it in, the Python package compiles
   it on first use (torch.utils.cpp_extension, cached). Per interaction layer, each centre atom
   walks its edges once, evaluates the radial spline, the tensor-product messages and their sum
   in registers, then applies the output map, gate and residual: no per-edge tensor is stored.
   Features are rows of 4C floats: C scalars, then the x, y, z components of C vectors.
------------------------------------------------------------------------- */

#ifndef LMP_DENOISE_KERNEL_H
#define LMP_DENOISE_KERNEL_H

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

namespace lmp_denoise {

// fn(lo, hi) over [begin, end) on torch's thread count, with plain threads: at::parallel_for's
// OpenMP pragmas are compiled into the caller, and a caller built without OpenMP runs them serially
template <typename Body> void parallel_range(int64_t begin, int64_t end, int64_t grain, const Body &fn)
{
  const int64_t n = end - begin;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / std::max<int64_t>(1, grain)));
  if (chunks == 1) {
    fn(begin, end);
    return;
  }
  std::vector<std::thread> workers;
  const int64_t step = (n + chunks - 1) / chunks;
  for (int64_t c = 1; c < chunks; ++c)
    workers.emplace_back([&, c] { fn(begin + std::min(n, c * step), begin + std::min(n, (c + 1) * step)); });
  fn(begin, begin + std::min(n, step));
  for (auto &w : workers) w.join();
}

// the buffers of a TabulatedNet, float32, contiguous, shapes as in tabulated.py
struct NetTables {
  int channels = 0, layers = 0, intervals = 0, species = 0;
  float cutoff = 0.0f;
  const float *embedding = nullptr;            // (S, C)
  const float *linear_in = nullptr;            // (L, 2, C, C)
  const float *spline = nullptr;               // (L, n, 4, 5C)
  const float *quadrupole = nullptr;           // (6, 9)
  const float *linear_out_scalar = nullptr;    // (L, 2C, 2C)
  const float *linear_out_vector = nullptr;    // (L, 3C, C)
  const float *gate_constants = nullptr;       // (2)
  const float *residual = nullptr;             // (L)
  const float *readout = nullptr;              // (C, 1)
};

// the kernel's view of a TabulatedNet: its tables() in order, float32, contiguous, on the CPU
inline NetTables make_tables(const std::vector<at::Tensor> &b, double cutoff)
{
  NetTables t;
  t.channels = static_cast<int>(b[0].size(1));
  t.species = static_cast<int>(b[0].size(0));
  t.layers = static_cast<int>(b[1].size(0));
  t.intervals = static_cast<int>(b[2].size(1));
  t.cutoff = static_cast<float>(cutoff);
  t.embedding = b[0].data_ptr<float>();
  t.linear_in = b[1].data_ptr<float>();
  t.spline = b[2].data_ptr<float>();
  t.quadrupole = b[3].data_ptr<float>();
  t.linear_out_scalar = b[4].data_ptr<float>();
  t.linear_out_vector = b[5].data_ptr<float>();
  t.gate_constants = b[6].data_ptr<float>();
  t.residual = b[7].data_ptr<float>();
  t.readout = b[8].data_ptr<float>();
  return t;
}

inline void embed(const NetTables &t, const int64_t *species, int64_t n, float *h)
{
  const int C = t.channels;
  parallel_range(0, n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float *row = h + i * 4 * C;
      std::fill(row, row + 4 * C, 0.0f);
      std::copy(t.embedding + species[i] * C, t.embedding + (species[i] + 1) * C, row);
    }
  });
}

// the P radial weights at fraction s of a spline interval (coefficients c: 4 rows of P)
inline void spline_weights(int P, const float *__restrict c, float s, float *__restrict w)
{
  for (int p = 0; p < P; ++p) w[p] = c[p] + s * (c[P + p] + s * (c[2 * P + p] + s * c[3 * P + p]));
}

// one edge's messages added to its centre's sums: w the 5C radial weights, u the unit vector, T the
// quadrupole map of u, x the neighbour's 4C linear features; acc_s (2C) and acc_v (3 x 3C) as below
inline void add_messages(int C, const float *__restrict w, const float *u, const float *T, const float *__restrict x,
                         float *__restrict acc_s, float *__restrict acc_v)
{
  const float *xs = x, *xv0 = x + C, *xv1 = x + 2 * C, *xv2 = x + 3 * C;
  const float *w0 = w, *w1 = w + C, *w2 = w + 2 * C, *w3 = w + 3 * C, *w4 = w + 4 * C;
  for (int c = 0; c < C; ++c) {
    acc_s[c] += w0[c] * xs[c];
    acc_s[C + c] += w3[c] * (xv0[c] * u[0] + xv1[c] * u[1] + xv2[c] * u[2]);
  }
  const float *xv[3] = {xv0, xv1, xv2};
  for (int k = 0; k < 3; ++k) {
    float *a = acc_v + k * 3 * C;
    const float uk = u[k], t0 = T[k], t1 = T[3 + k], t2 = T[6 + k];
    for (int c = 0; c < C; ++c) {
      a[c] += w1[c] * xs[c] * uk;
      a[C + c] += w2[c] * xv[k][c];
      a[2 * C + c] += w4[c] * (t0 * xv0[c] + t1 * xv1[c] + t2 * xv2[c]);
    }
  }
}

// out (m) = v (n) x M (n, m), row-major M; restrict lets the compiler keep out in registers.
// These helpers are inlined into interaction_impl, where the sizes are compile-time constants.
inline void vector_matrix(int n, int m, const float *__restrict v, const float *__restrict M, float *__restrict out)
{
  for (int b = 0; b < m; ++b) out[b] = 0.0f;
  for (int a = 0; a < n; ++a) {
    const float x = v[a];
    const float *__restrict row = M + a * m;
    for (int b = 0; b < m; ++b) out[b] += x * row[b];
  }
}

// interaction() with the channel count CT known at compile time (0: t.channels at run time), so
// that the per-channel loops are unrolled and vectorised without remainder loops
template <int CT>
void interaction_impl(const NetTables &t, int layer, const float *h, int64_t nodes, const float *edge_vectors,
                      const int64_t *offsets, const int64_t *neighbours, int64_t ncenters, float *h_out,
                      std::vector<float> &work, const std::vector<int64_t> *others)
{
  const int C = CT > 0 ? CT : t.channels, F = 4 * C, P = 5 * C;
  const float *lin_s = t.linear_in + (int64_t) layer * 2 * C * C;
  const float *lin_v = lin_s + C * C;
  work.resize(static_cast<size_t>(nodes) * F);
  float *x = work.data();
  auto linear_map = [&](int64_t n) {
    const float *in = h + n * F;
    float *out = x + n * F;
    vector_matrix(C, C, in, lin_s, out);
    for (int k = 1; k < 4; ++k) vector_matrix(C, C, in + k * C, lin_v, out + k * C);
  };
  const int64_t nothers = others ? static_cast<int64_t>(others->size()) : nodes - ncenters;
  parallel_range(0, ncenters + nothers, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) linear_map(n < ncenters || !others ? n : (*others)[n - ncenters]);
  });

  const float *spline = t.spline + (int64_t) layer * t.intervals * 4 * P;
  const float *out_s = t.linear_out_scalar + (int64_t) layer * 4 * C * C;
  const float *out_v = t.linear_out_vector + (int64_t) layer * 3 * C * C;
  const float spacing = t.cutoff / t.intervals;
  const float residual = t.residual[layer];
  const float c_silu = t.gate_constants[0], c_sigmoid = t.gate_constants[1];
  const float *Q = t.quadrupole;

  parallel_range(0, ncenters, 256, [&](int64_t begin, int64_t end) {
    std::vector<float> buffer(P + 2 * C + 9 * C + 2 * C + 3 * C);
    float *w = buffer.data();
    float *acc_s = w + P;             // 2C: paths 0e x 0e, 1o x 1o -> 0e
    float *acc_v = acc_s + 2 * C;     // 3 x 3C: paths 0e x 1o, 1o x 0e, 1o x 2e -> 1o
    float *o_s = acc_v + 9 * C;       // 2C
    float *o_v = o_s + 2 * C;         // 3 x C
    for (int64_t i = begin; i < end; ++i) {
      std::fill(acc_s, acc_s + 11 * C, 0.0f);
      for (int64_t e = offsets[i]; e < offsets[i + 1]; ++e) {
        const float dx = edge_vectors[3 * e], dy = edge_vectors[3 * e + 1], dz = edge_vectors[3 * e + 2];
        const float r = std::sqrt(dx * dx + dy * dy + dz * dz);
        if (!(r < t.cutoff)) continue;
        const float u[3] = {dx / r, dy / r, dz / r};
        const float xr = r / spacing;
        const int cell = std::min(static_cast<int>(xr), t.intervals - 1);
        const float s = xr - cell;
        const float *c = spline + (int64_t) cell * 4 * P;
        spline_weights(P, c, s, w);
        const float mono[6] = {u[0] * u[0], u[1] * u[1], u[2] * u[2], u[0] * u[1], u[1] * u[2], u[0] * u[2]};
        float T[9];
        for (int m = 0; m < 9; ++m) {
          float sum = 0.0f;
          for (int q = 0; q < 6; ++q) sum += mono[q] * Q[q * 9 + m];
          T[m] = sum;    // T[a * 3 + k]
        }
        add_messages(C, w, u, T, x + neighbours[e] * F, acc_s, acc_v);
      }
      // output maps, gate, residual
      vector_matrix(2 * C, 2 * C, acc_s, out_s, o_s);
      for (int k = 0; k < 3; ++k) vector_matrix(3 * C, C, acc_v + k * 3 * C, out_v, o_v + k * C);
      const float *hi = h + i * F;
      float *ho = h_out + i * F;
      for (int c2 = 0; c2 < C; ++c2) {
        const float z = o_s[c2];
        ho[c2] = hi[c2] + residual * c_silu * z / (1.0f + std::exp(-z));
        const float gate = c_sigmoid / (1.0f + std::exp(-o_s[C + c2]));
        for (int k = 0; k < 3; ++k)
          ho[C + k * C + c2] = hi[C + k * C + c2] + residual * gate * o_v[k * C + c2];
      }
    }
  });
}

// h: (nodes, 4C); edges of centre i are offsets[i] .. offsets[i+1]-1 (vectors centre -> neighbour);
// writes the new features of centres 0 .. ncenters-1 to h_out (ncenters, 4C); work is scratch.
// h_out may be h: messages read the linear map of h kept in work, a centre reads only its own row.
// others: the non-centre nodes that edges reach (a rank's ghost atoms within the cutoff); nullptr:
// all nodes from ncenters on
inline void interaction(const NetTables &t, int layer, const float *h, int64_t nodes,
                        const float *edge_vectors, const int64_t *offsets, const int64_t *neighbours,
                        int64_t ncenters, float *h_out, std::vector<float> &work,
                        const std::vector<int64_t> *others = nullptr)
{
  switch (t.channels) {    // the shipped widths, compiled for their channel count
    case 16:
      return interaction_impl<16>(t, layer, h, nodes, edge_vectors, offsets, neighbours, ncenters, h_out, work, others);
    case 24:
      return interaction_impl<24>(t, layer, h, nodes, edge_vectors, offsets, neighbours, ncenters, h_out, work, others);
    case 32:
      return interaction_impl<32>(t, layer, h, nodes, edge_vectors, offsets, neighbours, ncenters, h_out, work, others);
    default:
      return interaction_impl<0>(t, layer, h, nodes, edge_vectors, offsets, neighbours, ncenters, h_out, work, others);
  }
}

inline void readout(const NetTables &t, const float *h, int64_t n, float *out)
{
  const int C = t.channels;
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) {
      float sum = 0.0f;
      for (int c = 0; c < C; ++c) sum += h[i * 4 * C + C + k * C + c] * t.readout[c];
      out[3 * i + k] = sum;
    }
}

}    // namespace lmp_denoise

#endif
