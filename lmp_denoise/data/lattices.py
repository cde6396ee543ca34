"""Perfect reference crystals, and the scale at which a model is trained on them.

Elemental lattices are built at one canonical volume per atom (Cu fcc); the silica polymorphs at
their measured geometry (Si-O 1.59-1.62 A). For training, every structure is then scaled so that
the automatic length scale (``scale.volume_per_atom``) reads exactly ``REFERENCE_VOLUME`` on it:
an input of any trained structure, at any lattice constant, maps onto its training copy by one
factor, whatever its density (quartz and cristobalite share bond lengths, not densities).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal

if TYPE_CHECKING:
    from ..infer.scale import ScaleRecipe

#: Volume per atom of every reference lattice (Cu fcc at a = 3.615 A), in A^3.
REFERENCE_VOLUME = 3.615**3 / 4.0


#: Silica polymorphs: space group, lattice ("hex" or "tet"), how the free parameters [a, c, ...]
#: place Si and O, and the measured room-temperature values (beta phases: the ideal forms).
SILICA_SITES = {
    # P3_221 (Levien et al. 1980), origin shifted by c/3 for ASE's setting of the group
    "alpha-quartz": {"group": 154, "lattice": "hex", "measured": [4.913, 5.405, 0.4697, 0.4135, 0.2669, 0.7858]},
    "beta-quartz": {"group": 180, "lattice": "hex", "measured": [4.999, 5.457, 0.2072]},
    "alpha-cristobalite": {"group": 92, "lattice": "tet", "measured": [4.978, 6.948, 0.3003, 0.2392, 0.1044, 0.1787]},
    # I-42d, the ordered model of the beta phase
    "beta-cristobalite": {"group": 122, "lattice": "tet", "measured": [5.06, 7.16, 0.0885]},
}

#: The same free parameters at the 0 K, zero-pressure minimum of the Tersoff potential SiO.tersoff
#: (Munetoh et al. 2007) with each space group kept: written by benchmarks/sio2/relax.py. Its bonds
#: are 2% longer and its Si-O-Si angles wider than measured; the model 'sio2' is trained on these.
TERSOFF_SILICA = {
    "alpha-quartz": [5.08200, 5.52775, 0.47596, 0.41866, 0.25741, 0.79505],  # -6.69793 eV/atom
    "beta-quartz": [5.12914, 5.64220, 0.20580],  # -6.68378 eV/atom
    "alpha-cristobalite": [5.13575, 6.96386, 0.30074, 0.23970, 0.10148, 0.17792],  # -6.69793 eV/atom
    "beta-cristobalite": [5.02886, 7.56223, 0.09037],  # -6.69793 eV/atom
}


def silica_cell(name: str, params: list[float]) -> Atoms:
    """Conventional cell of a silica polymorph from its free parameters (see SILICA_SITES)."""
    site = SILICA_SITES[name]
    a, c, *free = params
    if name == "alpha-quartz":
        silicon, oxygen = (free[0], 0.0, 2.0 / 3.0), tuple(free[1:4])
    elif name == "beta-quartz":
        silicon, oxygen = (0.5, 0.0, 0.0), (free[0], 2.0 * free[0], 0.5)
    elif name == "alpha-cristobalite":
        silicon, oxygen = (free[0], free[0], 0.0), tuple(free[1:4])
    else:
        silicon, oxygen = (0.0, 0.0, 0.0), (free[0], 0.25, 0.125)
    angle = 120 if site["lattice"] == "hex" else 90
    return crystal(["Si", "O"], basis=[silicon, oxygen], spacegroup=site["group"], cellpar=[a, a, c, 90, 90, angle])


#: Conventional-cell builders. Elemental ones use the placeholder symbols X (and Y for the second
#: species) at unit length; silica ones are in A (the Tersoff geometry, see TERSOFF_SILICA).
_BUILDERS = {
    "fcc": lambda: bulk("X", "fcc", a=1.0, cubic=True),
    "bcc": lambda: bulk("X", "bcc", a=1.0, cubic=True),
    "hcp": lambda: bulk("X", "hcp", a=1.0, c=np.sqrt(8.0 / 3.0), orthorhombic=True),
    "sc": lambda: bulk("X", "sc", a=1.0),
    "cd": lambda: bulk("X", "diamond", a=1.0, cubic=True),
    # lonsdaleite: one-species wurtzite with ideal tetrahedra (c/a = sqrt(8/3), u = 3/8)
    "hd": lambda: bulk("XX", "wurtzite", a=1.0, c=np.sqrt(8.0 / 3.0), u=3.0 / 8.0, orthorhombic=True),
    "rocksalt": lambda: bulk("XY", "rocksalt", a=1.0, cubic=True),
    **{name: (lambda name=name: silica_cell(name, TERSOFF_SILICA[name])) for name in SILICA_SITES},
}

SILICA = frozenset(SILICA_SITES)

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
def uneven_density(name: str) -> bool:
    """Whether the atoms of the ideal lattice ``name`` count unequal neighbour densities in the
    automatic scale's sphere (silica: O more than Si), which its dense part cannot tell from a
    surface."""
    from ..infer.scale import RECIPE, nearest_distances, neighbour_counts

    atoms = supercell(name, 1000)
    args = (atoms.positions, atoms.cell.array, atoms.pbc)
    d = nearest_distances(*args)[0]
    count = neighbour_counts(*args, RECIPE.sphere_radius * d, RECIPE.smoothing * d)
    return bool(count.min() < 0.99 * count.max())


def scale_recipe(names: list[str]) -> ScaleRecipe:
    """The automatic scale's recipe (infer/scale.py ScaleRecipe) for a model of the lattices
    ``names``: this version's, or its dense part before 0.11 where a lattice's atoms count unequal
    densities."""
    from ..infer.scale import RECIPE, UNEVEN

    return UNEVEN if any(uneven_density(name) for name in names) else RECIPE


@cache
def training_scale(name: str) -> float:
    """Length factor that makes the automatic scale read ``REFERENCE_VOLUME`` on ``name``."""
    from ..infer.scale import volume_per_atom

    atoms = supercell(name, 1000)
    volume = volume_per_atom(atoms.positions, atoms.cell.array, atoms.pbc, scale_recipe([name]))
    return (REFERENCE_VOLUME / volume) ** (1.0 / 3.0)


def training_cell(name: str, min_atoms: int = 1) -> Atoms:
    """``supercell(name, min_atoms)`` at the scale a model is trained on (see the module text)."""
    atoms = supercell(name, min_atoms)
    atoms.set_cell(atoms.cell * training_scale(name), scale_atoms=True)
    return atoms


def nearest_neighbour_distance(atoms: Atoms) -> float:
    """Shortest interatomic distance of a periodic crystal."""
    d = atoms.repeat(2).get_all_distances(mic=True)
    return float(d[d > 1e-8].min())
