"""The largest response of a model's network to small displacements of its training lattices.

Near a perfect lattice g(r0 + u) ~ J u; the heavy-ball iteration r <- r - A g(r) + B (r - r_prev)
converges only while A lambda < 2 (1 + B) for every eigenvalue lambda of J, so the largest one,
measured here by power iteration on each training lattice, is the stability bound that the
model file carries (``iteration.largest_response``) and that Python and the compute check a
momentum recipe against.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.lattices import SPECIES, training_cell
from ..nn.inference import Evaluator
from ..nn.neighbors import SKIN, build_graph
from .modelfile import LoadedModel

POWER_ITERATIONS = 40
PROBE = 1e-3  # finite-difference displacement, model units (A at the reference volume)
MIN_ATOMS = 400


def largest_response(model: LoadedModel) -> float:
    """Largest eigenvalue of dg/dr over the model's training lattices (1 if it names none)."""
    structures = model.metadata.get("structures", [])
    evaluator = Evaluator(model)
    rng = np.random.default_rng(0)
    return max((_response(evaluator, model, name, rng) for name in structures), default=1.0)


def _response(evaluator: Evaluator, model: LoadedModel, name: str, rng: np.random.Generator) -> float:
    atoms = training_cell(name, MIN_ATOMS)
    species = torch.tensor([model.species.index(SPECIES[name][t]) for t in atoms.get_tags()], dtype=torch.long)
    start, cell, pbc = atoms.positions, atoms.cell.array, atoms.pbc
    graph = build_graph(start, cell, pbc, (1.0 + SKIN) * model.cutoff)  # probes move atoms ~1e-3: one graph serves
    at_rest = evaluator.predict(start, cell, graph, species, 1.0)
    vector, value = rng.normal(size=start.shape), 0.0
    for _ in range(POWER_ITERATIONS):
        vector -= vector.mean(axis=0)  # a rigid translation is not a response
        vector /= np.linalg.norm(vector)
        response = (evaluator.predict(start + PROBE * vector, cell, graph, species, 1.0) - at_rest) / PROBE
        value = float((response * vector).sum())
        vector = response
    return value
