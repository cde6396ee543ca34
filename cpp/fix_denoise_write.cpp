/* ----------------------------------------------------------------------
   lmp-denoise: fix denoise/write

   fix ID group denoise/write N file compute-ID keyword value ...
     N = write every N steps
     file = compressed trajectory (.ldz)
     compute-ID = a compute denoise (its columns 1-4: denoised x y z, |displacement|)
     keywords: bound B (A, default 0.02) | append yes|no (default no)
   Global vector: frames written, bytes written, seconds spent writing (gather, encode, write),
   seconds spent in the compute evaluations this fix triggered.

   Rank 0 gathers the group's atoms, quantises their denoised positions in fractional
   coordinates so that every Cartesian coordinate is within B, predicts them from the previous
   frame, compresses the frame with xz (liblzma) and appends it as one checksummed record. The
   format is specified in lmp_denoise/io/compression.py, which reads it; keep the two in step.
------------------------------------------------------------------------- */

#include "fix_denoise_write.h"

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "domain.h"
#include "error.h"
#include "group.h"
#include "modify.h"
#include "platform.h"
#include "update.h"

#include <lzma.h>
#include <mpi.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

using namespace LAMMPS_NS;
using namespace FixConst;

static constexpr char MAGIC[8] = {'L', 'M', 'P', 'D', 'N', 'Z', '\0', '\1'};
static constexpr uint32_t FORMAT_VERSION = 1;
static constexpr int KEYFRAME_EVERY = 500;
static constexpr double GRID_MARGIN = 1.01;
static constexpr double DISORDER_EDGES[3] = {0.5, 1.0, 2.0};
static constexpr double DEFAULT_BOUND = 0.02;
static constexpr uint32_t XZ_PRESET = 6;

/* ---------------------------------------------------------------------- */

