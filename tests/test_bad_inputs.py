"""Bad input on the command line: one line on stderr that says what to fix, exit status 2, the
inputs untouched and no partial output. (The compute's errors: test_plugin_errors.py.)"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.io import write
from conftest import BIN

from lmp_denoise.data.lattices import supercell
from lmp_denoise.io.formats import write_dump_frame
from lmp_denoise.models import resolve
from lmp_denoise.models.modelfile import METADATA_NAME


def hot(name="bcc", n=128, seed=0):
    atoms = supercell(name, n)
    atoms.set_chemical_symbols(["Fe"] * len(atoms))
    atoms.positions += np.random.default_rng(seed).normal(0, 0.1, atoms.positions.shape)
    return atoms


def dump_text(atoms) -> str:
    from io import StringIO

    handle = StringIO()
    write_dump_frame(handle, atoms, 0, {})
    return handle.getvalue()


def make_inputs(folder: Path) -> None:
    """Every input file the cases below need."""
    text = dump_text(hot())
    (folder / "ok.dump").write_text(text)
    lines = text.splitlines()
    (folder / "truncated.dump").write_text("\n".join(lines[:-20]) + "\n")
    (folder / "letters.dump").write_text(text.replace(lines[12], "13 1 abc 0.5 0.5", 1))
    (folder / "badbox.dump").write_text(text.replace(lines[5], "0 xyz", 1))
    (folder / "inverted.dump").write_text(text.replace(lines[6], "5 -5", 1))  # y hi below y lo
    point = hot()
    point.positions[:] = point.positions[0]
    write(folder / "point.xyz", point, format="extxyz")
    (folder / "nocolumns.dump").write_text(text.replace("ITEM: ATOMS id type x y z", "ITEM: ATOMS id type a b c"))
    (folder / "ragged.dump").write_text(text.replace(lines[12], lines[12] + " 7", 1))
    (folder / "empty.dump").write_text("")
    (folder / "broken.xyz").write_text('12\nLattice="1 0 0 0 1 0 0 0 1"\nFe 0 0\n')
    nan = hot()
    nan.positions[3, 1] = np.nan
    write(folder / "nan.xyz", nan, format="extxyz")
    (folder / "nan.dump").write_text(text.replace(lines[12], "4 1 nan 0.5 0.5", 1))  # atom id 4
    double = hot()
    write(folder / "double.xyz", double + double[:1], format="extxyz")
    write(folder / "stacked.xyz", double + double, format="extxyz")  # every atom twice
    write(folder / "single.xyz", hot()[:1], format="extxyz")
    gas = hot()
    gas.positions = np.random.default_rng(5).uniform(0, 1, (len(gas), 3)) @ gas.cell.array
    write(folder / "gas.xyz", gas, format="extxyz")
    salt = supercell("rocksalt", 64)
    salt.numbers = salt.get_tags() + 1
    write(folder / "salt.xyz", salt, format="extxyz")
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    (folder / "out").mkdir()
    (folder / "a" / "x.dump").write_text(text)
    (folder / "b" / "x.dump").write_text(text)
    model = resolve("fcc-bcc-hcp")
    (folder / "cut.pt").write_bytes(model.read_bytes()[:4000])
    extra = {METADATA_NAME: ""}
    module = torch.jit.load(str(model), _extra_files=extra)
    meta = json.loads(extra[METADATA_NAME])
    torch.jit.save(module, str(folder / "v7.pt"), _extra_files={METADATA_NAME: json.dumps({**meta, "format_version": 7})})
    lean = {k: v for k, v in meta.items() if k != "cutoff"}
    torch.jit.save(module, str(folder / "nocutoff.pt"), _extra_files={METADATA_NAME: json.dumps(lean)})
    for name, rule in (("badlabels", {"species": 0}), ("nodonors", {"species": 0, "count": 0, "within": 1.0})):
        mangled = {**meta, "labels": {**meta["labels"], "inherit": [rule]}}
        torch.jit.save(module, str(folder / f"{name}.pt"), _extra_files={METADATA_NAME: json.dumps(mangled)})
    (folder / "foreign.ldz").write_text("not a trajectory\n")
    header = b"LMPDNZ\x00\x01" + (1).to_bytes(4, "little") + bytes(4)
    (folder / "cut.ldz").write_bytes(header + b"FRAM" + (500).to_bytes(4, "little") + bytes(4) + b"xz")


D = ["denoise"]
CASES = [
    # (arguments, message) -- paths are relative to the case folder
    (D + ["missing.dump", "-o", "o.dump"], "no such input file: missing.dump"),
    (D + ["ok.dump", "-o", "nowhere/o.dump"], "the folder nowhere does not exist"),
    (D + ["ok.dump", "-o", "ok.dump"], "would overwrite the input"),
    (D + ["a/x.dump", "b/x.dump", "-o", "out"], "would overwrite each other"),
    (D + ["ok.dump", "a/x.dump", "-o", "o.dump"], "-o must be an existing directory"),
    (D + ["ok.dump", "-o", "o.dump", "--steps", "0"], "--steps must be 1 to 1000"),
    (D + ["ok.dump", "-o", "o.dump", "--steps", "100000000"], "--steps must be 1 to 1000"),
    (D + ["ok.dump", "-o", "o.dump", "--tol", "-1"], "--tol must be >= 0"),
    (D + ["ok.dump", "-o", "o.dump", "--scale", "big"], "--scale must be 'auto' or a positive"),
    (D + ["ok.dump", "-o", "o.dump", "--momentum", "1.2"], "momentum must be at least 0 and below 1"),
    (D + ["ok.dump", "-o", "o.dump", "--stepsize", "-1"], "stepsize must be above 0 and at most 3"),
    (D + ["ok.dump", "-o", "o.dump", "--stepsize", "2.5", "--momentum", "0.1"], "would not converge with model"),
    (D + ["ok.dump", "-o", "o.dump", "--scale", "25"], "far from the training lattices"),
    (D + ["ok.dump", "-o", "o.dump", "--scale", "0.2"], "far from the training lattices"),
    (D + ["ok.dump", "-o", "o.dump", "--scale", "1.0"], "nothing would move"),
    (D + ["ok.dump", "-o", "o.dump", "--types", "1=A"], "is not of the form TYPE:SPECIES"),
    (D + ["salt.xyz", "-o", "o.xyz", "--model", "dc3-six"], "knows 2 species (A B)"),
    (D + ["salt.xyz", "-o", "o.xyz", "--model", "dc3-six", "--types", "1:A,2:Cl"], "mapped to 'Cl'"),
    (D + ["salt.xyz", "-o", "o.xyz", "--model", "dc3-six", "--types", "1:A"], "atom types [2] have no model species"),
    (D + ["ok.dump", "-o", "o.dump", "--model", "nonsense"], "unknown model 'nonsense'"),
    (D + ["ok.dump", "-o", "o.dump", "--model", "gone.pt"], "does not exist"),
    (D + ["ok.dump", "-o", "o.dump", "--model", "cut.pt"], "not a readable lmp-denoise model file"),
    (D + ["ok.dump", "-o", "o.dump", "--model", "v7.pt"], "format version 7"),
    (D + ["ok.dump", "-o", "o.dump", "--model", "nocutoff.pt"], "metadata lacks ['cutoff']"),
    (["classify", "ok.dump", "--model", "badlabels.pt"], "has malformed structure labels (KeyError: 'count')"),
    (["classify", "ok.dump", "--model", "nodonors.pt"], "a label inheritance rule needs neighbours and a reach"),
    (D + ["truncated.dump", "-o", "o.dump"], "truncated frame"),
    (D + ["letters.dump", "-o", "o.dump"], "non-numeric id, type or position values"),
    (D + ["badbox.dump", "-o", "o.dump"], "bad box bounds"),
    (D + ["ok.dump", "-o", "o.xyz"], "the output keeps the input's format (a LAMMPS text dump), but its name says extended XYZ"),
    (D + ["inverted.dump", "-o", "o.dump"], "inverted.dump, frame 1: timestep 0: the box bounds give no box"),
    (D + ["point.xyz", "-o", "o.xyz"], "all atoms sit at one point"),
    (D + ["nocolumns.dump", "-o", "o.dump"], "no position columns"),
    (D + ["ragged.dump", "-o", "o.dump"], "wrong number of columns"),
    (D + ["empty.dump", "-o", "o.dump"], "empty"),
    (D + ["broken.xyz", "-o", "o.xyz"], "not a readable extended XYZ file"),
    (D + ["nan.xyz", "-o", "o.xyz"], "atom 3 (counting from 0) has a NaN or infinite position"),
    (D + ["nan.dump", "-o", "o.dump"], "nan.dump, frame 1: atom id 4 has a NaN or infinite position"),
    (D + ["stacked.xyz", "-o", "o.xyz"], "256 of 256 atoms sit exactly on another atom: remove duplicate atoms"),
    (D + ["double.xyz", "-o", "o.xyz"], "overlaps a neighbour"),
    (D + ["double.xyz", "-o", "o.xyz", "--scale", "2.48"], "overlaps a neighbour"),
    (D + ["single.xyz", "-o", "o.xyz"], "fewer than two atoms"),
    (D + ["gas.xyz", "-o", "o.xyz"], "looks like a gas or random points"),
    (["compress", "ok.dump", "-o", "o.ldz", "--bound", "0"], "--bound must be a positive distance"),
    (["compress", "ok.dump", "-o", "nowhere/o.ldz"], "the folder nowhere does not exist"),
    (["compress", "ok.dump", "-o", "o.ldz", "--steps", "-3"], "--steps must be 1 to 1000"),
    (["compress", "ok.dump", "-o", "o.ldz", "--tol", "-1"], "--tol must be >= 0"),
    (["decompress", "foreign.ldz", "-o", "o.dump"], "not an lmp-denoise compressed trajectory"),
    (["decompress", "cut.ldz", "-o", "o.dump"], "cut off inside a frame"),
    (["decompress", "gone.ldz", "-o", "o.dump"], "no such file"),
    (["decompress", "cut.ldz", "-o", "nowhere/o.dump"], "the folder nowhere does not exist"),
    (["train", "-o", "nowhere/m.pt"], "the folder nowhere does not exist"),
    (["train", "-o", "m.pt", "--resume", "gone.ckpt"], "no such checkpoint"),
    (["train", "-o", "m.pt", "--device", "cuda"], "sees no CUDA GPU"),
    (["train", "-o", "m.pt", "--device", "tpu"], "--device must be cpu or cuda"),
    (["train", "-o", "m.pt", "--structures", "fcc,quasicrystal"], "unknown structure(s) ['quasicrystal']"),
    (["train", "-o", "m.pt", "--lr", "0"], "--lr and --cutoff must be > 0"),
    (["train", "-o", "m.pt", "--steps", "0"], "--steps must be at least 1"),
    (["upgrade", "gone.pt", "-o", "new.pt"], "does not exist"),
    (["upgrade", "nonsense", "-o", "new.pt"], "unknown model 'nonsense'"),
    (["upgrade", "sio2", "-o", "new.pt", "--open-space", "maybe"], "--open-space must be on or off, not 'maybe'"),
    (["upgrade", str(resolve("sio2")), "-o", "new.pt", "--shape", "yes"], "its first shell is not isotropic"),
    (["upgrade", str(resolve("sio2")), "-o", "new.pt", "--shape", "maybe"], "--shape must be yes or no, not 'maybe'"),
    (["upgrade", str(resolve("sio2")), "-o", "new.pt", "--scale-recipe", "newest"], "--scale-recipe must be current or keep"),
    (D + ["ok.dump", "-o", "o.dump", "--shape", "cubic"], "--shape must be auto or none, not 'cubic'"),
    (D + ["ok.dump", "-o", "o.dump", "--disorder", "some"], "--disorder must be first or all, not 'some'"),
    (["upgrade", str(resolve("sio2")), "-o", "new.pt", "--disorder", "none"], "--disorder must be first or all, not 'none'"),
    (["upgrade", str(resolve("sio2")), "-o", "new.pt", "--label-average", "13"], "--label-average must be 0 (off) to 12"),
    (["train", "-o", "m.pt", "--label-average", "-1"], "--label-average must be 0 (off) to 12 model units, not -1"),
    (["evaluate", "ok.dump", "--expect", "quasicrystal"], "--expect must be one of"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    make_inputs(folder)
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("arguments, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_gets_one_line_and_leaves_no_trace(inputs, arguments, message):
    before = snapshot(inputs)
    result = subprocess.run([str(BIN / "lmp-denoise"), *arguments], capture_output=True, text=True, cwd=inputs, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("lmp-denoise: error:"), result.stderr[-2000:]
    assert message in lines[0], lines[0]
    assert snapshot(inputs) == before  # inputs untouched, nothing written, no temporary left
