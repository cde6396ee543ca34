"""Model files: the format (``modelfile``), the stability measurement every save records
(``response``), and the pretrained files shipped with the package, found by name."""

from __future__ import annotations

from pathlib import Path

from .modelfile import LoadedModel, ModelFileError, load

MODEL_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "fcc-bcc-hcp"


def shipped() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MODEL_DIR.glob("*.pt"))}


def resolve(name_or_path: str | Path) -> Path:
    """A model file's path, or a shipped model's name -> the file's path (the LAMMPS compute's order:
    an existing file first, then a shipped name)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    known = shipped()
    if str(name_or_path) in known:
        return known[str(name_or_path)]
    if path.suffix == ".pt" or "/" in str(name_or_path):
        return path
    raise ModelFileError(
        f"unknown model '{name_or_path}': give a model file path or one of {', '.join(known) or '(none shipped)'}"
    )


def load_model(name_or_path: str | Path = DEFAULT_MODEL, device: str = "cpu") -> LoadedModel:
    return load(resolve(name_or_path), device)
