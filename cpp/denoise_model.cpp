/* ----------------------------------------------------------------------
   lmp-denoise: loading a model file and running its network layer by layer.
   On the CPU the fused kernel (lmp_denoise/nn/kernel/denoise_kernel.h, the same source the
   Python package compiles) reads the network's buffers; on a GPU the TorchScript methods run.
------------------------------------------------------------------------- */

#include "denoise_model.h"

#include "denoise_kernel.h"
#include "json.h"

#include <torch/cuda.h>
#include <torch/script.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

using namespace LAMMPS_NS;

struct DenoiseModel::Impl {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
  std::vector<torch::Tensor> buffers;    // CPU float32 copies the kernel reads
  lmp_denoise::NetTables tables;
  std::vector<float> work;
};

static DenoiseModelInfo parse_metadata(const std::string &text, const std::string &path)
{
  DenoiseModelInfo info;
  json meta;
  try {
    meta = json::parse(text);
  } catch (std::exception &) {
    throw std::runtime_error("'" + path + "' carries no lmp-denoise metadata; export it with lmp-denoise");
  }
  info.format_version = meta.value("format_version", -1);
  if (info.format_version == 1)
    throw std::runtime_error("'" + path + "' is a format 1 model file; convert it with 'lmp-denoise upgrade " +
                             path + " -o NEW.pt'");
  if (info.format_version != DenoiseModel::FORMAT_VERSION)
    throw std::runtime_error("'" + path + "' has model format version " +
                             std::to_string(info.format_version) + ", this plugin reads version " +
                             std::to_string(DenoiseModel::FORMAT_VERSION) +
                             ": re-export the model with a matching lmp-denoise");
  try {
    info.cutoff = meta.at("cutoff").get<double>();
    info.num_layers = meta.at("num_layers").get<int>();
    info.reference_volume = meta.at("reference_volume").get<double>();
    info.species = meta.at("species").get<std::vector<std::string>>();
    info.dtype = meta.at("dtype").get<std::string>();
    info.feature_size = meta.at("network").at("feature_size").get<int>();
    const auto &recipe = meta.at("scale_recipe");
    info.scale_recipe.sphere_radius = recipe.at("sphere_radius").get<double>();
    info.scale_recipe.smoothing = recipe.at("smoothing").get<double>();
    info.scale_recipe.first_search = recipe.at("first_search").get<double>();
    info.scale_recipe.overlap_fraction = recipe.at("overlap_fraction").get<double>();
    info.scale_recipe.dense_fraction = recipe.value("dense_fraction", 0.0);    // absent before 0.3
    info.scale_recipe.dense_quantile = recipe.value("dense_quantile", 0.9);
    info.scale_recipe.gas_spread = recipe.value("gas_spread", 0.0);
    info.scale_recipe.shape_rounds = recipe.value("shape_rounds", 0);    // absent before 0.8
    info.scale_recipe.shape_search = recipe.value("shape_search", 1.7);
    info.scale_recipe.shape_min_shell = recipe.value("shape_min_shell", 4);
    info.scale_recipe.shape_settle = recipe.value("shape_settle", 0.5);
    info.scale_recipe.shape_slack = recipe.value("shape_slack", 0.005);
    info.scale_recipe.shape_min_atoms = recipe.value("shape_min_atoms", int64_t(300));
    if (meta.contains("iteration")) {
      const auto &iteration = meta.at("iteration");
      info.stepsize = iteration.at("stepsize").get<double>();
      info.momentum = iteration.at("momentum").get<double>();
      info.largest_response = iteration.value("largest_response", 0.0);
      info.stability_margin = iteration.value("stability_margin", info.stability_margin);
      const auto disorder = iteration.value("disorder", std::string("all"));    // absent before 0.9
      if (disorder != "first" && disorder != "all")
        throw std::runtime_error("bad iteration recipe: disorder must be first or all, not " + disorder);
      info.disorder_first = disorder == "first";
      info.ordered_share = iteration.value("ordered_share", info.ordered_share);
      info.disorder_reach = iteration.value("disorder_reach", info.disorder_reach);
      if (info.ordered_share < 0.0 || info.ordered_share >= 1.0 || info.disorder_reach < 1.0 || info.disorder_reach > 3.0)
        throw std::runtime_error("bad iteration recipe: ordered_share must be in [0, 1) and disorder_reach 1 to 3 "
                                 "model cutoffs");
      info.open_gap = iteration.value("open_gap", 0.0);    // absent before 0.12: off
      info.open_spread = iteration.value("open_spread", info.open_spread);
      if (!(info.open_gap == 0.0 || (info.open_gap >= 1.0 && info.open_gap <= 10.0)) ||
          !(info.open_spread >= 0.0 && info.open_spread <= 10.0))
        throw std::runtime_error("bad iteration recipe: open_gap must be 0 (off) or 1 to 10 model cutoffs and "
                                 "open_spread 0 to 10");
    }
    if (meta.contains("labels")) {
      const auto &labels = meta.at("labels");
      info.labels.names = labels.at("names").get<std::vector<std::string>>();
      info.labels.threshold = labels.at("threshold").get<double>();
      info.labels.reach = labels.at("reach").get<double>();
      for (int s = 0; s < (int) info.species.size(); ++s) info.labels.neighbour_species.push_back(s);
      if (labels.contains("neighbour_species"))
        info.labels.neighbour_species = labels.at("neighbour_species").get<std::vector<int>>();
      for (const auto &r : labels.value("inherit", json::array())) {    // absent before 0.6
        DenoiseLabels::Inherit rule;
        rule.species = r.at("species").get<int>();
        rule.count = r.at("count").get<int>();
        rule.within = r.at("within").get<double>();
        if (rule.count < 1 || !(rule.within > 0.0))
          throw std::runtime_error("a label inheritance rule needs neighbours and a reach");
        info.labels.inherit.push_back(rule);
      }
      info.labels.average = labels.value("average", 0.0);    // absent before 0.10
      if (!(info.labels.average >= 0.0 && info.labels.average <= 12.0))
        throw std::runtime_error("the label average reach must be 0 (off) to 12 model units");
      for (const auto &t : labels.at("templates")) {
        DenoiseLabels::Template one;
        one.label = t.at("label").get<int>();
        one.species = t.at("species").get<int>();
        one.counts = t.at("counts").get<std::vector<int>>();
        one.radial = t.at("radial").get<std::vector<double>>();
        one.pairs = t.at("pairs").get<std::vector<double>>();
        one.spacing = t.at("spacing").get<double>();
        const size_t k = one.radial.size();
        const auto &first = info.labels.templates.empty() ? one : info.labels.templates.front();
        if (k == 0 || one.pairs.size() != k * (k - 1) / 2 || one.counts.size() != first.counts.size())
          throw std::runtime_error("a label template has inconsistent sizes");
        info.labels.templates.push_back(std::move(one));
      }
      info.labels.group_pairs();
    }
  } catch (std::exception &e) {
    throw std::runtime_error("'" + path + "' metadata is incomplete (" + e.what() + "); re-export the model");
  }
  const std::string bad_scale = info.scale_recipe.problem();
  if (!bad_scale.empty())
    throw std::runtime_error("'" + path + "' has a bad scale recipe (" + bad_scale + "); write this version's with "
                             "'lmp-denoise upgrade " + path + " -o NEW.pt --scale-recipe current'");
  if (info.dtype != "float32")
    throw std::runtime_error("'" + path + "' has dtype " + info.dtype + ", only float32 models are supported");
  return info;
}

