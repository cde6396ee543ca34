"""Evaluating a model file's network on a neighbour graph: the fused kernel, or TorchScript in chunks.

Both give g(r) in input units for every atom. The fused kernel keeps no per-edge tensor, so memory
is a few feature rows per atom whatever the size; the TorchScript fallback (no compiler, or a
device other than the CPU) evaluates each layer over chunks of centre atoms, which bounds its
per-edge intermediates.
"""

from __future__ import annotations

import numpy as np
import torch

from ..models.modelfile import LoadedModel
from .kernel import fused_kernel
from .neighbors import Graph

CHUNK_ATOMS = 8192


class Evaluator:
    def __init__(self, model: LoadedModel, use_kernel: bool = True, chunk_atoms: int = CHUNK_ATOMS) -> None:
        self.model = model
        self.module = model.module
        self.kernel = fused_kernel() if use_kernel else None
        self.tables = [t.contiguous() for t in self.module.tables()]
        self.chunk_atoms = chunk_atoms

    @property
    def backend(self) -> str:
        return "fused kernel" if self.kernel is not None else "TorchScript"

    def predict(self, positions: np.ndarray, cell: np.ndarray, graph: Graph, species: torch.Tensor, scale: float) -> np.ndarray:
        """g(r) in input units, for lengths scaled by ``scale`` before the network."""
        if self.kernel is not None:
            g = self._fused(positions, cell, graph, species, scale)
        else:
            g = self._chunked(positions, cell, graph, species, scale)
        return g.double().numpy() / scale

    def _fused(self, positions, cell, graph: Graph, species, scale) -> torch.Tensor:
        k, cutoff = self.kernel, self.module.cutoff
        offsets = torch.from_numpy(graph.offsets)
        neighbours = torch.from_numpy(graph.neighbours)
        vectors = k.edge_vectors(
            torch.from_numpy(np.ascontiguousarray(positions, dtype=np.float64)),
            torch.from_numpy(np.ascontiguousarray(cell, dtype=np.float64)),
            offsets,
            neighbours,
            torch.from_numpy(graph.shifts),
            scale,
        )
        h = k.embed(self.tables, cutoff, species)
        for layer in range(self.model.num_layers):
            h = k.interaction(self.tables, cutoff, layer, h, vectors, offsets, neighbours)
        return k.readout(self.tables, cutoff, h)

    def _chunked(self, positions, cell, graph: Graph, species, scale) -> torch.Tensor:
        n = len(positions)
        bounds = list(range(0, n, self.chunk_atoms)) + [n]
        with torch.no_grad():
            h = self.module.embed(species)
            for layer in range(self.model.num_layers):
                new = torch.empty_like(h)
                for first, last in zip(bounds[:-1], bounds[1:], strict=True):
                    a, b = graph.offsets[first], graph.offsets[last]
                    vectors = torch.from_numpy(graph.vectors(positions, cell, first, last) * scale).float()
                    index = torch.from_numpy(np.stack([graph.centers(first, last), graph.neighbours[a:b]]))
                    new[first:last] = self.module.layer(layer, h, vectors, index, first, last - first)
                h = new
            return self.module.readout(h)
