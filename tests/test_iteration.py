"""Momentum (heavy-ball) iterations: the measured largest response bounds the stepsize."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_cli import cli

from lmp_denoise.data.lattices import training_cell
from lmp_denoise.infer.denoise import Denoiser, IterationRecipe, denoise
from lmp_denoise.models import resolve
from lmp_denoise.models.modelfile import OPEN_GAP, PLAIN, load


def largest_moves(model, recipe: IterationRecipe, iterations: int = 30) -> list[float]:
    """Largest move per iteration on a slightly shaken fcc lattice, with ``recipe`` as given
    (set after construction: a recipe beyond the bound would be refused)."""
    atoms = training_cell("fcc", 400)
    atoms.positions += np.random.default_rng(3).normal(0.0, 0.01, atoms.positions.shape)
    run = Denoiser(atoms, model, recipe=PLAIN)
    run.recipe = recipe
    return [run.step() for _ in range(iterations)]


def test_largest_response_is_the_stability_bound(model):
    response = model.largest_response
    assert 1.0 < response < 2.0
    beyond = largest_moves(model, IterationRecipe(1.15 * 2.0 * (1.0 + 0.3) / response, 0.3))
    suggested = largest_moves(model, model.iteration.suggested(response))
    assert beyond[-1] > beyond[5], "15% beyond the measured bound the fastest mode grows"
    assert suggested[-1] < 1e-3 * suggested[0], "the suggested recipe converges"


def test_momentum_removes_a_long_wave_that_plain_iterations_leave(model):
    """A transverse wave as long as the box (29 A) looks like strain locally: 8 plain steps leave
    a fifth of it, the suggested momentum recipe less than a twentieth."""
    atoms = training_cell("fcc", 2000)
    ideal = atoms.positions.copy()
    atoms.positions[:, 2] += 0.1 * np.sin(2.0 * np.pi * atoms.positions[:, 0] / atoms.cell[0, 0])

    def left(recipe: IterationRecipe) -> float:
        offset = denoise(atoms, model, steps=8, recipe=recipe).atoms.positions - ideal
        offset -= offset.mean(axis=0)
        return float(np.sqrt((offset**2).sum(axis=1).mean()))

    start = 0.1 / np.sqrt(2.0)
    assert left(PLAIN) > 0.1 * start
    assert left(model.iteration.suggested(model.largest_response)) < 0.05 * start


def test_upgrade_sets_a_converging_recipe_and_refuses_a_diverging_one(model, tmp_path):
    cli("upgrade", str(resolve("fcc-bcc-hcp")), "-o", str(tmp_path / "m.pt"), "--momentum", "0.3", "--stepsize", "1.4")
    upgraded = load(tmp_path / "m.pt")
    expected = replace(model.iteration, stepsize=1.4, momentum=0.3)
    assert upgraded.iteration == expected, "the file's disorder and open-space rules kept"
    assert upgraded.largest_response == pytest.approx(model.largest_response, rel=1e-3), "measured again on writing"
    assert upgraded.metadata["upgrades"][-1].endswith("--momentum 0.3 --stepsize 1.4")
    hint = model.iteration.suggested(model.largest_response)
    assert f"suggested --momentum {hint.momentum:g} --stepsize {hint.stepsize:g}" in cli("models").stdout
    bad = tmp_path / "bad.pt"
    result = cli("upgrade", str(resolve("fcc-bcc-hcp")), "-o", str(bad), "--momentum", "0.1", "--stepsize", "2.5", check=False)
    assert result.returncode == 2 and "would not converge" in result.stderr and not bad.exists()


def test_upgrade_switches_the_open_space_rule_of_a_model_named_or_given(model, tmp_path):
    assert model.iteration.open_gap == OPEN_GAP, "the shipped files carry the rule"
    cli("upgrade", "fcc-bcc-hcp", "-o", str(tmp_path / "off.pt"), "--open-space", "off")
    off = load(tmp_path / "off.pt")
    assert off.iteration == replace(model.iteration, open_gap=0.0)
    assert off.metadata["upgrades"][-1].endswith("--open-space off")
    cli("upgrade", str(tmp_path / "off.pt"), "-o", str(tmp_path / "on.pt"), "--open-space", "on")
    assert load(tmp_path / "on.pt").iteration == model.iteration