template <typename T> static void put(std::vector<uint8_t> &out, T value)
{
  const auto *bytes = reinterpret_cast<const uint8_t *>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

template <typename T> static void put_array(std::vector<uint8_t> &out, const std::vector<T> &values)
{
  const auto *bytes = reinterpret_cast<const uint8_t *>(values.data());
  out.insert(out.end(), bytes, bytes + values.size() * sizeof(T));
}

// bytes of the file up to the end of its last complete record; 0 if it has no valid header
static uint64_t intact_length(const std::string &path)
{
  std::ifstream in(path, std::ios::binary);
  char head[16];
  if (!in.read(head, 16) || std::memcmp(head, MAGIC, 8) != 0) return 0;
  uint64_t good = 16;
  std::vector<uint8_t> payload;
  while (true) {
    char tag[4];
    uint32_t size = 0, crc = 0;
    if (!in.read(tag, 4) || !in.read(reinterpret_cast<char *>(&size), 4) ||
        !in.read(reinterpret_cast<char *>(&crc), 4) || std::memcmp(tag, "FRAM", 4) != 0)
      return good;
    payload.resize(size);
    if (!in.read(reinterpret_cast<char *>(payload.data()), size)) return good;
    if (lzma_crc32(payload.data(), size, 0) != crc) return good;
    good += 12 + size;
  }
}

/* ---------------------------------------------------------------------- */

FixDenoiseWrite::FixDenoiseWrite(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), compute(nullptr), bound(DEFAULT_BOUND), fp(nullptr), last_written(-1),
    stats{0.0, 0.0, 0.0, 0.0}, grid{1, 1, 1}, age(0)
{
  vector_flag = 1;
  size_vector = 4;
  global_freq = 1;
  extvector = 0;
  if (narg < 6) utils::missing_cmd_args(FLERR, "fix denoise/write", error);
  nevery = utils::inumeric(FLERR, arg[3], false, lmp);
  if (nevery < 1) error->all(FLERR, "Fix denoise/write: N must be at least 1, got {}", nevery);
  filename = arg[4];
  compute_id = arg[5];
  bool append = false;
  for (int iarg = 6; iarg < narg; iarg += 2) {
    const std::string key = arg[iarg];
    if (iarg + 1 >= narg) utils::missing_cmd_args(FLERR, "fix denoise/write " + key, error);
    if (key == "bound") {
      bound = utils::numeric(FLERR, arg[iarg + 1], false, lmp);
      if (!(bound > 0.0)) error->all(FLERR, "Fix denoise/write: bound must be > 0 (distance units), got {}", bound);
    } else if (key == "append") {
      append = utils::logical(FLERR, arg[iarg + 1], false, lmp) == 1;
    } else {
      error->all(FLERR, "Fix denoise/write: unknown keyword '{}' (expected bound, append)", key);
    }
  }
  if (comm->me == 0) open_file(append);
}

FixDenoiseWrite::~FixDenoiseWrite()
{
  if (fp) fclose(fp);
}

/* ----------------------------------------------------------------------
   new file: header; append: keep every complete record, cut a damaged tail (a killed run)
------------------------------------------------------------------------- */

void FixDenoiseWrite::open_file(bool append)
{
  std::error_code ec;
  const bool exists = std::filesystem::exists(filename, ec);
  if (append && exists) {
    const uint64_t keep = intact_length(filename);
    if (keep == 0)
      error->one(FLERR, "Fix denoise/write: {} is not an lmp-denoise compressed trajectory; use append no "
                 "or another file name", filename);
    std::filesystem::resize_file(filename, keep, ec);
    if (ec) error->one(FLERR, "Fix denoise/write: cannot cut the damaged tail of {}: {}", filename, ec.message());
    fp = fopen(filename.c_str(), "ab");
  } else {
    fp = fopen(filename.c_str(), "wb");
    if (fp) {
      fwrite(MAGIC, 1, 8, fp);
      const uint32_t words[2] = {FORMAT_VERSION, 0};
      fwrite(words, 4, 2, fp);
      fflush(fp);
    }
  }
  if (!fp) error->one(FLERR, "Fix denoise/write: cannot open {}: {}", filename, utils::getsyserror());
}

int FixDenoiseWrite::setmask()
{
  return END_OF_STEP;
}

void FixDenoiseWrite::init()
{
  compute = modify->get_compute_by_id(compute_id);
  if (!compute) error->all(FLERR, "Fix denoise/write: compute {} does not exist", compute_id);
  if (std::string(compute->style) != "denoise")
    error->all(FLERR, "Fix denoise/write: compute {} is a compute {}, not a compute denoise", compute_id,
               compute->style);
}

void FixDenoiseWrite::setup(int)
{
  if (update->ntimestep % nevery == 0) end_of_step();
}

void FixDenoiseWrite::end_of_step()
{
  if (update->ntimestep == last_written) return;
  last_written = update->ntimestep;
  modify->clearstep_compute();
  const double start = platform::walltime();
  if (compute->invoked_peratom != update->ntimestep) compute->compute_peratom();
  const double computed = platform::walltime();
  write_frame();
  double times[2] = {computed - start, platform::walltime() - computed};
  MPI_Bcast(times, 2, MPI_DOUBLE, 0, world);    // rank 0's clock: the one that waited for the write
  stats[3] += times[0];
  stats[2] += times[1];
  double written[2] = {stats[0], stats[1]};
  MPI_Bcast(written, 2, MPI_DOUBLE, 0, world);
  stats[0] = written[0];
  stats[1] = written[1];
  modify->addstep_compute(update->ntimestep + nevery);
}

double FixDenoiseWrite::compute_vector(int n)
{
  return stats[n];
}

/* ----------------------------------------------------------------------
   gather id, type, denoised x y z, |displacement| of the group on rank 0; encode; append
------------------------------------------------------------------------- */

void FixDenoiseWrite::write_frame()
{
  const int nlocal = atom->nlocal;
  double **out = compute->array_atom;
  std::vector<double> mine;
  for (int i = 0; i < nlocal; ++i) {
    if (!(atom->mask[i] & groupbit)) continue;
    mine.insert(mine.end(), {static_cast<double>(atom->tag[i]), static_cast<double>(atom->type[i]), out[i][0],
                             out[i][1], out[i][2], out[i][3]});
  }
  const int n = static_cast<int>(mine.size());
  std::vector<int> counts(comm->nprocs), offsets(comm->nprocs, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
  std::vector<double> all;
  if (comm->me == 0) {
    for (int p = 1; p < comm->nprocs; ++p) offsets[p] = offsets[p - 1] + counts[p - 1];
    all.resize(static_cast<size_t>(offsets.back()) + counts.back());
  }
  MPI_Gatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, 0, world);
  if (comm->me != 0) return;

  const size_t natoms = all.size() / 6;
  std::vector<size_t> order(natoms);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return all[6 * a] < all[6 * b]; });
  std::vector<int64_t> ids(natoms);
  std::vector<int32_t> types(natoms);
  std::vector<double> x(3 * natoms), disp(natoms);
  for (size_t k = 0; k < natoms; ++k) {
    const double *row = &all[6 * order[k]];
    ids[k] = static_cast<int64_t>(row[0]);
    types[k] = static_cast<int32_t>(row[1]);
    for (int c = 0; c < 3; ++c) x[3 * k + c] = row[2 + c];
    disp[k] = row[5];
  }
  const auto payload = encode(ids, types, x, disp);
  std::vector<uint8_t> record;
  record.insert(record.end(), {'F', 'R', 'A', 'M'});
  put<uint32_t>(record, static_cast<uint32_t>(payload.size()));
  put<uint32_t>(record, lzma_crc32(payload.data(), payload.size(), 0));
  put_array(record, payload);
  if (fwrite(record.data(), 1, record.size(), fp) != record.size() || fflush(fp) != 0)
    error->one(FLERR, "Fix denoise/write: cannot write to {}: {}", filename, utils::getsyserror());
  stats[0] += 1.0;
  stats[1] += static_cast<double>(record.size());
}

