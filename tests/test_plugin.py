"""compute denoise through real LAMMPS: rank-count invariance, agreement with Python, MD safety."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import dump_columns, run_lammps

from lmp_denoise.data.lattices import REFERENCE_VOLUME
from lmp_denoise.infer.denoise import classify, denoise
from lmp_denoise.infer.labels import label_atoms
from lmp_denoise.io.formats import read_dump
from lmp_denoise.models.modelfile import METADATA_NAME, NETWORK_NAME

FILL = "create_atoms 1 box"
BOXES = {  # boundary, box, atoms
    "orthogonal": ("p p p", "region box block 0 6 0 6 0 6", FILL),
    "triclinic": ("p p p", "region box prism 0 6 0 6 0 6 1.2 0.6 -0.9", FILL),
    "open-z": ("p p f", "region box block 0 6 0 6 -0.2 6.2", FILL),
    # ~250 atoms in a 1000 A box: most are at the surface, which the automatic scale must ignore,
    # and the lists and ghosts must be sized by the atoms, not by the box
    "cluster": ("p p p", "region box block -140 140 -140 140 -140 140", "region b sphere 0 0 0 2.4\ncreate_atoms 1 region b"),
    # a slab in a periodic box with ~14 A of vacuum, across the box's z boundary
    "slab": ("p p p", "region box block 0 5 0 5 -4 6", "region b block 0 5 0 5 -4 2\ncreate_atoms 1 region b"),
}


def crystal(
    box: str, extra: str = "", compute: str = "compute dn all denoise fcc-bcc-hcp 8", stretch: float = 0.0, noise: float = 0.18
) -> str:
    """A thermally disordered Cu fcc crystal (random displacements up to ``noise`` A), denoised and
    dumped; ``stretch``: strained that much along x and by a third of it across (volume kept ~)."""
    boundary, region, fill = BOXES[box]
    across = 1.0 - stretch / 3.0
    strain = f"change_box all x scale {1.0 + stretch} y scale {across} z scale {across} remap" if stretch else ""
    return f"""
