"""Structure identification with OVITO (optional extra): adaptive CNA, PTM, Wigner-Seitz.

PTM runs with every template enabled, so it is not told which structure to expect.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..errors import DenoiseError

#: Class names accepted by ``--expect``, with OVITO's type numbers for each classifier.
CLASSES = {
    "liquid": {"a-CNA": 0, "PTM": 0},
    "other": {"a-CNA": 0, "PTM": 0},
    "fcc": {"a-CNA": 1, "PTM": 1},
    "hcp": {"a-CNA": 2, "PTM": 2},
    "bcc": {"a-CNA": 3, "PTM": 3},
    "ico": {"a-CNA": 4, "PTM": 4},
    "sc": {"a-CNA": None, "PTM": 5},
    "cd": {"a-CNA": None, "PTM": 6},
    "hd": {"a-CNA": None, "PTM": 7},
}


class MissingExtraError(DenoiseError, RuntimeError):
    """An optional dependency is not installed; the message says how to install it."""


def _require_ovito():
    try:
        import ovito  # noqa: F401
    except ImportError:
        raise MissingExtraError("evaluation needs OVITO: pip install 'lmp-denoise[eval]'") from None


def _data(atoms: Atoms):
    from ovito.io.ase import ase_to_ovito

    return ase_to_ovito(atoms)


def adaptive_cna_types(atoms: Atoms) -> np.ndarray:
    """Per-atom structure type numbers from adaptive CNA (OVITO)."""
    _require_ovito()
    from ovito.modifiers import CommonNeighborAnalysisModifier

    data = _data(atoms)
    data.apply(CommonNeighborAnalysisModifier(mode=CommonNeighborAnalysisModifier.Mode.AdaptiveCutoff))
    return np.array(data.particles["Structure Type"])


def ptm_types(atoms: Atoms, rmsd_cutoff: float = 0.1) -> np.ndarray:
    """Per-atom structure type numbers from PTM with every template, so it does not know the answer."""
    _require_ovito()
    from ovito.modifiers import PolyhedralTemplateMatchingModifier

    data = _data(atoms)
    ptm = PolyhedralTemplateMatchingModifier(rmsd_cutoff=rmsd_cutoff)
    for structure in ptm.structures:
        structure.enabled = True
    data.apply(ptm)
    return np.array(data.particles["Structure Type"])


def structure_types(atoms: Atoms, rmsd_cutoff: float = 0.1) -> dict[str, np.ndarray]:
    """Per-atom structure type numbers from adaptive CNA and from PTM (all templates)."""
    return {"a-CNA": adaptive_cna_types(atoms), "PTM": ptm_types(atoms, rmsd_cutoff)}


def accuracy(atoms: Atoms, expect: str, rmsd_cutoff: float = 0.1) -> dict[str, float]:
    """Fraction of atoms each classifier assigns to ``expect`` (NaN where it has no such class)."""
    if expect not in CLASSES:
        raise ValueError(f"unknown class '{expect}'; choose from {', '.join(CLASSES)}")
    types = structure_types(atoms, rmsd_cutoff)
    return {
        name: float("nan") if CLASSES[expect][name] is None else float(np.mean(labels == CLASSES[expect][name]))
        for name, labels in types.items()
    }


def wigner_seitz_defects(atoms: Atoms, reference: Atoms) -> tuple[int, int]:
    """(vacancies, interstitials) of ``atoms`` against the perfect lattice ``reference``."""
    _require_ovito()
    from ovito.modifiers import WignerSeitzAnalysisModifier
    from ovito.pipeline import StaticSource

    analysis = WignerSeitzAnalysisModifier(affine_mapping=WignerSeitzAnalysisModifier.AffineMapping.ToReference)
    analysis.reference = StaticSource(data=_data(reference))
    data = _data(atoms)
    data.apply(analysis)
    return int(data.attributes["WignerSeitz.vacancy_count"]), int(data.attributes["WignerSeitz.interstitial_count"])
