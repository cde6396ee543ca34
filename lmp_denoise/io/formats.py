"""Reading and writing snapshots: LAMMPS text dumps (plain or .gz, many frames) and extended XYZ.

Dump frames keep every column and header line of the input; only the position columns are
replaced and one column is added, so a denoised dump loads wherever the raw one did. Outputs are
written to a temporary file and renamed, so an interrupted run never leaves a damaged file.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from ..errors import DenoiseError

DISPLACEMENT_COLUMN = "denoise_disp"
STRUCTURE_COLUMN = "structure"  # label (name in extended XYZ, index into the model's label names in dumps)
SCORE_COLUMN = "structure_score"  # the label's template score (lmp_denoise/infer/labels.py)
_CARTESIAN = (("x", "y", "z"), ("xu", "yu", "zu"))
_SCALED = (("xs", "ys", "zs"), ("xsu", "ysu", "zsu"))


class SnapshotError(DenoiseError, ValueError):
    """An input file that cannot be read; the message names the file and the problem."""


def open_snapshot(path: Path, mode: str = "rt", compressed: bool | None = None):
    """gzip for .gz (or as ``compressed`` says); text as UTF-8 whatever the locale, and bytes that
    are not UTF-8 pass through unchanged."""
    text = {} if "b" in mode else {"encoding": "utf-8", "errors": "surrogateescape"}
    gz = path.suffix == ".gz" if compressed is None else compressed
    return gzip.open(path, mode, **text) if gz else open(path, mode, **text)


#: file name endings that name a format (a .gz after them is allowed)
SUFFIXES = {"lammps-dump": (".dump", ".lammpstrj"), "extxyz": (".xyz", ".extxyz")}
NAMES = {"lammps-dump": "a LAMMPS text dump", "extxyz": "extended XYZ"}


def check_output_name(target: str | Path, kind: str) -> None:
    """Outputs keep their input's format: a name that promises another format is an error."""
    name = Path(target).name.removesuffix(".gz")
    named = [k for k, endings in SUFFIXES.items() if name.endswith(endings)]
    if named and named[0] != kind:
        raise SnapshotError(
            f"{target}: the output keeps the input's format ({NAMES[kind]}), but its name says {NAMES[named[0]]}; "
            f"name it *{SUFFIXES[kind][0]}"
        )


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise SnapshotError(f"{path}: no such file")
    try:
        with open_snapshot(path) as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise SnapshotError(f"{path}: cannot be read ({err})") from None
    if first.startswith("ITEM:"):
        return "lammps-dump"
    if first.strip().isdigit():
        return "extxyz"
    raise SnapshotError(f"{path}: neither a LAMMPS text dump nor an extended XYZ file")


