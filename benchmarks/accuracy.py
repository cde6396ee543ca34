"""Accuracy of a-CNA and PTM before/after denoising on LAMMPS MD snapshots; writes a plot.

python benchmarks/accuracy.py [--model fcc-bcc-hcp] [--temperatures 0.5 0.75 0.9 1.0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lmp_denoise.data.md import snapshot
from lmp_denoise.infer.denoise import denoise
from lmp_denoise.integrations.ovito_analysis import accuracy, wigner_seitz_defects
from lmp_denoise.models import load_model

CASES = {"Cu": ("fcc", (6, 6, 6)), "Fe": ("bcc", (7, 7, 7)), "Mg": ("hcp", (6, 4, 4))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 0.75, 0.9, 1.0])
    parser.add_argument("--steps", type=int, default=2500, help="MD steps per snapshot")
    parser.add_argument("--plot", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "figures" / "accuracy.png")
    args = parser.parse_args()
    model = load_model(args.model)

    rows = []
    print(f"{'system':<14}{'T/Tm':>6}{'atoms':>7}  {'a-CNA raw':>9} {'PTM raw':>8}  {'a-CNA 8':>8} {'PTM 8':>8}  {'scale':>6}")
    for element, (expect, repeat) in CASES.items():
        for t in args.temperatures:
            atoms, _ = snapshot(element, t, repeat, steps=args.steps)
            raw = accuracy(atoms, expect)
            result = denoise(atoms, model, steps=8)
            clean = accuracy(result.atoms, expect)
            rows.append((element, expect, t, raw, clean))
            print(
                f"{element + ' ' + expect:<14}{t:>6.2f}{len(atoms):>7}  {raw['a-CNA']:>9.1%} {raw['PTM']:>8.1%}"
                f"  {clean['a-CNA']:>8.1%} {clean['PTM']:>8.1%}  {result.scale:>6.3f}"
            )
    for t in (1.1, 1.2):
        atoms, _ = snapshot("Cu", t, (6, 6, 6), steps=args.steps, melt=True)
        raw, clean = accuracy(atoms, "liquid"), accuracy(denoise(atoms, model).atoms, "liquid")
        print(
            f"{'Cu liquid':<14}{t:>6.2f}{len(atoms):>7}  {raw['a-CNA']:>9.1%} {raw['PTM']:>8.1%}"
            f"  {clean['a-CNA']:>8.1%} {clean['PTM']:>8.1%}   (fraction 'other')"
        )
    atoms, reference = snapshot("Cu", 0.9, (6, 6, 6), steps=args.steps, vacancy=True)
    print(
        "Cu fcc, 1 vacancy, 0.9 Tm: Wigner-Seitz (vacancies, interstitials) raw",
        wigner_seitz_defects(atoms, reference),
        "denoised",
        wigner_seitz_defects(denoise(atoms, model).atoms, reference),
    )
    plot(rows, args.plot)


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, method in zip(axes, ("a-CNA", "PTM"), strict=True):
        for element, (expect, _) in CASES.items():
            ts = [r[2] for r in rows if r[0] == element]
            (line,) = ax.plot(ts, [r[3][method] * 100 for r in rows if r[0] == element], "--o", alpha=0.6)
            ax.plot(
                ts,
                [r[4][method] * 100 for r in rows if r[0] == element],
                "-s",
                color=line.get_color(),
                label=f"{element} {expect}",
            )
        ax.set_title(f"{method}: raw (dashed) vs 8 denoising steps")
        ax.set_xlabel("T / Tm")
    axes[0].set_ylabel("atoms labelled correctly (%)")
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