units metal
boundary {boundary}
lattice fcc 3.615
{region}
create_box 2 box
{fill}
mass * 63.5
{strain}
displace_atoms all random {noise} {noise} {noise} 8271 units box
pair_style zero 8.0
pair_coeff * *
{compute}
{extra}
dump d all custom 1 dump.out id type x y z c_dn[1] c_dn[2] c_dn[3] c_dn[4]
dump_modify d format float %.12g
thermo_style custom step c_dn[1] c_dn[2] c_dn[3] c_dn[4] c_dn[5]
thermo_modify format float %.17g
run 0
"""


@pytest.mark.parametrize("box", list(BOXES))
def test_same_result_for_1_to_4_ranks(box, tmp_path):
    results, scales = {}, {}
    for ranks in (1, 2, 3, 4):
        output = run_lammps(crystal(box), tmp_path / f"np{ranks}", ranks).stdout
        scales[ranks] = float(next(line for line in output.splitlines() if line.strip().startswith("0 ")).split()[4])
        table = dump_columns(tmp_path / f"np{ranks}" / "dump.out", ["x", "y", "z", "c_dn[1]", "c_dn[2]", "c_dn[3]"])
        # create_atoms numbers atoms by rank, so match them by their (identical) raw positions
        order = np.lexsort(np.round(table[:, :3], 6).T)
        results[ranks] = table[order]
    # the automatic scale's medians and quantiles are taken over all ranks' atoms without gathering
    # them (cpp/denoise_scale.cpp): the same value whatever the split, up to summation order
    assert max(abs(scales[r] / scales[1] - 1.0) for r in (2, 3, 4)) < 1e-12, f"scale factor per rank count: {scales}"
    raw = results[1][:, :3]
    for ranks in (2, 3, 4):
        assert np.abs(results[ranks][:, :3] - raw).max() < 1e-9, "raw positions should match one to one"
    results = {r: t[:, 3:] for r, t in results.items()}
    moved = np.linalg.norm(results[1] - raw, axis=1)
    assert moved.mean() > 0.05, "the compute should move thermally displaced atoms"
    for ranks in (2, 3, 4):
        assert np.abs(results[ranks] - results[1]).max() < 1e-5, f"np={ranks} differs from np=1"


@pytest.mark.parametrize("box", list(BOXES))
def test_compute_matches_python_denoiser(box, model, tmp_path):
    output = run_lammps(crystal(box), tmp_path).stdout
    frame = next(read_dump(tmp_path / "dump.out"))
    atoms = frame.to_atoms()
    lammps_result = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    python = denoise(atoms, model, steps=8)
    assert np.abs(python.atoms.positions - lammps_result).max() < 1e-5
    # one scale recipe: the compute's automatic scale (global value 4) is Python's
    row = next(line for line in output.splitlines() if line.strip().startswith("0 "))
    assert float(row.split()[4]) == pytest.approx(python.scale, rel=1e-6)


@pytest.mark.parametrize("box", ["cluster", "slab", "open-z"])
@pytest.mark.parametrize("ranks", [1, 3])
def test_objects_in_vacuum_keep_their_shape_as_in_python(box, ranks, model, tmp_path):
    """The open-space rule (infer/open_space.py) in the compute: the same open directions, unwrapping
    and homogeneous part as Python on any rank count."""
    run_lammps(crystal(box, compute="compute dn all denoise fcc-bcc-hcp 16"), tmp_path, ranks)
    frame = next(read_dump(tmp_path / "dump.out"))
    lammps_result = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    atoms = frame.to_atoms()
    python = denoise(atoms, model, steps=16)
    assert np.abs(python.atoms.positions - lammps_result).max() < 1e-5
    free = denoise(atoms, model, steps=16, recipe=replace(model.iteration, open_gap=0.0))
    assert np.abs(free.atoms.positions - lammps_result).max() > 1e-3, "the rule must change the result"


@pytest.mark.parametrize("ranks", [1, 3])
def test_momentum_matches_python_on_any_rank_count(ranks, model, tmp_path):
    recipe = model.iteration.suggested(model.largest_response)
    compute = f"compute dn all denoise fcc-bcc-hcp 8 momentum {recipe.momentum} stepsize {recipe.stepsize}"
    run_lammps(crystal("orthogonal", compute=compute), tmp_path, ranks)
    frame = next(read_dump(tmp_path / "dump.out"))
    lammps_result = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    heavy = denoise(frame.to_atoms(), model, steps=8, recipe=recipe)
    plain = denoise(frame.to_atoms(), model, steps=8, recipe=model.iteration.plain())
    assert np.abs(heavy.atoms.positions - lammps_result).max() < 1e-5
    assert np.abs(plain.atoms.positions - lammps_result).max() > 1e-3, "the keywords must change the iteration"


@pytest.mark.parametrize("ranks", [1, 3])
def test_strained_crystal_matches_python_on_any_rank_count(ranks, tmp_path):
    """A crystal stretched 12% along x: the compute undoes the deformation as Python does (the
    estimate's sums are integers, the same on any rank count), and 'shape none' does not."""

    def row(output):
        return [float(v) for v in next(line for line in output.splitlines() if line.strip().startswith("0 ")).split()]

    output = run_lammps(crystal("orthogonal", stretch=0.12), tmp_path / "auto", ranks).stdout
    frame = next(read_dump(tmp_path / "auto" / "dump.out"))
    lammps_result = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    python = denoise(frame.to_atoms(), "fcc-bcc-hcp", steps=8)
    assert np.abs(python.atoms.positions - lammps_result).max() < 1e-5
    assert row(output)[5] == pytest.approx(python.deformation, rel=1e-9)
    assert python.deformation == pytest.approx(1.12 / 0.96 - 1.0, abs=0.01), "the stretch, measured"
    compute = "compute dn all denoise fcc-bcc-hcp 8 shape none"
    output = run_lammps(crystal("orthogonal", compute=compute, stretch=0.12), tmp_path / "none", ranks).stdout
    frame = next(read_dump(tmp_path / "none" / "dump.out"))
    plain = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    assert row(output)[5] == 0.0
    assert np.abs(denoise(frame.to_atoms(), "fcc-bcc-hcp", steps=8, shape="none").atoms.positions - plain).max() < 1e-5
    assert np.abs(plain - lammps_result).max() > 1e-3, "the keyword must change the result"


def test_blurred_strained_crystal_is_left_as_both_runtimes_find_it(tmp_path):
    """Displacements up to 0.5 A (~0.1 of the neighbour distance) blur the first shells: the
    estimate does not settle, and the compute, like Python, undoes nothing (at 0.2 A both read
    the stretch; see test_strained_crystal_matches_python_on_any_rank_count)."""
    output = run_lammps(crystal("orthogonal", stretch=0.12, noise=0.5), tmp_path, 2).stdout
    row = next(line for line in output.splitlines() if line.strip().startswith("0 ")).split()
    frame = next(read_dump(tmp_path / "dump.out"))
    lammps_result = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    python = denoise(frame.to_atoms(), "fcc-bcc-hcp", steps=8)
    assert float(row[5]) == 0.0 and python.deformation == 0.0
    assert np.abs(python.atoms.positions - lammps_result).max() < 1e-5


def test_cluster_in_a_huge_box_costs_little(tmp_path):
    output = run_lammps(crystal("cluster"), tmp_path).stdout
    memory = re.search(r"Per MPI rank memory allocation \(min/avg/max\) = [\d.]+ \| [\d.]+ \| ([\d.]+) Mbytes", output)
    ghost = re.search(r"raised the ghost cutoff to ([\d.]+)", output)
    assert float(memory.group(1)) < 100, "lists sized by the 1000 A box (was ~1 GB per rank)"
    assert float(ghost.group(1)) < 15, "the ghost shell must be sized by the atoms' spacing"


def test_group_atoms_outside_are_not_moved(tmp_path):
    run_lammps(crystal("orthogonal", compute="group half id <= 400\ncompute dn half denoise fcc-bcc-hcp 4"), tmp_path)
    table = dump_columns(tmp_path / "dump.out", ["x", "y", "z", "c_dn[1]", "c_dn[2]", "c_dn[3]", "c_dn[4]"])
    outside, inside = table[400:], table[:400]
    assert np.array_equal(outside[:, :3], outside[:, 3:6])
    assert np.all(outside[:, 6] == 0.0)
    assert np.linalg.norm(inside[:, :3] - inside[:, 3:6], axis=1).mean() > 0.05


def test_global_vector_and_tolerance(tmp_path):
    result = run_lammps(crystal("orthogonal", compute="compute dn all denoise fcc-bcc-hcp 50 tol 0.002"), tmp_path)
    row = next(line for line in result.stdout.splitlines() if line.strip().startswith("0 "))
    iterations, largest, mean, scale, deformation = (float(v) for v in row.split()[1:])
    assert 1 <= iterations < 50, "tol should stop the iteration early"
    assert largest > mean > 0.0
    assert scale == pytest.approx(1.0, abs=0.03)
    assert 0.0 <= deformation < 0.01, "an unstrained crystal (noise only)"


MD = """
units metal
lattice fcc 3.615
region box block 0 4 0 4 0 4
create_box 1 box
create_atoms 1 box
mass 1 63.546
pair_style eam/alloy
pair_coeff * * {potentials}/Cu_mishin1.eam.alloy Cu
velocity all create 1400 9121 mom yes rot yes
fix md all nvt temp 1200 1200 0.1
timestep 0.002
{compute}
dump traj all custom 10 traj.dump id x y z vx vy vz {columns}
dump_modify traj format float %.14g sort id
run 40
"""


def test_compute_in_md_run_leaves_trajectory_unchanged(tmp_path):
    from lmp_denoise.data.md import potential_dir

    with_compute = MD.format(
        potentials=potential_dir(), compute="compute dn all denoise fcc-bcc-hcp 8", columns="c_dn[1] c_dn[2] c_dn[3] c_dn[4]"
    )
    without = MD.format(potentials=potential_dir(), compute="", columns="")
    run_lammps(with_compute, tmp_path / "with", ranks=2)
    run_lammps(without, tmp_path / "without", ranks=2)
    frames_with = list(read_dump(tmp_path / "with" / "traj.dump"))
    frames_without = list(read_dump(tmp_path / "without" / "traj.dump"))
    assert len(frames_with) == len(frames_without) == 5
    for a, b in zip(frames_with, frames_without, strict=True):
        assert np.array_equal(a.tokens[:, :7], b.tokens[:, :7])
    last = dump_columns(tmp_path / "with" / "traj.dump", ["x", "y", "z", "c_dn[1]", "c_dn[2]", "c_dn[3]"])
    assert 0.02 < np.linalg.norm(last[:, :3] - last[:, 3:], axis=1).mean() < 0.5


ROCKSALT = """
units metal
lattice custom 5.64 a1 1 0 0 a2 0 1 0 a3 0 0 1 &
    basis 0 0 0 basis 0.5 0.5 0 basis 0.5 0 0.5 basis 0 0.5 0.5 &
    basis 0.5 0 0 basis 0 0.5 0 basis 0 0 0.5 basis 0.5 0.5 0.5
region box block 0 4 0 4 0 4
create_box 2 box
create_atoms 1 box basis 5 2 basis 6 2 basis 7 2 basis 8 2
mass * 30.0
displace_atoms all random 0.3 0.3 0.3 5511 units box
pair_style zero 6.0
pair_coeff * *
compute dn all denoise dc3-six 8 types A B
dump d all custom 1 dump.out id type x y z c_dn[1] c_dn[2] c_dn[3] c_dn[4]
dump_modify d format float %.12g
run 0
"""


def test_two_species_model_with_types_matches_python(tmp_path):
    run_lammps(ROCKSALT, tmp_path, ranks=2)
    frame = next(read_dump(tmp_path / "dump.out"))
    atoms = frame.to_atoms()
    lammps_result = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
    python = denoise(atoms, "dc3-six", steps=8, types={1: 0, 2: 1})
    assert np.abs(python.atoms.positions - lammps_result).max() < 1e-5
    assert python.scale == pytest.approx((REFERENCE_VOLUME / (5.64**3 / 8)) ** (1 / 3), rel=0.03)
    assert np.linalg.norm(python.displacement, axis=1).mean() > 0.1


def test_scale_recipe_is_read_from_the_model_file_by_both(model, tmp_path):
    """Change the recipe in the file only: the compute and Python both follow it, and agree."""
    extra = {METADATA_NAME: "", NETWORK_NAME: ""}
    module = torch.jit.load(str(model.path), _extra_files=extra)
    meta = json.loads(extra[METADATA_NAME])
    meta["scale_recipe"] = {**meta["scale_recipe"], "sphere_radius": 2.3, "smoothing": 0.5}
    changed = tmp_path / "recipe.pt"
    torch.jit.save(module, str(changed), _extra_files={METADATA_NAME: json.dumps(meta), NETWORK_NAME: extra[NETWORK_NAME]})
    output = run_lammps(crystal("orthogonal", compute=f"compute dn all denoise {changed} 2"), tmp_path).stdout
    row = next(line for line in output.splitlines() if line.strip().startswith("0 "))
    atoms = next(read_dump(tmp_path / "dump.out")).to_atoms()
    changed_scale = denoise(atoms, str(changed), steps=1).scale
    assert float(row.split()[4]) == pytest.approx(changed_scale, rel=1e-6)
    assert abs(changed_scale - denoise(atoms, model, steps=1).scale) > 1e-4  # the recipe really changed


HALF_MELTED = """
units metal
lattice fcc 3.615
region box block 0 5 0 5 0 10
create_box 1 box
create_atoms 1 box
mass 1 63.546
pair_style eam/alloy
pair_coeff * * {potentials}/Cu_mishin1.eam.alloy Cu
region top block INF INF INF INF 4 INF
group melt region top
group solid subtract all melt
velocity solid create 1000 4928 mom yes rot yes
velocity melt create 5000 118 mom yes rot yes
fix solid solid nvt temp 1000 1000 0.1
fix melt melt nvt temp 4000 4000 0.05
timestep 0.002
run 300
unfix solid
unfix melt
{compute}
dump d all custom 1 dump.out id x y z c_dn[1] c_dn[2] c_dn[3] c_dn[4]
dump_modify d format float %.12g sort id
thermo_style custom step c_dn[1] c_dn[2] c_dn[3] c_dn[4] c_dn[5] c_dn[6]
thermo_modify format float %.17g
run 0
"""


@pytest.mark.parametrize("ranks", [1, 3])
def test_disordered_atoms_keep_the_first_move_as_in_python(ranks, model, tmp_path):
    """A Cu crystal 60% molten: with 'disorder first' the liquid goes back to where the first
    iteration put it (the global vector's 6th value counts it) as Python's Denoiser does, the
    crystal is denoised as with 'disorder all', and 'disorder all' moves the liquid on."""
    from lmp_denoise.data.md import potential_dir

    def run(keyword, folder):
        compute = f"compute dn all denoise fcc-bcc-hcp 8 {keyword}"
        output = run_lammps(HALF_MELTED.format(potentials=potential_dir(), compute=compute), folder, ranks).stdout
        row = [line for line in output.splitlines() if line.strip().startswith("300 ")][-1].split()  # the run 0
        frame = next(read_dump(folder / "dump.out"))
        moved = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3)]].astype(float)
        return frame.to_atoms(), moved, float(row[6])

    atoms, first, kept = run("disorder first", tmp_path / "first")
    _, every, none_kept = run("disorder all", tmp_path / "all")
    python = denoise(atoms, model, steps=8, recipe=replace(model.iteration, disorder="first"))
    one_step = denoise(atoms, model, steps=1).atoms.positions
    assert np.abs(python.atoms.positions - first).max() < 1e-5
    assert kept == python.kept_first.sum() and none_kept == 0.0
    # 4 cells of crystal, 6 of liquid (which spreads ~1.5 A into the crystal): interfaces near 13 and 36 A
    height = atoms.positions[:, 2] % (10 * 3.615)
    liquid = np.abs(height - 25.3) < 4.0
    crystal_half = np.abs(height - 5.4) < 3.6
    assert python.kept_first[liquid].mean() > 0.9, "the liquid keeps its first move"
    assert not python.kept_first[crystal_half].any(), "the hot crystal is denoised fully"
    kept_rows = python.kept_first
    assert np.abs(first[kept_rows] - one_step[kept_rows]).max() < 1e-5
    assert np.abs(every[crystal_half] - first[crystal_half]).max() < 0.02
    assert np.abs(every[kept_rows] - first[kept_rows]).max() > 0.1, "more iterations move the liquid on"
    found = classify(atoms, model, steps=8, recipe=replace(model.iteration, disorder="first"))
    out = found.result.atoms
    again = label_atoms(out.positions, out.cell.array, out.pbc, np.zeros(len(out), int), found.result.to_model, model.labels)
    assert np.array_equal(found.result.kept_first, kept_rows), "classify moves back what denoise does"
    assert np.array_equal(found.labels.index, again.index), "labels of the positions classify returns"