@dataclass
class DumpFrame:
    """One dump frame, with the raw tokens of every column kept for writing back."""

    header: list[str]  # lines up to, not including, 'ITEM: ATOMS ...'
    columns: list[str]
    tokens: np.ndarray  # (N, ncols) bytes as read (ASCII, ~5x smaller than str objects), str once rewritten
    bounds: np.ndarray  # (3, 2) or (3, 3) box bounds rows as in the file
    boundary: list[str]

    @property
    def triclinic(self) -> bool:
        return self.bounds.shape[1] == 3

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """Origin and cell vectors (rows), undoing LAMMPS's bounding-box convention for tilts.

        General triclinic dumps ('ITEM: BOX BOUNDS abc origin') list each edge vector and one
        origin component per row."""
        if self.bounds.shape[1] == 4:
            return self.bounds[:, 3].copy(), self.bounds[:, :3].copy()
        lo, hi = self.bounds[:, 0].copy(), self.bounds[:, 1].copy()
        xy = xz = yz = 0.0
        if self.triclinic:
            xy, xz, yz = self.bounds[:, 2]
            lo[0] -= min(0.0, xy, xz, xy + xz)
            hi[0] -= max(0.0, xy, xz, xy + xz)
            lo[1] -= min(0.0, yz)
            hi[1] -= max(0.0, yz)
        cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
        return lo, cell

    def _position_columns(self) -> tuple[list[int], bool]:
        for names in _CARTESIAN + _SCALED:
            if all(n in self.columns for n in names):
                return [self.columns.index(n) for n in names], names in _SCALED
        raise SnapshotError(f"dump has no position columns (x y z, xu yu zu, xs ys zs): {self.columns}")

    def to_atoms(self) -> Atoms:
        origin, cell = self.box()
        if not (np.linalg.det(cell) > 0 and (self.bounds.shape[1] == 4 or np.all(np.diag(cell) > 0))):
            raise SnapshotError(f"timestep {self.header[1]}: the box bounds give no box (a hi below its lo, or zero volume)")
        index, scaled = self._position_columns()
        try:
            values = self.tokens[:, index].astype(np.float64)
            types = self.tokens[:, self.columns.index("type")].astype(int) if "type" in self.columns else 1
            ids = self.tokens[:, self.columns.index("id")].astype(np.int64) if "id" in self.columns else None
        except ValueError:
            raise SnapshotError(f"timestep {self.header[1]}: non-numeric id, type or position values") from None
        positions = values @ cell + origin if scaled else values
        atoms = Atoms(
            numbers=np.ones(len(values), int) * types, positions=positions, cell=cell, pbc=[b == "pp" for b in self.boundary]
        )
        atoms.info["origin"] = origin
        if ids is not None:
            atoms.arrays["id"] = ids
        return atoms

    def with_positions(self, positions: np.ndarray, extra: dict[str, np.ndarray]) -> DumpFrame:
        """This frame with new positions and per-atom ``extra`` columns (replaced if present)."""
        origin, cell = self.box()
        index, scaled = self._position_columns()
        values = np.linalg.solve(cell.T, (positions - origin).T).T if scaled else positions
        tokens = self.tokens.astype(str).astype(object)
        for k, column in enumerate(index):
            tokens[:, column] = [f"{v:.10g}" for v in values[:, k]]
        columns = self.columns.copy()
        for name, data in extra.items():
            text = np.array([_token(v) for v in data], dtype=object)
            if name in columns:
                tokens[:, columns.index(name)] = text
            else:
                columns.append(name)
                tokens = np.column_stack([tokens, text])
        return DumpFrame(self.header, columns, tokens, self.bounds, self.boundary)

    def write(self, handle) -> None:
        handle.writelines(line + "\n" for line in self.header)
        handle.write("ITEM: ATOMS " + " ".join(self.columns) + "\n")
        rows = self.tokens if self.tokens.dtype == object else self.tokens.astype(str)
        handle.writelines(" ".join(row) + "\n" for row in rows)


def _token(value) -> str:
    return str(value) if isinstance(value, str | np.integer | int) else f"{value:.6g}"


def read_dump(path: str | Path, wanted: Callable[[int], bool] | None = None) -> Iterator[DumpFrame | None]:
    """Frames of a LAMMPS text dump, one at a time; frames ``wanted(index)`` rejects are skipped
    unparsed and come as None (MPI ranks that share a trajectory)."""
    path = Path(path)
    with open_snapshot(path) as handle:
        lines = _numbered(handle, path)
        index = 0
        for number, line in lines:
            if not line.strip():
                continue
            yield _read_frame(line, number, lines, path, wanted is None or wanted(index))
            index += 1


def _numbered(handle, path: Path):
    try:
        for number, line in enumerate(handle, 1):
            yield number, line.rstrip("\n")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise SnapshotError(f"{path}: cannot be read, the file is damaged or truncated ({err})") from None


def _read_frame(first: str, number: int, lines, path: Path, parse: bool = True) -> DumpFrame | None:
    def take(what: str) -> str:
        try:
            return next(lines)[1]
        except StopIteration:
            raise SnapshotError(f"{path}: truncated frame starting at line {number} (ends inside {what})") from None

    if not first.startswith("ITEM: TIMESTEP"):
        raise SnapshotError(f"{path}:{number}: expected 'ITEM: TIMESTEP', found '{first[:40]}'")
    header = [first, take("TIMESTEP"), take("NUMBER OF ATOMS")]
    try:
        natoms = int(take("NUMBER OF ATOMS"))
    except ValueError:
        raise SnapshotError(f"{path}: bad atom count in the frame starting at line {number}") from None
    header.append(str(natoms))
    box_line = take("BOX BOUNDS")
    if not box_line.startswith("ITEM: BOX BOUNDS"):
        raise SnapshotError(f"{path}: frame at line {number} has no 'ITEM: BOX BOUNDS'")
    words = box_line.split()[3:]
    boundary = [w for w in words if w not in ("xy", "xz", "yz", "abc", "origin")][:3]
    rows = [take("BOX BOUNDS") for _ in range(3)]
    header += [box_line, *rows]
    try:
        bounds = np.array([[float(v) for v in r.split()] for r in rows])
        if bounds.shape[1] != (4 if "abc" in words else 3 if "xy" in words else 2):
            raise ValueError
    except ValueError:
        raise SnapshotError(f"{path}: bad box bounds in the frame starting at line {number}") from None
    atoms_line = take("ATOMS")
    if not atoms_line.startswith("ITEM: ATOMS"):
        raise SnapshotError(f"{path}: frame at line {number} has no 'ITEM: ATOMS' line")
    columns = atoms_line.split()[2:]
    if not parse:
        for _ in range(natoms):
            take("the atom lines")
        return None
    table = [take("the atom lines").split() for _ in range(natoms)]
    if any(len(row) != len(columns) for row in table):
        raise SnapshotError(f"{path}: frame at line {number} has atom lines with a wrong number of columns")
    try:
        tokens = np.array(table, dtype=bytes).reshape(natoms, len(columns))
    except UnicodeEncodeError:  # a column of non-ASCII text: kept as str objects
        tokens = np.array(table, dtype=object).reshape(natoms, len(columns))
    return DumpFrame(header, columns, tokens, bounds, boundary or ["pp"] * 3)


