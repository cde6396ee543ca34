"""Iterative denoising, r <- r - g(r), on ASE ``Atoms``.

The input is first scaled so that its volume per atom matches the training lattices, the
model runs on scaled edge vectors, and moves are scaled back: other elements need no hand factors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from ..models import DEFAULT_MODEL, load_model
from ..models.modelfile import IterationRecipe, LoadedModel
from ..nn.inference import Evaluator
from ..nn.neighbors import SKIN, build_graph
from .labels import Labels, disordered_atoms, label_atoms
from .open_space import open_space
from .scale import StructureError, anisotropy, close_packed_distance, dense_volume, nearest_distances, shape_correction


@dataclass(frozen=True)
class Settings:
    """How each frame of a file is denoised (the keyword arguments of ``denoise``)."""

    steps: int = 8
    tol: float = 0.0
    scale: str | float = "auto"
    types: dict[int, int | str] | None = None
    recipe: IterationRecipe | None = None  # None: the model file's
    shape: str = "auto"

    def kwargs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULTS = Settings()


@dataclass
class DenoiseResult:
    atoms: Atoms  # a copy with denoised positions
    displacement: np.ndarray  # (N, 3), denoised - input
    iterations: int
    scale: float  # factor applied to the input lengths before the model
    max_move: float  # largest single-atom move in the last iteration, input units
    shape: np.ndarray  # (3, 3), det 1: lengths @ shape undo the homogeneous deformation (identity: none measured)
    kept_first: np.ndarray  # (N,) bool: disordered atoms that kept the first iteration's move (recipe disorder "first")

    @property
    def to_model(self) -> np.ndarray:
        """The map from input lengths (row vectors) to the model's units: scale x shape."""
        return self.scale * self.shape

    @property
    def deformation(self) -> float:
        """How anisotropic the undone deformation is: largest / smallest principal stretch - 1."""
        return anisotropy(self.shape)


SHAPES = ("auto", "none")  # measure the homogeneous deformation as the model file says, or not


def length_scale(atoms: Atoms, model: LoadedModel, scale: str | float = "auto", distance: float | None = None) -> float:
    """Factor that maps the input onto the training lattice's volume per atom.

    ``scale`` is "auto" or the system's nearest-neighbour distance D (close-packed equivalent);
    ``distance``: the median nearest-neighbour distance, if already known.
    """
    if scale == "auto":
        return auto_scale(atoms, model, distance, "none")[0]
    distance = float(scale)
    if not distance > 0.0:
        raise StructureError(f"scale must be 'auto' or a positive distance in A, not {scale}")
    return close_packed_distance(model.reference_volume) / distance


def auto_scale(atoms: Atoms, model: LoadedModel, distance: float | None = None, shape: str = "auto") -> tuple[float, np.ndarray]:
    """The automatic scale factor and, with ``shape`` "auto" and a model whose recipe measures it,
    the map that undoes the system's homogeneous deformation (scale.shape_correction); else identity."""
    if shape not in SHAPES:
        raise StructureError(f"shape must be one of {', '.join(SHAPES)}, not '{shape}'")
    recipe, cell = model.scale_recipe, atoms.cell.array
    if distance is None:
        distance = nearest_distances(atoms.positions, cell, atoms.pbc, recipe)[0]
    volume, dense = dense_volume(atoms.positions, cell, atoms.pbc, recipe, distance)
    factor = (model.reference_volume / volume) ** (1.0 / 3.0)
    if shape == "none":
        return factor, np.eye(3)
    return factor, shape_correction(atoms.positions, cell, atoms.pbc, dense, distance, recipe)


def parse_type_map(text: str | None) -> dict[int, int | str] | None:
    """'1:A,2:B' or '1:0,2:1' -> {1: 'A', 2: 'B'}: atom type -> model species name or index."""
    if not text or not text.strip():
        return None
    try:
        pairs = [item.split(":") for item in text.split(",")]
        return {int(k): int(v) if v.strip().lstrip("-").isdigit() else v.strip() for k, v in pairs}
    except ValueError:
        raise StructureError(
            f"type map '{text}' is not of the form TYPE:SPECIES[,TYPE:SPECIES...], e.g. 1:A,2:B or 1:0,2:1"
        ) from None


