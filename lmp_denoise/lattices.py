"""Perfect reference crystals, all built at one canonical volume per atom.

Building every lattice at the same atomic volume makes one length scale (the volume per atom)
describe them all, so an input can be mapped onto the training data by a single factor.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk

#: Volume per atom of every reference lattice (Cu fcc at a = 3.615 A), in A^3.
REFERENCE_VOLUME = 3.615**3 / 4.0

#: Conventional-cell builders; each returns a cell of unit volume per atom scaled later.
_BUILDERS = {
    "fcc": lambda: bulk("X", "fcc", a=1.0, cubic=True),
    "bcc": lambda: bulk("X", "bcc", a=1.0, cubic=True),
    "hcp": lambda: bulk("X", "hcp", a=1.0, c=np.sqrt(8.0 / 3.0), orthorhombic=True),
    "sc": lambda: bulk("X", "sc", a=1.0),
    "cd": lambda: bulk("X", "diamond", a=1.0, cubic=True),
    # lonsdaleite: one-species wurtzite with ideal tetrahedra (c/a = sqrt(8/3), u = 3/8)
    "hd": lambda: bulk("XX", "wurtzite", a=1.0, c=np.sqrt(8.0 / 3.0), u=3.0 / 8.0, orthorhombic=True),
    "rocksalt": lambda: bulk("XY", "rocksalt", a=1.0, cubic=True),
}

#: Structures that carry two species; the rest are elemental.
TWO_SPECIES = frozenset({"rocksalt"})

LATTICES = tuple(_BUILDERS)


def conventional_cell(name: str, volume_per_atom: float = REFERENCE_VOLUME) -> Atoms:
    """The conventional cell of ``name`` scaled to ``volume_per_atom``."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown lattice '{name}'; choose one of {', '.join(LATTICES)}")
    cell = _BUILDERS[name]()
    scale = (volume_per_atom * len(cell) / cell.get_volume()) ** (1.0 / 3.0)
    cell.set_cell(cell.cell * scale, scale_atoms=True)
    cell.set_tags(_species_index(cell))
    return cell


def _species_index(atoms: Atoms) -> np.ndarray:
    return np.array([0 if s == "X" else 1 for s in atoms.get_chemical_symbols()])


def supercell(name: str, min_atoms: int = 400, volume_per_atom: float = REFERENCE_VOLUME) -> Atoms:
    """A near-cubic periodic supercell of ``name`` with at least ``min_atoms`` atoms.

    Species indices (0, 1, ...) are stored in ``atoms.get_tags()``.
    """
    cell = conventional_cell(name, volume_per_atom)
    lengths = cell.cell.lengths()
    reps = np.ones(3, dtype=int)
    while len(cell) * reps.prod() < min_atoms:
        reps[np.argmin(lengths * reps)] += 1
    return cell.repeat(tuple(reps))


def nearest_neighbour_distance(name: str, volume_per_atom: float = REFERENCE_VOLUME) -> float:
    cell = conventional_cell(name, volume_per_atom).repeat(2)
    d = cell.get_all_distances(mic=True)
    return float(d[d > 1e-8].min())
