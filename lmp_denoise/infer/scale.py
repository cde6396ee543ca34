"""Automatic length scale: the volume per atom of the dense part of a system.

Per atom, a smoothed count of neighbours inside a sphere of radius 1.8 d (d = median
nearest-neighbour distance, smoothing width 0.8 d) gives a local density. Atoms whose count is
below 0.9 x the count at the 98th percentile are surface atoms (a cluster of 200 atoms has more
of them than bulk atoms) and drop out; the median count of the rest gives the volume, which so
ignores surfaces, vacuum and a minority phase. (Files written before 0.11, and models of lattices
whose atoms count unequal densities, such as silica, leave out counts below 0.85 x the 90th
percentile: in a cluster of 180 atoms most spheres reach past the surface, and that recipe read
its lengths 3% too long; the denoiser then expanded it.) On perfect fcc, bcc and hcp the
estimate is within 0.5% of the true volume, on all seven reference lattices within 4%, hot or
cold. The constants
(``ScaleRecipe``) are written into every model file, and Python and the LAMMPS compute
(cpp/denoise_scale.cpp) read them from there; a test checks both give the same scale.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from ..errors import DenoiseError
from ..nn.kernel import fused_kernel
from ..nn.neighbors import half_edges, pair_distances, slabs

PAIR_CHUNK = 1 << 20
SLAB_ATOMS = 1 << 16  # density counts of larger systems are taken slab by slab (see neighbour_counts)


@dataclass(frozen=True)
class ScaleRecipe:
    sphere_radius: float = 1.8  # x the median nearest-neighbour distance d
    smoothing: float = 0.8  # x d, half-width of the cosine window
    first_search: float = 1.6  # x (occupied volume per atom)^(1/3): nearest-neighbour search
    overlap_fraction: float = 0.3  # pairs closer than this x d are overlapping atoms
    # atoms counting fewer neighbours than dense_fraction x the count at dense_quantile are left
    # out of the median (0: none; the recipe of files written before lmp-denoise 0.3)
    dense_fraction: float = 0.0
    dense_quantile: float = 0.9
    # nearest-neighbour distances whose interquartile range exceeds this x their median are a gas
    # or random points, not condensed matter (solids and liquids: < 0.1); 0: no check (before 0.3)
    gas_spread: float = 0.0
    # the homogeneous deformation (shape_correction): rounds of the estimate (0: none, the recipe
    # of files written before lmp-denoise 0.8), neighbours searched for each dense atom's first
    # shell (x d), the fewest neighbours a first shell has, and the fewest dense atoms with a
    # shell that measure a deformation (a smaller system is left as it is)
    shape_rounds: int = 0
    shape_search: float = 1.7
    shape_min_shell: int = 4
    shape_min_atoms: int = 300
    # the estimate must settle: the last round may change it by at most shape_settle x what the
    # rounds before found, plus shape_slack (anisotropies); else the shells are too blurred to tell
    # and nothing is undone
    shape_settle: float = 0.5
    shape_slack: float = 0.005

    def __post_init__(self) -> None:
        """Raises ValueError on a constant outside ``SCALE_LIMITS`` (a hand-edited model file)."""
        for name, (low, high) in SCALE_LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be {low:g} to {high:g}, not {value:g}")

    def as_dict(self) -> dict:
        return asdict(self)


#: The range of each constant of ``ScaleRecipe`` that a model file may carry (inclusive; the
#: plugin checks the same ranges, cpp/denoise_scale.cpp ``Recipe::problem``).
SCALE_LIMITS = {
    "sphere_radius": (1.0, 10.0),
    "smoothing": (0.0, 5.0),
    "first_search": (1.0, 5.0),
    "overlap_fraction": (0.0, 1.0),
    "dense_fraction": (0.0, 1.0),
    "dense_quantile": (0.0, 1.0),
    "gas_spread": (0.0, 10.0),
    "shape_rounds": (0, 10),
    "shape_search": (1.0, 5.0),
    "shape_min_shell": (1, 64),
    "shape_min_atoms": (1, 10**9),
    "shape_settle": (0.0, 10.0),
    "shape_slack": (0.0, 1.0),
}


# written into new model files; runtimes read it back from the file
RECIPE = ScaleRecipe(dense_fraction=0.9, dense_quantile=0.98, gas_spread=0.3, shape_rounds=2)
# the dense part before 0.11, still that of models of lattices whose atoms count unequal densities
# (silica: its O atoms count 10% more than its Si): RECIPE's would leave out a whole species
UNEVEN = replace(RECIPE, dense_fraction=0.85, dense_quantile=0.9)


class StructureError(DenoiseError, ValueError):
    """Positions that cannot be denoised; the message says why."""


def window(r: np.ndarray, radius: float, width: float) -> np.ndarray:
    """1 inside radius - width, 0 beyond radius + width, a cosine step between."""
    inner = radius - width
    step = 0.5 * (1.0 + np.cos(np.pi * (r - inner) / (2.0 * width)))
    return np.where(r <= inner, 1.0, np.where(r >= radius + width, 0.0, step))


def window_volume(radius: float, width: float, samples: int = 4000) -> float:
    """Integral of the window over space (composite Simpson's rule, as in the C++ code)."""
    upper = radius + width
    h = upper / samples
    r = np.arange(samples + 1) * h
    f = 4.0 * math.pi * r * r * window(r, radius, width)
    weights = np.ones(samples + 1)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return float(h / 3.0 * np.dot(weights, f))


def occupied_volume_per_atom(positions: np.ndarray, cell: np.ndarray, pbc) -> float:
    """Volume per atom of the space the atoms occupy, whatever vacuum the box holds.

    Along each cell axis the atoms' extent plus one spacing a (at most the box height on periodic
    axes), with a = (volume per atom)^(1/3) found by fixed-point iteration: a crystal that
    fills a periodic box gives exactly the box volume per atom; a cluster or a slab in vacuum the
    volume around its atoms, not the box's (the same rule as cpp/compute_denoise.cpp).
    """
    volume = abs(float(np.linalg.det(cell)))
    if volume < 1e-9:  # no box given: the atoms' own extent
        extent, height = np.ptp(positions, axis=0), np.full(3, np.inf)
    else:
        height = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        extent = np.ptp(positions @ np.linalg.inv(cell), axis=0) * height
        height = np.where(np.asarray(pbc, bool), height, np.inf)
    # from the largest extent down to the one positive fixed point (from 0, atoms in a plane or on
    # a line across a non-periodic axis would stop at the spurious fixed point 0)
    a = float(np.minimum(extent, height).max())
    for _ in range(10000):  # converges geometrically; a bound, not a setting
        following = (float(np.prod(np.minimum(extent + a, height))) / len(positions)) ** (1.0 / 3.0)
        if abs(following - a) <= 1e-13 * following:
            break
        a = following
    return following**3


def first_search_radius(positions: np.ndarray, cell: np.ndarray, pbc, recipe: ScaleRecipe = RECIPE) -> float:
    """Radius searched for each atom's nearest neighbour: first_search x (occupied volume per atom)^(1/3).

    Atoms with no neighbour inside are left out.
    """
    radius = recipe.first_search * occupied_volume_per_atom(positions, cell, pbc) ** (1.0 / 3.0)
    if not (np.isfinite(radius) and radius > 0.0):
        raise StructureError("all atoms sit at one point (or the box has no volume): nothing to denoise; check the input")
    return radius


def atom_name(i: int, ids: np.ndarray | None) -> str:
    """How messages name atom ``i``: by its id where the input has ids (dumps), else by index."""
    return f"atom id {int(ids[i])}" if ids is not None else f"atom {i} (counting from 0)"


def check_positions(positions: np.ndarray, ids: np.ndarray | None = None) -> None:
    if len(positions) < 2:
        raise StructureError("the structure has fewer than two atoms")
    if not np.all(np.isfinite(positions)):
        bad = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
        raise StructureError(f"{atom_name(bad, ids)} has a NaN or infinite position; fix the input coordinates")


def nearest_neighbour_distances(positions: np.ndarray, cell: np.ndarray, pbc, recipe: ScaleRecipe = RECIPE) -> np.ndarray:
    """Distance from each atom to its nearest neighbour (inf where none is close)."""
    pairs = pair_distances(positions, cell, pbc, first_search_radius(positions, cell, pbc, recipe))
    nearest = np.full(len(positions), np.inf)
    np.minimum.at(nearest, pairs.i, pairs.distance)
    np.minimum.at(nearest, pairs.j, pairs.distance)
    return nearest


def nearest_distances(
    positions: np.ndarray, cell: np.ndarray, pbc, recipe: ScaleRecipe = RECIPE, ids: np.ndarray | None = None
) -> tuple[float, float]:
    """(median, smallest) nearest-neighbour distance; an error for overlapping atoms or none close
    (``ids``: the atoms' ids, which errors then name)."""
    check_positions(positions, ids)
    nearest = nearest_neighbour_distances(positions, cell, pbc, recipe)
    finite = nearest[np.isfinite(nearest)]
    if len(finite) == 0:
        raise StructureError("no two atoms are close enough to estimate a length scale; use --scale D")
    d = float(np.median(finite))
    if d <= 0.0:
        raise StructureError(
            f"{int((finite == 0.0).sum())} of {len(positions)} atoms sit exactly on another atom: remove duplicate atoms,"
            " or check the input's columns, units and box"
        )
    if recipe.gas_spread > 0.0:
        spread = (quantile(finite, 0.75) - quantile(finite, 0.25)) / d
        if spread > recipe.gas_spread:
            raise StructureError(
                f"the nearest-neighbour distances spread by {spread:.0%} of their median (solids and liquids: under"
                " 10%): this looks like a gas or random points, which cannot be denoised; check the input's columns and units"
            )
    if finite.min() < recipe.overlap_fraction * d:
        i = int(np.argmin(nearest))
        raise StructureError(
            f"{atom_name(i, ids)} overlaps a neighbour (distance {finite.min():.3g} vs typical {d:.3g}); "
            "remove duplicate atoms from the input"
        )
    return d, float(finite.min())


def volume_per_atom(
    positions: np.ndarray, cell: np.ndarray, pbc, recipe: ScaleRecipe = RECIPE, distance: float | None = None
) -> float:
    """Volume per atom of the dense part of the system, in the input's units (``distance``: the
    median nearest-neighbour distance, if already known)."""
    return dense_volume(positions, cell, pbc, recipe, distance)[0]


def dense_volume(
    positions: np.ndarray, cell: np.ndarray, pbc, recipe: ScaleRecipe = RECIPE, distance: float | None = None
) -> tuple[float, np.ndarray]:
    """``volume_per_atom`` and which atoms are in the dense part (the atoms it was measured on)."""
    d = nearest_distances(positions, cell, pbc, recipe)[0] if distance is None else distance
    radius, width = recipe.sphere_radius * d, recipe.smoothing * d
    count = neighbour_counts(positions, cell, pbc, radius, width)
    dense = dense_atoms(count, recipe)
    return float(window_volume(radius, width) / np.median(count[dense])), dense


def neighbour_counts(positions: np.ndarray, cell: np.ndarray, pbc, radius: float, width: float) -> np.ndarray:
    """1 + each atom's neighbours weighted by ``window(r, radius, width)``.

    The pairs within radius + width number ~50 an atom in a metal; so that they are never all held
    at once, a large periodic system is cut into slabs across its tallest periodic axis, and each
    slab's atoms count their neighbours among the slab and a margin of radius + width on either
    side (periodic images made explicit): the same sums, in another order.
    """
    count = np.ones(len(positions))
    for home, members, box, _ in slabs(positions, cell, pbc, radius + width, SLAB_ATOMS):
        count[home] += _window_sums(members, box, pbc, radius, width)[: len(home)]
    return count


def _window_sums(positions: np.ndarray, cell: np.ndarray, pbc, radius: float, width: float) -> np.ndarray:
    pairs = pair_distances(positions, cell, pbc, radius + width)
    sums = np.zeros(len(positions))
    for start in range(0, len(pairs.distance), PAIR_CHUNK):  # bounded temporaries, whatever the size
        part = slice(start, start + PAIR_CHUNK)
        weights = window(pairs.distance[part], radius, width)
        sums += np.bincount(pairs.i[part], weights, minlength=len(positions))
        sums += np.bincount(pairs.j[part], weights, minlength=len(positions))
    return sums


def quantile(values: np.ndarray, q: float) -> float:
    """The element of rank floor(q (n - 1)) (no interpolation: the compute's definition)."""
    rank = int(q * (len(values) - 1))
    return float(np.partition(values, rank)[rank])


def dense_atoms(count: np.ndarray, recipe: ScaleRecipe) -> np.ndarray:
    """The atoms of the dense part (surface atoms left out), from their neighbour counts."""
    if recipe.dense_fraction == 0.0:
        return np.ones(len(count), bool)
    return count >= recipe.dense_fraction * quantile(count, recipe.dense_quantile)


# bond tensor terms (in units of d^2) are summed as integers of this size: the same sum in any
# order, so every rank count of the compute finds the same deformation
SHAPE_UNIT = 2.0**-24
TENSOR_TERMS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))  # xx yy zz xy xz yz, as the compute sums them


