"""Silica polymorphs (paper case 7): labels and bond geometry, raw vs denoised with the sio2 model.

Tersoff MD (benchmarks/sio2/snapshots.py) of alpha/beta quartz and alpha/beta cristobalite at 600,
1000, 1500 and 2000 K, of alpha quartz at 300 K and of liquid silica at 4000 K. Per snapshot: the
share of atoms given the label of the phase the run is in under this potential (phase();
lmp_denoise.infer.labels, the model's own templates) on the raw snapshot, after 1 and 8 denoising
steps, and on the 1 ps time average and the energy minimum; for the liquid the share labelled
"other". Bond geometry: Si-O bond lengths (< 2.0 A) and O-Si-O / Si-O-Si angles, raw vs denoised
vs time-averaged. Writes docs/sio2.md and docs/figures/sio2_*.png.

    python benchmarks/sio2/polymorphs.py [--model sio2]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snapshots import COLD_ATOMS, COLD_QUARTZ, LIQUID, POLYMORPHS, TEMPERATURES, all_frames  # noqa: E402

from lmp_denoise.infer.denoise import Denoiser  # noqa: E402
from lmp_denoise.infer.labels import label_atoms  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402
from lmp_denoise.nn.neighbors import edges  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TYPES = {1: "Si", 2: "O"}
BOND = 2.0  # A: Si-O bonds (1.6 A) vs the next Si-O distance (> 3 A)
STATES = ["raw", "1 step", "8 steps", "1 ps average", "minimised"]


def phase(name: str, temperature: float) -> str:
    """The phase a run is in under SiO.tersoff (what its labels should say). Quartz: alpha below
    ~450 K, beta above: the alpha tilt order (quartz_order.py, 3,087 atoms) holds at 300 K (Q =
    0.90) and is lost within ~2 ps at 600 K (Q = 0.00 +- 0.05; at 450 K it decays), though the
    volume changes smoothly (13.84 A^3/atom at 300 K, 13.86 at 600 K; 0 K alpha 13.74, beta 14.28):
    the beta crystal's tetrahedra keep tilting, with no common sense. Cristobalite started as alpha
    turns beta above 600 K (its 1 ps averages are labelled beta), started as beta it stays beta (at
    600 K metastable)."""
    if name == "liquid":
        return "other"
    if name.endswith("quartz"):
        return "alpha-quartz" if temperature < 450 else "beta-quartz"
    return "alpha-cristobalite" if name == "alpha-cristobalite" and temperature <= 600 else "beta-cristobalite"


def states(frames, model) -> tuple[dict[str, tuple[Atoms, object]], np.ndarray, np.ndarray]:
    """Each state's atoms and labels (the denoiser's length map for all of them), the model
    species per atom and that map."""
    run = Denoiser(frames.raw, model, types=TYPES)
    atoms = {"raw": frames.raw}
    while run.iterations < 8:
        run.step()
        if run.iterations in (1, 8):
            atoms[f"{run.iterations} step{'s' if run.iterations > 1 else ''}"] = run.result().atoms
    atoms["1 ps average"], atoms["minimised"] = frames.average, frames.minimum
    species = run.species.numpy()
    labels = model.labels
    found = {key: (a, label_atoms(a.positions, a.cell.array, a.pbc, species, run.to_model, labels)) for key, a in atoms.items()}
    return found, species, run.to_model


def geometry(atoms: Atoms) -> dict[str, np.ndarray]:
    """Si-O bond lengths, O-Si-O and Si-O-Si angles (degrees)."""
    index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, BOND)
    silicon = atoms.numbers == 1
    bonded = silicon[index[0]] & ~silicon[index[1]]
    out = {"Si-O": np.linalg.norm(vectors[bonded], axis=1)}
    for name, centre in (("O-Si-O", silicon), ("Si-O-Si", ~silicon)):
        pick = centre[index[0]] & (silicon[index[1]] != silicon[index[0]])
        angles = []
        i, v = index[0][pick], vectors[pick]
        order = np.argsort(i, kind="stable")
        i, v = i[order], v[order]
        starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
        for a, b in zip(starts, np.r_[starts[1:], len(i)], strict=True):
            u = v[a:b] / np.linalg.norm(v[a:b], axis=1, keepdims=True)
            cos = (u @ u.T)[np.triu_indices(b - a, 1)]
            angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
        out[name] = np.concatenate(angles) if angles else np.zeros(0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sio2")
    args = parser.parse_args()
    model = load_model(args.model)
    frames = all_frames()
    rows, spreads, example, species_rows = [], [], None, []
    alone = replace(model.labels, inherit=[])  # the templates alone: O atoms keep their own verdict
    single = replace(model.labels, average=0.0)  # each atom's own choice of structure
    for (name, temperature), f in frames.items():
        found, species, to_model = states(f, model)
        want = phase(name, temperature)
        moved, labels = found["8 steps"]
        own, mine = (label_atoms(moved.positions, moved.cell.array, moved.pbc, species, to_model, x) for x in (alone, single))
        silicon, oxygen = species == 0, species == 1
        picks = ((labels, silicon), (mine, silicon), (own, oxygen), (labels, oxygen))
        species_rows.append((name, temperature, want, *(float(np.mean(x.name[m] == want)) for x, m in picks)))
        shares = {key: float(np.mean(labels.name == want)) for key, (_, labels) in found.items()}
        family = {key: float(np.mean([same_family(n, want) for n in labels.name])) for key, (_, labels) in found.items()}
        majority = {key: max(labels.fractions().items(), key=lambda kv: kv[1]) for key, (_, labels) in found.items()}
        raw_bonds, clean_bonds = geometry(found["raw"][0])["Si-O"], geometry(found["8 steps"][0])["Si-O"]
        spreads.append((name, temperature, raw_bonds.std(), clean_bonds.std()))
        volume = f.average.get_volume() / len(f.average)
        rows.append((name, temperature, want, volume, shares, family, majority))
        print(
            f"{name:>18} {temperature:>5.0f} K ({want}, {volume:.2f} A^3/atom): "
            + ", ".join(f"{k} {100 * v:.1f}% ({100 * family[k]:.1f}%)" for k, v in shares.items())
            + f" | 8 steps majority {majority['8 steps'][0]} {100 * majority['8 steps'][1]:.1f}%"
            + f" | Si-O std {raw_bonds.std():.4f} -> {clean_bonds.std():.4f} A",
            flush=True,
        )
        if name == "beta-cristobalite" and temperature == 1500:
            example = {key: geometry(a) for key, (a, _) in found.items() if key in ("raw", "8 steps", "1 ps average")}
    write_report(rows, spreads, example, species_rows, args.model)


def model_average(model: str) -> str:
    return f"{load_model(model).labels.average:g}"


def same_family(label: str, want: str) -> bool:
    """Quartz for quartz, cristobalite for cristobalite (alpha or beta), other for the liquid."""
    return label.split("-")[-1] == want.split("-")[-1]


def write_report(rows, spreads, example, species_rows, model: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = ROOT / "docs" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(POLYMORPHS) + 1, figsize=(16, 3.4), sharey=True)
    for ax, name in zip(axes, [*POLYMORPHS, "liquid"], strict=True):
        mine = [(t, s) for n, t, _, _, s, _, _ in rows if n == name]
        for key, style in zip(STATES, ["k--", "C1-o", "C0-o", "C2:", "C3:"], strict=True):
            ax.plot([t for t, _ in mine], [100 * s[key] for _, s in mine], style, label=key, ms=4)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("T (K)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% labelled with the run's phase")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(figures / "sio2_labels.png", dpi=100)
    plt.close(fig)
    if example:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        for ax, (quantity, bins) in zip(
            axes,
            [
                ("Si-O", np.linspace(1.4, 1.9, 101)),
                ("O-Si-O", np.linspace(80, 140, 121)),
                ("Si-O-Si", np.linspace(110, 181, 143)),
            ],
            strict=True,
        ):
            for key, colour in zip(example, ["0.5", "C0", "C2"], strict=True):
                ax.hist(example[key][quantity], bins=bins, histtype="step", color=colour, label=key, density=True)
            ax.set_xlabel(f"{quantity} ({'A' if quantity == 'Si-O' else 'degrees'})")
        axes[0].legend(fontsize=8)
        fig.suptitle("beta-cristobalite at 1500 K (Tersoff): bond lengths and angles", fontsize=10)
        fig.tight_layout()
        fig.savefig(figures / "sio2_geometry.png", dpi=100)
        plt.close(fig)
    header = "| started as | T (K) | phase (Tersoff) | A^3/atom | " + " | ".join(STATES) + " | 8 steps: majority |"
    lines = [header, "|---|---|---|---|" + "---|" * (len(STATES) + 1)]
    for name, temperature, want, volume, shares, family, majority in rows:
        cells = " | ".join(f"{100 * shares[k]:.1f} ({100 * family[k]:.1f})" for k in STATES)
        top, share = majority["8 steps"]
        lines.append(f"| {name} | {temperature:.0f} | {want} | {volume:.2f} | {cells} | {top} {100 * share:.0f} |")
    met = sum(shares["8 steps"] >= 0.99 for name, *_, shares, _, _ in rows if name != "liquid")
    crystals = sum(name != "liquid" for name, *_ in rows)
    species_lines = [
        "| started as | T (K) | phase | Si | Si: own choice | O: own templates | O: with inheritance |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, temperature, want, *shares in species_rows:
        species_lines.append(f"| {name} | {temperature:.0f} | {want} | " + " | ".join(f"{100 * v:.1f}" for v in shares) + " |")
    bond_lines = ["| structure | T (K) | Si-O std raw (A) | 8 steps (A) | reduction |", "|---|---|---|---|---|"]
    for name, temperature, raw, clean in spreads:
        bond_lines.append(f"| {name} | {temperature:.0f} | {raw:.4f} | {clean:.4f} | {raw / clean:.1f}x |")
    text = (
        f"# Silica polymorphs (model `{model}`)\n\n"
        f"Written by `python benchmarks/sio2/polymorphs.py`. Tersoff MD (SiO.tersoff) of each polymorph at"
        f" {', '.join(map(str, TEMPERATURES))} K, alpha quartz at {COLD_QUARTZ} K ({COLD_ATOMS:,}+ atoms) and liquid"
        f" silica at {LIQUID} K; % of atoms given the label of the"
        " phase the run is in under this potential (liquid: 'other'), in brackets of the same family (quartz or"
        " cristobalite, alpha or beta). " + " ".join(phase.__doc__.split()) + "\n\n"
        "![quartz order](figures/sio2_quartz_order.png)\n\n"
        "(`python benchmarks/sio2/quartz_order.py`: the alpha tilt order of quartz in MD; 1 = alpha, 0 = beta.)\n\n"
        f"After 8 steps, {met} of {crystals} crystal runs have at least 99% of their atoms labelled with their phase.\n\n"
        + "\n".join(lines)
        + "\n\n![labels](figures/sio2_labels.png)\n\n"
        "Per species after 8 steps, % given the run's phase: Si atoms (the structure chosen by the Si within"
        f" {model_average(model)} model units, and each atom's own choice); O atoms by their own templates alone, and with"
        " inheritance (an O atom left 'other' takes the label of the better-matched of its two Si,"
        " lmp_denoise/infer/labels.py).\n\n" + "\n".join(species_lines) + "\n\n"
        "Si-O bond length spread:\n\n" + "\n".join(bond_lines) + "\n\n![geometry](figures/sio2_geometry.png)\n"
    )
    (ROOT / "docs" / "sio2.md").write_text(text)
    print(f"wrote {ROOT / 'docs' / 'sio2.md'}")


if __name__ == "__main__":
    main()
