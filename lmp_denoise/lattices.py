"""Perfect reference crystals, and the scale at which a model is trained on them.

Elemental lattices are built at one canonical volume per atom (Cu fcc); the silica polymorphs at
their measured geometry (Si-O 1.59-1.62 A). For training, every structure is then scaled so that
the automatic length scale (``scale.volume_per_atom``) reads exactly ``REFERENCE_VOLUME`` on it:
an input of any trained structure, at any lattice constant, maps onto its training copy by one
factor, whatever its density (quartz and cristobalite share bond lengths, not densities).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal

#: Volume per atom of every reference lattice (Cu fcc at a = 3.615 A), in A^3.
REFERENCE_VOLUME = 3.615**3 / 4.0


def _silica(spacegroup: int, cellpar: list[float], silicon: tuple, oxygen: tuple) -> Atoms:
    return crystal(["Si", "O"], basis=[silicon, oxygen], spacegroup=spacegroup, cellpar=cellpar)


#: Conventional-cell builders. Elemental ones use the placeholder symbols X (and Y for the second
#: species) at unit length; silica ones are in A (room-temperature structures; beta phases ideal).
_BUILDERS = {
    "fcc": lambda: bulk("X", "fcc", a=1.0, cubic=True),
    "bcc": lambda: bulk("X", "bcc", a=1.0, cubic=True),
    "hcp": lambda: bulk("X", "hcp", a=1.0, c=np.sqrt(8.0 / 3.0), orthorhombic=True),
    "sc": lambda: bulk("X", "sc", a=1.0),
    "cd": lambda: bulk("X", "diamond", a=1.0, cubic=True),
    # lonsdaleite: one-species wurtzite with ideal tetrahedra (c/a = sqrt(8/3), u = 3/8)
    "hd": lambda: bulk("XX", "wurtzite", a=1.0, c=np.sqrt(8.0 / 3.0), u=3.0 / 8.0, orthorhombic=True),
    "rocksalt": lambda: bulk("XY", "rocksalt", a=1.0, cubic=True),
    # P3_221 (Levien et al. 1980), origin shifted by c/3 for ASE's setting of the group
    "alpha-quartz": lambda: _silica(154, [4.913, 4.913, 5.405, 90, 90, 120], (0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.7858)),
    "beta-quartz": lambda: _silica(180, [4.999, 4.999, 5.457, 90, 90, 120], (0.5, 0, 0), (0.2072, 0.4144, 0.5)),
    "alpha-cristobalite": lambda: _silica(92, [4.978, 4.978, 6.948, 90, 90, 90], (0.3003, 0.3003, 0), (0.2392, 0.1044, 0.1787)),
    # I-42d, the ordered model of the beta phase (Si-O 1.61 A, Si-O-Si 147 degrees)
    "beta-cristobalite": lambda: _silica(122, [5.06, 5.06, 7.16, 90, 90, 90], (0, 0, 0), (0.0885, 0.25, 0.125)),
}

SILICA = frozenset({"alpha-quartz", "beta-quartz", "alpha-cristobalite", "beta-cristobalite"})

#: Species names of each structure, in the order of their indices (atoms.get_tags()).
SPECIES = {name: ("Si", "O") if name in SILICA else ("A", "B") if name == "rocksalt" else ("A",) for name in _BUILDERS}

LATTICES = tuple(_BUILDERS)


def species_of(structures: list[str]) -> list[str]:
    """The species a model trained on ``structures`` knows, in index order."""
    names: list[str] = []
    for structure in structures:
        names += [s for s in SPECIES[structure] if s not in names]
    return names


def conventional_cell(name: str, volume_per_atom: float | None = None) -> Atoms:
    """The conventional cell of ``name``, scaled to ``volume_per_atom`` (default: elemental
    lattices at ``REFERENCE_VOLUME``, silica at its measured size). Species indices in the tags."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown lattice '{name}'; choose one of {', '.join(LATTICES)}")
    cell = _BUILDERS[name]()
    if volume_per_atom is not None or name not in SILICA:
        target = REFERENCE_VOLUME if volume_per_atom is None else volume_per_atom
        scale = (target * len(cell) / cell.get_volume()) ** (1.0 / 3.0)
        cell.set_cell(cell.cell * scale, scale_atoms=True)
    symbols = cell.get_chemical_symbols()
    cell.set_tags([0 if s in ("X", "Si") else 1 for s in symbols])
    return cell


def _repeats(cell: Atoms, min_atoms: int) -> tuple[int, int, int]:
    lengths = cell.cell.lengths()
    reps = np.ones(3, dtype=int)
    while len(cell) * reps.prod() < min_atoms:
        reps[np.argmin(lengths * reps)] += 1
    return tuple(int(r) for r in reps)


def supercell(name: str, min_atoms: int = 400, volume_per_atom: float | None = None) -> Atoms:
    """A near-cubic periodic supercell of ``name`` with at least ``min_atoms`` atoms.

    Species indices (0, 1, ...) are stored in ``atoms.get_tags()``.
    """
    cell = conventional_cell(name, volume_per_atom)
    return cell.repeat(_repeats(cell, min_atoms))


@cache
def training_scale(name: str) -> float:
    """Length factor that makes the automatic scale read ``REFERENCE_VOLUME`` on ``name``."""
    from .scale import volume_per_atom

    atoms = supercell(name, 1000)
    return (REFERENCE_VOLUME / volume_per_atom(atoms.positions, atoms.cell.array, atoms.pbc)) ** (1.0 / 3.0)


def training_cell(name: str, min_atoms: int = 1) -> Atoms:
    """``supercell(name, min_atoms)`` at the scale a model is trained on (see the module text)."""
    atoms = supercell(name, min_atoms)
    atoms.set_cell(atoms.cell * training_scale(name), scale_atoms=True)
    return atoms


def nearest_neighbour_distance(atoms: Atoms) -> float:
    """Shortest interatomic distance of a periodic crystal."""
    d = atoms.repeat(2).get_all_distances(mic=True)
    return float(d[d > 1e-8].min())
