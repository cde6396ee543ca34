"""The exported model: E(3) equivariance, locality, and agreement with the Python module."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from lmp_denoise.data.lattices import REFERENCE_VOLUME, supercell
from lmp_denoise.models.modelfile import FORMAT_VERSION, load, save
from lmp_denoise.nn.neighbors import edges
from lmp_denoise.nn.network import DenoiserNet, ModelConfig
from lmp_denoise.nn.tabulate import PlainForward


def predict(loaded, positions, cell, pbc=(True, True, True), species=None):
    index, vectors = edges(positions, cell, np.array(pbc), loaded.cutoff)
    species = torch.zeros(len(positions), dtype=torch.long) if species is None else species
    with torch.no_grad():
        return loaded.module(torch.from_numpy(vectors).float(), torch.from_numpy(index), species).numpy()


def noisy(name="fcc", min_atoms=200, sigma=0.2, seed=0):
    atoms = supercell(name, min_atoms)
    rng = np.random.default_rng(seed)
    return atoms.positions + rng.normal(0, sigma, atoms.positions.shape), atoms.cell.array


def test_equivariance_under_rotation_translation_permutation(model):
    positions, cell = noisy()
    reference = predict(model, positions, cell)
    assert np.abs(reference).mean() > 1e-2, "a trained model predicts real displacements"
    rotation = Rotation.random(random_state=3).as_matrix()
    rotated = predict(model, positions @ rotation.T + np.array([0.7, -3.1, 12.0]), cell @ rotation.T)
    assert np.abs(rotated - reference @ rotation.T).max() < 1e-5
    mirror = np.diag([1.0, -1.0, 1.0])
    mirrored = predict(model, positions @ mirror, cell @ mirror)
    assert np.abs(mirrored - reference @ mirror).max() < 1e-5
    perm = np.random.default_rng(1).permutation(len(positions))
    permuted = predict(model, positions[perm], cell)
    assert np.abs(permuted - reference[perm]).max() < 1e-5


def test_unit_cell_and_supercell_give_the_same_per_atom_output(model):
    cell = supercell("fcc", 4)  # one conventional cell, 4 atoms
    rng = np.random.default_rng(7)
    positions = cell.positions + rng.normal(0, 0.15, cell.positions.shape)
    small = predict(model, positions, cell.cell.array)
    big = cell.copy()
    big.positions = positions
    big = big.repeat(3)
    large = predict(model, big.positions, big.cell.array)
    assert np.abs(large - np.tile(small, (27, 1))).max() < 1e-5


def test_exported_file_reproduces_python_model(tmp_path):
    torch.manual_seed(0)
    net = DenoiserNet(ModelConfig(num_species=2))
    for layer in net.layers:  # SkipInit starts at zero: give the layers a say
        layer.residual.data.fill_(0.7)
    meta = dict(cutoff=3.2, num_layers=3, reference_volume=REFERENCE_VOLUME, species=["A", "B"], dtype="float32")
    loaded = load(save(net, meta, tmp_path / "m.pt"))
    positions, cell = noisy("rocksalt", 64)
    species = torch.from_numpy(supercell("rocksalt", 64).get_tags()).long()
    index, vectors = edges(positions, cell, np.array([True] * 3), 3.2)
    args = (torch.from_numpy(vectors).float(), torch.from_numpy(index), species)
    with torch.no_grad():
        expected = net(*args)
        got = loaded.module(*args)
    assert expected.abs().mean() > 1e-4
    assert torch.allclose(got, expected, atol=1e-6)
    assert loaded.metadata["format_version"] == FORMAT_VERSION and loaded.species == ["A", "B"]


def test_training_forward_equals_the_e3nn_network_and_its_gradients():
    """Training runs PlainForward (the tabulated network's operations with the radial MLP); it
    must be the e3nn network's function, weights and gradients alike."""
    torch.manual_seed(1)
    net = DenoiserNet(ModelConfig(num_species=2, num_features=8, cutoff=3.5))
    for k, layer in enumerate(net.layers):
        layer.residual.data.fill_(0.5 + 0.2 * k)
    positions, cell = noisy("rocksalt", 64, sigma=0.25)
    species = torch.from_numpy(supercell("rocksalt", 64).get_tags()).long()
    index, vectors = edges(positions, cell, np.array([True] * 3), 3.5)
    args = (torch.from_numpy(vectors).float(), torch.from_numpy(index), species)
    target = torch.randn(len(positions), 3, generator=torch.Generator().manual_seed(2))
    exact, plain = net(*args), PlainForward(net)(*args)
    assert exact.abs().mean() > 1e-3
    assert (plain - exact).abs().max() < 1e-6
    weights = list(net.parameters())
    expected = torch.autograd.grad((exact - target).pow(2).sum(), weights)
    got = torch.autograd.grad((plain - target).pow(2).sum(), weights)
    for e, g in zip(expected, got, strict=True):
        assert (g - e).abs().max() <= 1e-5 * (1.0 + e.abs().max())
    assert sum(float(e.abs().sum()) for e in expected) > 0


def test_shipped_model_carries_its_training_command(model):
    meta = model.metadata
    assert meta["command"].startswith("lmp-denoise train")
    assert meta["structures"] == ["fcc", "bcc", "hcp"]
    assert meta["cutoff"] > 0 and meta["num_layers"] == 3 and meta["reference_volume"] > 0
