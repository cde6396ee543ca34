"""Speed of one denoising iteration on this machine, in atoms per second.

Prints the bare model call (TorchScript, edges given), one full Python iteration (neighbour
search + model), and the LAMMPS compute (per atom per iteration, 1 and 2 MPI ranks).

    python benchmarks/speed.py [--sizes 4000 32000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lmp_denoise.denoise import predict
from lmp_denoise.lattices import supercell
from lmp_denoise.models import load_model
from lmp_denoise.neighbors import edges

LAMMPS_INPUT = """
units metal
lattice fcc 3.615
region box block 0 {n} 0 {n} 0 {n}
create_box 1 box
create_atoms 1 box
mass 1 63.5
displace_atoms all random 0.15 0.15 0.15 77 units box
pair_style zero 4.0
pair_coeff * *
comm_modify cutoff 14.0
compute dn all denoise fcc-bcc-hcp {k}
variable t equal c_dn[1]
thermo_style custom step v_t
run 0
"""


def best_time(fn, repeat: int = 3) -> float:
    fn()  # warm-up (TorchScript profiling runs)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def python_figures(model, natoms: int) -> tuple[float, float]:
    atoms = supercell("fcc", natoms)
    atoms.positions += np.random.default_rng(0).normal(0, 0.15, atoms.positions.shape)
    index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, model.cutoff)
    args = (torch.from_numpy(vectors).float(), torch.from_numpy(index), torch.zeros(len(atoms), dtype=torch.long))

    def bare():
        with torch.no_grad():
            model.module(*args)

    species = torch.zeros(len(atoms), dtype=torch.long)
    return len(atoms) / best_time(bare), len(atoms) / best_time(lambda: predict(model, atoms.positions, atoms, species, 1.0))


def lammps_seconds(n: int, k: int, ranks: int) -> float:
    """Wall time of 'run 0' with the compute doing k iterations (includes start-up)."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "in.lmp").write_text(LAMMPS_INPUT.format(n=n, k=k))
        bin_dir = Path(sys.executable).parent
        command = [str(bin_dir / "lmp"), "-in", "in.lmp", "-log", "none", "-screen", "none"]
        if ranks > 1:
            command = [str(bin_dir / "mpirun"), "-np", str(ranks), *command]
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, int(os.environ.get("OMP_NUM_THREADS", "2")) // ranks))}
        start = time.perf_counter()
        subprocess.run(command, cwd=tmp, check=True, env=env, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 32000])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    model = load_model("fcc-bcc-hcp")
    print(f"torch {torch.__version__}, {args.threads} threads, model fcc-bcc-hcp")
    print(f"{'atoms':>8} {'model call':>14} {'python iteration':>18}")
    for natoms in args.sizes:
        bare, full = python_figures(model, natoms)
        print(f"{natoms:>8} {bare:>10.0f} at/s {full:>14.0f} at/s")
    print("\nLAMMPS compute denoise, cost per atom per iteration (from runs with K=9 and K=1)")
    print(f"{'atoms':>8} {'ranks':>6} {'atoms/s per iteration':>22}")
    for natoms in args.sizes:
        n = max(4, round((natoms / 4) ** (1 / 3)))
        real = 4 * n**3
        for ranks in (1, 2):
            extra = lammps_seconds(n, 9, ranks) - lammps_seconds(n, 1, ranks)
            print(f"{real:>8} {ranks:>6} {real * 8 / extra:>22.0f}")


if __name__ == "__main__":
    main()