/* ----------------------------------------------------------------------
   one frame's payload (see lmp_denoise/io/compression.py), xz-compressed
------------------------------------------------------------------------- */

std::vector<uint8_t> FixDenoiseWrite::encode(std::vector<int64_t> &ids, std::vector<int32_t> &types,
                                             std::vector<double> &x, std::vector<double> &disp)
{
  const size_t natoms = ids.size();
  // box: origin and cell rows a = (xprd, 0, 0), b = (xy, yprd, 0), c = (xz, yz, zprd)
  const double cell[3][3] = {{domain->xprd, 0.0, 0.0},
                             {domain->triclinic ? domain->xy : 0.0, domain->yprd, 0.0},
                             {domain->triclinic ? domain->xz : 0.0, domain->triclinic ? domain->yz : 0.0,
                              domain->zprd}};
  const double *origin = domain->boxlo;
  const int periodic[3] = {domain->xperiodic, domain->yperiodic, domain->zperiodic};

  auto grid_holds = [&](const int64_t g[3]) {
    for (int c = 0; c < 3; ++c) {
      double err = 0.0;
      for (int k = 0; k < 3; ++k) err += std::fabs(cell[k][c]) / (2.0 * g[k]);
      if (err > bound) return false;
    }
    return true;
  };
  const bool same_atoms = !prev_ids.empty() && prev_ids == ids && prev_types == types;
  const bool keyframe = !(same_atoms && grid_holds(grid) && age + 1 < KEYFRAME_EVERY);
  if (keyframe) {
    int nonzero[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k)
      for (int c = 0; c < 3; ++c) nonzero[c] += cell[k][c] != 0.0;
    for (int k = 0; k < 3; ++k) {
      double need = 0.0;
      for (int c = 0; c < 3; ++c) need = std::max(need, std::fabs(cell[k][c]) * nonzero[c]);
      grid[k] = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(GRID_MARGIN * need / (2.0 * bound))));
    }
  }
  // fractional coordinates of an upper-triangular cell (rows), wrapped on periodic axes
  std::vector<int64_t> q(3 * natoms);
  for (size_t i = 0; i < natoms; ++i) {
    const double dx = x[3 * i] - origin[0], dy = x[3 * i + 1] - origin[1], dz = x[3 * i + 2] - origin[2];
    double s[3];
    s[2] = dz / cell[2][2];
    s[1] = (dy - s[2] * cell[2][1]) / cell[1][1];
    s[0] = (dx - s[1] * cell[1][0] - s[2] * cell[2][0]) / cell[0][0];
    for (int k = 0; k < 3; ++k) {
      if (periodic[k]) s[k] -= std::floor(s[k]);
      int64_t v = std::llround(s[k] * grid[k]);
      if (periodic[k]) v = ((v % grid[k]) + grid[k]) % grid[k];
      q[3 * i + k] = v;
    }
  }
  int64_t drift[3] = {0, 0, 0};
  std::vector<uint8_t> body;
  if (keyframe) {
    std::vector<int32_t> q32(q.begin(), q.end());
    put_array(body, q32);
  } else {
    std::vector<int64_t> d(3 * natoms);
    for (size_t i = 0; i < 3 * natoms; ++i) {
      const int k = i % 3;
      int64_t v = q[i] - prev_q[i];
      if (periodic[k]) {
        const int64_t half = grid[k] / 2;
        v = ((v + half) % grid[k] + grid[k]) % grid[k] - half;
      }
      d[i] = v;
    }
    for (int k = 0; k < 3; ++k) {    // the lower median of each axis: a common drift
      std::vector<int64_t> axis(natoms);
      for (size_t i = 0; i < natoms; ++i) axis[i] = d[3 * i + k];
      std::nth_element(axis.begin(), axis.begin() + natoms / 2, axis.end());
      drift[k] = natoms ? axis[natoms / 2] : 0;
    }
    std::vector<uint8_t> symbols(natoms);
    std::vector<int32_t> escaped;
    for (size_t i = 0; i < natoms; ++i) {
      int64_t r[3];
      bool small = true;
      for (int k = 0; k < 3; ++k) {
        r[k] = d[3 * i + k] - drift[k];
        small = small && std::llabs(r[k]) <= 1;
      }
      if (small) {
        symbols[i] = static_cast<uint8_t>(9 * (r[0] + 1) + 3 * (r[1] + 1) + (r[2] + 1));
      } else {
        symbols[i] = 27;
        for (int k = 0; k < 3; ++k) escaped.push_back(static_cast<int32_t>(r[k]));
      }
    }
    put_array(body, symbols);
    put_array(body, escaped);
  }

  std::vector<uint8_t> raw;
  put<int64_t>(raw, update->ntimestep);
  put<int64_t>(raw, static_cast<int64_t>(natoms));
  put<uint8_t>(raw, keyframe);
  put<uint8_t>(raw, !same_atoms);
  for (int k = 0; k < 3; ++k) put<uint8_t>(raw, static_cast<uint8_t>(periodic[k]));
  put<uint8_t>(raw, 0);
  put<double>(raw, bound);
  for (int k = 0; k < 3; ++k) put<double>(raw, origin[k]);
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c) put<double>(raw, cell[k][c]);
  for (int k = 0; k < 3; ++k) put<int64_t>(raw, grid[k]);
  for (int k = 0; k < 3; ++k) put<int64_t>(raw, drift[k]);
  if (!same_atoms) {
    put_array(raw, ids);
    put_array(raw, types);
  }
  put_array(raw, body);
  for (size_t i = 0; i < natoms; ++i) {
    uint8_t level = 0;
    while (level < 3 && disp[i] >= DISORDER_EDGES[level]) ++level;
    raw.push_back(level);
  }

  std::vector<uint8_t> packed(lzma_stream_buffer_bound(raw.size()));
  size_t used = 0;
  if (lzma_easy_buffer_encode(XZ_PRESET, LZMA_CHECK_NONE, nullptr, raw.data(), raw.size(), packed.data(), &used,
                              packed.size()) != LZMA_OK)
    error->one(FLERR, "Fix denoise/write: xz compression of a frame failed");
  packed.resize(used);

  prev_ids.swap(ids);
  prev_types.swap(types);
  prev_q.swap(q);
  age = keyframe ? 0 : age + 1;
  return packed;
}

double FixDenoiseWrite::memory_usage()
{
  return static_cast<double>(prev_ids.capacity() * sizeof(int64_t) + prev_q.capacity() * sizeof(int64_t) +
                             prev_types.capacity() * sizeof(int32_t));
}
