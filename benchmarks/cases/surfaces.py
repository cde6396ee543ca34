"""Free surfaces: a hot Cu (100) slab with vacuum and hot Cu nanoparticles.

Per atomic layer of the slab, the mean displacement along the surface normal (outward > 0) after
K denoising steps, the outer interlayer spacing, and the fcc share of the second layer and of the
interior (a-CNA and PTM); for the nanoparticles the radius of gyration after 8 and 32 steps
against the 1 ps time average. Energy minimisation and the time average are the baselines. Last,
the open-space rule off and on: perfect and hot particles, and the slab, after 8 and 32 steps.

    python benchmarks/cases/surfaces.py [--models fcc-bcc-hcp dc3-six ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, OUT, Frames, markdown_table, minimum_image, publish, simulate  # noqa: E402
from common import states as all_states  # noqa: E402

from lmp_denoise.data.md import METALS, potential_dir  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import CLASSES, adaptive_cna_types, ptm_types  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402

CU = METALS["Cu"]
CU_FF = [f"mass 1 {CU.mass}", f"pair_style {CU.pair_style}", f"pair_coeff * * {potential_dir() / CU.potential} Cu"]
STEPS = (1, 2, 4, 8, 32)
FCC = CLASSES["fcc"]["PTM"]  # the same number for a-CNA


def slab(cells: tuple[int, int, int] = (8, 8, 10), homologous: float = 0.8) -> Frames:
    nx, ny, nz = cells
    system = [
        "boundary p p p",
        f"lattice fcc {CU.a}",
        f"region box block 0 {nx} 0 {ny} -4 {nz + 4}",  # ~29 A of vacuum
        "create_box 1 box",
        f"region slab block INF INF INF INF 0 {nz}",
        "create_atoms 1 region slab",
    ]
    return simulate(f"cu_slab_{nx}x{ny}x{nz}", system, CU_FF, homologous * CU.melting_point, 6.0, barostat="x y")


def cluster(radius_cells: float, homologous: float = 0.5) -> Frames:
    box = int(np.ceil(2 * radius_cells + 9))  # > 30 A of vacuum around the particle
    system = [
        "boundary p p p",
        f"lattice fcc {CU.a}",
        f"region box block 0 {box} 0 {box} 0 {box}",
        "create_box 1 box",
        f"region ball sphere {box / 2} {box / 2} {box / 2} {radius_cells}",
        "create_atoms 1 region ball",
    ]
    return simulate(f"cu_cluster_{radius_cells:g}", system, CU_FF, homologous * CU.melting_point, 10.0, barostat=None)


def layers(frames: Frames) -> np.ndarray:
    """Layer index of every atom from its starting height (spacing a/2), 0 = bottom."""
    z = frames.start.positions[:, 2]
    return np.rint((z - z.min()) / (CU.a / 2)).astype(int)


def layer_profile(atoms, frames: Frames, layer: np.ndarray) -> np.ndarray:
    """Mean displacement from the raw snapshot along the outward normal, per layer."""
    dz = minimum_image(atoms.positions - frames.raw.positions, frames.raw)[:, 2]
    count = layer.max() + 1
    outward = np.where(np.arange(count) < count / 2, -1.0, 1.0)
    return np.bincount(layer, dz, count) / np.bincount(layer, minlength=count) * outward


def outer_spacing(atoms, layer: np.ndarray) -> float:
    """Relative change of the outer interlayer spacing vs the slab's central spacing (both faces)."""
    z = atoms.positions[:, 2]
    mean = np.bincount(layer, z) / np.bincount(layer)
    spacing = np.diff(mean)
    middle = spacing[len(spacing) // 2 - 2 : len(spacing) // 2 + 2].mean()
    return float((spacing[0] + spacing[-1]) / 2 / middle - 1.0)


def fcc_share(atoms, where: np.ndarray) -> tuple[float, float]:
    return float(np.mean(adaptive_cna_types(atoms)[where] == FCC)), float(np.mean(ptm_types(atoms)[where] == FCC))


def radius_of_gyration(atoms) -> float:
    x = atoms.positions - atoms.positions.mean(axis=0)
    return float(np.sqrt((x**2).sum(axis=1).mean()))


def slab_rows(frames: Frames, model: str, layer: np.ndarray) -> tuple[list[list], dict[str, np.ndarray]]:
    top = layer.max()
    second = (layer == 1) | (layer == top - 1)
    interior = (layer >= 3) & (layer <= top - 3)
    states = all_states(frames, model, STEPS)
    rows, profiles = [], {}
    for label, atoms in states.items():
        profile = layer_profile(atoms, frames, layer)
        profiles[label] = profile
        cna_2, ptm_2 = fcc_share(atoms, second)
        cna_in, ptm_in = fcc_share(atoms, interior)
        rows.append(
            [label, profile[[0, top]].mean(), profile[[1, top - 1]].mean(), float(np.abs(profile).max()),
             f"{100 * outer_spacing(atoms, layer):+.1f}%", f"{100 * cna_2:.1f} / {100 * ptm_2:.1f}",
             f"{100 * cna_in:.1f} / {100 * ptm_in:.1f}"]
        )  # fmt: skip
    return rows, profiles


def cluster_rows(frames: Frames, model: str) -> list:
    reference = radius_of_gyration(frames.average)
    row = [len(frames.raw), reference]
    for atoms in (frames.start, frames.raw, frames.minimum):
        row.append(f"{100 * (radius_of_gyration(atoms) / reference - 1):+.2f}%")
    denoised = all_states(frames, model, (8, 32))
    for atoms in (denoised["8 steps"], denoised["32 steps"]):
        row.append(f"{100 * (radius_of_gyration(atoms) / reference - 1):+.2f}%")
    return row


def open_space_rows(slab_frames: Frames, layer: np.ndarray, clusters: list[Frames], model: str) -> list[list]:
    """The open-space rule (lmp_denoise/infer/open_space.py) off and on: each particle's radius of
    gyration after 8 / 32 steps from its perfect start (vs the start) and from the hot snapshot
    (vs the 1 ps average), and the slab's largest mean layer move along the normal."""
    loaded, steps = load_model(model), ("8 steps", "32 steps")

    def sizes(moved: dict, reference: float) -> str:
        return " / ".join(f"{100 * (radius_of_gyration(moved[k]) / reference - 1):+.2f}%" for k in steps)

    rows = []
    for name, recipe in (("off (before 0.12)", replace(loaded.iteration, open_gap=0.0)), ("on", loaded.iteration)):
        perfect, hot = [], []
        for frames in clusters:
            ideal = replace(frames, raw=frames.start)  # the perfect particle as the input
            perfect.append(sizes(all_states(ideal, model, (8, 32), recipe), radius_of_gyration(frames.start)))
            hot.append(sizes(all_states(frames, model, (8, 32), recipe), radius_of_gyration(frames.average)))
        moved = all_states(slab_frames, model, (8, 32), recipe)
        layers = " / ".join(f"{np.abs(layer_profile(moved[k], slab_frames, layer)).max():.3f}" for k in steps)
        rows.append([name, *perfect, *hot, layers])
    return rows


#: Cu(100) films (cells x, y, z): 2 z + 1 layers; lateral size and thickness both matter
FILMS = [(5, 5, 6), (6, 6, 6), (6, 6, 10), (8, 8, 10)]


def film_rows(model: str) -> list[list]:
    """Largest mean layer move after 8 steps and in the 1 ps average, for films of several sizes."""
    rows = []
    for cells in FILMS:
        frames = slab(cells)
        layer = layers(frames)
        denoised = all_states(frames, model, (8,))["8 steps"]
        lattice = frames.raw.cell[0, 0] / cells[0]
        rows.append(
            [f"{2 * cells[2] + 1} layers, {cells[0]} x {cells[1]} cells ({frames.raw.cell[0, 0]:.1f} A)", f"{lattice:.4f}",
             float(np.abs(layer_profile(denoised, frames, layer)).max()),
             float(np.abs(layer_profile(frames.average, frames, layer)).max())]
        )  # fmt: skip
    return rows


def plot(profiles: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(profiles), figsize=(5 * len(profiles), 3.6), sharey=True, squeeze=False)
    for ax, (model, curves) in zip(axes[0], profiles.items(), strict=True):
        for label, style in [
            ("1 ps average", "k--"),
            ("minimised", "k:"),
            ("1 steps", "C0-"),
            ("8 steps", "C1-"),
            ("32 steps", "C3-"),
        ]:
            ax.plot(np.arange(len(curves[label])), curves[label], style, marker="o", ms=3, label=label)
        ax.axhspan(-0.1, 0.1, color="0.9")
        ax.set_title(f"Cu(100) slab at 0.8 Tm, {model}")
        ax.set_xlabel("atomic layer (0 and last: the two surfaces)")
    axes[0, 0].set_ylabel("mean outward displacement (A)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fcc-bcc-hcp", "dc3-six"])
    args = parser.parse_args()
    frames = slab()
    layer = layers(frames)
    profiles, report = {}, []
    for model in args.models:
        rows, profiles[Path(model).stem] = slab_rows(frames, model, layer)
        header = [
            "state",
            "outer layer (A)",
            "2nd layer (A)",
            "largest layer",
            "outer spacing",
            "2nd layer fcc % a-CNA / PTM",
            "interior fcc %",
        ]
        report += [f"\nCu(100) slab, {len(frames.raw)} atoms, 0.8 Tm, model {model}\n", markdown_table(header, rows)]
    for model in args.models:
        header = ["film", "in-plane lattice constant (A)", "8 steps: largest layer move (A)", "1 ps average (A)"]
        report += [f"\nCu(100) films at 0.8 Tm by size, model {model}\n", markdown_table(header, film_rows(model))]
    clusters = [cluster(r) for r in (2.2, 3.4)]
    for model in args.models:
        header = ["atoms", "Rg of 1 ps average (A)", "ideal start", "raw", "minimised", "8 steps", "32 steps"]
        report += [f"\nCu nanoparticles at 0.5 Tm, radius of gyration vs the 1 ps average, model {model}\n",
                   markdown_table(header, [cluster_rows(f, model) for f in clusters])]  # fmt: skip
    for model in args.models:
        sizes = [len(f.raw) for f in clusters]
        header = [
            "open-space rule",
            *[f"{n}-atom particle, perfect: Rg 8 / 32 steps" for n in sizes],
            *[f"{n} atoms, 0.5 Tm: vs 1 ps average" for n in sizes],
            "slab: largest layer move 8 / 32 steps (A)",
        ]
        report += [f"\nParticles and slabs keep their size (open-space rule), model {model}\n",
                   markdown_table(header, open_space_rows(frames, layer, clusters, model))]  # fmt: skip
    text = "\n".join(report)
    publish("surfaces", text)
    plot(profiles, FIGURES / "surfaces.png")
    print(f"wrote {OUT / 'surfaces.md'} and {FIGURES / 'surfaces.png'}")


if __name__ == "__main__":
    main()
