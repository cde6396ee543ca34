"""Edges of the atomic graph, from vesin's cell-list neighbour search.

Edge vectors are formed in float64 and only then cast to the model dtype, so large boxes keep
their precision; the LAMMPS compute does the same with its ghost atoms.
"""

from __future__ import annotations

import numpy as np
from vesin import NeighborList


def _open_box(positions: np.ndarray, cutoff: float) -> np.ndarray:
    """A box that holds every atom, for directions that are not periodic."""
    extent = np.ptp(positions, axis=0) + 2.0 * cutoff + 1.0
    return np.diag(np.maximum(extent, 3.0 * cutoff))


def edges(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Directed edges (center, neighbour) within ``cutoff`` and their float64 vectors."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    if not pbc.any():
        cell = _open_box(positions, cutoff)
        positions = positions - positions.min(axis=0) + cutoff
    elif not pbc.all():
        cell = np.array(cell, dtype=np.float64)
        for axis in np.flatnonzero(~pbc):
            span = np.ptp(positions[:, axis]) + 2.0 * cutoff + 1.0
            cell[axis] = 0.0
            cell[axis, axis] = span
    search = NeighborList(cutoff=cutoff, full_list=True)
    i, j, d = search.compute(positions, np.asarray(cell, dtype=np.float64), pbc, quantities="ijD")
    return np.stack([i, j]).astype(np.int64), d
