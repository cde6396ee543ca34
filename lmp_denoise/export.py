"""The model file: TorchScript weights plus the metadata every runtime needs.

It is the one contract between Python and the LAMMPS compute: both read the cutoff, the number
of layers (receptive field), the reference volume per atom and the species from it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from e3nn.util.jit import script

from .io import default_file_mode

FORMAT_VERSION = 1
METADATA_NAME = "metadata.json"
REQUIRED_KEYS = ("format_version", "cutoff", "num_layers", "reference_volume", "species", "dtype")


class ModelFileError(ValueError):
    """A model file that cannot be used; the message says what to do."""


@dataclass
class LoadedModel:
    module: torch.jit.ScriptModule
    metadata: dict
    path: Path

    @property
    def cutoff(self) -> float:
        return float(self.metadata["cutoff"])

    @property
    def num_layers(self) -> int:
        return int(self.metadata["num_layers"])

    @property
    def reference_volume(self) -> float:
        return float(self.metadata["reference_volume"])

    @property
    def species(self) -> list[str]:
        return list(self.metadata["species"])

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.metadata["dtype"])


def export(model: torch.nn.Module, metadata: dict, path: str | Path) -> Path:
    """Script ``model`` and write it with ``metadata`` atomically to ``path``."""
    missing = [k for k in REQUIRED_KEYS if k != "format_version" and k not in metadata]
    if missing:
        raise ValueError(f"model metadata lacks {missing}")
    path = Path(path)
    scripted = script(model.eval().cpu())
    extra = {METADATA_NAME: json.dumps({"format_version": FORMAT_VERSION, **metadata}, indent=1)}
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", suffix=".tmp")
    os.close(fd)
    try:
        torch.jit.save(scripted, tmp, _extra_files=extra)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load(path: str | Path, device: str = "cpu") -> LoadedModel:
    """Load a model file, with an error that names the problem for anything unusable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file '{path}' does not exist")
    extra = {METADATA_NAME: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as err:  # torch raises several types for damaged archives
        raise ModelFileError(
            f"'{path}' is not a readable lmp-denoise model file (re-export it with"
            f" 'lmp-denoise train' or re-install the package): {str(err).splitlines()[0]}"
        ) from None
    try:
        metadata = json.loads(extra[METADATA_NAME])
    except json.JSONDecodeError:
        raise ModelFileError(f"'{path}' carries no lmp-denoise metadata; export it with lmp-denoise") from None
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"'{path}' has model format version {version}, this lmp-denoise reads version"
            f" {FORMAT_VERSION}: re-export the model with this version"
        )
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise ModelFileError(f"'{path}' metadata lacks {missing}; re-export the model")
    return LoadedModel(module.eval(), metadata, path)
