"""Compressed denoised trajectories (.ldz): the format, an encoder and a decoder.

Denoised atoms jitter ~0.05 A from frame to frame where raw ones move ~0.5 A; that difference is
the compression. Each frame stores positions quantised on a grid of fractional coordinates whose
Cartesian error is at most the bound B, predicted from the previous frame (box breathing cancels
in fractional coordinates, a common drift is removed), and entropy coded with xz/LZMA (Python's
lzma, C's liblzma). The LAMMPS plugin's ``fix denoise/write`` writes the same format on the fly
(cpp/fix_denoise_write.cpp); keep the two in step.

File: 16-byte header ``b"LMPDNZ\\x00\\x01"`` + uint32 format version + uint32 0, then records
``b"FRAM"`` + uint32 payload size + uint32 CRC-32 of the payload + the payload (an .xz stream).
A record is appended with one write: a killed run leaves at most a damaged last record, and a
reader returns every complete frame before it. Payload (little-endian, atoms sorted by id):

    int64 timestep, int64 natoms, uint8 keyframe, uint8 has_ids, uint8 periodic[3], uint8 0,
    float64 bound, float64 origin[3], float64 cell[3][3] (rows), int64 grid[3], int64 drift[3]
    has_ids:   int64 ids[natoms], int32 types[natoms]
    keyframe:  int32 q[natoms][3]                    q = round(s * grid), s fractional
    otherwise: uint8 symbol[natoms], int32 escaped[][3]  residual r = q - q_prev - drift (minimum
               image on periodic axes); symbol = 9 (r0+1) + 3 (r1+1) + (r2+1) when all |r| <= 1,
               else 27 and r goes to ``escaped`` in atom order
    uint8 disorder[natoms]                           |displacement| < 0.5 / 1 / 2 / >= 2 A -> 0..3

The grid per axis is ceil(1.01 x max_c(nnz_c |cell[k][c]|) / 2B), where nnz_c counts the cell
rows with a non-zero component c: then every Cartesian coordinate is within B. A new keyframe
starts when atoms or types change, the box outgrows the grid, or every KEYFRAME_EVERY frames.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DenoiseError

MAGIC = b"LMPDNZ\x00\x01"
FORMAT_VERSION = 1
RECORD = b"FRAM"
KEYFRAME_EVERY = 500
GRID_MARGIN = 1.01
DISORDER_EDGES = (0.5, 1.0, 2.0)  # A: |displacement| levels 0..3
DEFAULT_BOUND = 0.02
_HEADER = struct.Struct("<qqBB3BBd3d9d3q3q")
_RECORD = struct.Struct("<4sII")
XZ_PRESET = 6


class CompressedFileError(DenoiseError, ValueError):
    """A file that is not, or no longer, a readable compressed trajectory; says what to do."""


@dataclass
class Frame:
    """One decoded frame (atoms sorted by id)."""

    timestep: int
    ids: np.ndarray
    types: np.ndarray
    positions: np.ndarray  # (N, 3), within the bound of the denoised positions
    disorder: np.ndarray  # (N,) uint8 level of |displacement|, see DISORDER_EDGES
    origin: np.ndarray
    cell: np.ndarray  # rows a, b, c
    periodic: np.ndarray
    bound: float

    def to_atoms(self):
        from ase import Atoms

        atoms = Atoms(numbers=self.types, positions=self.positions, cell=self.cell, pbc=self.periodic)
        atoms.arrays["id"] = self.ids.copy()
        atoms.arrays["disorder"] = self.disorder.astype(np.int64)
        atoms.info["timestep"] = self.timestep
        atoms.info["origin"] = self.origin
        return atoms


def disorder_levels(displacement: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(DISORDER_EDGES), np.asarray(displacement), side="right").astype(np.uint8)


def grid_for(cell: np.ndarray, bound: float) -> np.ndarray:
    nonzero = (np.abs(cell) > 0).sum(axis=0)  # rows contributing to each Cartesian component
    need = (np.abs(cell) * nonzero[None, :]).max(axis=1)
    return np.maximum(1, np.ceil(GRID_MARGIN * need / (2.0 * bound))).astype(np.int64)


def grid_holds(cell: np.ndarray, grid: np.ndarray, bound: float) -> bool:
    return bool(np.all((np.abs(cell) / (2.0 * grid[:, None])).sum(axis=0) <= bound))


def _minimum_image(d: np.ndarray, grid: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    wrapped = np.mod(d + grid // 2, grid) - grid // 2
    return np.where(periodic, wrapped, d)


@dataclass
class Encoder:
    """Turns frames into records; keeps the previous frame's quantised state."""

    bound: float = DEFAULT_BOUND
    previous: dict = field(default_factory=dict)

    def encode(self, timestep, ids, types, positions, displacement, origin, cell, periodic) -> bytes:
        if not self.bound > 0:
            raise CompressedFileError(f"the bound must be > 0 A, not {self.bound}")
        order = np.argsort(ids, kind="stable")
        ids, types = np.asarray(ids, np.int64)[order], np.asarray(types, np.int32)[order]
        positions = np.asarray(positions, np.float64)[order]
        cell, origin = np.asarray(cell, np.float64), np.asarray(origin, np.float64)
        periodic = np.asarray(periodic, bool)
        prev = self.previous
        same_atoms = prev and np.array_equal(prev["ids"], ids) and np.array_equal(prev["types"], types)
        keyframe = not (same_atoms and grid_holds(cell, prev["grid"], self.bound) and prev["age"] + 1 < KEYFRAME_EVERY)
        grid = grid_for(cell, self.bound) if keyframe else prev["grid"]
        fractional = np.linalg.solve(cell.T, (positions - origin).T).T
        fractional = np.where(periodic, fractional - np.floor(fractional), fractional)
        q = np.rint(fractional * grid).astype(np.int64)
        q = np.where(periodic, np.mod(q, grid), q)
        drift = np.zeros(3, np.int64)
        if keyframe:
            body = q.astype("<i4").tobytes()
        else:
            d = _minimum_image(q - prev["q"], grid, periodic)
            drift = np.sort(d, axis=0)[len(d) // 2] if len(d) else drift
            r = d - drift
            small = np.all(np.abs(r) <= 1, axis=1)
            symbol = np.where(small, 9 * (r[:, 0] + 1) + 3 * (r[:, 1] + 1) + (r[:, 2] + 1), 27).astype(np.uint8)
            body = symbol.tobytes() + r[~small].astype("<i4").tobytes()
        has_ids = not same_atoms
        header = _HEADER.pack(
            int(timestep), len(ids), int(keyframe), int(has_ids), *periodic.astype(int), 0, self.bound,
            *origin, *cell.reshape(-1), *grid, *drift,
        )  # fmt: skip
        parts = [header]
        if has_ids:
            parts += [ids.astype("<i8").tobytes(), types.astype("<i4").tobytes()]
        parts += [body, disorder_levels(np.asarray(displacement)[order]).tobytes()]
        payload = lzma.compress(b"".join(parts), format=lzma.FORMAT_XZ, check=lzma.CHECK_NONE, preset=XZ_PRESET)
        self.previous = {"ids": ids, "types": types, "q": q, "grid": grid, "age": 0 if keyframe else prev["age"] + 1}
        return _RECORD.pack(RECORD, len(payload), zlib.crc32(payload)) + payload


def file_header() -> bytes:
    return MAGIC + struct.pack("<II", FORMAT_VERSION, 0)


def _decode(payload: bytes, previous: Frame | None, q_prev: np.ndarray | None) -> tuple[Frame, np.ndarray]:
    data = lzma.decompress(payload)
    fields = _HEADER.unpack_from(data)
    timestep, natoms, keyframe, has_ids = fields[:4]
    periodic = np.array(fields[4:7], bool)
    bound = fields[8]
    origin = np.array(fields[9:12])
    cell = np.array(fields[12:21]).reshape(3, 3)
    grid = np.array(fields[21:24], np.int64)
    drift = np.array(fields[24:27], np.int64)
    at = _HEADER.size
    if has_ids:
        ids = np.frombuffer(data, "<i8", natoms, at).astype(np.int64)
        types = np.frombuffer(data, "<i4", natoms, at + 8 * natoms).astype(np.int64)
        at += 12 * natoms
    elif previous is None:
        raise CompressedFileError("a frame refers to atoms of a frame that is missing")
    else:
        ids, types = previous.ids, previous.types
    if keyframe:
        q = np.frombuffer(data, "<i4", 3 * natoms, at).reshape(natoms, 3).astype(np.int64)
        at += 12 * natoms
    else:
        if q_prev is None or len(q_prev) != natoms:
            raise CompressedFileError("a delta frame follows no frame it can be decoded from")
        symbol = np.frombuffer(data, np.uint8, natoms, at).astype(np.int64)
        at += natoms
        r = np.stack([symbol // 9 - 1, symbol // 3 % 3 - 1, symbol % 3 - 1], axis=1)
        escaped = symbol == 27
        count = int(escaped.sum())
        r[escaped] = np.frombuffer(data, "<i4", 3 * count, at).reshape(count, 3)
        at += 12 * count
        q = q_prev + r + drift
        q = np.where(periodic, np.mod(q, grid), q)
    disorder = np.frombuffer(data, np.uint8, natoms, at).copy()
    positions = origin + (q / grid) @ cell
    return Frame(timestep, ids, types, positions, disorder, origin, cell, periodic, bound), q


def read(path: str | Path, on_damage=None) -> Iterator[Frame]:
    """Frames of a compressed trajectory. A damaged or cut-off tail ends the iteration after the
    last complete frame and calls ``on_damage(message)`` (default: raise CompressedFileError)."""
    path = Path(path)
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise CompressedFileError(f"{path}: cannot be opened ({err.strerror})") from None
    with handle:
        head = handle.read(16)
        if head[:8] != MAGIC:
            raise CompressedFileError(f"{path}: not an lmp-denoise compressed trajectory (no LMPDNZ header)")
        (version,) = struct.unpack("<I", head[8:12])
        if version != FORMAT_VERSION:
            raise CompressedFileError(f"{path}: compressed-trajectory format {version}; this lmp-denoise reads {FORMAT_VERSION}")
        previous, q_prev, number = None, None, 0
        while True:
            start = handle.tell()
            record = handle.read(_RECORD.size)
            if not record:
                return
            problem = None
            if len(record) < _RECORD.size:
                problem = "ends inside a record header"
            else:
                tag, size, crc = _RECORD.unpack(record)
                payload = handle.read(size) if tag == RECORD else b""
                if tag != RECORD:
                    problem = "has a damaged record"
                elif len(payload) < size:
                    problem = "is cut off inside a frame"
                elif zlib.crc32(payload) != crc:
                    problem = "has a frame that fails its checksum"
            if problem:
                message = f"{path}: {problem} at byte {start}; the {number} frame(s) before it are intact"
                if on_damage is None:
                    raise CompressedFileError(message)
                on_damage(message)
                return
            previous, q_prev = _decode(payload, previous, q_prev)
            number += 1
            yield previous


def intact_length(path: str | Path) -> int:
    """Bytes of ``path`` up to the end of its last complete record (0: no valid header)."""
    path = Path(path)
    with open(path, "rb") as handle:
        if handle.read(16)[:8] != MAGIC:
            return 0
        good = 16
        while True:
            record = handle.read(_RECORD.size)
            if len(record) < _RECORD.size:
                return good
            tag, size, crc = _RECORD.unpack(record)
            payload = handle.read(size)
            if tag != RECORD or len(payload) < size or zlib.crc32(payload) != crc:
                return good
            good = handle.tell()


def is_compressed(path: str | Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == MAGIC
    except OSError:
        return False
