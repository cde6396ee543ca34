"""The OVITO modifier in a real OVITO pipeline (the ovito PyPI module)."""

from __future__ import annotations

import subprocess
from importlib.metadata import entry_points

import numpy as np
import pytest
from ase.io import read, write
from conftest import BIN
from ovito.io import import_file
from ovito.modifiers import ExpressionSelectionModifier, PolyhedralTemplateMatchingModifier

from lmp_denoise.data.lattices import supercell
from lmp_denoise.infer.denoise import classify
from lmp_denoise.integrations.ovito_modifier import PTM_NAMES, ScoreBasedDenoising


@pytest.fixture(scope="module")
def hot_xyz(tmp_path_factory):
    atoms = supercell("hcp", 400)
    atoms.set_chemical_symbols(["Mg"] * len(atoms))
    atoms.set_cell(atoms.cell.array * 1.15, scale_atoms=True)  # not the model's size: scale != 1
    atoms.positions += np.random.default_rng(4).normal(0, 0.2, atoms.positions.shape)
    path = tmp_path_factory.mktemp("ovito") / "hot.xyz"
    write(path, atoms, format="extxyz")
    return path


def test_entry_point_registers_the_modifier():
    found = {e.name: e.value for e in entry_points(group="OVITO.Modifier")}
    assert found.get("Score-based denoising") == "lmp_denoise.integrations.ovito_modifier:ScoreBasedDenoising"


@pytest.mark.parametrize("recipe", [None, (0.3, 1.4)])
def test_pipeline_gives_the_command_lines_positions(hot_xyz, recipe, tmp_path):
    """The model's own iteration recipe (plain), and a momentum recipe chosen in both."""
    out = tmp_path / "cli.xyz"
    options = [] if recipe is None else ["--momentum", str(recipe[0]), "--stepsize", str(recipe[1])]
    result = subprocess.run([str(BIN / "lmp-denoise"), "denoise", str(hot_xyz), "-o", str(out), "--steps", "5", "-q", *options])
    assert result.returncode == 0
    pipeline = import_file(str(hot_xyz))
    own = {} if recipe is None else {"model_recipe": False, "momentum": recipe[0], "stepsize": recipe[1]}
    pipeline.modifiers.append(ScoreBasedDenoising(steps=5, **own))
    data = pipeline.compute()
    expected = read(out).positions
    assert np.abs(np.asarray(data.particles.positions) - expected).max() < 1e-5
    raw = read(hot_xyz).positions
    displacement = np.asarray(data.particles["Denoising Displacement"])
    assert np.allclose(displacement, np.linalg.norm(expected - raw, axis=1), atol=1e-5) and displacement.mean() > 0.1
    assert data.attributes["Denoising.iterations"] == 5 and data.attributes["Denoising.kept_first"] == 0
    assert 0.75 < data.attributes["Denoising.scale"] < 0.95
    moves = np.asarray(data.tables["denoising-convergence"].y)
    assert len(moves) == 5 and moves[-1] == pytest.approx(data.attributes["Denoising.largest_move"]) and moves[-1] < moves[0]


def test_only_selected_particles_move_and_tol_stops_early(hot_xyz):
    pipeline = import_file(str(hot_xyz))
    pipeline.modifiers.append(ExpressionSelectionModifier(expression="Position.X < 8"))
    pipeline.modifiers.append(ScoreBasedDenoising(steps=30, tol=1e-3, only_selected=True))
    data = pipeline.compute()
    raw = read(hot_xyz).positions
    selected = np.asarray(data.particles["Selection"]) != 0
    moved = np.linalg.norm(np.asarray(data.particles.positions) - raw, axis=1)
    assert 0 < selected.sum() < len(selected)
    assert np.all(moved[~selected] == 0) and moved[selected].mean() > 0.1
    assert data.attributes["Denoising.iterations"] < 30 and data.attributes["Denoising.largest_move"] < 1e-3


def test_labels_are_a_typed_property_equal_to_classify(hot_xyz):
    pipeline = import_file(str(hot_xyz))
    pipeline.modifiers.append(ScoreBasedDenoising(steps=8, labels=True))
    data = pipeline.compute()
    expected = classify(read(hot_xyz), "fcc-bcc-hcp", steps=8).labels
    structure = data.particles["Denoising Structure"]
    assert np.array_equal(np.asarray(structure), expected.index)
    assert np.abs(np.asarray(data.particles["Denoising Score"]) - expected.score).max() < 1e-6
    assert [(t.id, t.name) for t in structure.types] == list(enumerate(expected.names))
    ptm = {t.name: tuple(t.color) for t in PolyhedralTemplateMatchingModifier().structures}
    assert [tuple(t.color) for t in structure.types] == [ptm["FCC"], ptm["BCC"], ptm["HCP"], ptm["Other"]]
    assert set(PTM_NAMES.values()) <= set(ptm)  # every label name mapped to PTM's is one OVITO knows
    counts = {name: data.attributes[f"Denoising.counts.{name}"] for name in expected.names}
    assert counts["hcp"] == (expected.name == "hcp").sum() > 0.99 * len(expected.index)
    assert sum(counts.values()) == len(expected.index)


def test_errors_reach_the_user_as_one_sentence(hot_xyz):
    pipeline = import_file(str(hot_xyz))
    pipeline.modifiers.append(ScoreBasedDenoising(model="dc3-six"))
    with pytest.raises(Exception, match="knows 2 species"):
        pipeline.compute()
    pipeline.modifiers[-1].delegate.model = "no-such-model"  # OVITO wraps the modifier object
    with pytest.raises(Exception, match="unknown model 'no-such-model'"):
        pipeline.compute()


@pytest.mark.parametrize("move_disorder", [False, True])
def test_liquid_keeps_the_first_move_unless_asked(move_disorder, tmp_path):
    """A Cu liquid at 1.2 Tm: with the model's rule (disorder first) nearly every atom keeps the
    first iteration's move, as on the command line; ``move_disorder`` moves them every iteration."""
    from lmp_denoise.data.md import snapshot

    liquid, _ = snapshot("Cu", 1.2, (4, 4, 4), steps=1000, melt=True)
    source, out = tmp_path / "liquid.xyz", tmp_path / "cli.xyz"
    write(source, liquid, format="extxyz")
    options = ["--disorder", "all"] if move_disorder else []
    subprocess.run([str(BIN / "lmp-denoise"), "denoise", str(source), "-o", str(out), "-q", *options], check=True)
    pipeline = import_file(str(source))
    pipeline.modifiers.append(ScoreBasedDenoising(move_disorder=move_disorder))
    data = pipeline.compute()
    assert np.abs(np.asarray(data.particles.positions) - read(out).positions).max() < 1e-5
    kept = data.attributes["Denoising.kept_first"]
    assert kept == 0 if move_disorder else kept > 0.9 * len(liquid)
