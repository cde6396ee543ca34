"""Structure labels: templates from the model's own lattices, in Python, the CLI and compute denoise."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from ase.io import read, write
from conftest import run_lammps
from test_cli import cli

from lmp_denoise.data.lattices import SPECIES, species_of, training_cell, training_scale
from lmp_denoise.infer.denoise import IterationRecipe, classify, denoise
from lmp_denoise.infer.labels import build_labels, label_atoms
from lmp_denoise.infer.scale import StructureError
from lmp_denoise.io.formats import SCORE_COLUMN, STRUCTURE_COLUMN, read_dump
from lmp_denoise.models import load_model, resolve
from lmp_denoise.models.modelfile import METADATA_NAME, ModelFileError, load

DC3 = ["fcc", "bcc", "hcp", "sc", "cd", "hd", "rocksalt"]
SILICA = ["alpha-quartz", "beta-quartz", "alpha-cristobalite", "beta-cristobalite"]

# a hot Cu crystal with a pocket of random atoms: both crystal and "other" labels
MIXED = """
units metal
boundary p p p
lattice fcc 3.615
region box block 0 8 0 8 0 8
create_box 1 box
create_atoms 1 box
mass * 63.5
displace_atoms all random 0.25 0.25 0.25 8271 units box
region pocket sphere 14 14 14 7 units box
delete_atoms region pocket
create_atoms 1 random 120 4321 pocket overlap 2.1 maxtry 200
pair_style zero 8.0
pair_coeff * *
compute dn all denoise fcc-bcc-hcp 8 labels yes
dump d all custom 1 dump.out id type x y z c_dn[1] c_dn[2] c_dn[3] c_dn[5] c_dn[6]
dump_modify d format float %.12g
variable fcc atom "c_dn[5] == 0"
compute nfcc all reduce sum v_fcc
thermo_style custom step c_nfcc
run 0
print "fcc atoms: $(c_nfcc)"
"""


@pytest.mark.parametrize("structures", [DC3, SILICA], ids=["dc3", "silica"])
def test_every_training_structure_is_recognised_slightly_off_its_sites(structures):
    species = species_of(structures)
    labels = build_labels(structures, species)
    assert labels.names == [*structures, "other"]
    rng = np.random.default_rng(3)
    for name in structures:
        cell = training_cell(name, 400)
        kinds = np.array([species.index(SPECIES[name][t]) for t in cell.get_tags()])
        noisy = cell.positions + 0.015 * rng.standard_normal(cell.positions.shape)
        found = label_atoms(noisy * 1.7, cell.cell.array * 1.7, cell.pbc, kinds, 1 / 1.7, labels)  # other units
        assert np.all(found.name == name), f"{name}: {found.fractions()}"
        assert found.score.max() < labels.threshold


def test_shipped_models_carry_their_label_names():
    assert load_model("fcc-bcc-hcp").labels.names == ["fcc", "bcc", "hcp", "other"]
    assert load_model("dc3-six").labels.names == [*DC3, "other"]


def test_random_atoms_are_other_and_crystal_keeps_its_label(tmp_path):
    run_lammps(MIXED, tmp_path)
    frame = next(read_dump(tmp_path / "dump.out"))
    atoms = frame.to_atoms()
    found = classify(atoms, "fcc-bcc-hcp", steps=8).labels
    centre = np.linalg.norm(atoms.positions - 14.0, axis=1)
    assert np.all(found.name[centre < 5.0] == "other")
    assert np.all(found.name[centre > 11.0] == "fcc")
    raw = classify(atoms, "fcc-bcc-hcp", steps=0).labels  # the raw hot crystal: far fewer fcc
    assert raw.fractions()["fcc"] < found.fractions()["fcc"] - 0.3


@pytest.mark.parametrize("model, structure, noise", [("fcc-bcc-hcp", "bcc", 0.1), ("sio2", "beta-cristobalite", 0.25)])
def test_compiled_and_numpy_labels_agree_slab_by_slab(model, structure, noise, monkeypatch):
    """The compiled labels (nn/kernel/denoise_labels.h, the compute's source) and the numpy
    fallback give the same labels and scores, whether the system is labelled whole or in slabs
    (silica: with the O atoms' inheritance and the average); asked only whether atoms are labelled
    (the disorder rule), the compiled kernel calls the same atoms "other" (silica, whose labels
    average: answered in full)."""
    from lmp_denoise.infer import labels as module

    model = load_model(model)
    atoms = training_cell(structure, 3000)
    atoms.positions += np.random.default_rng(8).normal(0, noise, atoms.positions.shape)  # model units
    species = np.array([model.species.index(SPECIES[structure][t]) for t in atoms.get_tags()])
    args = (atoms.positions, atoms.cell.array, atoms.pbc, species, 1.0, model.labels)
    compiled = label_atoms(*args)
    assert 0.05 < compiled.fractions()["other"] < 0.95, "a mixture of labelled and 'other' atoms"
    other = len(model.labels.names) - 1
    whether = label_atoms(*args, which=False)  # the disorder rule's question: labelled or not
    assert np.array_equal(whether.index == other, compiled.index == other)
    labelled = whether.index != other
    assert np.all(whether.index[labelled] == (-1 if model.labels.average == 0 else compiled.index[labelled]))
    monkeypatch.setattr(module, "SLAB_ATOMS", 600)
    assert len(list(module.slabs(atoms.positions, atoms.cell.array, atoms.pbc, model.labels.reach, 600))) >= 2
    sliced = label_atoms(*args)
    monkeypatch.setattr(module, "fused_kernel", lambda: None)
    plain = label_atoms(*args)
    for other in (sliced, plain):
        assert np.array_equal(other.index, compiled.index)
        assert np.abs(other.score - compiled.score).max() < 1e-9


@pytest.mark.parametrize("ranks", [1, 3])
def test_compute_labels_equal_python_labels(ranks, tmp_path):
    printed = run_lammps(MIXED, tmp_path, ranks).stdout
    frame = next(read_dump(tmp_path / "dump.out"))
    atoms = frame.to_atoms()
    table = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3, 5, 6)]].astype(float)
    python = classify(atoms, "fcc-bcc-hcp", steps=8)
    assert np.abs(python.result.atoms.positions - table[:, :3]).max() < 1e-5
    assert np.array_equal(python.labels.index, table[:, 3].astype(int))
    assert np.abs(python.labels.score - table[:, 4]).max() < 1e-5
    assert 0.05 < python.labels.fractions()["other"] < 0.2
    assert f"fcc atoms: {(python.labels.name == 'fcc').sum()}" in printed  # the README's thermo recipe


# hot beta-cristobalite (Tersoff MD, 1 ps at 1500 K): O atoms whose own templates fail take their Si's labels
HOT_SILICA = """
units metal
atom_style atomic
boundary p p p
read_data silica.data
mass 1 28.0855
mass 2 15.999
pair_style tersoff
pair_coeff * * {potential} Si O
velocity all create 3000 4928 mom yes rot yes dist gaussian
fix md all nvt temp 1500 1500 0.1
timestep 0.001
run 1000
compute dn all denoise sio2 8 labels yes types Si O
dump d all custom 1 dump.out id type x y z c_dn[1] c_dn[2] c_dn[3] c_dn[5] c_dn[6]
dump_modify d format float %.12g sort id
run 0
"""


def test_compute_inherited_labels_equal_python_labels(tmp_path):
    """Across 2 ranks (ghost Si bring their structure scores and labels), the compute's silica
    labels equal Python's; the choice averaged over the Si within 9 model units is what labels the
    hot crystal as itself, and inheritance is what labels the O atoms that their own templates
    leave "other"."""
    from lmp_denoise.data.lattices import supercell
    from lmp_denoise.data.md import potential_dir

    write(tmp_path / "silica.data", supercell("beta-cristobalite", 600), format="lammps-data", specorder=["Si", "O"])
    run_lammps(HOT_SILICA.format(potential=potential_dir() / "SiO.tersoff"), tmp_path, ranks=2)
    frame = next(read_dump(tmp_path / "dump.out"))
    atoms = frame.to_atoms()
    table = frame.tokens[:, [frame.columns.index(f"c_dn[{k}]") for k in (1, 2, 3, 5, 6)]].astype(float)
    model = load_model("sio2")
    python = classify(atoms, model, steps=8, types={1: "Si", 2: "O"})
    assert np.abs(python.result.atoms.positions - table[:, :3]).max() < 1e-4
    assert np.array_equal(python.labels.index, table[:, 3].astype(int))
    assert np.abs(python.labels.score - table[:, 4]).max() < 1e-5
    own = replace(model.labels, inherit=[])  # the same templates without inheritance
    moved, oxygen = python.result.atoms, atoms.numbers == 2
    alone = label_atoms(moved.positions, moved.cell.array, moved.pbc, oxygen.astype(int), python.result.scale, own)
    inherited = oxygen & (alone.name == "other") & (python.labels.name != "other")
    assert inherited.sum() > 0.05 * oxygen.sum()
    assert np.all(python.labels.name[~oxygen] == alone.name[~oxygen])  # Si labels are their own
    assert python.labels.fractions()["other"] < alone.fractions()["other"]
    # 1 ps at fixed volume from a 3000 K start leaves alpha and beta cristobalite regions
    shares = python.labels.fractions()
    single = replace(model.labels, average=0.0)  # each atom's own choice of structure
    single = label_atoms(moved.positions, moved.cell.array, moved.pbc, oxygen.astype(int), python.result.scale, single)
    assert model.labels.average == 9 and shares["alpha-cristobalite"] + shares["beta-cristobalite"] > 0.99
    assert np.mean(single.index != python.labels.index) > 0.05  # the compute averaged as Python does


def test_classify_cli_prints_fractions_and_writes_label_columns(tmp_path):
    run_lammps(MIXED, tmp_path)
    dump = tmp_path / "dump.out"
    printed = cli("classify", str(dump), "-q").stdout
    header, row = printed.splitlines()[:2]
    assert header.split()[2:] == ["fcc", "bcc", "hcp", "other"]
    shares = [float(v.rstrip("%")) for v in row.split()[2:]]
    assert shares[0] > 80 and abs(sum(shares) - 100) < 0.05
    cli("classify", str(dump), "-q", "-o", str(tmp_path / "labelled.dump"))
    write(tmp_path / "raw.xyz", next(read_dump(dump)).to_atoms())  # outputs keep the input's format
    cli("classify", str(tmp_path / "raw.xyz"), "-q", "-o", str(tmp_path / "labelled.xyz"))
    frame = next(read_dump(tmp_path / "labelled.dump"))
    index = frame.tokens[:, frame.columns.index(STRUCTURE_COLUMN)].astype(int)
    xyz = read(tmp_path / "labelled.xyz")
    names = np.array(["fcc", "bcc", "hcp", "other"])
    assert np.array_equal(names[index], xyz.arrays[STRUCTURE_COLUMN])
    assert np.allclose(frame.tokens[:, frame.columns.index(SCORE_COLUMN)].astype(float), xyz.arrays[SCORE_COLUMN], atol=1e-5)
    assert "0 fcc, 1 bcc, 2 hcp, 3 other" in cli("classify", str(dump), "-q", "-o", str(tmp_path / "again.dump")).stdout


@pytest.fixture
def unlabelled(tmp_path):
    """The shipped model as written before labels (and the disorder rule that needs them) existed."""
    extra = {METADATA_NAME: "", "network.pt": ""}
    module = torch.jit.load(str(resolve("fcc-bcc-hcp")), _extra_files=extra)
    meta = json.loads(extra[METADATA_NAME])
    del meta["labels"]
    del meta["iteration"]["disorder"]
    path = tmp_path / "old.pt"
    torch.jit.save(module, str(path), _extra_files={**extra, METADATA_NAME: json.dumps(meta)})
    return path


def test_model_without_labels_is_a_clear_error_and_upgrade_adds_them(unlabelled, tmp_path):
    atoms = training_cell("fcc", 100)
    with pytest.raises(ModelFileError, match="carries no structure labels; add them with 'lmp-denoise upgrade"):
        classify(atoms, load(unlabelled))
    result = cli("classify", str(unlabelled), "--model", str(unlabelled), check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    script = MIXED.replace("denoise fcc-bcc-hcp 8 labels yes", f"denoise {unlabelled} 8 labels yes")
    failed = run_lammps(script, tmp_path / "lmp", check=False)
    assert "carries no structure labels" in failed.stdout + failed.stderr
    with pytest.raises(StructureError, match="disorder first needs the structure labels that model 'old' lacks"):
        denoise(atoms, load(unlabelled), recipe=IterationRecipe(disorder="first"))
    script = MIXED.replace("denoise fcc-bcc-hcp 8 labels yes", f"denoise {unlabelled} 8 disorder first")
    failed = run_lammps(script, tmp_path / "lmp2", check=False)
    assert "disorder first needs the structure labels that model" in failed.stdout + failed.stderr
    cli("upgrade", str(unlabelled), "-o", str(tmp_path / "new.pt"))
    assert load(tmp_path / "new.pt").labels.names == ["fcc", "bcc", "hcp", "other"]
    assert np.all(classify(atoms, load(tmp_path / "new.pt"), steps=1).labels.name == "fcc")


def test_unknown_species_is_refused():
    atoms = training_cell("rocksalt", 64)
    atoms.numbers = atoms.get_tags() + 1
    with pytest.raises(StructureError, match="which the model does not know; use one of: A B"):
        classify(atoms, "dc3-six", types={1: "A", 2: "Cl"})
    assert np.all(classify(atoms, "dc3-six", types={1: "A", 2: "B"}, steps=2).labels.name == "rocksalt")
    assert denoise(atoms, "dc3-six", types={1: "A", 2: "B"}, steps=1).iterations == 1


@pytest.mark.parametrize("name", SILICA)
def test_sio2_model_restores_noisy_polymorphs(name):
    """The shipped sio2 model: a polymorph with 0.1 A Gaussian noise (Si type 1, O type 2) comes
    back labelled as itself with template scores cut about 2x, and the Si-O bond spread at least 3x."""
    atoms = training_cell(name, 500)
    atoms.set_cell(atoms.cell / training_scale(name), scale_atoms=True)  # the Tersoff geometry
    atoms.numbers = atoms.get_tags() + 1
    rng = np.random.default_rng(11)
    atoms.positions += 0.1 * rng.standard_normal(atoms.positions.shape)
    types = {1: "Si", 2: "O"}
    raw, clean = classify(atoms, "sio2", steps=0, types=types), classify(atoms, "sio2", steps=8, types=types)
    assert clean.labels.fractions()[name] > 0.99 and raw.labels.fractions()[name] <= clean.labels.fractions()[name]
    # templates fit the denoised atoms far better: 2.2-6.7x; least for beta quartz (2.0x), a saddle
    # of the Tersoff energy whose denoised network stays between the beta and alpha templates
    assert raw.labels.score.mean() > 1.8 * clean.labels.score.mean()
    bonds = [bond_lengths(c.result.atoms) for c in (raw, clean)]
    assert bonds[0].std() > 3 * bonds[1].std() and abs(bonds[1].mean() - bonds[0].mean()) < 0.03
    with pytest.raises(StructureError, match="which the model does not know; use one of: Si O"):
        classify(atoms, "sio2", types={1: "Si", 2: "Ge"})


def denoised_quartz(name: str):
    """``name`` quartz with 0.15 A noise, denoised by sio2 (8 steps) and labelled: the classify result."""
    atoms = training_cell(name, 500)
    atoms.set_cell(atoms.cell / training_scale(name), scale_atoms=True)
    atoms.numbers = atoms.get_tags() + 1
    atoms.positions += 0.15 * np.random.default_rng(11).standard_normal(atoms.positions.shape)
    return classify(atoms, "sio2", steps=8, types={1: "Si", 2: "O"})


def test_sio2_structure_choice_is_averaged_over_the_neighbourhood():
    """Beta quartz with 0.15 A noise, denoised: one atom's network often looks like alpha quartz
    (they differ by a tilt), the Si within 9 model units agree on beta quartz; the threshold on the
    atom's own score still applies."""
    model, clean = load_model("sio2"), denoised_quartz("beta-quartz")
    moved, alone = clean.result.atoms, replace(model.labels, average=0.0)
    single = label_atoms(moved.positions, moved.cell.array, moved.pbc, moved.numbers - 1, clean.result.scale, alone)
    assert clean.labels.fractions()["beta-quartz"] > 0.99 and single.fractions()["beta-quartz"] < 0.95
    assert np.all(clean.labels.score[clean.labels.name != "other"] <= model.labels.threshold)


def test_noise_does_not_turn_alpha_quartz_into_beta():
    """The denoiser keeps alpha quartz's tilt (0.12 A of Si displacement, under 0.15 A of noise):
    alpha quartz in MD turns beta only where its tilt order is lost (benchmarks/sio2/quartz_order.py)."""
    assert denoised_quartz("alpha-quartz").labels.fractions()["alpha-quartz"] > 0.99


def bond_lengths(atoms) -> np.ndarray:
    from lmp_denoise.nn.neighbors import edges

    index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, 2.0)
    return np.linalg.norm(vectors[(atoms.numbers[index[0]] == 1) & (atoms.numbers[index[1]] == 2)], axis=1)


def test_classify_labels_are_those_of_the_returned_positions():
    """classify reuses the disorder rule's label pass where the rule moved no atom back (a hot
    crystal): the labels are those of the positions it returns (the other branch, atoms moved back
    and labelled again: test_plugin.py, the half-molten crystal)."""
    atoms = training_cell("fcc", 500)
    atoms.positions += np.random.default_rng(3).normal(0, 0.15, atoms.positions.shape)
    model = load_model("fcc-bcc-hcp")
    found = classify(atoms, model, steps=4)
    out = found.result.atoms
    again = label_atoms(out.positions, out.cell.array, out.pbc, np.zeros(len(out), int), found.result.to_model, model.labels)
    assert not found.result.kept_first.any() and found.labels.fractions()["fcc"] > 0.99
    assert np.array_equal(found.labels.index, again.index) and np.array_equal(found.labels.score, again.score)
