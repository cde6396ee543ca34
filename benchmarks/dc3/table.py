"""The paper's Table 1, measured here on the rebuilt DC3 data, with classical baselines and plots.

Per system at Th = 1.0: a-CNA raw, PTM raw (no RMSD cutoff, as the paper's raw column, and with
the cutoff 0.1 used everywhere else), PTM after 1 denoising step (cutoff 0.1, and none as the
paper's raw column), a-CNA and PTM after 8 steps, and the same classifiers after energy
minimisation and after vibration averaging.
Liquids (Th > 1): fraction labelled "other". "a-CNA" means adaptive CNA for fcc/bcc/hcp, OVITO's
diamond identification for cd/hd, and adaptive CNA on each sublattice (both fcc) for rock salt.
PTM runs with every template enabled.
Every crystal temperature in the data goes into docs/figures/accuracy_vs_temperature.png.

    python benchmarks/dc3/table.py [--data benchmarks/dc3/data] [--model dc3-six]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from plots import q4q6_map, rdf_plot  # noqa: E402
from systems import SYSTEMS, System  # noqa: E402

from lmp_denoise.infer.denoise import denoise  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import CLASSES, adaptive_cna_types, ptm_types  # noqa: E402
from lmp_denoise.io.formats import read_frames  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402

DIAMOND = {"cd": 1, "hd": 4}
COLUMNS = ["a-CNA raw", "PTM raw", "PTM 0.1 raw", "1 + PTM", "1 + PTM raw", "8 + a-CNA", "8 + PTM"]
COLUMNS += ["min + PTM", "avg1ps + PTM", "avg5ps + PTM"]


def cna_like(atoms, system: System) -> np.ndarray:
    """Per-atom correctness of the CNA-family classifier for this system."""
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import IdentifyDiamondModifier

    if system.lattice in DIAMOND:
        data = ase_to_ovito(atoms)
        data.apply(IdentifyDiamondModifier())
        return np.array(data.particles["Structure Type"]) == DIAMOND[system.lattice]
    if system.lattice == "rocksalt":
        correct = np.zeros(len(atoms), bool)
        for kind in np.unique(atoms.numbers):
            sub = atoms.numbers == kind
            correct[sub] = adaptive_cna_types(atoms[sub]) == CLASSES["fcc"]["a-CNA"]
        return correct
    return adaptive_cna_types(atoms) == CLASSES[system.expect]["a-CNA"]


def ptm(atoms, system: System, rmsd_cutoff: float) -> np.ndarray:
    return ptm_types(atoms, rmsd_cutoff) == CLASSES[system.expect]["PTM"]


def types_for(system: System) -> dict[int, str]:
    """dc3-six knows species A and B: rock salt's two types, A for every one-species system."""
    return {1: "A", 2: "B"} if len(system.masses) == 2 else {1: "A"}


def crystal_row(folder: Path, system: System, model) -> dict[str, float]:
    raw = list(read_frames(folder / "raw.dump.gz"))
    rows: dict[str, list[float]] = {}

    def add(key, values):
        rows.setdefault(key, []).append(float(np.mean(values)))

    for atoms in raw:
        one = denoise(atoms, model, steps=1, types=types_for(system)).atoms
        eight = denoise(atoms, model, steps=8, types=types_for(system)).atoms
        add("a-CNA raw", cna_like(atoms, system))
        add("PTM raw", ptm(atoms, system, 0.0))
        add("PTM 0.1 raw", ptm(atoms, system, 0.1))
        add("1 + PTM", ptm(one, system, 0.1))
        add("1 + PTM raw", ptm(one, system, 0.0))  # no RMSD cutoff, as the "PTM raw" column
        add("8 + a-CNA", cna_like(eight, system))
        add("8 + PTM", ptm(eight, system, 0.1))
    for baseline in ["min", "avg1ps", "avg5ps"]:
        path = folder / f"{baseline}.dump.gz"
        if path.exists():
            for atoms in read_frames(path):
                add(f"{baseline} + a-CNA", cna_like(atoms, system))
                add(f"{baseline} + PTM", ptm(atoms, system, 0.1))
    return {k: float(np.mean(v)) * 100 for k, v in rows.items()}


