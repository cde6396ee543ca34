"""The OVITO modifier at work: a rendered picture for the README (docs/figures/ovito_modifier.png).

A hot Cu crystal (0.9 Tm, Mishin EAM, LAMMPS NPT snapshot), coloured by OVITO's adaptive CNA,
before and after the "Score-based denoising" modifier, rendered by OVITO's Tachyon renderer.
OVITO's renderers need a Vulkan loader, also headless: apt install libvulkan1 mesa-vulkan-drivers.

    python benchmarks/ovito_figure.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from ase.io import write
from ovito.io import import_file
from ovito.modifiers import CommonNeighborAnalysisModifier, SliceModifier
from ovito.vis import TachyonRenderer, Viewport

from lmp_denoise.data.md import snapshot
from lmp_denoise.integrations.ovito_modifier import ScoreBasedDenoising

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "ovito_modifier.png"


def render(path: Path, denoised: bool, image: Path) -> float:
    pipeline = import_file(str(path))
    if denoised:
        pipeline.modifiers.append(ScoreBasedDenoising(steps=8))
    pipeline.modifiers.append(CommonNeighborAnalysisModifier())
    pipeline.modifiers.append(SliceModifier(normal=(0, 0, 1), distance=9.0, slab_width=7.0))
    data = pipeline.compute()
    fcc = float((data.particles["Structure Type"] == CommonNeighborAnalysisModifier.Type.FCC).mean())
    pipeline.add_to_scene()
    viewport = Viewport(type=Viewport.Type.Top)
    viewport.zoom_all()
    viewport.render_image(size=(560, 560), filename=str(image), renderer=TachyonRenderer(), background=(1, 1, 1))
    pipeline.remove_from_scene()
    return fcc


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    atoms, _ = snapshot("Cu", 0.9, repeat=(8, 8, 8), vacancy=True, seed=3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hot.xyz"
        write(path, atoms, format="extxyz")
        images, fractions = [], []
        for denoised in (False, True):
            image = Path(tmp) / f"{denoised}.png"
            fractions.append(render(path, denoised, image))
            images.append(plt.imread(image))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.8))
    titles = ("raw snapshot", "Score-based denoising (8 iterations)")
    for ax, image, title, fcc in zip(axes, images, titles, fractions, strict=True):
        ax.imshow(image)
        ax.set_title(f"{title}\na-CNA: {100 * fcc:.0f}% fcc (green), other white", fontsize=10)
        ax.axis("off")
    fig.suptitle("Hot Cu (0.9 Tm, Mishin EAM) in OVITO: a 7 A slice", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    print(f"a-CNA fcc fraction raw {fractions[0]:.3f}, denoised {fractions[1]:.3f}; wrote {FIGURE}")


if __name__ == "__main__":
    main()
