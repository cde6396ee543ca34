"""Compressed denoised trajectories: fix denoise/write in LAMMPS, the reader, compress/decompress."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import BIN, run_lammps
from scipy.spatial import cKDTree

from lmp_denoise.data.lattices import supercell
from lmp_denoise.io.compression import CompressedFileError, Encoder, file_header, read
from lmp_denoise.io.formats import read_dump, read_frames

HOT_RUN = """
units metal
lattice fcc 3.615
region box block 0 5 0 5 0 5
create_box 1 box
create_atoms 1 box
mass 1 63.546
{box_change}
pair_style eam/alloy
pair_coeff * * Cu_mishin1.eam.alloy Cu
velocity all create 1600 87287 loop geom
fix md all npt temp 900 900 0.1 iso 0 0 1.0
compute dn all denoise fcc-bcc-hcp 8
fix zip all denoise/write 20 hot.ldz dn bound {bound}{append}
dump raw all custom 20 denoised.dump id type c_dn[1] c_dn[2] c_dn[3] c_dn[4]
dump_modify raw colname c_dn[1] x colname c_dn[2] y colname c_dn[3] z colname c_dn[4] disp sort id
run {steps}
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lmp-denoise"), *args], capture_output=True, text=True, timeout=600)


def hot_run(folder, ranks=1, bound=0.02, steps=100, box_change="", append=""):
    from lmp_denoise.data.md import potential_dir

    script = HOT_RUN.format(bound=bound, steps=steps, box_change=box_change, append=append)
    return run_lammps(script.replace("Cu_mishin1.eam.alloy", f"{potential_dir()}/Cu_mishin1.eam.alloy"), folder, ranks)


@pytest.mark.parametrize("ranks, box_change", [(1, ""), (3, "change_box all triclinic\nchange_box all xy final 0.9")])
def test_fix_writes_every_denoised_coordinate_within_the_bound(tmp_path, ranks, box_change):
    hot_run(tmp_path, ranks=ranks, box_change=box_change)
    frames = list(read(tmp_path / "hot.ldz"))
    dumps = list(read_dump(tmp_path / "denoised.dump"))
    assert len(frames) == len(dumps) == 6  # steps 0, 20, ..., 100
    for frame, dump in zip(frames, dumps, strict=True):
        expected = dump_columns_of(dump)
        assert np.array_equal(frame.ids, expected[:, 0].astype(int))
        difference = wrapped(frame.positions - expected[:, 1:4], frame.cell, frame.periodic)
        assert np.abs(difference).max() <= 0.02 + 1e-9
        assert frame.bound == 0.02
        assert np.array_equal(frame.disorder, np.searchsorted([0.5, 1.0, 2.0], expected[:, 4], side="right"))


def dump_columns_of(frame):
    columns = ["id", "x", "y", "z", "disp"]
    table = frame.tokens[:, [frame.columns.index(c) for c in columns]].astype(float)
    return table[np.argsort(table[:, 0])]


def wrapped(difference, cell, periodic):
    fractional = np.linalg.solve(cell.T, difference.T).T
    fractional = np.where(periodic, fractional - np.rint(fractional), fractional)
    return fractional @ cell


# the same noisy frames on any number of ranks (MD itself differs between rank counts)
STATIC_FRAMES = """
units metal
lattice bcc 2.87
region box block 0 6 0 6 0 6
create_box 1 box
create_atoms 1 box
mass 1 55.8
pair_style zero 5.0
pair_coeff * *
compute dn all denoise fcc-bcc-hcp 8
fix zip all denoise/write 10 frames.ldz dn bound 0.05
displace_atoms all random 0.2 0.2 0.2 11 units box
run 0
displace_atoms all random 0.05 0.05 0.05 12 units box
reset_timestep 10
run 0
displace_atoms all move 0.3 0.0 0.0 units box
reset_timestep 20
run 0
"""


def test_same_trajectory_from_one_and_three_ranks(tmp_path):
    run_lammps(STATIC_FRAMES, tmp_path / "one", 1)
    run_lammps(STATIC_FRAMES, tmp_path / "three", 3)
    one, three = list(read(tmp_path / "one" / "frames.ldz")), list(read(tmp_path / "three" / "frames.ldz"))
    assert [f.timestep for f in one] == [f.timestep for f in three] == [0, 10, 20]
    for a, b in zip(one, three, strict=True):
        # create_atoms numbers atoms by rank: match them by position instead of id
        tree = cKDTree(np.mod(b.positions, 17.22), boxsize=17.22)
        distance, _ = tree.query(np.mod(a.positions, 17.22))
        # each within the bound of denoised positions that agree to ~1e-6 A across rank counts
        assert len(a.ids) == len(b.ids) == 432 and distance.max() <= np.sqrt(3) * 2 * 0.05


