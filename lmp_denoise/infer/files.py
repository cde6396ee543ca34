"""Denoising whole snapshot files, frame by frame, into the same format (MPI ranks share frames)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..io.formats import (
    DISPLACEMENT_COLUMN,
    SCORE_COLUMN,
    STRUCTURE_COLUMN,
    SnapshotError,
    atomic_output,
    check_output_name,
    detect_format,
    open_snapshot,
    read_dump,
    read_extxyz,
    write_dump_frame,
    write_extxyz,
)
from ..io.progress import Progress
from ..models.modelfile import LoadedModel
from .denoise import DEFAULTS, DenoiseResult, Settings, classify, denoise
from .labels import Labels
from .scale import StructureError


def denoise_file(
    source: str | Path,
    target: str | Path | None,
    model: LoadedModel,
    settings: Settings = DEFAULTS,
    progress: bool = True,
    comm=None,
    labels: Callable[[int, Labels], None] | None = None,
) -> int:
    """Denoise every frame of ``source`` into ``target``; returns the number of frames.

    With ``labels``, each frame is also classified (structure and structure_score columns; the
    structure as a name in extended XYZ, as the label index in a dump) and ``labels(frame number,
    Labels)`` is called; ``target`` None writes nothing. With an MPI communicator, rank r denoises
    frames r, r + size, ... into a private part file and rank 0 joins the parts in frame order: the
    output is the one a single process writes.
    """
    if target is None:
        return _frames_only(Path(source), model, settings, progress, labels)
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise StructureError(f"{target}: the output would overwrite the input; choose another name")
    rank, size = (comm.rank, comm.size) if comm is not None else (0, 1)
    kind = detect_format(source)
    check_output_name(target, kind)
    part = target.parent / f".{target.name}.rank{rank}.part"
    pieces: list[tuple[int, int, int]] = []  # (frame, offset, length) in this rank's part file
    frames, error = 0, None
    try:
        with open_snapshot(part, "wt", compressed=False) if size > 1 else atomic_output(target) as handle:
            mine = None if size == 1 else (lambda index: index % size == rank)
            reader = read_dump(source, mine) if kind == "lammps-dump" else read_extxyz(source)
            log = FrameLog(source.name, progress and rank == 0)
            for number, frame in enumerate(log.wrap(reader)):
                frames += 1
                if number % size != rank:
                    continue
                start = handle.tell() if size > 1 else 0
                where = f"{source}, frame {number + 1}"
                result, found = _denoise_frame(frame, kind, model, settings, labels is not None, where)
                _write_frame(handle, frame, kind, result, found)
                log.frame(number, result)
                if labels is not None:
                    labels(number, found)
                if size > 1:
                    pieces.append((number, start, handle.tell() - start))
    except (StructureError, ValueError) as err:
        error = str(err)
        if size == 1:
            raise
    if size > 1:
        _join_parts(comm, target, part, pieces, error)
    if frames == 0:
        raise StructureError(f"{source}: holds no frames")
    return frames


class FrameLog(Progress):
    """Progress of a file: the last frame's summary on a terminal bar, else one line per frame
    (frame, atoms, iterations, largest move, scale, atoms/s) for batch logs."""

    def __init__(self, name: str, enabled: bool) -> None:
        super().__init__(name, "frame")
        self.enabled = enabled
        self.work = 0  # atom-iterations so far

    def wrap(self, frames):
        return super().wrap(frames) if self.enabled else frames

    def frame(self, number: int, result: DenoiseResult) -> None:
        if not self.enabled:
            return
        self.work += len(result.atoms) * result.iterations
        summary = f"{result.iterations} it, largest move {result.max_move:.3g} A, scale {result.scale:.3f}"
        if result.deformation > 0.0:
            summary += f", deformation {result.deformation:.1%}"
        if result.kept_first.any():
            summary += f", {int(result.kept_first.sum())} disordered atoms kept the first move"
        rate = self.work / max(1e-9, self.elapsed)
        self.report(summary, lambda: f"frame {number + 1}, {len(result.atoms)} atoms, {summary}, {rate:,.0f} atom-iterations/s")


def _frames_only(source: Path, model: LoadedModel, settings: Settings, progress: bool, labels) -> int:
    """Denoise and classify every frame of ``source``, writing nothing (``labels`` gets the labels)."""
    kind = detect_format(source)
    log = FrameLog(source.name, progress)
    frames = 0
    for number, frame in enumerate(log.wrap(read_dump(source) if kind == "lammps-dump" else read_extxyz(source))):
        result, found = _denoise_frame(frame, kind, model, settings, True, f"{source}, frame {number + 1}")
        log.frame(number, result)
        labels(number, found)
        frames += 1
    if frames == 0:
        raise StructureError(f"{source}: holds no frames")
    return frames


def _denoise_frame(frame, kind: str, model: LoadedModel, settings: Settings, with_labels: bool, where: str):
    """(DenoiseResult, Labels or None) of one frame; errors name the frame."""
    try:
        atoms = frame.to_atoms() if kind == "lammps-dump" else frame
        if with_labels:
            found = classify(atoms, model, **settings.kwargs())
            return found.result, found.labels
        return denoise(atoms, model, **settings.kwargs()), None
    except (StructureError, SnapshotError) as err:
        raise type(err)(f"{where}: {err}") from None


def _write_frame(handle, frame, kind: str, result: DenoiseResult, labels: Labels | None) -> None:
    extra = {DISPLACEMENT_COLUMN: np.linalg.norm(result.displacement, axis=1)}
    if labels is not None:
        extra[STRUCTURE_COLUMN] = labels.index if kind == "lammps-dump" else labels.name.astype(str)
        extra[SCORE_COLUMN] = labels.score
    if kind == "lammps-dump":
        frame.with_positions(result.atoms.positions, extra).write(handle)
    else:
        write_extxyz(handle, result.atoms, extra)


def _join_parts(comm, target: Path, part: Path, pieces: list, error: str | None) -> None:
    """Rank 0 writes the frames of every rank's part file in frame order; all ranks share errors."""
    errors = [e for e in comm.allgather(error) if e]
    everything = comm.gather((str(part), pieces), root=0)
    try:
        if not errors and comm.rank == 0:
            order = sorted((frame, path, offset, length) for path, rows in everything for frame, offset, length in rows)
            sources = {path: open(path, "rb") for path, _ in everything}
            try:
                with atomic_output(target, "wb") as out:
                    for _, path, offset, length in order:
                        sources[path].seek(offset)
                        shutil.copyfileobj(_Limited(sources[path], length), out)
            finally:
                for handle in sources.values():
                    handle.close()
        comm.Barrier()
    finally:
        if part.exists():
            os.remove(part)
    if errors:
        raise StructureError(errors[0])