def species_indices(atoms: Atoms, model: LoadedModel, types: dict[int, int | str] | None = None) -> np.ndarray:
    """Model species per atom: all 0 for one-species models, else via ``types``.

    ``types`` maps each atom type (LAMMPS type, or atomic number) to a model species, by name or
    0-based index; multi-species models need it, as the LAMMPS compute's ``types`` keyword."""
    numbers = atoms.numbers
    known = model.species
    if len(known) == 1 and not types:
        return np.zeros(len(atoms), dtype=np.int64)
    if not types:
        present = sorted(set(numbers.tolist()))
        example = ",".join(f"{t}:{known[min(k, len(known) - 1)]}" for k, t in enumerate(present))
        raise StructureError(
            f"model {model.path.stem} knows {len(known)} species ({' '.join(known)}); map the atom types"
            f" {present} to them with --types (e.g. --types {example})"
        )
    index = {}
    for atom_type, species in types.items():
        if isinstance(species, str) and species in known:
            index[atom_type] = known.index(species)
        elif isinstance(species, int | np.integer) and 0 <= species < len(known):
            index[atom_type] = int(species)
        else:
            raise StructureError(
                f"atom type {atom_type} is mapped to '{species}', which the model does not know; use one of: {' '.join(known)}"
            )
    unknown = sorted(set(numbers.tolist()) - set(index))
    if unknown:
        raise StructureError(f"atom types {unknown} have no model species; map them with --types")
    return np.array([index[t] for t in numbers], dtype=np.int64)


# the model was trained at one volume per atom (+-3% jitter): inputs are mapped onto it. Metals
# need 0.65-1.0, Lennard-Jones units (sigma = 1) ~2.3; a factor outside this range means a wrong
# scale (a distance mistaken for a factor or the reverse), not an unusual structure
SCALE_RANGE = (0.2, 5.0)
MAX_STEPS = 1000  # moves stop changing after a few tens of iterations; more is a typo, not a request


class Denoiser:
    """r <- r - g(r) on one structure, one iteration per ``step()`` (for progress and convergence
    tables); ``denoise`` runs it to the end."""

    def __init__(
        self,
        atoms: Atoms,
        model: LoadedModel | str | Path = DEFAULT_MODEL,
        scale: str | float = "auto",
        types: dict[int, int | str] | None = None,
        movable: np.ndarray | None = None,
        recipe: IterationRecipe | None = None,
        shape: str = "auto",
    ) -> None:
        self.model = model if isinstance(model, LoadedModel) else load_model(model)
        self.recipe = self.model.iteration if recipe is None else self.model.checked(recipe)
        self.atoms = atoms
        # overlapping atoms are an error whatever the scale; the distances serve the scale too
        typical, closest = nearest_distances(
            atoms.positions, atoms.cell.array, atoms.pbc, self.model.scale_recipe, atoms.arrays.get("id")
        )
        if scale == "auto":
            self.factor, self.shape = auto_scale(atoms, self.model, typical, shape)
        else:  # a given distance: no density pass, no deformation measured
            self.factor, self.shape = length_scale(atoms, self.model, scale, typical), np.eye(3)
        # None: no deformation to undo, the positions go to the model as they are
        self._inverse = None if np.array_equal(self.shape, np.eye(3)) else np.linalg.inv(self.shape)
        low, high = SCALE_RANGE
        if not low <= self.factor <= high:
            raise StructureError(
                f"the length scale factor would be {self.factor:.3g}, far from the training lattices (kept within"
                f" {low}-{high}): --scale is the nearest-neighbour distance in A, or use --scale auto"
            )
        self.cutoff = self.model.cutoff / self.factor
        if closest >= self.cutoff:
            raise StructureError(
                f"no two atoms are within the model's cutoff ({self.cutoff:.3g}) at scale factor {self.factor:.3g}:"
                " nothing would move; --scale is the nearest-neighbour distance in A, or use --scale auto"
            )
        self.species = torch.from_numpy(species_indices(atoms, self.model, types))
        self.mask = np.ones(len(atoms), bool) if movable is None else np.asarray(movable, bool)
        self.open = None  # OpenSpace: objects surrounded by vacuum keep their size and shape
        if self.recipe.open_gap:
            reach = self.model.cutoff / np.linalg.svd(self.to_model, compute_uv=False).min()  # input lengths
            cell, pbc = atoms.cell.array, atoms.pbc
            self.open = open_space(atoms.positions, cell, pbc, reach, self.recipe.open_gap, self.recipe.open_spread)
        self.positions = atoms.positions.astype(np.float64).copy()
        self.last_move: np.ndarray | None = None  # kept only for a momentum recipe
        self.first: np.ndarray | None = None  # positions after the first iteration, for disorder "first"
        self.evaluator = Evaluator(self.model)
        self.graph = None
        self.iterations = 0
        self.max_move = 0.0

    @property
    def to_model(self) -> np.ndarray:
        """The map from input lengths (row vectors) to the model's units."""
        return self.factor * self.shape

    def step(self) -> float:
        """One iteration; returns the largest move (input units)."""
        cell, positions = self.atoms.cell.array, self.positions
        if self._inverse is not None:  # the model sees the positions with the deformation undone
            cell, positions = cell @ self.shape, positions @ self.shape
        if self.graph is None or not self.graph.still_valid(positions, self.cutoff):
            self.graph = None  # freed before its successor is built: one graph in memory at a time
            self.graph = build_graph(positions, cell, self.atoms.pbc, self.cutoff * (1.0 + SKIN))
        move = self.evaluator.predict(positions, cell, self.graph, self.species, self.factor)
        if self._inverse is not None:
            move = move @ self._inverse
        if not np.all(np.isfinite(move)):
            raise StructureError("the model produced non-finite moves; check the input and the model file")
        move[~self.mask] = 0.0
        if self.open is not None:
            move = self.open.without_homogeneous(move, self.positions, self.mask)
        if self.recipe.heavy_ball:
            if self.last_move is not None:  # the first iteration is always plain
                move = self.recipe.stepsize * move + self.recipe.momentum * self.last_move
            self.last_move = move
        self.positions -= move
        self.iterations += 1
        if self.iterations == 1 and self.recipe.disorder == "first":
            self.first = self.positions.copy()
        self.max_move = float(np.sqrt((move**2).sum(axis=1)).max())
        return self.max_move

    def _kept_first(self, which: bool = False) -> tuple[np.ndarray, Labels | None]:
        """The atoms that go back to their first-iteration positions (``IterationRecipe``, disorder
        "first"), judged at the current positions, and the labels they were judged by (None: the
        rule did not label; ``which`` False: only whether each atom is labelled, see label_atoms)."""
        if self.first is None or self.iterations < 2:
            return np.zeros(len(self.positions), bool), None
        atoms, species = self.atoms, self.species.numpy()
        labels = label_atoms(self.positions, atoms.cell.array, atoms.pbc, species, self.to_model, self.model.labels, which)
        reach, share = self.recipe.disorder_reach * self.model.cutoff, self.recipe.ordered_share
        return disordered_atoms(labels, self.positions, atoms.cell.array, atoms.pbc, self.to_model, reach, share), labels

    def _result(self, kept: np.ndarray) -> DenoiseResult:
        positions = self.positions.copy()
        if kept.any():
            positions[kept] = self.first[kept]
        out = self.atoms.copy()
        out.positions = positions
        return DenoiseResult(out, positions - self.atoms.positions, self.iterations, self.factor, self.max_move, self.shape, kept)

    def result(self) -> DenoiseResult:
        return self._result(self._kept_first()[0])

    def labelled_result(self) -> tuple[DenoiseResult, Labels]:
        """The result and the structure labels of its positions: the disorder rule's own labels
        where it moved no atom back (one label pass, as in the compute), else labelled again."""
        kept, labels = self._kept_first(which=True)
        result = self._result(kept)
        if labels is None or kept.any():
            out = result.atoms
            species = self.species.numpy()
            labels = label_atoms(out.positions, out.cell.array, out.pbc, species, result.to_model, self.model.labels)
        return result, labels


