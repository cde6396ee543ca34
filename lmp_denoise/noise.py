"""Synthetic training data: perfect lattices plus Gaussian noise and a small density jitter.

sigma is drawn per structure, uniformly up to ``sigma_fraction`` x the nearest-neighbour
distance (Lindemann's criterion, ~0.125). The density jitter scales each structure by a random
factor so the model tolerates an imperfect automatic length scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .lattices import nearest_neighbour_distance, supercell
from .neighbors import edges


@dataclass
class Batch:
    """Several structures joined into one disconnected graph."""

    edge_vectors: torch.Tensor
    edge_index: torch.Tensor
    species: torch.Tensor
    target: torch.Tensor


class NoisyLattices:
    """Draws noisy copies of a fixed set of reference supercells."""

    def __init__(
        self,
        structures: list[str],
        cutoff: float,
        sigma_fraction: float = 0.125,
        jitter: float = 0.03,
        min_atoms: int = 400,
        seed: int = 0,
    ) -> None:
        self.structures = list(structures)
        self.cutoff = cutoff
        self.jitter = jitter
        self.cells = {name: supercell(name, min_atoms) for name in self.structures}
        self.sigma_max = {n: sigma_fraction * nearest_neighbour_distance(n) for n in self.structures}
        self.rng = np.random.default_rng(seed)

    def sample(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One noisy structure: edge index, float64 edge vectors, species, target displacement."""
        atoms = self.cells[name]
        stretch = 1.0 + self.rng.uniform(-self.jitter, self.jitter)
        sigma = self.rng.uniform(0.0, self.sigma_max[name]) * stretch
        noise = sigma * self.rng.standard_normal((len(atoms), 3))
        positions = atoms.positions * stretch + noise
        index, vectors = edges(positions, atoms.cell.array * stretch, atoms.pbc, self.cutoff)
        return index, vectors, atoms.get_tags(), noise

    def batch(self, num_structures: int, dtype: torch.dtype = torch.float32) -> Batch:
        names = self.rng.choice(self.structures, size=num_structures)
        parts = [self.sample(name) for name in names]
        offsets = np.cumsum([0] + [len(p[2]) for p in parts[:-1]])
        return Batch(
            edge_vectors=torch.from_numpy(np.concatenate([p[1] for p in parts])).to(dtype),
            edge_index=torch.from_numpy(np.concatenate([p[0] + o for p, o in zip(parts, offsets, strict=True)], 1)),
            species=torch.from_numpy(np.concatenate([p[2] for p in parts])).long(),
            target=torch.from_numpy(np.concatenate([p[3] for p in parts])).to(dtype),
        )