class _Limited:
    """Read at most ``length`` bytes of a file object."""

    def __init__(self, handle, length: int) -> None:
        self.handle, self.left = handle, length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(size)
        self.left -= len(data)
        return data


def compress_files(
    sources: list[Path],
    target: Path,
    model: LoadedModel,
    bound: float,
    settings: Settings = DEFAULTS,
    progress: bool = True,
) -> int:
    """Denoise every frame of ``sources`` (in order) into one compressed trajectory; returns frames."""
    from ..io.compression import Encoder, file_header
    from ..io.formats import read_frames

    for source in sources:
        if source.resolve() == target.resolve():
            raise StructureError(f"{target}: the output would overwrite an input; choose another name")
    encoder = Encoder(bound)
    frames = 0
    with atomic_output(target, "wb") as handle:
        handle.write(file_header())
        for source in sources:
            log = FrameLog(source.name, progress)
            for number, atoms in enumerate(log.wrap(read_frames(source))):
                try:
                    result = denoise(atoms, model, **settings.kwargs())
                except StructureError as err:
                    raise StructureError(f"{source}, frame {number + 1}: {err}") from None
                log.frame(number, result)
                ids = atoms.arrays.get("id", np.arange(1, len(atoms) + 1))
                origin = atoms.info.get("origin", np.zeros(3))
                record = encoder.encode(
                    atoms.info.get("timestep", frames), ids, atoms.numbers, result.atoms.positions,
                    np.linalg.norm(result.displacement, axis=1), origin, atoms.cell.array, atoms.pbc,
                )  # fmt: skip
                handle.write(record)
                frames += 1
    if frames == 0:
        raise StructureError(f"{', '.join(map(str, sources))}: hold no frames")
    return frames


def decompress_file(source: Path, target: Path, kind: str, salvage: bool = False) -> tuple[int, str | None]:
    """Write the frames of a compressed trajectory as a LAMMPS text dump or extended XYZ.

    Returns (frames, damage message or None); a damaged file is an error unless ``salvage``."""
    from ..io.compression import read

    damage: list[str] = []
    frames = 0
    with atomic_output(target) as handle:
        for frame in read(source, on_damage=damage.append if salvage else None):
            atoms = frame.to_atoms()
            if kind == "extxyz":
                from ase.io import write

                write(handle, atoms, format="extxyz")
            else:
                write_dump_frame(handle, atoms, frame.timestep, {"disorder": frame.disorder})
            frames += 1
    return frames, (damage[0] if damage else None)