def test_killed_run_keeps_every_complete_frame_and_append_resumes(tmp_path):
    hot_run(tmp_path, steps=60)  # frames at 0, 20, 40, 60
    path = tmp_path / "hot.ldz"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 37])  # a run killed while writing its last frame
    with pytest.raises(CompressedFileError, match="cut off inside a frame at byte .*the 3 frame"):
        list(read(path))
    damage = []
    assert len(list(read(path, on_damage=damage.append))) == 3 and "3 frame(s) before it are intact" in damage[0]
    result = cli("decompress", str(path), "-o", str(tmp_path / "out.dump"))
    assert result.returncode == 2 and "3 frame(s) before it are intact" in result.stderr
    assert not (tmp_path / "out.dump").exists()
    assert cli("decompress", str(path), "-o", str(tmp_path / "out.dump"), "--salvage").returncode == 0
    assert len(list(read_dump(tmp_path / "out.dump"))) == 3
    # a new run appends to the intact part; its first frame is a keyframe
    hot_run(tmp_path, steps=40, append=" append yes")
    frames = list(read(path))
    assert [f.timestep for f in frames] == [0, 20, 40, 0, 20, 40]


def test_compress_decompress_round_trip_and_foreign_files(tmp_path):
    atoms = supercell("fcc", 500)
    rng = np.random.default_rng(3)
    from ase.io import write

    frames = []
    for _ in range(4):
        hot = atoms.copy()
        hot.positions += rng.normal(0, 0.15, hot.positions.shape)
        hot.set_chemical_symbols(["Cu"] * len(hot))
        frames.append(hot)
    write(tmp_path / "hot.xyz", frames, format="extxyz")
    packed = tmp_path / "whatever.name"
    result = cli("compress", str(tmp_path / "hot.xyz"), "-o", str(packed), "--bound", "0.01", "-q")
    assert result.returncode == 0, result.stderr
    back = list(read_frames(packed))
    assert len(back) == 4
    for name in ("out.xyz", "out.dump"):
        assert cli("decompress", str(packed), "-o", str(tmp_path / name)).returncode == 0
        again = list(read_frames(tmp_path / name))
        assert len(again) == 4 and np.abs(again[2].positions - back[2].positions).max() < 1e-5
    foreign = cli("decompress", str(tmp_path / "hot.xyz"), "-o", str(tmp_path / "x.dump"))
    assert foreign.returncode == 2 and "not an lmp-denoise compressed trajectory" in foreign.stderr
    assert len(foreign.stderr.strip().splitlines()) == 1


def encode_file(path, bound, frames) -> None:
    """Frames (ids, types, positions, |displacement|, cell) through the Python encoder into ``path``."""
    encoder = Encoder(bound)
    with open(path, "wb") as handle:
        handle.write(file_header())
        for step, (ids, types, positions, displacement, cell) in enumerate(frames):
            handle.write(encoder.encode(step, ids, types, positions, displacement, np.zeros(3), cell, [True] * 3))


def test_encoder_keeps_the_bound_under_box_breathing_and_drift(tmp_path):
    atoms = supercell("bcc", 300)
    rng = np.random.default_rng(0)
    ids, truth, frames = np.arange(1, len(atoms) + 1), [], []
    for step in range(60):
        stretch = 1.0 + 0.004 * np.sin(step / 3.0)
        positions = atoms.positions * stretch + 0.3 * step + rng.normal(0, 0.03, atoms.positions.shape)
        truth.append(positions)
        frames.append((ids, np.ones(len(atoms)), positions, np.zeros(len(atoms)), atoms.cell.array * stretch))
    encode_file(tmp_path / "t.ldz", 0.05, frames)
    for frame, expected in zip(read(tmp_path / "t.ldz"), truth, strict=True):
        assert np.abs(wrapped(frame.positions - expected, frame.cell, frame.periodic)).max() <= 0.05 + 1e-9


def test_atoms_lost_or_added_and_periodic_keyframes(tmp_path, monkeypatch):
    import lmp_denoise.io.compression as compression

    monkeypatch.setattr(compression, "KEYFRAME_EVERY", 3)
    atoms = supercell("fcc", 256)
    rng = np.random.default_rng(1)
    truth, frames = [], []
    for step in range(8):
        keep = np.ones(len(atoms), bool)
        if step in (3, 4):
            keep[rng.choice(len(atoms), 5, replace=False)] = False  # atoms leave, then come back
        ids = np.arange(1, len(atoms) + 1)[keep][::-1]  # any order: the file sorts by id
        positions = (atoms.positions + rng.normal(0, 0.05, atoms.positions.shape))[keep][::-1]
        types = np.where(ids % 2, 1, 2)
        truth.append((ids, types, positions))
        frames.append((ids, types, positions, np.full(len(ids), 0.7), atoms.cell.array))
    encode_file(tmp_path / "t.ldz", 0.02, frames)
    frames = list(read(tmp_path / "t.ldz"))
    assert [len(f.ids) for f in frames] == [256, 256, 256, 251, 251, 256, 256, 256]
    for frame, (ids, types, positions) in zip(frames, truth, strict=True):
        order = np.argsort(ids)
        assert np.array_equal(frame.ids, ids[order]) and np.array_equal(frame.types, types[order])
        assert np.abs(wrapped(frame.positions - positions[order], frame.cell, frame.periodic)).max() <= 0.02 + 1e-9
        assert np.all(frame.disorder == 1)
