"""A screw dislocation dipole in hot bcc Ta (paper case 5).

Two 1/2<111> screw dislocations of opposite sign (Volterra displacement field) on different
{110} planes of a periodic Ta crystal (Zhou-Johnson-Wadley EAM), relaxed, then MD at 0.6 Tm.
OVITO's dislocation analysis (DXA) on the raw snapshot, its 1 ps average, its energy minimum
(the reference) and after denoising: total line length and the Burgers vectors found.

    python benchmarks/cases/dislocation.py [--model fcc-bcc-hcp]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from ase.io import write
from ase.lattice.cubic import BodyCenteredCubic

sys.path.insert(0, str(Path(__file__).parent))
from common import FIGURES, Frames, markdown_table, publish, simulate, slice_figure  # noqa: E402
from common import states as all_states  # noqa: E402
from grain_boundaries import FORCE_FIELD, A  # noqa: E402

from lmp_denoise.integrations.ovito_analysis import ptm_types  # noqa: E402

TEMPERATURE = 0.6 * 3290.0


def screw_dipole(size: tuple[int, int, int] = (10, 16, 14)) -> Frames:
    """x = [-1-12], y = [1-10], z = [111] (the line); cores at 1/4 and 3/4 of the box diagonal."""
    atoms = BodyCenteredCubic(directions=[[-1, -1, 2], [1, -1, 0], [1, 1, 1]], size=size, symbol="Ta", latticeconstant=A)
    b = A * np.sqrt(3) / 2
    lx, ly = atoms.cell[0, 0], atoms.cell[1, 1]
    x, y = atoms.positions[:, 0], atoms.positions[:, 1]
    cores = [(0.25 * lx + 0.31, 0.25 * ly + 0.23), (0.75 * lx + 0.31, 0.75 * ly + 0.23)]
    angle = [np.arctan2(y - cy, x - cx) for cx, cy in cores]
    atoms.positions[:, 2] += b / (2 * np.pi) * (angle[0] - angle[1])
    atoms.wrap()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "dipole.data"
        write(data, atoms, format="lammps-data", masses=True)
        system = ["boundary p p p", f"read_data {data}", *FORCE_FIELD, "minimize 0 1e-4 1000 10000"]
        return simulate("ta_screw_dipole", system, FORCE_FIELD, TEMPERATURE, 4.0, "aniso")


def dxa(atoms) -> tuple[float, str]:
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import DislocationAnalysisModifier

    data = ase_to_ovito(atoms)
    data.apply(DislocationAnalysisModifier(input_crystal_structure=DislocationAnalysisModifier.Lattice.BCC))
    kinds = Counter()
    for segment in data.dislocations.segments:
        b = np.abs(np.asarray(segment.true_burgers_vector))
        kinds["1/2<111>" if np.allclose(b, 0.5, atol=0.02) else "<100>" if np.isclose(b.max(), 1.0, atol=0.02) else "other"] += (
            segment.length
        )
    return float(data.attributes["DislocationAnalysis.total_line_length"]), ", ".join(
        f"{k}: {v:.0f} A" for k, v in sorted(kinds.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fcc-bcc-hcp")
    args = parser.parse_args()
    frames = screw_dipole()
    states = all_states(frames, args.model, (1, 8))
    reference = dxa(frames.minimum)[0]
    table = []
    for label, atoms in states.items():
        length, kinds = dxa(atoms)
        table.append([label, length, f"{length / reference:.2f}x", kinds])
    header = ["state", "DXA line length (A)", "vs minimised", "Burgers vectors (length)"]
    box = frames.raw.cell.lengths()
    text = (
        f"\nScrew dislocation dipole in Ta at {TEMPERATURE:.0f} K, {len(frames.raw)} atoms, lines {box[2]:.1f} A long,"
        f" model {args.model}\n\n" + markdown_table(header, table)
    )
    publish("dislocation", text)
    panels = {label: (states[label], ptm_types(states[label])) for label in ("raw", "1 ps average", "minimised", "8 steps")}
    slice_figure(
        panels,
        FIGURES / "case_dislocation.png",
        "Ta screw dipole at 0.6 Tm, PTM, looking down the lines",
        axis=2,
        width=1e9,
    )


if __name__ == "__main__":
    main()
