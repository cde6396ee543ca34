"""The tabulated network, the fused kernel and the model file agree with the trained e3nn network."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import BIN
from e3nn.util.jit import script

from lmp_denoise.data.lattices import supercell
from lmp_denoise.infer.denoise import denoise, length_scale
from lmp_denoise.infer.scale import RECIPE
from lmp_denoise.models import load_model
from lmp_denoise.models.modelfile import FORMAT_VERSION, METADATA_NAME, PLAIN, load, save
from lmp_denoise.nn.inference import Evaluator
from lmp_denoise.nn.neighbors import build_graph, edges


def hot(name: str, atoms: int, sigma: float = 0.18, seed: int = 0):
    crystal = supercell(name, atoms)
    crystal.positions += np.random.default_rng(seed).normal(0, sigma, crystal.positions.shape)
    return crystal


@pytest.mark.parametrize("name, lattice", [("fcc-bcc-hcp", "bcc"), ("dc3-six", "rocksalt")])
def test_tabulated_network_computes_the_e3nn_network(name, lattice):
    model = load_model(name)
    atoms = hot(lattice, 400)
    index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, model.cutoff)
    species = torch.from_numpy(atoms.get_tags()).long()
    args = (torch.from_numpy(vectors).float(), torch.from_numpy(index), species)
    with torch.no_grad():
        exact = model.network()(*args)
        tabulated = model.module(*args)
    assert exact.abs().mean() > 1e-2
    assert (tabulated - exact).abs().max() < 1e-4


def test_fused_kernel_and_chunked_torchscript_agree(model):
    atoms = hot("hcp", 600)
    graph = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 1.25 * model.cutoff)
    species = torch.zeros(len(atoms), dtype=torch.long)
    fused = Evaluator(model)
    assert fused.backend == "fused kernel", "the kernel compiles on this machine"
    chunked = Evaluator(model, use_kernel=False, chunk_atoms=97)  # many uneven chunks
    a = fused.predict(atoms.positions, atoms.cell.array, graph, species, 1.0)
    b = chunked.predict(atoms.positions, atoms.cell.array, graph, species, 1.0)
    assert np.abs(a).mean() > 1e-2
    assert np.abs(a - b).max() < 1e-5


@pytest.mark.parametrize("name, lattice, types", [("fcc-bcc-hcp", "fcc", None), ("dc3-six", "rocksalt", {1: 0, 2: 1})])
def test_eight_steps_agree_with_the_exact_network(name, lattice, types):
    """Graph reuse with a skin, splines and the kernel against e3nn with a fresh list every step."""
    model = load_model(name)
    atoms = hot(lattice, 500)
    atoms.numbers = atoms.get_tags() + 1
    atoms.set_cell(atoms.cell.array * 1.07, scale_atoms=True)  # another element's size: scale != 1
    # the reference below is plain and sees the volume only (no deformation undone)
    result = denoise(atoms, model, steps=8, types=types, recipe=PLAIN, shape="none")
    factor = length_scale(atoms, model)
    assert abs(factor - 1.0) > 0.05
    net = model.network()
    species = torch.from_numpy(atoms.get_tags()).long()
    positions = atoms.positions.copy()
    for _ in range(8):
        index, vectors = edges(positions, atoms.cell.array, atoms.pbc, model.cutoff / factor)
        with torch.no_grad():
            g = net(torch.from_numpy(vectors * factor).float(), torch.from_numpy(index), species)
        positions -= g.double().numpy() / factor
    assert np.abs(result.displacement).max() > 0.1
    assert np.abs(result.atoms.positions - positions).max() < 1e-4


def test_format_1_file_is_read_and_upgraded(tmp_path):
    """A model file of the first release (the e3nn network itself) still works, and upgrades."""
    shipped = load_model("fcc-bcc-hcp")
    meta = {k: v for k, v in shipped.metadata.items() if k != "network"}
    meta["format_version"] = 1
    old = tmp_path / "old.pt"
    torch.jit.save(script(shipped.network()), str(old), _extra_files={METADATA_NAME: json.dumps(meta)})
    converted = load(old)
    atoms = hot("fcc", 300)
    expected = denoise(atoms, shipped, steps=2).atoms.positions
    assert np.abs(denoise(atoms, converted, steps=2).atoms.positions - expected).max() < 1e-6

    new = tmp_path / "new.pt"
    result = subprocess.run([str(BIN / "lmp-denoise"), "upgrade", str(old), "-o", str(new)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    upgraded = load(new)
    assert upgraded.metadata["format_version"] == FORMAT_VERSION
    assert upgraded.metadata["command_history"] == shipped.metadata["command_history"]
    assert np.abs(denoise(atoms, upgraded, steps=2).atoms.positions - expected).max() < 1e-6


def test_upgrade_writes_the_current_scale_recipe_and_keeps_the_deformation_setting(tmp_path):
    """A metal model file with 0.3-0.10's dense part (0.85 x the 90th percentile) takes this
    version's constants with --scale-recipe current; one without the deformation estimate keeps
    it off."""
    shipped = load_model("fcc-bcc-hcp")
    meta = {k: v for k, v in shipped.metadata.items() if k not in ("network", "format_version")}
    meta["scale_recipe"] = {**meta["scale_recipe"], "dense_fraction": 0.85, "dense_quantile": 0.9, "shape_rounds": 0}
    old, new = save(shipped.network(), meta, tmp_path / "old.pt"), tmp_path / "new.pt"
    command = [str(BIN / "lmp-denoise"), "upgrade", str(old), "-o", str(new), "--scale-recipe", "current"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert load(old).scale_recipe.dense_quantile == 0.9
    assert load(new).scale_recipe == replace(RECIPE, shape_rounds=0)
