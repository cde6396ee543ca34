"""Strained crystals and thin films: the homogeneous deformation undone before the model or not.

Hot Cu, Fe and Mg (0.9 Tm, the MD of the crystals case) stretched along x by 0-12% and squeezed
across by a third of that (an affine map of the snapshot: the homogeneous strain of a tensile
test): the share of atoms PTM gives the right structure after 8 steps, the RMS distance to the
strained ideal sites, and the deformation the estimate reads (lmp_denoise/infer/scale.py
shape_correction), with the correction ("shape auto", the default of the metal models since 0.8)
and without it ("shape none"). Then the Cu(100) films of the surfaces case, whose surface stress
strains them by a few percent: largest mean move of a layer along the normal after 8 steps, plain
and with the suggested momentum. Last, a tensile test in MD: bcc Fe at 0.5 Tm pulled 10% along x
(fix deform, the other axes at zero pressure), the snapshot taken under load.

    python benchmarks/cases/strain.py [--model fcc-bcc-hcp]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, TIMESTEP, Frames, markdown_table, publish, simulate  # noqa: E402
from crystals import crystal, site_rms  # noqa: E402
from surfaces import layer_profile, layers, slab  # noqa: E402

from lmp_denoise.data.md import METALS, potential_dir  # noqa: E402
from lmp_denoise.infer.denoise import classify, denoise  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import CLASSES, ptm_types  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402
from lmp_denoise.models.modelfile import PLAIN  # noqa: E402

STRETCHES = (0.0, 0.04, 0.08, 0.12)
SHAPES = ("auto", "none")


def stretched(atoms, stretch: float):
    """``atoms`` mapped by diag(1 + e, 1 - e/3, 1 - e/3), cell and positions."""
    strain = np.diag([1.0 + stretch, 1.0 - stretch / 3.0, 1.0 - stretch / 3.0])
    out = atoms.copy()
    out.set_cell(atoms.cell.array @ strain, scale_atoms=False)
    out.positions = atoms.positions @ strain
    return out


def crystal_rows(model: str, curves: dict) -> list[list]:
    rows = []
    for element, metal in METALS.items():
        frames = crystal(element, defects=False)
        want = CLASSES[metal.lattice]["PTM"]
        for stretch in STRETCHES:
            hot = stretched(frames.raw, stretch)
            row = [element, f"{stretch:.0%}", f"{100 * np.mean(ptm_types(hot) == want):.1f}"]
            read = {}
            for shape in SHAPES:
                result = denoise(hot, model, steps=8, shape=shape)
                ptm, rms = 100 * float(np.mean(ptm_types(result.atoms) == want)), site_rms(result.atoms, frames)
                curves.setdefault((element, shape), []).append((ptm, rms))
                row += [f"{ptm:.1f}", f"{rms:.4f}"]
                read[shape] = result.deformation
            row.append(f"{read['auto']:.3f}")
            rows.append(row)
            print(" | ".join(row), flush=True)
    return rows


def film_rows(model: str) -> list[list]:
    suggested = load_model(model).iteration.suggested(load_model(model).largest_response)
    rows = []
    for cells, name in (((8, 8, 10), "21 layers, 29 A wide"), ((5, 5, 6), "13 layers, 18 A wide")):
        frames = slab(cells)
        row, read = [name], 0.0
        for recipe in (PLAIN, suggested):
            for shape in SHAPES:
                result = denoise(frames.raw, model, steps=8, recipe=recipe, shape=shape)
                row.append(f"{np.abs(layer_profile(result.atoms, frames, layers(frames))).max():.3f}")
                read = max(read, result.deformation)  # the same for every recipe; 0 without the correction
        row.insert(1, f"{read:.3f}")
        rows.append(row)
        print(" | ".join(row), flush=True)
    return rows


def tensile(element: str = "Fe", strain: float = 0.10, homologous: float = 0.5, rate: float = 0.02) -> Frames:
    """MD: equilibrate at zero pressure, pull along x at ``rate`` per ps to ``strain`` (y, z at zero
    pressure), then hold the box length and take the snapshot (cached like every case)."""
    metal, n = METALS[element], 10
    temperature = homologous * metal.melting_point
    system = [
        "boundary p p p",
        f"lattice {metal.lattice} {metal.a}",
        f"region box block 0 {n} 0 {n} 0 {n}",
        "create_box 1 box",
        "create_atoms 1 box",
    ]
    force_field = [
        f"mass 1 {metal.mass}",
        f"pair_style {metal.pair_style}",
        f"pair_coeff * * {potential_dir() / metal.potential} {element}",
    ]
    pull = [
        "unfix integrate",
        "fix integrate all nph y 0.0 0.0 1.0 z 0.0 0.0 1.0 couple none",
        f"fix hold all temp/csvr {temperature} {temperature} 0.1 9137",
        f"fix pull all deform 1 x erate {rate} units box remap x",
        f"run {int(round(strain / rate / TIMESTEP))}",
        "unfix pull",
        "unfix hold",
    ]
    name = f"{element.lower()}_tensile_{strain:g}"
    return simulate(name, system, force_field, temperature, 0.4, melt=(temperature, 4.0), after_melt=tuple(pull))


def tensile_rows(model: str) -> list[list]:
    frames = tensile()
    want = CLASSES["bcc"]["PTM"]
    row = ["bcc Fe, 10% in MD", f"{100 * np.mean(ptm_types(frames.raw) == want):.1f}"]
    read = {}
    for shape in SHAPES:
        found = classify(frames.raw, model, steps=8, shape=shape)
        ptm = 100 * float(np.mean(ptm_types(found.result.atoms) == want))
        row += [f"{ptm:.1f}", f"{100 * found.labels.fractions()['bcc']:.1f}", f"{site_rms(found.result.atoms, frames):.4f}"]
        read[shape] = found.result.deformation
    row.append(f"{read['auto']:.3f}")
    print(" | ".join(row), flush=True)
    return [row]


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
    stretch = [100 * s for s in STRETCHES]
    for k, element in enumerate(METALS):
        for shape, style in (("auto", "o-"), ("none", "s--")):
            ptm, rms = zip(*curves[(element, shape)], strict=True)
            axes[0].plot(stretch, ptm, style, color=f"C{k}", label=f"{element}, shape {shape}")
            axes[1].plot(stretch, rms, style, color=f"C{k}", label=f"{element}, shape {shape}")
    axes[0].set_ylabel("PTM: right structure after 8 steps (%)")
    axes[1].set_ylabel("RMS distance to the strained sites (A)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("stretch along x (%; a third of it squeezed across)")
        ax.set_title("Hot crystals at 0.9 Tm, strained", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    args = parser.parse_args()
    curves: dict = {}
    crystals = crystal_rows(args.model, curves)
    films = film_rows(args.model)
    pulled = tensile_rows(args.model)
    header = ["metal", "stretch", "PTM raw %", "PTM, shape auto %", "RMS to sites (A)", "PTM, shape none %",
              "RMS to sites (A)", "deformation read"]  # fmt: skip
    film_header = ["Cu(100) film, 0.8 Tm", "deformation read", "plain, auto (A)", "plain, none (A)",
                   "momentum, auto (A)", "momentum, none (A)"]  # fmt: skip
    pull_header = ["tensile test, 0.5 Tm", "PTM raw %", "auto: PTM %", "labels bcc %", "RMS to sites (A)",
                   "none: PTM %", "labels bcc %", "RMS to sites (A)", "deformation read"]  # fmt: skip
    text = "\n".join(
        [
            f"\nModel `{args.model}`, 8 steps. Strained hot crystals (deformation read: largest / smallest stretch - 1;"
            " the true one is (1 + e) / (1 - e/3) - 1):\n",
            markdown_table(header, crystals),
            "\nFilms: largest mean move of a layer along the normal (target 0.1 A), plain and with the suggested momentum:\n",
            markdown_table(film_header, films),
            "\nA tensile test in MD, the snapshot under load (PTM and the model's own labels after 8 steps):\n",
            markdown_table(pull_header, pulled),
        ]
    )
    publish("strain", text)
    plot(curves, FIGURES / "strain.png")


if __name__ == "__main__":
    main()