DenoiseModel::DenoiseModel(const std::string &path, const std::string &device, int device_index) :
    impl_(std::make_unique<Impl>())
{
  if (!std::ifstream(path).good()) throw std::runtime_error("cannot open model file '" + path + "'");
  if (device == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("device cuda requested but no CUDA GPU is available to torch; use device cpu");
    impl_->device = torch::Device(torch::kCUDA, device_index);
  }
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  try {
    impl_->module = torch::jit::load(path, torch::kCPU, extra);
  } catch (std::exception &e) {
    std::string what = e.what();
    throw std::runtime_error("'" + path + "' is not a readable lmp-denoise model file: " +
                             what.substr(0, what.find('\n')));
  }
  info_ = parse_metadata(extra["metadata.json"], path);
  impl_->module.eval();

  // the kernel's view of the network: the buffers, checked against the metadata
  std::vector<torch::Tensor> buffers;
  try {
    const auto list = impl_->module.run_method("tables").toList();
    for (size_t i = 0; i < list.size(); ++i)
      buffers.push_back(list.get(i).toTensor().to(torch::kFloat32).contiguous());
  } catch (std::exception &e) {
    throw std::runtime_error("'" + path + "' holds no tabulated network; re-export it with lmp-denoise");
  }
  if (buffers.size() != 9 || buffers[0].dim() != 2 || buffers[1].dim() != 4 || buffers[2].dim() != 4)
    throw std::runtime_error("'" + path + "' has network tables of unexpected shapes; re-export it");
  const auto t = lmp_denoise::make_tables(buffers, info_.cutoff);
  if (4 * t.channels != info_.feature_size || t.layers != info_.num_layers ||
      t.species != static_cast<int>(info_.species.size()) || buffers[2].size(3) != 5 * t.channels)
    throw std::runtime_error("'" + path + "' network tables do not match its metadata; re-export it");
  impl_->tables = t;
  impl_->buffers = std::move(buffers);
  if (impl_->device.is_cuda()) impl_->module.to(impl_->device);
}

