"""The documented DC3 route (generate.py --full, then table.py) end to end on its cheapest system, LJ argon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DC3 = Path(__file__).resolve().parents[1] / "benchmarks" / "dc3"
sys.path.insert(0, str(DC3))
from table import COLUMNS  # noqa: E402


def run_script(name: str, *args: str) -> str:
    command = [sys.executable, str(DC3 / name), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def argon(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("dc3")
    # --full: 10 ps equilibration, 5 snapshots, 1 ps and 5 ps averaging windows
    run_script(
        "generate.py", "--systems", "Ar", "--full", "--temperatures", "0.5", "1.0", "1.2", "--atoms", "256", "--out", str(data)
    )
    return data


def test_generate_writes_snapshots_and_baselines(argon):
    for th in ("T0.50", "T1.00", "T1.20"):
        names = sorted(p.name for p in (argon / "Ar" / th).iterdir())
        assert names == ["avg1ps.dump.gz", "avg5ps.dump.gz", "min.dump.gz", "raw.dump.gz"]


def test_table_reaches_the_paper_and_keeps_the_liquid(argon, tmp_path):
    out = run_script("table.py", "--data", str(argon), "--systems", "Ar", "--plots", str(tmp_path))
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("Ar fcc")).split()[2:]
    values = dict(zip(COLUMNS, map(float, row), strict=True))
    assert values["8 + PTM"] >= 99.9 and values["8 + a-CNA"] >= 99.9, out
    assert values["PTM 0.1 raw"] < 90.0, out  # the raw snapshot really is hot
    liquid = next(line for line in lines if line.startswith("Ar liq"))
    assert float(liquid.split("8 steps ")[1].split(",")[0]) >= 95.0, out
    assert (tmp_path / "accuracy_vs_temperature.png").stat().st_size > 10_000
