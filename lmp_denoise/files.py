"""Denoising whole snapshot files, frame by frame, into the same format."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from .denoise import denoise
from .modelfile import LoadedModel
from .io import atomic_output, detect_format, read_dump, read_extxyz, write_extxyz
from .scale import StructureError


def denoise_file(
    source: str | Path,
    target: str | Path,
    model: LoadedModel,
    steps: int = 8,
    tol: float = 0.0,
    scale: str | float = "auto",
    types: dict[int, int] | None = None,
    progress: bool = True,
) -> int:
    """Denoise every frame of ``source`` into ``target``; returns the number of frames."""
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise StructureError(f"{target}: the output would overwrite the input; choose another name")
    kind = detect_format(source)
    frames = 0
    with atomic_output(target) as handle:
        reader = read_dump(source) if kind == "lammps-dump" else read_extxyz(source)
        for frame in tqdm(reader, desc=source.name, unit="frame", disable=None if progress else True):
            atoms = frame.to_atoms() if kind == "lammps-dump" else frame
            try:
                result = denoise(atoms, model, steps=steps, tol=tol, scale=scale, types=types)
            except StructureError as err:
                raise StructureError(f"{source}, frame {frames + 1}: {err}") from None
            if kind == "lammps-dump":
                frame.with_positions(result.atoms.positions, result.displacement).write(handle)
            else:
                write_extxyz(handle, result.atoms, result.displacement)
            frames += 1
    if frames == 0:
        raise StructureError(f"{source}: holds no frames")
    return frames
