"""Neighbour search (vesin cell lists): edge lists, and the graph that denoising iterations reuse.

Edge vectors are formed in float64 and only then cast to the model dtype, so large boxes keep
their precision; the LAMMPS compute does the same with its ghost atoms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vesin import NeighborList

SKIN = 0.25  # graph candidates reach (1 + SKIN) x cutoff; a graph is rebuilt once an atom moved half the difference


def _search(
    positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float, quantities: str, full_list: bool = True, search=None
) -> list[np.ndarray]:
    """vesin's pairs within ``cutoff`` (``search``: a NeighborList whose arrays the caller keeps, uncopied)."""
    copy = search is None
    search = NeighborList(cutoff=cutoff, full_list=full_list) if search is None else search
    return search.compute(
        np.ascontiguousarray(positions, dtype=np.float64),
        np.asarray(cell, dtype=np.float64),
        np.asarray(pbc, dtype=bool),
        quantities=quantities,
        copy=copy,
    )


def slabs(positions: np.ndarray, cell: np.ndarray, pbc, reach: float, atoms_per_slab: int):
    """(home atoms, their positions then the margin's, a cell, the indices of those positions) for
    each slab across the tallest periodic axis, so that no search holds all pairs of a large system
    at once; one slab, the whole system, when it is small, has no box or is too thin for slabs twice
    ``reach`` thick. A slab's cell stays periodic (cell lists are fastest so) but is long enough
    along the cut axis that no atom meets another's image there."""
    n, periodic = len(positions), np.asarray(pbc, bool)
    volume = abs(float(np.linalg.det(cell)))
    heights = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1) if volume > 1e-9 else np.zeros(3)
    axis = int(np.argmax(np.where(periodic, heights, 0.0)))
    count = min(-(-n // atoms_per_slab), int(heights[axis] // (2.0 * reach))) if periodic[axis] else 1
    if count < 2:
        yield np.arange(n), positions, cell, np.arange(n)
        return
    fraction = (positions @ np.linalg.inv(cell))[:, axis]
    wrapped = np.floor(fraction)
    fraction -= wrapped
    inside = positions - wrapped[:, None] * cell[axis]  # every atom in the box along the axis
    margin = reach / heights[axis]
    box = np.array(cell, dtype=float)
    box[axis] *= 1.0 / count + 3.0 * margin + 1e-6  # content spans 1 / count + 2 margins, plus one reach
    for k in range(count):
        low, high = k / count, (k + 1) / count
        home = np.flatnonzero((fraction >= low) & (fraction < high))
        parts, ids = [inside[home]], [home]
        for shift, pick in (
            (0.0, (fraction >= low - margin) & (fraction < low)),
            (0.0, (fraction >= high) & (fraction < high + margin)),
            (-1.0, fraction >= 1.0 + low - margin),  # images across the box's faces
            (1.0, fraction < high + margin - 1.0),
        ):
            parts.append(inside[pick] + shift * cell[axis])
            ids.append(np.flatnonzero(pick))
        yield home, np.concatenate(parts), box, np.concatenate(ids)


def edges(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Directed edges (center, neighbour) within ``cutoff`` and their float64 vectors."""
    i, j, d = _search(positions, cell, pbc, cutoff, "ijD")
    return np.stack([i, j]).astype(np.int64), d


def half_edges(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair within ``cutoff`` once: (i, j, float64 vector i -> j); half the work of ``edges``."""
    i, j, d = _search(positions, cell, pbc, cutoff, "ijD", full_list=False)
    return i.astype(np.int64), j.astype(np.int64), d


@dataclass
class Pairs:
    """Each pair within a cutoff once, 24 bytes a pair: arrays owned by vesin's list (not copied)."""

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray
    owner: NeighborList


def pair_distances(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float) -> Pairs:
    search = NeighborList(cutoff=cutoff, full_list=False)
    i, j, d = _search(positions, cell, pbc, cutoff, "ijd", search=search)
    return Pairs(i, j, d, search)


@dataclass
class Graph:
    """Candidate edges within ``reach`` of the positions at build time, grouped by centre (CSR).

    Valid while no atom has moved more than (reach - cutoff) / 2 from ``reference``; edge vectors
    are recomputed from current positions and periodic ``shifts`` (cell vectors, int8).
    """

    offsets: np.ndarray  # (N + 1,) int64: edges of atom i are offsets[i] .. offsets[i+1]-1
    neighbours: np.ndarray  # (E,) int64
    shifts: np.ndarray  # (E, 3) int8
    reference: np.ndarray  # (N, 3) positions the graph was built from
    reach: float

    def centers(self, first: int, last: int) -> np.ndarray:
        """The centre of each edge of atoms first .. last-1."""
        return np.repeat(np.arange(first, last), np.diff(self.offsets[first : last + 1]))

    def still_valid(self, positions: np.ndarray, cutoff: float) -> bool:
        moved = np.sqrt(((positions - self.reference) ** 2).sum(axis=1).max()) if len(positions) else 0.0
        return 2.0 * moved < self.reach - cutoff

    def vectors(self, positions: np.ndarray, cell: np.ndarray, first: int = 0, last: int | None = None) -> np.ndarray:
        """float64 edge vectors of the centres first .. last-1."""
        last = len(self.offsets) - 1 if last is None else last
        a, b = self.offsets[first], self.offsets[last]
        centers = self.centers(first, last)
        return positions[self.neighbours[a:b]] - positions[centers] + self.shifts[a:b].astype(np.float64) @ cell


def build_graph(positions: np.ndarray, cell: np.ndarray, pbc, reach: float) -> Graph:
    search = NeighborList(cutoff=reach, full_list=True)
    i, j, shifts = _search(positions, cell, pbc, reach, "ijS", search=search)  # views of vesin's buffers, freed with it
    if len(shifts) and np.abs(shifts).max() > 127:
        raise ValueError(f"the cell is too small for a neighbour reach of {reach:.3g}: it spans over 127 periodic images")
    order = np.argsort(i, kind="stable")
    offsets = np.zeros(len(positions) + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=len(positions)), out=offsets[1:])
    neighbours = j[order].view(np.int64)  # vesin's uint64, reinterpreted: indices < 2^63, no second copy
    compact = np.empty((len(order), 3), dtype=np.int8)
    for k in range(3):
        compact[:, k] = shifts[order, k]
    return Graph(offsets, neighbours, compact, positions.copy(), reach)