def default_file_mode() -> int:
    """Permissions a plainly created file would get (mkstemp makes files private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(path: str | Path, mode: str = "wt"):
    """A handle to a temporary file that replaces ``path`` only when the block succeeds."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise SnapshotError(f"cannot write {path}: {err.strerror}") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        with open_snapshot(tmp, mode, compressed=path.suffix == ".gz") as handle:
            yield handle
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_extxyz(path: str | Path) -> Iterator[Atoms]:
    from ase.io import iread

    try:
        yield from iread(str(path), index=":", format="extxyz")
    except Exception as err:  # ASE raises many types for malformed files
        raise SnapshotError(f"{path}: not a readable extended XYZ file ({err})") from None


def write_extxyz(handle, atoms: Atoms, extra: dict[str, np.ndarray]) -> None:
    """One extended XYZ frame with per-atom ``extra`` columns."""
    from ase.io import write

    atoms = atoms.copy()
    for name, data in extra.items():
        atoms.arrays[name] = np.asarray(data)
    write(handle, atoms, format="extxyz")


def read_frames(path: str | Path) -> Iterator[Atoms]:
    """Every frame of a dump, extxyz or compressed (.ldz) file as ``Atoms``."""
    from .compression import is_compressed, read

    if is_compressed(path):
        return (frame.to_atoms() for frame in read(path))
    if detect_format(path) == "lammps-dump":
        return (frame.to_atoms() for frame in read_dump(path))
    return read_extxyz(path)


def write_dump_frame(handle, atoms: Atoms, timestep: int, extra: dict[str, np.ndarray]) -> None:
    """A LAMMPS text dump frame (id type x y z + extra columns), box in LAMMPS's convention."""
    cell = atoms.cell.array
    origin = np.asarray(atoms.info.get("origin", np.zeros(3)), float)
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    lo, hi = origin, origin + np.diag(cell)
    boundary = " ".join("pp" if p else "ff" for p in atoms.pbc)
    handle.write(f"ITEM: TIMESTEP\n{timestep}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n")
    if xy == 0 and xz == 0 and yz == 0:
        handle.write(f"ITEM: BOX BOUNDS {boundary}\n")
        handle.write("".join(f"{lo[k]:.10g} {hi[k]:.10g}\n" for k in range(3)))
    else:
        xlo = lo[0] + min(0.0, xy, xz, xy + xz)
        xhi = hi[0] + max(0.0, xy, xz, xy + xz)
        ylo, yhi = lo[1] + min(0.0, yz), hi[1] + max(0.0, yz)
        handle.write(f"ITEM: BOX BOUNDS xy xz yz {boundary}\n")
        handle.write(f"{xlo:.10g} {xhi:.10g} {xy:.10g}\n{ylo:.10g} {yhi:.10g} {xz:.10g}\n{lo[2]:.10g} {hi[2]:.10g} {yz:.10g}\n")
    ids = atoms.arrays.get("id", np.arange(1, len(atoms) + 1))
    handle.write("ITEM: ATOMS id type x y z " + " ".join(extra) + "\n")
    columns = [ids, atoms.numbers, *atoms.positions.T, *extra.values()]
    formats = ["%d", "%d", "%.8g", "%.8g", "%.8g"] + [
        "%d" if np.issubdtype(v.dtype, np.integer) else "%.6g" for v in extra.values()
    ]
    np.savetxt(handle, np.column_stack(columns).astype(object), fmt=" ".join(formats))
