"""Training writes a format-2 model file that both runtimes use, and resumes from its checkpoint."""

from __future__ import annotations

import subprocess

import numpy as np
from conftest import BIN, run_lammps

from lmp_denoise.data.lattices import supercell
from lmp_denoise.infer.denoise import denoise
from lmp_denoise.models.modelfile import FORMAT_VERSION, load


def train(*args: str) -> str:
    """Runs lmp-denoise train as a batch job would (stderr a pipe); returns its stderr."""
    command = [str(BIN / "lmp-denoise"), "train", "--structures", "fcc,bcc", "--batch", "1", "--features", "4", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_train_resume_and_use_the_model_in_python_and_lammps(tmp_path):
    model_path = tmp_path / "m.pt"
    train("-o", str(model_path), "--steps", "6", "--checkpoint-every", "3")
    log = train("-o", str(model_path), "--steps", "9", "--resume", str(tmp_path / "m.ckpt"))
    progress = [line for line in log.splitlines() if line.startswith("train: step")]
    assert "\r" not in log and progress and progress[-1].startswith("train: step 9/9, loss")  # plain log lines
    model = load(model_path)
    meta = model.metadata
    assert meta["format_version"] == FORMAT_VERSION and meta["training"]["steps"] == 9
    assert len(meta["command_history"]) == 2 and "--resume" in meta["command_history"][1]
    assert meta["network"]["feature_size"] == 16 and "scale_recipe" in meta
    atoms = supercell("fcc", 108)
    atoms.positions += np.random.default_rng(0).normal(0, 0.1, atoms.positions.shape)
    result = denoise(atoms, model, steps=2)
    assert np.isfinite(result.atoms.positions).all() and np.abs(result.displacement).max() > 0
    script = f"""
units metal
lattice fcc 3.615
region box block 0 3 0 3 0 3
create_box 1 box
create_atoms 1 box
mass 1 63.5
pair_style zero 5.0
pair_coeff * *
compute dn all denoise {model_path} 2
thermo_style custom step c_dn[1] c_dn[4]
run 0
"""
    output = run_lammps(script, tmp_path / "lmp").stdout
    row = next(line for line in output.splitlines() if line.strip().startswith("0 "))
    assert float(row.split()[1]) == 2
