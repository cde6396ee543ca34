"""Run every case, then write docs/cases.md with their tables and figures (``make cases``).

MD results are cached in benchmarks/out/cases (~10 MB): a second run only denoises and
classifies. From scratch about 40 minutes on 2 cores, most of it the nucleus and the
polycrystal MD.

    python benchmarks/cases/report.py [--only surfaces glass ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from common import FIGURES, OUT

HERE = Path(__file__).resolve().parent
DOC = FIGURES.parent / "cases.md"
#: case script -> (section title, figures)
CASES = {
    "surfaces": ("Free surfaces: a Cu(100) slab and Cu nanoparticles", ["surfaces.png"]),
    "crystals": ("Hot crystals: precision and point defects (paper case 4)", ["case_precision.png"]),
    "grain_boundaries": ("Grain boundaries in Ta (paper case 6)", ["case_bicrystal.png"]),
    "glass": ("Metallic glass and liquid", []),
    "momentum": ("Momentum: precision against surfaces, particles and glass", ["momentum.png"]),
    "strain": ("Strained crystals and thin films: the deformation undone", ["strain.png"]),
    "nucleus": ("A nucleus in the undercooled Cu melt (paper case 3)", ["case_nucleus.png"]),
    "dislocation": ("A screw dislocation dipole in Ta (paper case 5)", ["case_dislocation.png"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(CASES), default=list(CASES))
    args = parser.parse_args()
    for k, name in enumerate(args.only, 1):
        t0 = time.time()
        print(f"[{k}/{len(args.only)}] {name} ...", flush=True)
        subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=True, stdout=subprocess.DEVNULL)
        print(f"[{k}/{len(args.only)}] {name} done in {time.time() - t0:.0f} s", flush=True)
    parts = [
        "# The cases, measured\n",
        "Written by `make cases` (benchmarks/cases/report.py); each section is one script in",
        "benchmarks/cases. Baselines on the same snapshot: its 1 ps time average (centred on it) and its",
        "energy minimum. Classifiers: OVITO's adaptive CNA and PTM (all templates, RMSD cutoff 0.1).\n",
    ]
    for name, (title, figures) in CASES.items():
        table = OUT / f"{name}.md"
        if not table.exists():
            continue
        parts += [f"## {title}\n", table.read_text().strip() + "\n"]
        parts += [f"![{name}](figures/{figure})\n" for figure in figures if (FIGURES / figure).exists()]
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts))
    os.replace(tmp, DOC)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
