"""The Python API users import: the names at the top of the package, and the one exception type."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lmp_denoise
from lmp_denoise import DenoiseError
from lmp_denoise.data.lattices import supercell


def test_top_level_names_resolve_and_import_stays_light():
    code = "import sys, lmp_denoise; print('torch' in sys.modules, lmp_denoise.denoise.__module__, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "lmp_denoise.infer.denoise", "True"]  # torch only once a name needs it
    assert set(lmp_denoise.__all__) >= {"denoise", "classify", "Denoiser", "IterationRecipe", "load_model", "DenoiseError"}
    with pytest.raises(AttributeError, match="no attribute 'denoised'"):
        lmp_denoise.denoised  # noqa: B018


def test_every_bad_input_raises_one_exception_type(tmp_path):
    atoms = supercell("fcc", 108)
    (tmp_path / "bad.dump").write_text("ITEM: TIMESTEP\nnot a number\n")
    overlapping = atoms.copy()
    overlapping.positions[1] = overlapping.positions[0]
    failures = {
        "missing model file": lambda: lmp_denoise.load_model(tmp_path / "none.pt"),
        "unreadable snapshot": lambda: list(lmp_denoise.read_frames(tmp_path / "bad.dump")),
        "overlapping atoms": lambda: lmp_denoise.denoise(overlapping),
        "diverging recipe": lambda: lmp_denoise.denoise(atoms, recipe=lmp_denoise.IterationRecipe(2.9, 0.0)),
        "unknown species": lambda: lmp_denoise.classify(atoms, "dc3-six", types={29: "Cu"}),
        "too many steps": lambda: lmp_denoise.denoise(atoms, steps=10**6),
    }
    for what, call in failures.items():
        with pytest.raises(DenoiseError) as caught:
            call()
        message = str(caught.value)
        assert message and "\n" not in message, (what, message)
    assert np.isfinite(lmp_denoise.denoise(atoms, steps=0).atoms.positions).all()  # 0 steps: checked, unmoved


def test_a_model_may_be_named_by_a_path_object():
    """denoise and classify take a pathlib.Path as they take a name, a str path or a loaded model
    (a Path ended in an AttributeError before 0.11.1)."""
    from lmp_denoise.models import resolve

    atoms = supercell("fcc", 108)
    atoms.positions += np.random.default_rng(3).normal(0, 0.1, atoms.positions.shape)
    by_name = lmp_denoise.denoise(atoms, "fcc-bcc-hcp", steps=2).atoms.positions
    by_path = lmp_denoise.denoise(atoms, resolve("fcc-bcc-hcp"), steps=2).atoms.positions
    assert np.array_equal(by_name, by_path)
    assert lmp_denoise.classify(atoms, resolve("fcc-bcc-hcp"), steps=2).labels.name.tolist().count("fcc") > 100
