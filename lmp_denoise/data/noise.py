"""Synthetic training data: perfect lattices plus Gaussian noise and a small density jitter.

sigma is drawn per structure, uniformly up to ``sigma_fraction`` x the nearest-neighbour
distance (Lindemann's criterion, ~0.125). The density jitter scales each structure by a random
factor so the model tolerates an imperfect automatic length scale; a random homogeneous strain
(each component up to ``strain``) teaches it that a strained crystal is not noise: real snapshots
carry strain (box fluctuations, the elastic fields of defects and surfaces).

A fraction ``open_fraction`` of the structures is not bulk but has free surfaces or open space:
a spherical cluster, a thick disc whose two flat faces have a random or low-index orientation
(a slab with vacuum), or a periodic crystal with a spherical void. The target stays the added
noise, so an atom with missing neighbours learns that it is not displaced: the network does not
pull surfaces into the vacuum.

Each atom's loss is weighted 1 / (sigma^2 + (f sigma_max)^2), normalised to a mean of 1 over the
noise levels: errors at small noise, where the iteration ends, count more than with plain squared
errors (where they would hardly count); the floor f (0.5) keeps large noise, which one step
must remove, from counting too little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from ..nn.neighbors import edges
from .lattices import SPECIES, nearest_neighbour_distance, species_of, training_cell

#: Shares of cluster, slab and void among the open structures.
OPEN_SHARES = {"cluster": 0.3, "slab": 0.5, "void": 0.2}
#: Low-index face normals in the conventional cell's frame (signs and permutations drawn at random).
LOW_INDEX = ((1, 0, 0), (1, 1, 0), (1, 1, 1))


@dataclass
class Batch:
    """Several structures joined into one disconnected graph."""

    edge_vectors: torch.Tensor
    edge_index: torch.Tensor
    species: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor  # per atom
    structure: torch.Tensor  # per atom: index of its structure in NoisyLattices.structures


def noise_weight(sigma: float, sigma_max: float, f: float) -> float:
    """The loss weight of noise ``sigma`` (drawn uniformly up to ``sigma_max``; floor ``f``), mean 1."""
    mean = np.arctan(1.0 / f) / f  # of 1 / (u^2 + f^2) for u uniform in [0, 1]
    return 1.0 / (((sigma / sigma_max) ** 2 + f * f) * mean)


class NoisyLattices:
    """Draws noisy copies of reference crystals, bulk or cut open."""

    def __init__(
        self,
        structures: list[str],
        cutoff: float,
        sigma_fraction: float = 0.125,
        jitter: float = 0.03,
        min_atoms: int = 400,
        seed: int = 0,
        open_fraction: float = 0.0,
        strain: float = 0.0,
        loss_floor: float = 0.5,
    ) -> None:
        self.structures = list(structures)
        self.cutoff = cutoff
        self.jitter = jitter
        self.open_fraction = open_fraction
        self.strain = strain
        self.loss_floor = loss_floor
        self.species = species_of(self.structures)
        self.units = {name: self._tagged(name, 1) for name in self.structures}  # conventional cells
        self.cells = {name: self._tagged(name, min_atoms) for name in self.structures}
        self.spacing = {n: nearest_neighbour_distance(self.units[n]) for n in self.structures}
        self.sigma_max = {n: sigma_fraction * self.spacing[n] for n in self.structures}
        self.rng = np.random.default_rng(seed)

    def _tagged(self, name: str, min_atoms: int) -> Atoms:
        """The training cell of ``name``, tagged with the model's species indices."""
        atoms = training_cell(name, min_atoms)
        atoms.set_tags([self.species.index(SPECIES[name][t]) for t in atoms.get_tags()])
        return atoms

    def geometry(self) -> str:
        if self.rng.uniform() >= self.open_fraction:
            return "bulk"
        return str(self.rng.choice(list(OPEN_SHARES), p=list(OPEN_SHARES.values())))

    def structure(self, name: str, geometry: str) -> Atoms:
        """The ideal atoms of one training structure (species in the tags)."""
        if geometry == "bulk":
            return self.cells[name]
        d = self.spacing[name]
        if geometry == "void":
            atoms = self.cells[name].copy()
            centre = self.rng.uniform(size=3) @ atoms.cell.array
            offsets = atoms.positions - centre
            offsets -= np.round(offsets @ np.linalg.inv(atoms.cell.array)) @ atoms.cell.array
            radius = self.rng.uniform(1.0, 2.5) * d
            return atoms[np.linalg.norm(offsets, axis=1) > radius]
        if geometry == "cluster":
            radius = self.rng.uniform(2.5, 4.5) * d
            block = self._block(name, radius)
            return block[np.linalg.norm(block.positions, axis=1) < radius]
        radius, half = 5.0 * d, self.rng.uniform(1.2, 2.8) * d  # a slab: a thick disc
        block = self._block(name, np.hypot(radius, half))
        normal = self._normal(block)
        height = block.positions @ normal
        lateral = np.linalg.norm(block.positions - np.outer(height, normal), axis=1)
        return block[(np.abs(height) < half) & (lateral < radius)]

    def _block(self, name: str, radius: float) -> Atoms:
        """Enough of the lattice around a random origin to hold a sphere of ``radius``."""
        cell = self.units[name]
        reps = np.ceil(2.0 * (radius + self.cutoff) / cell.cell.lengths()).astype(int) + 1
        block = cell.repeat(tuple(reps))
        origin = (reps / 2.0 + self.rng.uniform(size=3)) @ cell.cell.array
        block.positions -= origin
        block.set_pbc(False)
        block.set_cell(np.zeros((3, 3)))
        return block

    def _normal(self, block: Atoms) -> np.ndarray:
        if self.rng.uniform() < 0.5:  # a low-index face
            normal = np.array(LOW_INDEX[self.rng.integers(len(LOW_INDEX))], dtype=float)
            normal = self.rng.permutation(normal) * self.rng.choice([-1.0, 1.0], size=3)
        else:
            normal = self.rng.standard_normal(3)
        return normal / np.linalg.norm(normal)

    def sample(self, name: str, geometry: str = "bulk") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """One noisy structure: edge index, float64 edge vectors, species, target displacement, loss weight."""
        atoms = self.structure(name, geometry)
        stretch = 1.0 + self.rng.uniform(-self.jitter, self.jitter)
        strain = self.rng.uniform(-self.strain, self.strain, (3, 3)) if self.strain else np.zeros((3, 3))
        deform = stretch * (np.eye(3) + (strain + strain.T) / 2)  # row vectors: x -> x @ deform
        sigma = self.rng.uniform(0.0, self.sigma_max[name]) * stretch
        noise = sigma * self.rng.standard_normal((len(atoms), 3))
        positions = atoms.positions @ deform + noise
        index, vectors = edges(positions, atoms.cell.array @ deform, atoms.pbc, self.cutoff)
        return index, vectors, atoms.get_tags(), noise, noise_weight(sigma, self.sigma_max[name] * stretch, self.loss_floor)

    def batch(self, num_structures: int, dtype: torch.dtype = torch.float32) -> Batch:
        names = self.rng.choice(self.structures, size=num_structures)
        parts = [self.sample(name, self.geometry()) for name in names]
        offsets = np.cumsum([0] + [len(p[2]) for p in parts[:-1]])
        return Batch(
            edge_vectors=torch.from_numpy(np.concatenate([p[1] for p in parts])).to(dtype),
            edge_index=torch.from_numpy(np.concatenate([p[0] + o for p, o in zip(parts, offsets, strict=True)], 1)),
            species=torch.from_numpy(np.concatenate([p[2] for p in parts])).long(),
            target=torch.from_numpy(np.concatenate([p[3] for p in parts])).to(dtype),
            weight=torch.from_numpy(np.concatenate([np.full(len(p[2]), p[4]) for p in parts])).to(dtype),
            structure=torch.from_numpy(
                np.concatenate([np.full(len(p[2]), self.structures.index(n)) for n, p in zip(names, parts, strict=True)])
            ),
        )
