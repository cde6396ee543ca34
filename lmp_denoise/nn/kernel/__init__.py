"""The fused CPU kernel of the tabulated network, compiled on this machine on first use.

``denoise_kernel.h`` is the same source the LAMMPS plugin compiles in. Here it is built by
``torch.utils.cpp_extension`` into the user's torch-extension cache (seconds, once per machine and
torch version). Without a working compiler, inference falls back to the network's TorchScript
methods (same numbers, slower) after one warning.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType

import torch

SOURCE_DIR = Path(__file__).resolve().parent


@cache
def fused_kernel() -> ModuleType | None:
    """The compiled kernel module, or None where it cannot be built (set LMP_DENOISE_KERNEL=0 to skip)."""
    if os.environ.get("LMP_DENOISE_KERNEL", "1") == "0":
        return None
    from torch.utils.cpp_extension import load

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load(
                name=f"lmp_denoise_kernel_{torch.__version__.replace('.', '_').replace('+', '_')}",
                sources=[str(SOURCE_DIR / "python_binding.cpp")],
                extra_include_paths=[str(SOURCE_DIR)],
                extra_cflags=["-O3", "-march=native"],  # built for, and run on, this machine
                verbose=False,
            )
    except Exception as err:  # no compiler, no headers, no ninja: the TorchScript path still works
        message = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        warnings.warn(
            f"lmp-denoise: could not compile the fused CPU kernel ({message}); using the slower TorchScript path",
            stacklevel=2,
        )
        return None
