"""Momentum: how the heavy-ball iteration trades precision on hot crystals against the other cases.

For each model and momentum B (0: the plain iteration; else the stepsize A that the model's
largest response suggests for that B, IterationRecipe.suggested), after 8 steps: RMS distance of
hot Cu, Fe, Mg (0.9 Tm) to their ideal sites, the largest mean move of a layer of the Cu(100) slab
(21 layers) and of a thin one (13 layers), the radius of gyration of the 177-atom Cu particle
against its 1 ps average (after 8 and 32 steps), and the RMS move of the Cu64Zr36 glass (its 1 ps
average is 0.24 A away); each model's own rule for disordered atoms (``disorder first`` since 0.9),
and for B = 0 and 0.3 also ``disorder all`` (every atom keeps every iteration, as before 0.9).
Figure: RMS to ideal sites against steps, plain and B = 0.3. Uses the MD cached by the other cases.

    python benchmarks/cases/momentum.py [--models fcc-bcc-hcp dc3-six]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, markdown_table, publish, states  # noqa: E402
from crystals import crystal, precision_axes, site_rms  # noqa: E402
from glass import cu_zr_glass, rms  # noqa: E402
from surfaces import cluster, layer_profile, layers, radius_of_gyration, slab  # noqa: E402

from lmp_denoise.data.md import METALS  # noqa: E402
from lmp_denoise.infer.denoise import IterationRecipe  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402

MOMENTA = (0.0, 0.2, 0.3, 0.4)
SHOWN = 0.3  # the momentum of the figure's dashed curves (what `lmp-denoise models` suggests)
STEPS = (1, 2, 3, 4, 6, 8, 12, 16)


def name(recipe: IterationRecipe) -> str:
    text = f"A {recipe.stepsize:g}, B {recipe.momentum:g}" if recipe.heavy_ball else "plain"
    return text + (", disorder all" if recipe.disorder == "all" else "")


def recipe_for(model: str, momentum: float, disorder: str | None = None) -> IterationRecipe:
    """The model's recipe with momentum B (0: plain) and, if given, ``disorder``."""
    loaded = load_model(model)
    base = loaded.iteration if disorder is None else replace(loaded.iteration, disorder=disorder)
    return base.plain() if momentum == 0.0 else base.suggested(loaded.largest_response, momentum)


def row(model: str, recipe: IterationRecipe, curves: dict) -> list:
    out = [model, name(recipe)]
    for element in METALS:
        frames = crystal(element, defects=False)
        done = states(frames, model, STEPS, recipe)
        curves[(model, name(recipe), element)] = [site_rms(done[f"{k} steps"], frames) for k in STEPS]
        out.append(curves[(model, name(recipe), element)][STEPS.index(8)])
    for frames in (slab(), slab((5, 5, 6))):
        moved = states(frames, model, (8,), recipe)["8 steps"]
        out.append(float(np.abs(layer_profile(moved, frames, layers(frames))).max()))
    frames = cluster(2.2)
    moved = states(frames, model, (8, 32), recipe)
    average = radius_of_gyration(frames.average)
    out.append(" / ".join(f"{100 * (radius_of_gyration(moved[f'{k} steps']) / average - 1):+.2f}%" for k in (8, 32)))
    frames = cu_zr_glass()
    out.append(rms(states(frames, model, (8,), recipe)["8 steps"], frames))
    print(" | ".join(map(str, out)), flush=True)
    return out


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted({m for m, _, _ in curves})
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for (m, recipe, element), values in curves.items():
            if m != model or recipe not in ("plain", name(recipe_for(model, SHOWN))):
                continue
            colour = f"C{list(METALS).index(element)}"
            ax.plot(STEPS, values, "o-" if recipe == "plain" else "s--", color=colour, label=f"{element}, {recipe}")
        precision_axes(ax, f"{model}: hot crystals at 0.9 Tm")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fcc-bcc-hcp", "dc3-six"])
    args = parser.parse_args()
    curves: dict = {}
    recipes = [(b, None) for b in MOMENTA] + [(0.0, "all"), (SHOWN, "all")]
    rows = [row(model, recipe_for(model, b, disorder), curves) for model in args.models for b, disorder in recipes]
    header = ["model", "recipe", *(f"{e} RMS to sites (A)" for e in METALS), "slab 21 layers: largest layer move (A)",
              "slab 13 layers (A)", "177-atom particle Rg vs 1 ps average, 8 / 32 steps", "glass RMS move (A)"]  # fmt: skip
    text = "\n".join(
        [
            "\nAfter 8 steps, by iteration recipe (A = stepsize, B = momentum; disorder: the model's, `first`, unless"
            " said; targets: 0.01 A, 0.1 A, 0.1 A, 1% and no growth, 0.24 A)\n",
            markdown_table(header, rows),
        ]
    )
    publish("momentum", text)
    plot(curves, FIGURES / "momentum.png")


if __name__ == "__main__":
    main()
