"""Why one denoising step misses on the DC3 crystals at Tm: the snapshot against Gaussian noise of
the same amplitude on its own lattice, and against a move halfway to its denoised sites.

For each system at Th = 1.00 (both frames): the reference is the snapshot after 32 steps (its
lattice sites, as the 8-step columns of table.py, which reach 100%); sigma is the RMS per-component
displacement of the snapshot from it, over the nearest-neighbour distance d. Printed, PTM (cutoff
0.1, all templates), % of atoms right:

  snapshot, 1 step      what table.py's "1 + PTM" column measures
  Gaussian, raw / 1 st  the reference plus independent Gaussian noise of the same sigma, raw and
                        after 1 step: the amplitude alone
  halfway               every atom moved half of its way to the reference (a step that removes
                        half of each displacement and adds no error of its own)
  failing: |u| x        median displacement of the atoms that 1 step leaves wrong, over the others'
  clustered             share of those atoms with a wrong neighbour (within 1.2 d)

    python benchmarks/dc3/one_step.py [--data benchmarks/dc3/data] [--model dc3-six] [--systems Fe Ti NaCl]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase.neighborlist import neighbor_list

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from common import minimum_image  # noqa: E402
from systems import SYSTEMS  # noqa: E402
from table import ptm, types_for  # noqa: E402

from lmp_denoise.infer.denoise import denoise  # noqa: E402
from lmp_denoise.io.formats import read_frames  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402

COLUMNS = ["sigma / d", "snapshot, 1 step", "Gaussian, raw", "Gaussian, 1 step", "halfway", "failing: |u| x", "clustered"]


def frame_row(raw, system, model, rng) -> dict[str, float]:
    types = types_for(system)
    one = denoise(raw, model, steps=1, types=types).atoms
    sites = denoise(raw, model, steps=32, types=types).atoms
    u = minimum_image(raw.positions - sites.positions, raw)
    u -= u.mean(axis=0)
    d = float(neighbor_list("d", sites, 4.0).min())
    sigma = float(u.std())
    noisy = sites.copy()
    noisy.positions += rng.normal(0.0, sigma, u.shape)
    halfway = raw.copy()
    halfway.positions -= 0.5 * u
    wrong = ~ptm(one, system, 0.1)
    size = np.linalg.norm(u, axis=1)
    i, j = neighbor_list("ij", sites, 1.2 * d)
    wrong_neighbours = np.bincount(i[wrong[j]], minlength=len(raw))
    return {
        "sigma / d": sigma / d,
        "snapshot, 1 step": 100 * (~wrong).mean(),
        "Gaussian, raw": 100 * ptm(noisy, system, 0.1).mean(),
        "Gaussian, 1 step": 100 * ptm(denoise(noisy, model, steps=1, types=types).atoms, system, 0.1).mean(),
        "halfway": 100 * ptm(halfway, system, 0.1).mean(),
        "failing: |u| x": float(np.median(size[wrong]) / np.median(size[~wrong])) if wrong.any() else float("nan"),
        "clustered": 100 * float((wrong_neighbours[wrong] > 0).mean()) if wrong.any() else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--model", default="dc3-six")
    parser.add_argument("--systems", nargs="+", default=["Al", "Fe", "Ti", "NaCl"], choices=list(SYSTEMS))
    args = parser.parse_args()
    model, rng = load_model(args.model), np.random.default_rng(0)
    print(f"Th = 1.00, model {args.model}, PTM cutoff 0.1: % of atoms right (mean of the frames)")
    print(f"{'system':<8}" + "".join(f"{c:>18}" for c in COLUMNS))
    for name in args.systems:
        path = args.data / name / "T1.00" / "raw.dump.gz"
        if not path.exists():
            parser.error(f"no DC3 data at {path}: run benchmarks/dc3/generate.py first")
        rows = [frame_row(raw, SYSTEMS[name], model, rng) for raw in read_frames(path)]
        print(f"{name:<8}" + "".join(f"{np.mean([r[c] for r in rows]):>18.3g}" for c in COLUMNS))


if __name__ == "__main__":
    main()
