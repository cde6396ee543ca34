"""On-the-fly compression of denoised trajectories, measured on hot Cu with point defects.

One LAMMPS run (32,000-site fcc Cu, Mishin EAM, 8 vacancies and 4 interstitials, NPT at 0.8 Tm,
51 frames 100 steps apart) writes, from the same steps: raw `dump custom/gz` (id type x y z), raw
`dump xtc`, a text dump of the denoised positions, and `fix denoise/write` files at bounds 0.01,
0.02 and 0.05 A. Prints bytes per atom per frame, the same quantiser applied to the raw positions,
checks every decompressed coordinate against the denoised one, compares a-CNA/PTM labels and
Wigner-Seitz counts on decompressed and denoised frames, and the fix's write time against the
compute's.

    python benchmarks/compression.py [--cells 20] [--frames 50] [--every 100] [--out DIR] [--keywords '...']
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lmp_denoise.data.lattices import supercell
from lmp_denoise.data.md import METALS, potential_dir
from lmp_denoise.integrations.ovito_analysis import adaptive_cna_types, ptm_types, wigner_seitz_defects
from lmp_denoise.io.compression import Encoder, read
from lmp_denoise.io.formats import read_dump

BOUNDS = (0.01, 0.02, 0.05)
BIN = Path(sys.executable).parent

SCRIPT = """
units metal
lattice fcc 3.615
region box block 0 {n} 0 {n} 0 {n}
create_box 1 box
create_atoms 1 box
mass 1 63.546
group gone id {vacancies}
delete_atoms group gone
{interstitials}
pair_style eam/alloy
pair_coeff * * Cu_mishin1.eam.alloy Cu
velocity all create {t2} 4928459 loop geom
fix md all npt temp {t} {t} 0.1 iso 0 0 1.0
thermo 500
run {equilibrate}
reset_timestep 0
compute dn all denoise fcc-bcc-hcp 8 {keywords}
{fixes}
dump raw all custom/gz {every} raw.dump.gz id type x y z
dump rawtext all custom {every} raw.dump id type x y z
dump xtc all xtc {every} raw.xtc
dump den all custom {every} denoised.dump id type c_dn[1] c_dn[2] c_dn[3] c_dn[4]
dump_modify den colname c_dn[1] x colname c_dn[2] y colname c_dn[3] z colname c_dn[4] disp
thermo_style custom step temp press {thermo}
thermo {every}
run {steps}
"""


def run_lammps(folder: Path, cells: int, frames: int, every: int, equilibrate: int, keywords: str) -> str:
    cu = METALS["Cu"]
    t = 0.8 * cu.melting_point
    rng = np.random.default_rng(5)
    natoms = 4 * cells**3
    vacancies = " ".join(str(i) for i in sorted(rng.choice(np.arange(1, natoms + 1), 8, replace=False)))
    sites = rng.choice(cells, (4, 3)) + np.array([0.5, 0.0, 0.0])  # octahedral sites, lattice units
    interstitials = "\n".join(f"create_atoms 1 single {x} {y} {z}" for x, y, z in sites)
    fixes = "\n".join(f"fix z{k} all denoise/write {every} bound{b}.ldz dn bound {b}" for k, b in enumerate(BOUNDS))
    thermo = " ".join(f"f_z{k}[3] f_z{k}[4]" for k in range(len(BOUNDS)))
    script = SCRIPT.format(
        n=cells, vacancies=vacancies, interstitials=interstitials, t=t, t2=2 * t, equilibrate=equilibrate,
        fixes=fixes, every=every, thermo=thermo, steps=frames * every, keywords=keywords,
    )  # fmt: skip
    (folder / "in.lmp").write_text(script)
    env = {**os.environ, "LAMMPS_POTENTIALS": str(potential_dir()), "OMP_NUM_THREADS": "2"}
    command = [str(BIN / "lmp"), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", "-sf", "omp", "-pk", "omp", "2"]
    subprocess.run(command, cwd=folder, check=True, env=env)
    return (folder / "log.lammps").read_text()


def last_thermo(log: str) -> list[float]:
    lines = log.splitlines()
    end = max(i for i, line in enumerate(lines) if line.startswith("Loop time of"))
    return [float(v) for v in lines[end - 1].split()]


def sorted_frame(frame):
    ids = frame.tokens[:, frame.columns.index("id")].astype(int)
    order = np.argsort(ids)
    atoms = frame.to_atoms()
    disp = frame.tokens[:, frame.columns.index("disp")].astype(float)[order] if "disp" in frame.columns else None
    return ids[order], atoms.positions[order], atoms, disp


def wrapped(difference: np.ndarray, cell: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    fractional = np.linalg.solve(cell.T, difference.T).T
    return np.where(periodic, fractional - np.rint(fractional), fractional) @ cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20, help="fcc cells per edge (4 n^3 sites, default 20: 32,000)")
    parser.add_argument("--frames", type=int, default=50, help="frames after the first (default 50)")
    parser.add_argument("--every", type=int, default=100, help="MD steps between frames (default 100)")
    parser.add_argument("--equilibrate", type=int, default=2000, help="NPT steps before the first frame")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/compression"))
    parser.add_argument("--keywords", default="", help="more compute denoise keywords, e.g. 'momentum 0.26 stepsize 1.75'")
    parser.add_argument("--label-every", type=int, default=5, help="classify every k-th frame (default 5)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print(f"LAMMPS: {4 * args.cells**3} sites, {args.frames + 1} frames every {args.every} steps ...", flush=True)
    log = run_lammps(args.out, args.cells, args.frames, args.every, args.equilibrate, args.keywords)
    print(f"   done in {time.perf_counter() - start:.0f} s")

    denoised = [sorted_frame(f) for f in read_dump(args.out / "denoised.dump")]
    raw = [sorted_frame(f) for f in read_dump(args.out / "raw.dump")]
    natoms, nframes = len(denoised[0][0]), len(denoised)
    per = float(natoms * nframes)
    rows = [
        ("raw dump custom/gz (id type x y z)", (args.out / "raw.dump.gz").stat().st_size / per),
        ("raw dump xtc (0.01 A grid)", (args.out / "raw.xtc").stat().st_size / per),
    ]
    for bound in BOUNDS:  # the same quantiser and coder on the raw positions
        encoder, size = Encoder(bound), 16
        for ids, positions, atoms, _ in raw:
            size += len(
                encoder.encode(
                    0, ids, atoms.numbers, positions, np.zeros(len(ids)), atoms.info["origin"], atoms.cell.array, atoms.pbc
                )
            )
        rows.append((f"raw positions, quantised + xz, bound {bound} A", size / per))
    for bound in BOUNDS:
        rows.append((f"denoised, fix denoise/write, bound {bound} A", (args.out / f"bound{bound}.ldz").stat().st_size / per))
    gz = rows[0][1]
    print(f"\n{natoms} atoms x {nframes} frames; bytes per atom per frame (x smaller than raw custom/gz)")
    for name, value in rows:
        print(f"   {name:<48} {value:8.3f}   {gz / value:6.1f}x")

    reference = supercell("fcc", 4 * args.cells**3)
    print("\nchecks on decompressed frames (against the denoised dump of the same steps)")
    for bound in BOUNDS:
        frames = list(read(args.out / f"bound{bound}.ldz"))
        assert len(frames) == nframes, f"{len(frames)} frames in the .ldz file, {nframes} in the dump"
        worst, same_cna, same_ptm, counted, ws_same = 0.0, 0, 0, 0, 0
        for k, (frame, (ids, positions, atoms, _)) in enumerate(zip(frames, denoised, strict=True)):
            assert np.array_equal(frame.ids, ids)
            worst = max(worst, float(np.abs(wrapped(frame.positions - positions, frame.cell, frame.periodic)).max()))
            if k % args.label_every:
                continue
            unpacked = atoms.copy()
            unpacked.positions = frame.positions
            ordered = atoms.copy()
            ordered.positions = positions
            same_cna += int((adaptive_cna_types(unpacked) == adaptive_cna_types(ordered)).sum())
            same_ptm += int((ptm_types(unpacked) == ptm_types(ordered)).sum())
            counted += len(ids)
            lattice = reference.copy()
            lattice.set_cell(atoms.cell.array, scale_atoms=True)
            lattice.positions += atoms.info["origin"]
            ws_same += int(wigner_seitz_defects(unpacked, lattice) == wigner_seitz_defects(ordered, lattice))
        checked = len(range(0, nframes, args.label_every))
        print(
            f"   bound {bound}: largest coordinate error {worst:.4f} A (bound {'held' if worst <= bound + 1e-9 else 'BROKEN'});"
            f" same a-CNA label {100 * same_cna / counted:.3f}%, same PTM label {100 * same_ptm / counted:.3f}%,"
            f" same Wigner-Seitz counts in {ws_same}/{checked} frames"
        )
    values = last_thermo(log)[3:]
    compute_seconds = sum(values[1::2])
    print(f"\nwrite cost: compute denoise {compute_seconds:.1f} s over {nframes} frames; writing")
    for k, bound in enumerate(BOUNDS):
        print(f"   bound {bound}: {values[2 * k]:.2f} s = {100 * values[2 * k] / compute_seconds:.1f}% of the compute's time")
    lattice = reference.copy()
    lattice.set_cell(denoised[-1][2].cell.array, scale_atoms=True)
    print(
        f"\nWigner-Seitz (vacancies, interstitials) of the last denoised frame: {wigner_seitz_defects(denoised[-1][2], lattice)}"
    )


if __name__ == "__main__":
    main()