def _finished(
    atoms: Atoms,
    model: LoadedModel | str | Path,
    steps: int,
    tol: float = 0.0,
    scale: str | float = "auto",
    types: dict[int, int | str] | None = None,
    movable: np.ndarray | None = None,
    recipe: IterationRecipe | None = None,
    shape: str = "auto",
) -> Denoiser:
    """A Denoiser run for up to ``steps`` iterations (see ``denoise``)."""
    if not 0 <= steps <= MAX_STEPS:
        raise StructureError(f"steps must be 0 (the raw positions) to {MAX_STEPS} (moves stop changing after tens), not {steps}")
    run = Denoiser(atoms, model, scale, types, movable, recipe, shape)
    while run.iterations < steps:
        if run.step() < tol:
            break
    return run


def denoise(
    atoms: Atoms,
    model: LoadedModel | str | Path = DEFAULT_MODEL,
    steps: int = 8,
    tol: float = 0.0,
    scale: str | float = "auto",
    types: dict[int, int | str] | None = None,
    movable: np.ndarray | None = None,
    recipe: IterationRecipe | None = None,
    shape: str = "auto",
) -> DenoiseResult:
    """Up to ``steps`` iterations of r <- r - g(r), from the second on in the heavy-ball form of
    ``recipe`` (default: the model file's); stop once the largest move is below ``tol`` (A).
    ``steps`` 0 checks the input and measures its scale but moves nothing."""
    return _finished(atoms, model, steps, tol, scale, types, movable, recipe, shape).result()


@dataclass
class Classification:
    result: DenoiseResult  # the denoised frame the labels were computed on
    labels: Labels


def classify(atoms: Atoms, model: LoadedModel | str | Path = DEFAULT_MODEL, steps: int = 8, **options) -> Classification:
    """Denoise ``atoms`` (``steps`` 0: label the raw positions; ``options``: the other keyword
    arguments of ``denoise``), then label each atom with one of the model's training structures or
    "other" (lmp_denoise/infer/labels.py)."""
    model = model if isinstance(model, LoadedModel) else load_model(model)
    model.labels  # noqa: B018 (before the work: a model without labels is an error)
    return Classification(*_finished(atoms, model, steps, **options).labelled_result())