def liquid_row(folder: Path, system: System, model) -> dict[str, float]:
    """Fraction (%) that PTM labels 'other': raw, denoised, and after each classical baseline."""
    fractions: dict[str, list[float]] = {}

    def add(key, atoms):
        fractions.setdefault(key, []).append(float(np.mean(ptm_types(atoms) == 0)))

    for atoms in read_frames(folder / "raw.dump.gz"):
        add("raw", atoms)
        add("8 steps", denoise(atoms, model, steps=8, types=types_for(system)).atoms)
    for baseline in ["min", "avg1ps", "avg5ps"]:
        if (folder / f"{baseline}.dump.gz").exists():
            for atoms in read_frames(folder / f"{baseline}.dump.gz"):
                add(baseline, atoms)
    return {k: 100 * float(np.mean(v)) for k, v in fractions.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--model", default="dc3-six")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--plots", type=Path, default=Path(__file__).parents[2] / "docs" / "figures")
    args = parser.parse_args()
    if not any(any((args.data / name).glob("T*/raw.dump.gz")) for name in args.systems):
        parser.error(f"no DC3 data for {' '.join(args.systems)} under {args.data}: run benchmarks/dc3/generate.py first")
    model = load_model(args.model)

    print(f"Th = 1.00, % of atoms labelled correctly (model {args.model})")
    print(f"{'system':<10}" + "".join(f"{c:>14}" for c in COLUMNS))
    sweep: dict[str, list[tuple[float, dict]]] = {}
    for name in args.systems:
        system = SYSTEMS[name]
        folders = sorted((args.data / name).glob("T*")) if (args.data / name).exists() else []
        for folder in folders:
            th = float(folder.name[1:])
            if th > 1.0:
                liquid = liquid_row(folder, system, model)
                print(f"{name + ' liq':<10} Th={th:.2f}, PTM 'other': " + ", ".join(f"{k} {v:.1f}" for k, v in liquid.items()))
                continue
            row = crystal_row(folder, system, model)
            sweep.setdefault(name, []).append((th, row))
            if abs(th - 1.0) < 1e-6:
                label = f"{name} {system.expect}"
                print(f"{label:<10}" + "".join(f"{row[c]:>14.1f}" if c in row else f"{'':>14}" for c in COLUMNS))
    plot_sweep(sweep, args.plots)
    plot_structure(args.data, model, args.plots)


def plot_structure(data: Path, model, folder: Path) -> None:
    """q4-q6 maps of Al/Fe/Ti at Tm and the RDF of liquid Al, raw and denoised."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    pairs = {}
    for name in ("Al", "Fe", "Ti"):
        path = data / name / "T1.00" / "raw.dump.gz"
        if path.exists():
            raw = next(iter(read_frames(path)))
            neighbours = 14 if SYSTEMS[name].lattice == "bcc" else 12
            clean = denoise(raw, model, steps=8, types=types_for(SYSTEMS[name])).atoms
            pairs[f"{name} {SYSTEMS[name].expect}"] = (raw, clean, neighbours)
    if pairs:
        q4q6_map(pairs, folder / "q4_q6.png")
        print(f"wrote {folder / 'q4_q6.png'}")
    liquid = data / "Al" / "T1.20" / "raw.dump.gz"
    if liquid.exists():
        raw = next(iter(read_frames(liquid)))
        clean = denoise(raw, model, steps=8, types=types_for(SYSTEMS["Al"])).atoms
        rdf_plot(raw, clean, "liquid Al at 1.2 Tm", folder / "rdf_liquid.png", 8.0)
        print(f"wrote {folder / 'rdf_liquid.png'}")


def plot_sweep(sweep: dict, folder: Path) -> None:
    """Accuracy vs homologous temperature, raw and denoised (the paper's Fig. 3)."""
    if not any(len(v) > 1 for v in sweep.values()):
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 5, figsize=(16, 6), sharey=True)
    for ax, (name, points) in zip(axes.ravel(), sweep.items(), strict=False):
        points.sort(key=lambda p: p[0])
        ths = [p[0] for p in points]
        for key, style in [
            ("a-CNA raw", "--"),
            ("PTM raw", ":"),
            ("PTM 0.1 raw", ":"),
            ("8 + a-CNA", "-"),
            ("8 + PTM", "-."),
        ]:
            ax.plot(ths, [p[1][key] for p in points], style, marker="o", ms=3, label=key)
        ax.set_title(f"{name} {SYSTEMS[name].expect}")
        ax.set_xlabel("T / Tm")
    for ax in axes.ravel()[len(sweep) :]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel("correct (%)")
    axes[1, 0].set_ylabel("correct (%)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "accuracy_vs_temperature.png", dpi=110)
    print(f"wrote {folder / 'accuracy_vs_temperature.png'}")


if __name__ == "__main__":
    main()