def shape_correction(
    positions: np.ndarray, cell: np.ndarray, pbc, dense: np.ndarray, d: float, recipe: ScaleRecipe
) -> np.ndarray:
    """A 3x3 map T with det 1 such that ``positions @ T`` undoes the system's homogeneous deformation.

    Every lattice the models know has a first shell whose bond tensor sum(v v^T) is isotropic
    (fcc, bcc with its 14 neighbours, ideal hcp, sc, diamond, rock salt, a regular SiO4
    tetrahedron), so a strained crystal's tensor, summed over the dense atoms, measures its
    deformation F (it is F^T F up to a factor). Per dense atom, its first shell ends at the largest
    ratio between consecutive neighbour distances (from the ``shape_min_shell``-th on, within
    ``shape_search`` d); the most common shell size k, then the k nearest neighbours of each
    atom that has a shell give the tensor; T = (tensor / its mean eigenvalue)^(-1/2), and the
    tensor is measured again in the corrected frame, ``shape_rounds`` times in all (noise blurs
    the shells of a strongly deformed crystal; corrected, they are sharper). An estimate whose
    last round still changes it much (``shape_settle``) comes from shells too blurred to tell
    (noise above ~0.1 of the neighbour distance): then nothing is undone. A film thinner than ~10 nm carries a few
    percent of such strain from its surface stress; the models, trained on crystals strained by
    at most 2%, would pull it back toward the cubic shape. Glass and liquids give T ~ 1.
    """
    T = np.eye(3)
    if recipe.shape_rounds == 0:
        return T
    reach = recipe.shape_search * d
    shell = _first_shells(positions, cell, pbc, dense, reach, recipe.shape_min_shell)
    if np.count_nonzero(shell) < recipe.shape_min_atoms:
        return T
    k = int(np.argmax(np.bincount(shell[shell > 0])))  # the most common size; the smallest of equals
    for round in range(recipe.shape_rounds):
        total = _shell_tensor(positions, cell, pbc, shell > 0, T, reach, k, d)
        tensor = np.array([[total[0], total[3], total[4]], [total[3], total[1], total[5]], [total[4], total[5], total[2]]], float)
        values, axes = np.linalg.eigh(tensor / (np.trace(tensor) / 3.0))
        change = np.sqrt(values.max() / values.min()) - 1.0  # the anisotropy of this round's correction
        if 0 < round == recipe.shape_rounds - 1 and change > recipe.shape_settle * anisotropy(T) + recipe.shape_slack:
            return np.eye(3)
        T = T @ (axes * values**-0.5) @ axes.T
        T /= np.cbrt(np.linalg.det(T))
    return T


