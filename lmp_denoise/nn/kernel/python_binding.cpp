// lmp-denoise: Python binding of denoise_kernel.h (compiled on first use by lmp_denoise.nn.kernel)
#include "denoise_kernel.h"
#include "denoise_labels.h"
#include "denoise_shape.h"

#include <torch/extension.h>

#include <tuple>
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

// the neighbour vectors of each centre from a half list (i, j, vector i -> j) over a slab's
// members, whose first len(centres) rows are its home atoms: CSR offsets, then packed vectors
struct CentreVectors {
  std::vector<int64_t> offsets;
  std::vector<double> vectors;
  std::vector<int64_t> neighbours;    // the other end of each vector
};

CentreVectors centre_vectors(const torch::Tensor &first, const torch::Tensor &second, const torch::Tensor &bonds,
                             const torch::Tensor &centres)
{
  TORCH_CHECK(first.scalar_type() == torch::kInt64 && second.scalar_type() == torch::kInt64 &&
                  bonds.scalar_type() == torch::kFloat64 && centres.scalar_type() == torch::kBool,
              "pairs: int64 indices, float64 vectors, bool centres");
  auto a = first.contiguous(), b = second.contiguous(), d = bonds.contiguous(), c = centres.contiguous();
  const int64_t *pa = a.data_ptr<int64_t>(), *pb = b.data_ptr<int64_t>();
  const double *pd = d.data_ptr<double>();
  const bool *pc = c.data_ptr<bool>();
  const int64_t home = c.size(0), pairs = a.size(0);
  auto centre = [&](int64_t atom) { return atom < home && pc[atom]; };
  CentreVectors out;
  out.offsets.assign(home + 1, 0);
  for (int64_t p = 0; p < pairs; ++p) {
    if (centre(pa[p])) ++out.offsets[pa[p] + 1];
    if (centre(pb[p])) ++out.offsets[pb[p] + 1];
  }
  for (int64_t i = 0; i < home; ++i) out.offsets[i + 1] += out.offsets[i];
  out.vectors.resize(3 * out.offsets[home]);
  out.neighbours.resize(out.offsets[home]);
  std::vector<int64_t> at(out.offsets.begin(), out.offsets.end() - 1);
  for (int64_t p = 0; p < pairs; ++p)    // in pair order: each centre's vectors as the list gives them
    for (int end = 0; end < 2; ++end) {
      const int64_t atom = end ? pb[p] : pa[p];
      if (!centre(atom)) continue;
      const double sign = end ? -1.0 : 1.0;
      for (int k = 0; k < 3; ++k) out.vectors[3 * at[atom] + k] = sign * pd[3 * p + k];
      out.neighbours[at[atom]] = end ? pa[p] : pb[p];
      ++at[atom];
    }
  return out;
}

// first-shell size of each home atom that is a centre (0: not one, or no shell found), from its
// neighbours within 'reach' (infer/scale.py shape_correction)
torch::Tensor first_shells(const torch::Tensor &first, const torch::Tensor &second, const torch::Tensor &bonds,
                           const torch::Tensor &centres, double reach, int64_t min_shell)
{
  const auto cv = centre_vectors(first, second, bonds, centres);
  const int64_t home = centres.size(0);
  auto out = torch::zeros({home}, torch::kInt64);
  int64_t *shell = out.data_ptr<int64_t>();
  lmp_denoise::parallel_range(0, home, 1024, [&](int64_t begin, int64_t end) {
    std::vector<double> r;
    for (int64_t i = begin; i < end; ++i) {
      r.clear();
      for (int64_t n = cv.offsets[i]; n < cv.offsets[i + 1]; ++n) {
        const double *v = cv.vectors.data() + 3 * n;
        const double d = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        if (d < reach) r.push_back(d);
      }
      std::sort(r.begin(), r.end());
      shell[i] = lmp_denoise::first_shell(r.data(), static_cast<int>(r.size()), static_cast<int>(min_shell));
    }
  });
  return out;
}

// the bond tensor (xx yy zz xy xz yz, integer units) of the centres' k nearest neighbours
// within 'reach' after the map 'shape' (3 x 3, row vectors)
torch::Tensor shell_tensor(const torch::Tensor &first, const torch::Tensor &second, const torch::Tensor &bonds,
                           const torch::Tensor &centres, const torch::Tensor &shape, double reach, int64_t k, double d2)
{
  const auto cv = centre_vectors(first, second, bonds, centres);
  auto s = shape.contiguous().to(torch::kFloat64);
  double T[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) T[a][b] = s.data_ptr<double>()[3 * a + b];
  const int64_t home = centres.size(0);
  std::vector<std::array<int64_t, 6>> partial(home);
  lmp_denoise::parallel_range(0, home, 1024, [&](int64_t begin, int64_t end) {
    std::vector<std::array<double, 4>> found;
    for (int64_t i = begin; i < end; ++i) {
      partial[i].fill(0);
      const double *first_vector = cv.vectors.data() + 3 * cv.offsets[i];
      lmp_denoise::add_shell_tensor([&](size_t n) { return first_vector + 3 * n; },
                                    static_cast<size_t>(cv.offsets[i + 1] - cv.offsets[i]), T, reach,
                                    static_cast<int>(k), d2, found, partial[i].data());
    }
  });
  auto out = torch::zeros({6}, torch::kInt64);
  int64_t *t = out.data_ptr<int64_t>();
  for (const auto &p : partial)
    for (int c = 0; c < 6; ++c) t[c] += p[c];
  return out;
}

