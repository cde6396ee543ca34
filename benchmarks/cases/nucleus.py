"""A crystal nucleus growing in an undercooled Cu melt (paper case 3).

16,384 Cu atoms (Mishin EAM) melted at 2 Tm; a spherical fcc seed (radius 12.6 A) is put back
in the middle and the system is held at 0.75 Tm for 10 ps while the nucleus grows. Crystalline
atoms (fcc + hcp) by a-CNA and PTM in the raw snapshot, its 1 ps time average, its energy
minimum and after denoising; "ordered liquid" counts atoms a method calls crystalline that the
time average calls liquid.

    python benchmarks/cases/nucleus.py [--model fcc-bcc-hcp]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, Frames, markdown_table, publish, simulate, slice_figure  # noqa: E402
from common import states as all_states  # noqa: E402

from lmp_denoise.data.md import METALS, potential_dir  # noqa: E402
from lmp_denoise.integrations.ovito_analysis import CLASSES, structure_types  # noqa: E402

CU = METALS["Cu"]
CRYSTALLINE = [CLASSES["fcc"]["PTM"], CLASSES["hcp"]["PTM"]]


def melt_with_seed(cells: int = 16, radius: float = 3.5, homologous: float = 0.75) -> Frames:
    centre = cells / 2
    system = [
        "boundary p p p",
        f"lattice fcc {CU.a}",
        f"region box block 0 {cells} 0 {cells} 0 {cells}",
        "create_box 1 box",
        "create_atoms 1 box",
    ]
    force_field = [f"mass 1 {CU.mass}", f"pair_style {CU.pair_style}", f"pair_coeff * * {potential_dir() / CU.potential} Cu"]
    seed = [
        f"region seed sphere {centre * CU.a} {centre * CU.a} {centre * CU.a} {radius * CU.a} units box",
        "delete_atoms region seed",
        f"lattice fcc {CU.a * 1.012} origin 0.1 0.1 0.1",  # thermal expansion at 0.75 Tm
        "create_atoms 1 region seed",
        "group seed region seed",
        "group liquid subtract all seed",
        "delete_atoms overlap 2.0 liquid seed",
    ]
    t = homologous * CU.melting_point
    return simulate("cu_nucleus", system, force_field, t, 10.0, "iso", melt=(2 * CU.melting_point, 4.0), after_melt=tuple(seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    args = parser.parse_args()
    frames = melt_with_seed()
    states = all_states(frames, args.model, (1, 8))
    types = {label: structure_types(atoms) for label, atoms in states.items()}
    reference = {c: np.isin(types["1 ps average"][c], CRYSTALLINE) for c in ("a-CNA", "PTM")}
    table = []
    for label in states:
        row = [label]
        for c in ("a-CNA", "PTM"):
            crystal = np.isin(types[label][c], CRYSTALLINE)
            row += [int(crystal.sum()), f"{crystal.sum() / reference[c].sum():.2f}x", int((crystal & ~reference[c]).sum())]
        table.append(row)
    header = ["state", "crystalline a-CNA", "vs average", "ordered liquid", "crystalline PTM", "vs average", "ordered liquid"]
    text = f"\nCu nucleus in the melt at 0.75 Tm, {len(frames.raw)} atoms, model {args.model}\n\n" + markdown_table(header, table)
    publish("nucleus", text)
    panels = {label: (states[label], types[label]["PTM"]) for label in ("raw", "1 ps average", "minimised", "8 steps")}
    slice_figure(panels, FIGURES / "case_nucleus.png", "Cu nucleus at 0.75 Tm: a 4 A slice, PTM")


if __name__ == "__main__":
    main()