def _slab_pairs(positions: np.ndarray, cell: np.ndarray, pbc, centres: np.ndarray, radius: float):
    """Per slab (see neighbour_counts; smaller slabs, bounded memory): its home atoms, which of
    them are ``centres``, and its pairs within ``radius`` once each (i, j, vector i -> j; the
    first len(home) members are the home atoms)."""
    for home, members, box, _ in slabs(positions, cell, pbc, radius, SLAB_ATOMS // 2):
        yield (home, centres[home], *half_edges(members, box, pbc, radius))


def _first_shells(positions: np.ndarray, cell: np.ndarray, pbc, centres: np.ndarray, reach: float, min_shell: int):
    """First-shell size of each centre (0: none found; not a centre), from its neighbours within reach."""
    kernel = fused_kernel()
    shell = np.zeros(len(positions), np.int64)
    for home, mine, i, j, bond in _slab_pairs(positions, cell, pbc, centres, reach):
        if kernel is not None:  # the same loop as the compute's (nn/kernel/denoise_shape.h)
            found = kernel.first_shells(*map(torch.from_numpy, (i, j, bond, mine)), reach, min_shell).numpy()
        else:
            atoms, table = _table(mine, i, j, bond, 1e3 * reach)
            found = np.zeros(len(home), np.int64)
            found[atoms] = _shells_of_rows(np.sqrt(np.sort(_squared_lengths(table, reach), axis=1)), min_shell)
        shell[home] = found
    return shell


def _shell_tensor(positions, cell, pbc, centres: np.ndarray, T: np.ndarray, reach: float, k: int, d: float) -> np.ndarray:
    """The bond tensor (xx yy zz xy xz yz, in SHAPE_UNITs) of each centre's k nearest neighbours
    within reach in the frame corrected by T, searched slab by slab in the input frame."""
    kernel = fused_kernel()
    radius = reach / np.linalg.svd(T, compute_uv=False)[-1]  # holds every neighbour within reach after T
    total = np.zeros(6, np.int64)
    for _, mine, i, j, bond in _slab_pairs(positions, cell, pbc, centres, radius):
        if kernel is not None:
            arrays = map(torch.from_numpy, (i, j, bond, mine, np.ascontiguousarray(T)))
            total += kernel.shell_tensor(*arrays, reach, k, d * d).numpy()
            continue
        corrected = _table(mine, i, j, bond, 1e3 * radius)[1] @ T
        lengths = _squared_lengths(corrected, reach)
        chosen = np.isfinite(lengths).sum(axis=1) >= k
        nearest = np.argpartition(lengths[chosen], k - 1, axis=1)[:, :k]
        v = np.take_along_axis(corrected[chosen], nearest[:, :, None], axis=1).reshape(-1, 3)
        for c, (a, b) in enumerate(TENSOR_TERMS):
            total[c] += np.rint(v[:, a] * v[:, b] / (d * d) / SHAPE_UNIT).astype(np.int64).sum()
    return total


def anisotropy(shape: np.ndarray) -> float:
    """Largest / smallest principal stretch of a shape map, minus 1 (0: no deformation undone)."""
    stretch = np.linalg.svd(shape, compute_uv=False)
    return float(stretch[0] / stretch[-1] - 1.0)


def _squared_lengths(table: np.ndarray, reach: float) -> np.ndarray:
    """Squared lengths of a neighbour table's vectors, inf beyond ``reach`` (and for padding)."""
    lengths = np.einsum("nwc,nwc->nw", table, table)
    return np.where(lengths < reach * reach, lengths, np.inf)


def _shells_of_rows(r: np.ndarray, min_shell: int) -> np.ndarray:
    """Per row of sorted distances (inf-padded): the neighbours before the largest ratio of
    consecutive distances from the ``min_shell``-th on (the first of equals); 0 where none."""
    low = max(min_shell, 1)
    if r.shape[1] <= low:
        return np.zeros(len(r), np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = r[:, low:] / r[:, low - 1 : -1]
    ratio[~np.isfinite(r[:, low:])] = -np.inf
    shell = low + np.argmax(ratio, axis=1)
    return np.where(np.isfinite(r[:, low]), shell, 0)


def _table(centre: np.ndarray, i: np.ndarray, j: np.ndarray, bond: np.ndarray, far: float):
    """The centres (indices among the home atoms) and their neighbour vectors as rows of an
    (atoms, width, 3) table, padded with vectors of length ~``far`` (numpy, without the kernel)."""
    ends = []  # each pair seen from either end that is a centre
    for atom, vectors in ((i, bond), (j, -bond)):
        keep = atom < len(centre)
        keep[keep] = centre[atom[keep]]
        ends.append((atom[keep], vectors[keep]))
    atom, vectors = np.concatenate([e[0] for e in ends]), np.concatenate([e[1] for e in ends])
    order = np.argsort(atom, kind="stable")
    atom, vectors = atom[order], vectors[order]
    atoms, first, count = np.unique(atom, return_index=True, return_counts=True)
    row = np.repeat(np.arange(len(atoms)), count)
    table = np.full((len(atoms), int(count.max(initial=0)), 3), far)
    table[row, np.arange(len(atom)) - first[row]] = vectors
    return atoms, table


def close_packed_distance(volume: float) -> float:
    """Nearest-neighbour distance of fcc/hcp with this volume per atom."""
    return (math.sqrt(2.0) * volume) ** (1.0 / 3.0)
