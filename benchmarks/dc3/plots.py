"""Figures for the DC3 benchmark: q4-q6 maps before/after denoising, and a liquid's RDF."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def steinhardt(atoms, neighbours: int = 12) -> np.ndarray:
    """(N, 2) per-atom q4, q6 over the nearest neighbours (OVITO)."""
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import SteinhardtParametersModifier

    data = ase_to_ovito(atoms)
    mode = SteinhardtParametersModifier.NeighborMode.NearestNeighbors
    data.apply(SteinhardtParametersModifier(max_l=6, neighbor_mode=mode, num_neighbors=neighbours))
    q = np.array(data.particles["Steinhardt"])
    return q[:, [2, 4]]


def rdf(atoms, cutoff: float, bins: int = 150) -> np.ndarray:
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import RadialDistributionFunctionModifier

    data = ase_to_ovito(atoms)
    data.apply(RadialDistributionFunctionModifier(cutoff=cutoff, number_of_bins=bins))
    return np.array(data.tables["coordination-rdf"].xy())


def q4q6_map(pairs: dict[str, tuple], path: Path) -> None:
    """pairs: label -> (raw atoms, denoised atoms, neighbours: 12 close-packed, 14 bcc)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
    for label, (raw, clean, neighbours) in pairs.items():
        for ax, atoms in zip(axes, (raw, clean), strict=True):
            q = steinhardt(atoms, neighbours)
            ax.scatter(q[:, 0], q[:, 1], s=2, alpha=0.4, label=label)
    axes[0].set_title("raw snapshot at Tm")
    axes[1].set_title("after 8 denoising steps")
    for ax in axes:
        ax.set_xlabel("q4")
    axes[0].set_ylabel("q6")
    axes[1].legend(markerscale=5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rdf_plot(raw, clean, label: str, path: Path, cutoff: float) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for atoms, name in ((raw, "raw"), (clean, "denoised (8 steps)")):
        g = rdf(atoms, cutoff)
        ax.plot(g[:, 0], g[:, 1], label=name)
    ax.set_xlabel("r (A)")
    ax.set_ylabel("g(r)")
    ax.set_title(label)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
