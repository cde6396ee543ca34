// lmp-denoise: Python binding of denoise_kernel.h (compiled on first use by lmp_denoise.nn.kernel)
#include "denoise_kernel.h"

#include <torch/extension.h>

#include <vector>

namespace {

lmp_denoise::NetTables tables(const std::vector<torch::Tensor> &b, double cutoff)
{
  TORCH_CHECK(b.size() == 9, "a TabulatedNet has 9 tables");
  for (const auto &t : b)
    TORCH_CHECK(t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.device().is_cpu(),
                "network buffers must be contiguous float32 CPU tensors");
  return lmp_denoise::make_tables(b, cutoff);
}

torch::Tensor embed(const std::vector<torch::Tensor> &buffers, double cutoff, const torch::Tensor &species)
{
  auto t = tables(buffers, cutoff);
  auto s = species.contiguous().to(torch::kInt64);
  auto h = torch::empty({s.size(0), 4 * t.channels}, torch::kFloat32);
  lmp_denoise::embed(t, s.data_ptr<int64_t>(), s.size(0), h.data_ptr<float>());
  return h;
}

// updates h in place (every node is a centre here) and returns it: one feature array fewer alive
torch::Tensor interaction(const std::vector<torch::Tensor> &buffers, double cutoff, int64_t layer,
                          torch::Tensor h, const torch::Tensor &edge_vectors,
                          const torch::Tensor &offsets, const torch::Tensor &neighbours)
{
  auto t = tables(buffers, cutoff);
  TORCH_CHECK(layer >= 0 && layer < t.layers, "layer out of range");
  TORCH_CHECK(h.is_contiguous() && h.scalar_type() == torch::kFloat32, "features must be contiguous float32");
  auto ev = edge_vectors.contiguous();
  auto off = offsets.contiguous();
  auto nb = neighbours.contiguous();
  const int64_t ncenters = off.size(0) - 1;
  TORCH_CHECK(ncenters == h.size(0), "every node must be a centre");
  std::vector<float> work;
  lmp_denoise::interaction(t, static_cast<int>(layer), h.data_ptr<float>(), h.size(0), ev.data_ptr<float>(),
                           off.data_ptr<int64_t>(), nb.data_ptr<int64_t>(), ncenters, h.data_ptr<float>(), work);
  return h;
}

torch::Tensor readout(const std::vector<torch::Tensor> &buffers, double cutoff, const torch::Tensor &h)
{
  auto t = tables(buffers, cutoff);
  auto hc = h.contiguous();
  auto out = torch::empty({hc.size(0), 3}, torch::kFloat32);
  lmp_denoise::readout(t, hc.data_ptr<float>(), hc.size(0), out.data_ptr<float>());
  return out;
}

// scaled float32 vectors of the edges (i -> j + shift) from float64 positions, CSR order
torch::Tensor edge_vectors(const torch::Tensor &positions, const torch::Tensor &cell, const torch::Tensor &offsets,
                           const torch::Tensor &neighbours, const torch::Tensor &shifts, double scale)
{
  TORCH_CHECK(positions.scalar_type() == torch::kFloat64 && cell.scalar_type() == torch::kFloat64 &&
                  shifts.scalar_type() == torch::kInt8,
              "positions and cell must be float64, shifts int8");
  auto x = positions.contiguous();
  auto h = cell.contiguous();
  auto off = offsets.contiguous();
  auto nb = neighbours.contiguous();
  auto sh = shifts.contiguous();
  const double *px = x.data_ptr<double>(), *c = h.data_ptr<double>();
  const int64_t *po = off.data_ptr<int64_t>(), *pn = nb.data_ptr<int64_t>();
  const int8_t *ps = sh.data_ptr<int8_t>();
  auto out = torch::empty({nb.size(0), 3}, torch::kFloat32);
  float *v = out.data_ptr<float>();
  lmp_denoise::parallel_range(0, off.size(0) - 1, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t e = po[i]; e < po[i + 1]; ++e) {
        const int64_t j = pn[e];
        for (int k = 0; k < 3; ++k) {
          const double shift = ps[3 * e] * c[k] + ps[3 * e + 1] * c[3 + k] + ps[3 * e + 2] * c[6 + k];
          v[3 * e + k] = static_cast<float>((px[3 * j + k] - px[3 * i + k] + shift) * scale);
        }
      }
  });
  return out;
}

}    // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m)
{
  m.def("embed", &embed);
  m.def("interaction", &interaction);
  m.def("readout", &readout);
  m.def("edge_vectors", &edge_vectors);
}
