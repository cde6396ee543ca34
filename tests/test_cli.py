"""The lmp-denoise command line: round trips through dump (.gz, many frames) and extxyz, and errors."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch
from ase.io import read, write
from conftest import BIN, run_lammps

from lmp_denoise.data.lattices import supercell
from lmp_denoise.infer.denoise import denoise
from lmp_denoise.io.formats import DISPLACEMENT_COLUMN, read_dump
from lmp_denoise.models import resolve
from lmp_denoise.models.modelfile import METADATA_NAME

HOT_DUMP = """
units metal
lattice bcc 2.87
region box block 0 5 0 5 0 5
create_box 1 box
create_atoms 1 box
mass 1 55.8
displace_atoms all random 0.2 0.2 0.2 1234 units box
pair_style zero 5.0
pair_coeff * *
dump d all custom 1 hot.dump id type xs ys zs
run 0
displace_atoms all random 0.05 0.05 0.05 99 units box
run 1
"""


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "lmp-denoise"), *args], capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


@pytest.fixture(scope="module")
def hot_dump(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dump")
    run_lammps(HOT_DUMP, folder)
    with open(folder / "hot.dump", "rb") as raw, gzip.open(folder / "hot.dump.gz", "wb") as packed:
        shutil.copyfileobj(raw, packed)
    return folder / "hot.dump.gz"


def test_multiframe_gz_dump_round_trip(hot_dump, model, tmp_path):
    out = tmp_path / "clean.dump.gz"
    cli("denoise", str(hot_dump), "-o", str(out), "--steps", "4", "-q")
    raw, clean = list(read_dump(hot_dump)), list(read_dump(out))
    assert len(raw) == len(clean) == 2
    for before, after in zip(raw, clean, strict=True):
        assert after.columns == before.columns + [DISPLACEMENT_COLUMN]
        assert np.array_equal(after.tokens[:, :2], before.tokens[:, :2])  # id, type untouched
        assert after.header == before.header
        expected = denoise(before.to_atoms(), model, steps=4)
        got = after.to_atoms().positions
        assert np.abs(got - expected.atoms.positions).max() < 1e-6
        moved = after.tokens[:, -1].astype(float)
        assert np.allclose(moved, np.linalg.norm(expected.displacement, axis=1), atol=1e-5)
        assert moved.mean() > 0.05


def test_dump_text_columns_survive_denoising_ascii_or_not(hot_dump, tmp_path):
    """Tokens are held as bytes while a frame is denoised; a non-ASCII column falls back to str."""
    (frame, _) = list(read_dump(hot_dump))
    labels = np.array(["Cu", "Å"] * (len(frame.tokens) // 2) + ["Cu"] * (len(frame.tokens) % 2), dtype=object)
    lines = frame.header + ["ITEM: ATOMS " + " ".join([*frame.columns, "label"])]
    lines += [" ".join([*row.astype(str), label]) for row, label in zip(frame.tokens, labels, strict=True)]
    source, out = tmp_path / "labelled.dump", tmp_path / "clean.dump"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli("denoise", str(source), "-o", str(out), "--steps", "1", "-q")
    (after,) = list(read_dump(out))
    assert list(after.tokens[:, after.columns.index("label")]) == list(labels)
    assert np.array_equal(after.tokens[:, 0].astype(int), frame.tokens[:, 0].astype(int))


def test_extxyz_round_trip(model, tmp_path):
    frames = []
    for seed in (1, 2):
        atoms = supercell("hcp", 200)
        atoms.set_chemical_symbols(["Mg"] * len(atoms))
        atoms.set_cell(atoms.cell * 1.12, scale_atoms=True)
        atoms.positions += np.random.default_rng(seed).normal(0, 0.25, atoms.positions.shape)
        frames.append(atoms)
    write(tmp_path / "hot.xyz", frames, format="extxyz")
    cli("denoise", str(tmp_path / "hot.xyz"), "-o", str(tmp_path / "clean.xyz"), "-q")
    clean = read(tmp_path / "clean.xyz", index=":")
    assert len(clean) == 2
    for before, after in zip(read(tmp_path / "hot.xyz", index=":"), clean, strict=True):
        assert after.get_chemical_symbols() == before.get_chemical_symbols()
        expected = denoise(before, model).atoms.positions
        assert np.abs(after.positions - expected).max() < 1e-6
        assert np.allclose(
            after.arrays[DISPLACEMENT_COLUMN], np.linalg.norm(after.positions - before.positions, axis=1), atol=1e-5
        )


def test_models_lists_the_shipped_model():
    out = cli("models").stdout
    assert "fcc-bcc-hcp" in out and "command: lmp-denoise train" in out
    assert "through Si neighbours; structure chosen by the Si atoms within 9 model units; O left 'other' inherits" in out
    # the metal models undo a system's deformation, sio2 (whose shells are not isotropic) does not
    assert out.count("homogeneous deformation undone (2 rounds") == 2 and out.count("volume per atom (shape kept)") == 1


def test_help_reads_like_a_manual():
    out = cli("denoise", "--help").stdout
    for option in ("--steps", "--tol", "--scale", "--shape", "--model", "--types"):
        assert option in out


def one_line_error(*args: str) -> str:
    result = cli(*args, check=False)
    assert result.returncode == 2, result.stderr
    # progress lines of the frames done before the error may precede it (batch logs)
    lines = [line for line in result.stderr.strip().splitlines() if ": frame " not in line or "error" in line]
    assert len(lines) == 1 and lines[0].startswith("lmp-denoise: error:"), result.stderr
    return lines[0]


def test_truncated_and_unreadable_files(hot_dump, tmp_path):
    text = gzip.open(hot_dump, "rt").read()
    (tmp_path / "cut.dump").write_text(text[: len(text) * 3 // 4])
    assert "truncated" in one_line_error("denoise", str(tmp_path / "cut.dump"), "-o", str(tmp_path / "o.dump"))
    (tmp_path / "noise.dump").write_bytes(np.random.default_rng(0).bytes(2000))
    assert "noise.dump" in one_line_error("denoise", str(tmp_path / "noise.dump"), "-o", str(tmp_path / "o.dump"))
    assert "no such input file" in one_line_error("denoise", str(tmp_path / "absent.dump"), "-o", str(tmp_path / "o.dump"))
    assert not (tmp_path / "o.dump").exists()


def test_failed_run_leaves_existing_output_intact(hot_dump, tmp_path):
    text = gzip.open(hot_dump, "rt").read()
    (tmp_path / "cut.dump").write_text(text[: len(text) * 3 // 4])
    (tmp_path / "o.dump").write_text("precious")
    one_line_error("denoise", str(tmp_path / "cut.dump"), "-o", str(tmp_path / "o.dump"))
    assert (tmp_path / "o.dump").read_text() == "precious"
    assert list(tmp_path.glob(".o.dump.*")) == []


def test_bad_options_and_models(hot_dump, tmp_path):
    out = str(tmp_path / "o.dump")
    assert "unknown model 'nonsense'" in one_line_error("denoise", str(hot_dump), "-o", out, "--model", "nonsense")
    assert "--steps must be 1 to 1000" in one_line_error("denoise", str(hot_dump), "-o", out, "--steps", "0")
    assert "--scale must be" in one_line_error("denoise", str(hot_dump), "-o", out, "--scale", "-1")
    assert "--steps must be at least 1" in one_line_error("train", "-o", str(tmp_path / "m.pt"), "--steps", "0")
    assert not (tmp_path / "m.pt").exists()
    extra = {METADATA_NAME: ""}
    module = torch.jit.load(str(resolve("fcc-bcc-hcp")), _extra_files=extra)
    meta = {**json.loads(extra[METADATA_NAME]), "format_version": 7}
    torch.jit.save(module, str(tmp_path / "v7.pt"), _extra_files={METADATA_NAME: json.dumps(meta)})
    message = one_line_error("denoise", str(hot_dump), "-o", out, "--model", str(tmp_path / "v7.pt"))
    assert "format version 7" in message


def test_overlapping_atoms_and_nan_positions(tmp_path):
    atoms = supercell("fcc", 100)
    atoms.set_chemical_symbols(["Cu"] * len(atoms))
    doubled = atoms + atoms[:1]
    write(tmp_path / "double.xyz", doubled, format="extxyz")
    assert "overlaps" in one_line_error("denoise", str(tmp_path / "double.xyz"), "-o", str(tmp_path / "o.xyz"))
    explicit = one_line_error("denoise", str(tmp_path / "double.xyz"), "-o", str(tmp_path / "o.xyz"), "--scale", "2.55")
    assert "overlaps" in explicit  # an explicit scale skips no check
    write(tmp_path / "single.xyz", atoms, format="extxyz")
    for scale in ("25", "0.25"):  # a scale factor of ~0.1 or ~10: a distance mistaken for a factor
        message = one_line_error("denoise", str(tmp_path / "single.xyz"), "-o", str(tmp_path / "o.xyz"), "--scale", scale)
        assert "far from the training lattices" in message and not (tmp_path / "o.xyz").exists()
    broken = atoms.copy()
    broken.positions[3, 0] = np.nan
    write(tmp_path / "nan.xyz", broken, format="extxyz")
    assert "NaN" in one_line_error("denoise", str(tmp_path / "nan.xyz"), "-o", str(tmp_path / "o.xyz"))


def mpirun_cli(ranks: int, *args: str, threads: str | None = "1") -> subprocess.CompletedProcess:
    command = [str(BIN / "mpirun"), "-np", str(ranks), str(BIN / "lmp-denoise"), *args]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads is not None:  # None: each rank takes its share of the node's cores itself
        env["OMP_NUM_THREADS"] = threads
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_mpi_ranks_share_frames_and_write_what_one_process_writes(hot_dump, tmp_path):
    frames = [f for f in read_dump(hot_dump)] * 3  # 6 frames: each rank gets several, out of order
    source = tmp_path / "six.dump"
    with open(source, "w") as handle:
        for frame in frames:
            frame.write(handle)
    cli("denoise", str(source), "-o", str(tmp_path / "one.dump"), "--steps", "3", "-q")
    result = mpirun_cli(2, "denoise", str(source), "-o", str(tmp_path / "two.dump"), "--steps", "3", "-q", threads=None)
    assert result.returncode == 0, result.stderr
    assert "6 frame(s) on 2 MPI ranks" in result.stdout and result.stdout.count("frame(s)") == 1
    assert (tmp_path / "one.dump").read_bytes() == (tmp_path / "two.dump").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.dump", "six.dump", "two.dump"]


def test_mpi_error_on_one_rank_stops_every_rank_with_one_line(hot_dump, tmp_path):
    first, second = list(read_dump(hot_dump))
    second.tokens[5, second.columns.index("xs")] = "nan"
    source = tmp_path / "bad.dump"
    with open(source, "w") as handle:
        first.write(handle)
        second.write(handle)  # frame 2 goes to rank 1
    result = mpirun_cli(2, "denoise", str(source), "-o", str(tmp_path / "out.dump"), "-q")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "frame 2" in lines[0] and "NaN" in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.dump"]


def test_torchscript_fallback_gives_the_fused_kernels_positions(hot_dump, tmp_path):
    cli("denoise", str(hot_dump), "-o", str(tmp_path / "fused.dump"), "--steps", "4", "-q")
    env = {**os.environ, "LMP_DENOISE_KERNEL": "0"}
    command = [str(BIN / "lmp-denoise"), "denoise", str(hot_dump), "-o", str(tmp_path / "plain.dump"), "--steps", "4", "-q"]
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=600)
    for a, b in zip(read_dump(tmp_path / "fused.dump"), read_dump(tmp_path / "plain.dump"), strict=True):
        assert np.abs(a.to_atoms().positions - b.to_atoms().positions).max() < 1e-5


def test_multi_species_model_needs_a_type_map_named_as_in_lammps(tmp_path):
    """One rule in Python and LAMMPS: no guessing of species; names (or indices) map types."""
    salt = supercell("rocksalt", 64)
    salt.numbers = salt.get_tags() + 1  # types 1 and 2
    salt.positions += np.random.default_rng(2).normal(0, 0.1, salt.positions.shape)
    write(tmp_path / "salt.xyz", salt, format="extxyz")
    message = one_line_error("denoise", str(tmp_path / "salt.xyz"), "-o", str(tmp_path / "o.xyz"), "--model", "dc3-six")
    assert "knows 2 species (A B)" in message and "--types 1:A,2:B" in message
    bad = one_line_error(
        "denoise", str(tmp_path / "salt.xyz"), "-o", str(tmp_path / "o.xyz"), "--model", "dc3-six", "--types", "1:A,2:Cl"
    )
    assert "mapped to 'Cl'" in bad and not (tmp_path / "o.xyz").exists()
    cli(
        "denoise", str(tmp_path / "salt.xyz"), "-o", str(tmp_path / "names.xyz"), "--model", "dc3-six", "--types", "1:A,2:B", "-q"
    )
    cli(
        "denoise", str(tmp_path / "salt.xyz"), "-o", str(tmp_path / "index.xyz"), "--model", "dc3-six", "--types", "1:0,2:1", "-q"
    )
    assert np.array_equal(read(tmp_path / "names.xyz").positions, read(tmp_path / "index.xyz").positions)


def test_doctor_finds_every_part_of_this_install():
    result = cli("doctor")
    lines = result.stdout.splitlines()
    for part in ("torch", "fused CPU kernel", "MPI (mpi4py)", "LAMMPS plugin", "shipped models", "OVITO"):
        assert any(line.strip().startswith(f"ok       {part}:") for line in lines), result.stdout
    assert "compute denoise and fix denoise/write load and run" in result.stdout and "dc3-six (format 2" in result.stdout


def test_batch_logs_get_one_summary_line_per_frame(hot_dump, tmp_path):
    result = cli("denoise", str(hot_dump), "-o", str(tmp_path / "o.dump"), "--steps", "3")  # stderr is not a terminal
    lines = [line for line in result.stderr.splitlines() if "frame" in line]
    assert len(lines) == 2, result.stderr
    for number, line in enumerate(lines, 1):
        assert line.startswith(f"hot.dump.gz: frame {number}, 250 atoms, 3 it, largest move ") and "scale " in line
        assert "atom-iterations/s" in line