DenoiseModel::~DenoiseModel() = default;

std::string DenoiseModel::device_name() const
{
  return impl_->device.str();
}

bool DenoiseModel::cuda_available()
{
  return torch::cuda::is_available();
}

int DenoiseModel::cuda_device_count()
{
  return static_cast<int>(torch::cuda::device_count());
}

void DenoiseModel::set_threads(int n)
{
  at::set_num_threads(n);
}

void DenoiseModel::parallel(int64_t n, const std::function<void(int64_t, int64_t)> &fn)
{
  lmp_denoise::parallel_range(0, n, 2048, fn);
}

static torch::Tensor view_float(const std::vector<float> &v, std::vector<int64_t> shape)
{
  return torch::from_blob(const_cast<float *>(v.data()), shape, torch::kFloat32);
}

void DenoiseModel::embed(const std::vector<int64_t> &species, std::vector<float> &h)
{
  const auto n = static_cast<int64_t>(species.size());
  h.resize(static_cast<size_t>(n) * info_.feature_size);
  lmp_denoise::embed(impl_->tables, species.data(), n, h.data());
}

void DenoiseModel::layer(int k, std::vector<float> &h, const std::vector<float> &edge_vectors,
                         const std::vector<int64_t> &offsets, const std::vector<int64_t> &neighbours,
                         int64_t ncenters, const std::vector<int64_t> &others)
{
  const int64_t F = info_.feature_size;
  const auto nodes = static_cast<int64_t>(h.size()) / F;
  const auto nedges = static_cast<int64_t>(neighbours.size());
  if (!impl_->device.is_cuda()) {    // in place: messages read the layer's linear map of h, kept in work
    lmp_denoise::interaction(impl_->tables, k, h.data(), nodes, edge_vectors.data(), offsets.data(),
                             neighbours.data(), ncenters, h.data(), impl_->work, &others);
    return;
  }
  // GPU: the TorchScript method on (centre, neighbour) pairs
  std::vector<int64_t> index(2 * nedges);
  for (int64_t i = 0; i < ncenters; ++i)
    for (int64_t e = offsets[i]; e < offsets[i + 1]; ++e) index[e] = i;
  std::copy(neighbours.begin(), neighbours.end(), index.begin() + nedges);
  torch::NoGradGuard no_grad;
  const auto dev = impl_->device;
  auto result = impl_->module
                    .run_method("layer", static_cast<int64_t>(k), view_float(h, {nodes, F}).to(dev),
                                view_float(edge_vectors, {nedges, 3}).to(dev),
                                torch::from_blob(index.data(), {2, nedges}, torch::kInt64).to(dev),
                                static_cast<int64_t>(0), ncenters)
                    .toTensor()
                    .to(torch::kCPU, torch::kFloat32)
                    .contiguous();
  const int64_t expected = ncenters * F;
  if (result.numel() != expected)
    throw std::runtime_error("the model's layer method returned " + std::to_string(result.numel()) +
                             " values where " + std::to_string(expected) + " were expected; re-export the model");
  std::memcpy(h.data(), result.data_ptr<float>(), expected * sizeof(float));
}

void DenoiseModel::readout(const std::vector<float> &h, int64_t n, std::vector<float> &out)
{
  out.resize(static_cast<size_t>(n) * 3);
  lmp_denoise::readout(impl_->tables, h.data(), n, out.data());
}
