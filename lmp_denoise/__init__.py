"""lmp-denoise: score-based denoising of atomistic snapshots (Hsu et al., npj Comput Mater 2024).

The package's rooms follow the data: ``data`` (lattices, noisy copies, MD
snapshots) -> ``train`` -> ``nn`` (the network and its fused kernel) -> ``models`` (the model
file, the one contract with the LAMMPS compute and OVITO, and the shipped models) -> ``infer``
(scale, iteration, labels) -> ``io`` (snapshot formats, .ldz) and ``integrations`` (OVITO,
LAMMPS). The names most scripts need are importable from here:

    from lmp_denoise import denoise, load_model
    result = denoise(atoms, "fcc-bcc-hcp", steps=8)
"""

from .errors import DenoiseError

__version__ = "0.12.0"

#: name -> module that defines it; imported on first use, so that ``import lmp_denoise`` (and the
#: command line's --help) does not load torch.
_LAZY = {
    "denoise": "infer.denoise",
    "classify": "infer.denoise",
    "Denoiser": "infer.denoise",
    "IterationRecipe": "infer.denoise",
    "load_model": "models",
    "read_frames": "io.formats",
}

__all__ = ["DenoiseError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'lmp_denoise' has no attribute '{name}'")
