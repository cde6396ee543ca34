"""The silica polymorphs at the 0 K, zero-pressure geometry of the Tersoff potential SiO.tersoff.

Each polymorph keeps its space group: its free parameters (cell lengths and the Wyckoff
coordinates of Si and O) are varied from the measured structure to the minimum of the energy per
atom (at zero pressure the enthalpy), evaluated with LAMMPS. A free relaxation would not do: beta
quartz and beta cristobalite are saddle points at 0 K and fall into their alpha forms. Prints the
parameters that lmp_denoise/data/lattices.py holds for the model 'sio2' (TERSOFF_SILICA).

    python benchmarks/sio2/relax.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from ase.io import write
from scipy.optimize import minimize

from lmp_denoise.data.lattices import SILICA_SITES, silica_cell
from lmp_denoise.data.md import new_lammps, potential_dir


class Energy:
    """Energy per atom of a silica structure, one LAMMPS instance for every call."""

    def __init__(self) -> None:
        self.lmp = new_lammps()
        self.folder = tempfile.TemporaryDirectory()

    def __call__(self, atoms) -> float:
        path = Path(self.folder.name) / "cell.data"
        write(path, atoms, format="lammps-data", specorder=["Si", "O"], atom_style="atomic")
        self.lmp.command("clear")
        self.lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                "boundary p p p",
                f"read_data {path}",
                "mass 1 28.0855",
                "mass 2 15.999",
                "pair_style tersoff",
                f"pair_coeff * * {potential_dir() / 'SiO.tersoff'} Si O",
                "thermo_style custom pe",
                "run 0",
            ]
        )
        return self.lmp.get_thermo("pe") / len(atoms)


def relax(name: str, energy: Energy) -> tuple[float, list[float]]:
    start = np.array(SILICA_SITES[name]["measured"], dtype=float)
    # lengths move by fractions, coordinates by absolute amounts: one step size for both
    unit = np.where(np.arange(len(start)) < 2, start, 1.0)

    def objective(x: np.ndarray) -> float:
        return energy(silica_cell(name, list(x * unit)))

    result = minimize(objective, start / unit, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    return float(result.fun), list(result.x * unit)


def main() -> None:
    energy = Energy()
    for name in SILICA_SITES:
        e, params = relax(name, energy)
        print(f'    "{name}": [{", ".join(f"{v:.5f}" for v in params)}],  # {e:.5f} eV/atom', flush=True)


if __name__ == "__main__":
    main()