// structure labels (denoise_labels.h) of the home atoms that are centres, from half pairs in model
// units; 'species' of every member atom; templates flattened (counts: templates x species, radial
// and pairs: concatenated). Returns label, score, and each centre's 'keep' nearest label
// neighbours (member index, -1 past the end) with their distances, for inheritance
std::vector<torch::Tensor> classify(const torch::Tensor &first, const torch::Tensor &second, const torch::Tensor &bonds,
                                    const torch::Tensor &centres, const torch::Tensor &species,
                                    const torch::Tensor &template_label, const torch::Tensor &template_species,
                                    const torch::Tensor &template_counts, const torch::Tensor &radial,
                                    const torch::Tensor &pairs, const torch::Tensor &spacing, double threshold,
                                    int64_t other, double reach, const std::vector<int64_t> &neighbour_species,
                                    int64_t keep, bool every, bool only_whether)
{
  lmp_denoise::DenoiseLabels labels;
  labels.names.resize(other + 1);
  labels.threshold = threshold;
  labels.reach = reach;
  labels.neighbour_species.assign(neighbour_species.begin(), neighbour_species.end());
  // only_whether: label -1 and score 0 for an atom some template fits (DenoiseLabels::fits), else
  // "other" and 1
  auto counts = template_counts.contiguous().to(torch::kInt64);
  auto tr = radial.contiguous().to(torch::kFloat64), tp = pairs.contiguous().to(torch::kFloat64);
  const int64_t nspecies = counts.size(1);
  int64_t r0 = 0, p0 = 0;
  for (int64_t t = 0; t < template_label.size(0); ++t) {
    lmp_denoise::DenoiseLabels::Template one;
    one.label = static_cast<int>(template_label[t].item<int64_t>());
    one.species = static_cast<int>(template_species[t].item<int64_t>());
    int64_t k = 0;
    for (int64_t s = 0; s < nspecies; ++s) {
      one.counts.push_back(static_cast<int>(counts.data_ptr<int64_t>()[t * nspecies + s]));
      k += one.counts.back();
    }
    one.radial.assign(tr.data_ptr<double>() + r0, tr.data_ptr<double>() + r0 + k);
    one.pairs.assign(tp.data_ptr<double>() + p0, tp.data_ptr<double>() + p0 + k * (k - 1) / 2);
    one.spacing = spacing[t].item<double>();
    r0 += k;
    p0 += k * (k - 1) / 2;
    labels.templates.push_back(one);
  }
  if (only_whether) labels.group_pairs();
  const auto cv = centre_vectors(first, second, bonds, centres);
  auto kinds = species.contiguous().to(torch::kInt64);
  const int64_t *kind = kinds.data_ptr<int64_t>();
  const int64_t home = centres.size(0);
  auto label = torch::full({home}, other, torch::kInt64), score = torch::ones({home}, torch::kFloat64);
  auto nearest = torch::full({home, keep}, -1, torch::kInt64), distance = torch::full({home, keep}, INFINITY, torch::kFloat64);
  // every structure's score per atom (to be averaged by the caller), or none
  auto structures = torch::ones({every ? home : 0, other}, torch::kFloat64);
  int64_t *pl = label.data_ptr<int64_t>(), *pn = nearest.data_ptr<int64_t>();
  double *ps = score.data_ptr<double>(), *pd = distance.data_ptr<double>(), *pe = structures.data_ptr<double>();
  const bool *pc = centres.data_ptr<bool>();
  lmp_denoise::parallel_range(0, home, 256, [&](int64_t begin, int64_t end) {
    std::vector<lmp_denoise::DenoiseLabels::Neighbour> near;
    lmp_denoise::DenoiseLabels::Scratch scratch;
    for (int64_t i = begin; i < end; ++i) {
      if (!pc[i]) continue;
      near.clear();
      for (int64_t n = cv.offsets[i]; n < cv.offsets[i + 1]; ++n) {
        const int64_t j = cv.neighbours[n];
        if (!labels.counts_as_neighbour(static_cast<int>(kind[j]))) continue;
        const double *v = cv.vectors.data() + 3 * n;
        const double d = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        if (d >= reach) continue;
        near.push_back({d, {v[0], v[1], v[2]}, static_cast<int>(kind[j]), static_cast<int>(j)});
      }
      labels.keep_nearest(near);
      if (every) {
        labels.structure_scores(static_cast<int>(kind[i]), near, scratch, pe + i * other);
        std::tie(pl[i], ps[i]) = labels.choose(pe + i * other, pe + i * other);
      } else if (only_whether) {
        const bool fits = labels.fits(static_cast<int>(kind[i]), near, scratch);
        pl[i] = fits ? -1 : other;
        ps[i] = fits ? 0.0 : 1.0;
      } else {
        std::tie(pl[i], ps[i]) = labels.classify(static_cast<int>(kind[i]), near, scratch);
      }
      for (int64_t n = 0; n < std::min<int64_t>(keep, near.size()); ++n) {
        pn[i * keep + n] = near[n].atom;
        pd[i * keep + n] = near[n].distance;
      }
    }
  });
  return {label, score, nearest, distance, structures};
}

}    // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m)
{
  m.def("embed", &embed);
  m.def("interaction", &interaction);
  m.def("readout", &readout);
  m.def("edge_vectors", &edge_vectors);
  m.def("first_shells", &first_shells);
  m.def("shell_tensor", &shell_tensor);
  m.def("classify", &classify);
}
