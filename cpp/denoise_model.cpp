/* ----------------------------------------------------------------------
   lmp-denoise: loading and running an exported model file
------------------------------------------------------------------------- */

#include "denoise_model.h"

#include "json.h"

#include <torch/cuda.h>
#include <torch/script.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

using namespace LAMMPS_NS;

struct DenoiseModel::Impl {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
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
  } catch (std::exception &e) {
    throw std::runtime_error("'" + path + "' metadata is incomplete (" + e.what() + "); re-export the model");
  }
  if (info.dtype != "float32")
    throw std::runtime_error("'" + path + "' has dtype " + info.dtype + ", only float32 models are supported");
  return info;
}

DenoiseModel::DenoiseModel(const std::string &path, const std::string &device, int device_index) :
    impl_(std::make_unique<Impl>())
{
  if (!std::ifstream(path).good())
    throw std::runtime_error("cannot open model file '" + path + "'");
  if (device == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("device cuda requested but no CUDA GPU is available to torch; use device cpu");
    impl_->device = torch::Device(torch::kCUDA, device_index);
  }
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  try {
    impl_->module = torch::jit::load(path, impl_->device, extra);
  } catch (std::exception &e) {
    std::string what = e.what();
    throw std::runtime_error("'" + path + "' is not a readable lmp-denoise model file: " +
                             what.substr(0, what.find('\n')));
  }
  info_ = parse_metadata(extra["metadata.json"], path);
  impl_->module.eval();
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

void DenoiseModel::predict(const std::vector<float> &edge_vectors,
                           const std::vector<int64_t> &edge_index,
                           const std::vector<int64_t> &species, std::vector<float> &out)
{
  const auto nedges = static_cast<int64_t>(edge_index.size() / 2);
  const auto natoms = static_cast<int64_t>(species.size());
  auto cpu_float = torch::TensorOptions().dtype(torch::kFloat32);
  auto cpu_long = torch::TensorOptions().dtype(torch::kInt64);
  // from_blob does not copy; .to() copies onto the device (or is a no-op on the CPU)
  auto vectors = torch::from_blob(const_cast<float *>(edge_vectors.data()), {nedges, 3}, cpu_float)
                     .to(impl_->device);
  auto index = torch::from_blob(const_cast<int64_t *>(edge_index.data()), {2, nedges}, cpu_long)
                   .to(impl_->device);
  auto types = torch::from_blob(const_cast<int64_t *>(species.data()), {natoms}, cpu_long)
                   .to(impl_->device);
  torch::NoGradGuard no_grad;
  auto result = impl_->module.forward({vectors, index, types}).toTensor().to(torch::kCPU).contiguous();
  out.resize(static_cast<size_t>(natoms) * 3);
  std::memcpy(out.data(), result.data_ptr<float>(), out.size() * sizeof(float));
}
