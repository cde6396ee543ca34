"""Objects surrounded by vacuum keep their size and shape: the homogeneous part of the moves along
open directions is removed.

The networks see a few neighbour shells and were trained with a random density change and strain
(data/noise.py), so a uniformly stretched or rotated crystal looks perfect to them: along a
direction that no periodic image closes (a slab's normal, every direction of a particle) nothing
restores the object's size, and the small inward or outward pull that every network has at a free
surface adds up over the iterations (a 177-atom Cu particle -2.5% in radius of gyration after 32
steps of a network trained 10,000 updates, a slab's outer layers 0.2 A). Thermal noise has no
homogeneous part worth keeping (its share over N atoms is ~sigma / sqrt(N)), so each iteration
removes the part of the moves that is linear in position along the open directions (a least-
squares fit over the moving atoms; their mean move stays).

A direction is open where the box is not periodic, or where a periodic box holds a gap free of
atoms at least ``gap`` model cutoffs wide across it (vacuum around a slab or a particle in a
periodic box): positions are then unwrapped across the widest gap. An open direction counts only
where the atoms spread along it by at least ``spread`` model cutoffs (root mean square): a
monolayer's thickness is noise to remove, not a shape to keep. lmp-denoise's compute does the same
(cpp/compute_denoise.cpp, find_open_space); the constants come from the model file's iteration
recipe (``open_gap``, ``open_spread``; files written before lmp-denoise 0.12 carry none: off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Histogram bins per model cutoff along a periodic direction, and at most this many in all.
BINS_PER_CUTOFF = 4
MAX_BINS = 4096


@dataclass(frozen=True)
class OpenSpace:
    basis: np.ndarray  # (k, 3) orthonormal: the open directions that count; k = 0: none
    offsets: np.ndarray | None  # (N, 3) added to the positions: unwrapped across the gaps (None: no gap)

    def without_homogeneous(self, move: np.ndarray, positions: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """``move`` (N, 3) less its least-squares linear part in the open directions, fitted and
        removed over the ``moving`` atoms."""
        if len(self.basis) == 0 or moving.sum() <= len(self.basis):
            return move
        p = positions[moving] if self.offsets is None else positions[moving] + self.offsets[moving]
        p = p @ self.basis.T
        v = move[moving] @ self.basis.T
        p -= p.mean(axis=0)
        covariance = p.T @ p
        if np.linalg.eigvalsh(covariance).min() <= 1e-12 * np.trace(covariance):
            return move  # the atoms span fewer directions than counted (a straight chain): leave the moves
        linear = np.linalg.solve(covariance, p.T @ (v - v.mean(axis=0)))  # (k, k)
        out = move.copy()
        out[moving] -= (p @ linear) @ self.basis
        return out


def _full_cell(cell: np.ndarray) -> np.ndarray:
    """``cell`` with any zero-length vector (ASE's way to say "no box along it") replaced by a unit
    vector normal to the others."""
    full = cell.copy()
    for a in range(3):
        if np.linalg.norm(full[a]) == 0.0:
            others = [full[b] for b in range(3) if b != a and np.linalg.norm(full[b]) > 0.0]
            if len(others) == 2 and np.linalg.norm(np.cross(*others)) > 0.0:
                full[a] = np.cross(*others) / np.linalg.norm(np.cross(*others))
            else:
                full[a] = np.eye(3)[a]
    return full if abs(np.linalg.det(full)) > 0.0 else np.eye(3)


def widest_gap(fractions: np.ndarray, bins: int) -> tuple[int, int]:
    """(length, first bin) of the longest run of empty bins of ``fractions`` in [0, 1), cyclic;
    the first of equally long runs."""
    empty = np.bincount(np.minimum((fractions * bins).astype(np.int64), bins - 1), minlength=bins) == 0
    if empty.all():
        return bins, 0
    best, first, run = 0, 0, 0
    for i in range(2 * bins):  # twice round: a run may wrap past the last bin
        run = run + 1 if empty[i % bins] else 0
        if run > best:
            best, first = run, (i - run + 1) % bins
    return best, first


def open_space(positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float, gap: float, spread: float) -> OpenSpace:
    """The open directions of a structure (``cutoff``: the model's cutoff in input lengths)."""
    n = len(positions)
    offsets = None
    normals = []
    cell = _full_cell(np.asarray(cell, dtype=np.float64))
    inverse = np.linalg.inv(cell)
    for a in range(3):
        normal = inverse[:, a] / np.linalg.norm(inverse[:, a])  # across the faces of the box
        if pbc[a]:
            height = 1.0 / np.linalg.norm(inverse[:, a])
            bins = int(min(MAX_BINS, max(8, np.ceil(BINS_PER_CUTOFF * height / cutoff))))
            s = positions @ inverse[:, a]
            wrapped = s - np.floor(s)
            run, first = widest_gap(wrapped, bins)
            if run * height / bins < gap * cutoff:
                continue
            centre = ((first + run / 2.0) / bins) % 1.0
            shift = np.outer(wrapped - s - (wrapped >= centre), cell[a])
            offsets = shift if offsets is None else offsets + shift
        normals.append(normal)
    counted = []
    for normal in normals:
        h = (positions if offsets is None else positions + offsets) @ normal
        if np.sqrt(np.mean((h - h.mean()) ** 2)) >= spread * cutoff and n > 1:
            counted.append(normal)
    basis = np.linalg.qr(np.array(counted).T)[0].T if counted else np.zeros((0, 3))
    return OpenSpace(basis, offsets)
