"""OVITO modifier "Score-based denoising": lmp-denoise inside any OVITO pipeline.

Installed with the package (entry point ``OVITO.Modifier``), it appears in OVITO Pro's list of
modifiers and in Python as ``from lmp_denoise.integrations.ovito_modifier import ScoreBasedDenoising``.
It moves particles to their denoised positions and adds:

* particle property ``Denoising Displacement`` (|r_denoised - r|, A);
* attributes ``Denoising.iterations``, ``Denoising.largest_move`` (last iteration, A),
  ``Denoising.scale`` (factor applied to lengths before the model), ``Denoising.deformation``
  (the homogeneous deformation undone before the model, as largest / smallest stretch - 1; 0:
  none; ``undo_deformation`` off, or a model file without the estimate),
  ``Denoising.kept_first`` (disordered particles that kept only the first iteration's move: the
  model's ``disorder first`` rule, README "Glass and liquid"; ``move_disorder``
  on moves them every iteration);
* data table ``denoising-convergence``: the largest move of every iteration;
* with ``labels`` on, the structure labels of the denoised positions (lmp_denoise/infer/labels.py,
  the model's own training lattices): typed particle property ``Denoising Structure`` (type ids
  in the model's label order, named after its structures and ``other``; colours as OVITO's PTM
  for the structures it knows), property ``Denoising Score`` (template mismatch / nearest-neighbour
  distance) and attributes ``Denoising.counts.NAME``, as PTM's ``...counts.FCC``.

Particle types map to model species through ``types`` ('1:A,2:B'), as ``--types`` and the LAMMPS
compute's ``types`` keyword do; multi-species models need it. ``momentum`` and ``stepsize`` are
the heavy-ball iteration of ``--momentum`` / ``--stepsize`` (README, "Momentum"), used when
``model_recipe`` is off (default: the model file's recipe).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from ase import Atoms
from ovito.data import DataCollection, DataTable, ElementType
from ovito.pipeline import ModifierInterface
from traits.api import Bool, Enum, Float, Int, Str

from ..infer.denoise import MAX_STEPS, Denoiser, IterationRecipe, parse_type_map
from ..infer.labels import label_atoms
from ..infer.scale import StructureError
from ..models import DEFAULT_MODEL, load_model


class ScoreBasedDenoising(ModifierInterface):
    """Strip thermal noise from particle positions (Hsu et al., npj Comput. Mater. 2024)."""

    model = Str(DEFAULT_MODEL, label="Model (shipped name or file)")
    steps = Int(8, label="Iterations K")
    tol = Float(0.0, label="Stop when the largest move is below (A)")
    model_recipe = Bool(True, label="Iterate with the model's recipe")
    momentum = Float(0.0, label="else momentum B (0: plain iterations)")
    stepsize = Float(1.0, label="and step size A (1: plain iterations)")
    scale = Str("auto", label="Scale: auto, or nearest-neighbour distance (A)")
    undo_deformation = Bool(True, label="With scale auto: undo a homogeneous deformation (as the model says)")
    move_disorder = Bool(False, label="Move disordered particles every iteration (not only the first)")
    types = Str("", label="Type map, e.g. 1:A,2:B (multi-species models)")
    device = Enum("cpu", "cuda", label="Device")
    only_selected = Bool(False, label="Move only selected particles")
    labels = Bool(False, label="Label structures (the model's training lattices)")

    def modify(self, data: DataCollection, *, frame: int, **kwargs: Any):
        if not 1 <= self.steps <= MAX_STEPS:
            raise StructureError(f"steps must be 1 to {MAX_STEPS}, not {self.steps}")
        model = load_model(self.model, self.device)
        scale: str | float = self.scale.strip() or "auto"
        if scale != "auto":
            try:
                scale = float(scale)
            except ValueError:
                raise StructureError(f"scale must be 'auto' or a distance in A, not '{self.scale}'") from None
        names = model.labels.names if self.labels else None  # a model without labels fails before the work
        atoms = _to_atoms(data)
        movable = None
        if self.only_selected:
            if "Selection" not in data.particles:
                raise StructureError("'Move only selected particles' is on, but no particles are selected")
            movable = np.asarray(data.particles["Selection"]) != 0
        recipe = model.iteration if self.model_recipe else IterationRecipe(self.stepsize, self.momentum)
        if self.move_disorder:
            recipe = replace(recipe, disorder="all")
        shape = "auto" if self.undo_deformation else "none"
        run = Denoiser(atoms, model, scale, parse_type_map(self.types), movable, recipe, shape)
        moves = []
        yield "Score-based denoising"
        while run.iterations < self.steps:
            moves.append(run.step())
            yield run.iterations / self.steps
            if moves[-1] < self.tol:
                break
        result = run.result()
        data.particles_.positions_[...] = result.atoms.positions
        data.particles_.create_property("Denoising Displacement", data=np.linalg.norm(result.displacement, axis=1))
        data.attributes["Denoising.iterations"] = result.iterations
        data.attributes["Denoising.largest_move"] = result.max_move
        data.attributes["Denoising.scale"] = result.scale
        data.attributes["Denoising.deformation"] = result.deformation
        data.attributes["Denoising.kept_first"] = int(result.kept_first.sum())
        table = data.tables.create(
            identifier="denoising-convergence", title="Denoising convergence", plot_mode=DataTable.PlotMode.Line
        )
        table.x = table.create_property("Iteration", data=np.arange(1, len(moves) + 1))
        table.y = table.create_property("Largest move", data=np.asarray(moves))
        if names is not None:
            moved = result.atoms
            found = label_atoms(moved.positions, moved.cell.array, moved.pbc, run.species.numpy(), result.to_model, model.labels)
            structure = data.particles_.create_property("Denoising Structure", data=found.index.astype(np.int32))
            for index, (name, colour) in enumerate(zip(names, _colours(names), strict=True)):
                structure.types.append(ElementType(id=index, name=name, color=colour))
            data.particles_.create_property("Denoising Score", data=found.score)
            for name, count in zip(names, np.bincount(found.index, minlength=len(names)), strict=True):
                data.attributes[f"Denoising.counts.{name}"] = int(count)


PTM_NAMES = {  # label name -> OVITO PTM structure name
    "other": "Other",
    "fcc": "FCC",
    "hcp": "HCP",
    "bcc": "BCC",
    "sc": "Simple cubic",
    "cd": "Cubic diamond",
    "hd": "Hexagonal diamond",
}


def _colours(names: list[str]) -> list[tuple[float, float, float]]:
    """OVITO's PTM colour for each structure it knows, else one of matplotlib's tab10 colours."""
    from ovito.modifiers import PolyhedralTemplateMatchingModifier

    known = {t.name: tuple(float(c) for c in t.color) for t in PolyhedralTemplateMatchingModifier().structures}
    tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    out = []
    for index, name in enumerate(names):
        code = tab10[index % len(tab10)]
        out.append(known.get(PTM_NAMES.get(name, ""), tuple(int(code[k : k + 2], 16) / 255 for k in (1, 3, 5))))
    return out


def _to_atoms(data: DataCollection) -> Atoms:
    """Positions, cell (origin kept) and numeric particle types as ASE ``Atoms``."""
    if data.particles is None or data.particles.count < 2:
        raise StructureError("the pipeline holds fewer than two particles")
    if data.cell is None:
        raise StructureError("the pipeline has no simulation cell; denoising needs one (or a box around the particles)")
    matrix = np.asarray(data.cell[...])
    types = np.asarray(data.particles.particle_types) if "Particle Type" in data.particles else np.ones(data.particles.count, int)
    atoms = Atoms(numbers=types, positions=np.asarray(data.particles.positions), cell=matrix[:, :3].T, pbc=data.cell.pbc)
    atoms.info["origin"] = matrix[:, 3]
    return atoms
