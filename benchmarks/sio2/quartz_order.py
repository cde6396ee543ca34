"""Where is alpha quartz stable under SiO.tersoff? Its tilt order parameter Q(t) in MD.

Q: each Si atom's displacement from its beta-quartz site (x = 1/2 of the P3_221 site (x, 0, 2/3)),
projected on its displacement in ideal alpha quartz and averaged over the Si atoms: 1 in the 0 K
alpha crystal, -1 in its Dauphine twin, 0 in beta quartz and in a crystal whose tetrahedra tilt
with no common sense. MD as in snapshots.py (zero-pressure NPH with the tilts, CSVR, 1 fs) from
ideal alpha quartz of 3,087 atoms (the benchmark's 720-atom cell loses the order at 300 K within
3 ps: too small). Positions are read in the box's own lattice vectors, followed through LAMMPS's
box flips. Prints each temperature's mean Q and volume over the last 5 ps and draws
docs/figures/sio2_quartz_order.png; the series are cached under benchmarks/out/cases.

    python benchmarks/sio2/quartz_order.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from common import FIGURES, OUT  # noqa: E402
from snapshots import TIMESTEP, force_field, system  # noqa: E402

from lmp_denoise.data.lattices import TERSOFF_SILICA, silica_cell, supercell  # noqa: E402
from lmp_denoise.data.md import new_lammps  # noqa: E402

TEMPERATURES = (100, 300, 450, 600, 1000)
ATOMS = 3000
RUN_PS, SAMPLE_PS, LAST_PS = 12.0, 0.1, 5.0


def alpha_pattern(atoms) -> np.ndarray:
    """Fractional displacement of each atom of the alpha supercell ``atoms`` from its beta-quartz
    site (zero for O, whose pattern Q does not use)."""
    a, c, x, *oxygen = TERSOFF_SILICA["alpha-quartz"]
    alpha, beta = (silica_cell("alpha-quartz", [a, c, u, *oxygen]) for u in (x, 0.5))
    shift = alpha.get_scaled_positions() - beta.get_scaled_positions()
    shift -= np.round(shift)
    shift[alpha.numbers != 14] = 0.0
    repeats = np.round(atoms.cell.lengths() / alpha.cell.lengths()).astype(int)
    return np.tile(shift, (int(np.prod(repeats)), 1)) / repeats


def series(temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Q and the volume per atom (A^3) every SAMPLE_PS over RUN_PS of MD at ``temperature`` K."""
    atoms = supercell("alpha-quartz", ATOMS)
    pattern = alpha_pattern(atoms)
    silicon = atoms.numbers == 14
    beta_sites = atoms.get_scaled_positions() - pattern
    cell = atoms.cell.array.copy()
    lmp = new_lammps()
    with tempfile.TemporaryDirectory() as folder:  # the same supercell, written and read
        lmp.commands_list(["units metal", "atom_style atomic", *system("alpha-quartz", Path(folder), ATOMS)])
    lmp.commands_list(
        [
            *force_field(),
            f"timestep {TIMESTEP}",
            "thermo 0",
            f"velocity all create {2 * temperature} 5521 mom yes rot yes dist gaussian",
            "fix integrate all nph tri 0.0 0.0 1.0",
            f"fix csvr all temp/csvr {temperature} {temperature} 0.1 5523",
        ]
    )
    order, volume = [], []
    for _ in range(int(round(RUN_PS / SAMPLE_PS))):
        lmp.command(f"run {int(round(SAMPLE_PS / TIMESTEP))}")
        lo, hi, xy, yz, xz, _, _ = lmp.extract_box()
        box = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
        cell = np.linalg.solve(np.round(box @ np.linalg.inv(cell)), box)  # the same lattice vectors after a flip
        positions = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(-1, 3) - np.array(lo)
        moved = np.linalg.solve(cell.T, positions.T).T - beta_sites
        moved -= np.round(moved)
        moved -= moved.mean(axis=0)
        along, alpha = moved[silicon] @ cell, pattern[silicon] @ cell
        order.append(float(np.mean(np.sum(along * alpha, axis=1) / np.sum(alpha * alpha, axis=1))))
        volume.append(abs(np.linalg.det(cell)) / len(atoms))
    lmp.close()
    return np.array(order), np.array(volume)


def main() -> None:
    cache = OUT / "sio2_quartz_order.npz"
    if cache.exists():
        found = dict(np.load(cache))
    else:
        found = {}
        for temperature in TEMPERATURES:
            found[f"Q{temperature}"], found[f"V{temperature}"] = series(temperature)
            print(f"  alpha quartz MD at {temperature} K done", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **found)
    last = int(round(LAST_PS / SAMPLE_PS))
    for temperature in TEMPERATURES:
        q, v = found[f"Q{temperature}"][-last:], found[f"V{temperature}"][-last:]
        order = f"Q = {q.mean():+.2f} +- {q.std():.2f}"
        print(f"alpha quartz, {temperature:>4} K: {order}, {v.mean():.2f} A^3/atom (last {LAST_PS:g} ps)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for temperature in TEMPERATURES:
        q = found[f"Q{temperature}"]
        ax.plot(SAMPLE_PS * np.arange(1, len(q) + 1), q, label=f"{temperature} K", lw=1)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("alpha tilt order Q")
    ax.set_title(f"alpha quartz under SiO.tersoff, {len(supercell('alpha-quartz', ATOMS))} atoms, NPH + CSVR", fontsize=9)
    ax.legend(fontsize=7, ncol=len(TEMPERATURES))
    fig.tight_layout()
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURES / "sio2_quartz_order.png", dpi=100)
    print(f"wrote {FIGURES / 'sio2_quartz_order.png'}")


if __name__ == "__main__":
    main()
