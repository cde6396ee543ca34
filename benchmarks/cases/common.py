"""Shared by the cases: one LAMMPS run gives a hot snapshot, its 1 ps time average (centred on
it) and its energy minimum (the inherent structure), cached as .npz under benchmarks/out/cases;
the denoiser and the classical baselines then run on the same atoms."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from lmp_denoise.data.md import lammps_atoms, new_lammps
from lmp_denoise.infer.denoise import Denoiser, IterationRecipe
from lmp_denoise.models import load_model

OUT = Path(__file__).resolve().parents[1] / "out" / "cases"
FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures"
TIMESTEP = 0.002  # ps, metals


@dataclass
class Frames:
    """The same atoms (sorted by id) in four states; ``types`` are LAMMPS atom types."""

    start: Atoms  # the structure MD started from (0 K, ideal)
    raw: Atoms  # a hot snapshot
    average: Atoms  # positions averaged over 1 ps around the snapshot
    minimum: Atoms  # the snapshot relaxed by energy minimisation (box fixed)

    @property
    def types(self) -> np.ndarray:
        return self.raw.numbers


def simulate(
    name: str,
    system: list[str],
    force_field: list[str],
    temperature: float,
    equilibrate_ps: float,
    barostat: str | None = "iso",
    seed: int = 5521,
    average_ps: float = 1.0,
    melt: tuple[float, float] | None = None,
    defects: tuple[str, ...] = (),
    quench_ps: float = 0.0,
    after_melt: tuple[str, ...] = (),
    timestep: float = TIMESTEP,
) -> Frames:
    """Run (or read from the cache) MD of ``system`` at ``temperature`` K.

    ``system``: LAMMPS commands that define the box and atoms (after units/atom_style);
    ``force_field``: masses and pair commands; ``barostat``: the couple keyword of fix nph at zero
    pressure (``"tri"`` also relaxes the tilts of a triclinic box; ``"x y"`` for a slab: only
    in-plane) or None for fixed volume; ``melt``: first run
    (temperature, ps) to melt or anneal, then the commands ``after_melt`` and ``quench_ps`` of
    linear cooling; ``defects``: commands run after the start structure is
    taken (so ``start`` is the perfect reference); ``timestep`` in ps. The CSVR thermostat holds
    the temperature.
    """
    cache = OUT / f"{name}.npz"
    if cache.exists():
        return _read(cache)
    t0 = time.time()
    lmp = new_lammps()
    lmp.commands_list(["units metal", "atom_style atomic", *system, *force_field, f"timestep {timestep}", "thermo 0"])
    start = lammps_atoms(lmp)
    lmp.commands_list(list(defects))
    lmp.command(f"velocity all create {2 * (melt[0] if melt else temperature)} {seed} mom yes rot yes dist gaussian")
    if barostat is None:
        lmp.command("fix integrate all nve")
    elif barostat in ("iso", "aniso", "tri"):
        lmp.command(f"fix integrate all nph {barostat} 0.0 0.0 1.0")
    else:  # in-plane only, e.g. "x y" for a slab
        axes = " ".join(f"{axis} 0.0 0.0 1.0" for axis in barostat.split())
        lmp.command(f"fix integrate all nph {axes} couple none")
    if melt:
        lmp.command(f"fix csvr all temp/csvr {melt[0]} {melt[0]} 0.1 {seed + 1}")
        lmp.command(f"run {int(melt[1] / timestep)}")
        lmp.command("unfix csvr")
        lmp.commands_list(list(after_melt))
        if quench_ps:
            lmp.command(f"fix csvr all temp/csvr {melt[0]} {temperature} 0.1 {seed + 3}")
            lmp.command(f"run {int(quench_ps / timestep)}")
            lmp.command("unfix csvr")
    lmp.command(f"fix csvr all temp/csvr {temperature} {temperature} 0.1 {seed + 2}")
    lmp.command(f"run {int(equilibrate_ps / timestep)}")
    window = int(round(average_ps / timestep))
    lmp.commands_list(
        [
            "reset_timestep 0",
            "compute unwrapped all property/atom xu yu zu",
            f"fix avg all ave/atom 1 {window} {window} c_unwrapped[1] c_unwrapped[2] c_unwrapped[3]",
            f"run {window // 2}",
        ]
    )
    raw = lammps_atoms(lmp)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "snapshot.data"
        lmp.command(f"write_data {data} nocoeff")
        lmp.command(f"run {window - window // 2}")
        average = lammps_atoms(lmp, "avg")
        lmp.command("clear")
        lmp.commands_list(["units metal", "atom_style atomic", f"read_data {data}", *force_field, "thermo 0"])
        lmp.commands_list(["min_style cg", "minimize 0 1e-6 5000 50000"])
        minimum = lammps_atoms(lmp)
    lmp.close()
    frames = Frames(start, raw, average, minimum)
    _write(cache, frames)
    print(f"  {name}: MD of {len(raw)} atoms at {temperature:.0f} K in {time.time() - t0:.0f} s", flush=True)
    return frames


def _write(path: Path, frames: Frames) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"pbc": frames.raw.pbc}
    for key in ("start", "raw", "average", "minimum"):
        atoms = getattr(frames, key)
        arrays[f"{key}_positions"], arrays[f"{key}_cell"], arrays[f"{key}_types"] = (
            atoms.positions,
            atoms.cell.array,
            atoms.numbers,
        )
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _read(path: Path) -> Frames:
    z = np.load(path)
    make = lambda key: Atoms(  # noqa: E731
        numbers=z[f"{key}_types"], positions=z[f"{key}_positions"], cell=z[f"{key}_cell"], pbc=z["pbc"]
    )
    return Frames(make("start"), make("raw"), make("average"), make("minimum"))


def states(frames: Frames, model: str, steps: tuple[int, ...], recipe: IterationRecipe | None = None) -> dict[str, Atoms]:
    """The raw snapshot, its baselines, and the denoised atoms after each of ``steps`` iterations
    (one run; a multi-species model sees every atom as its first species: these are one-element
    systems, the Cu-Zr glass included, for the one-species models); ``recipe`` None: the model's."""
    out = {"raw": frames.raw, "1 ps average": frames.average, "minimised": frames.minimum}
    species = load_model(model).species
    types = {int(t): species[0] for t in set(frames.raw.numbers)} if len(species) > 1 else None
    run = Denoiser(frames.raw, model, types=types, recipe=recipe)
    while run.iterations < max(steps):
        run.step()
        if run.iterations in steps:
            out[f"{run.iterations} steps"] = run.result().atoms
    return out


def minimum_image(difference: np.ndarray, atoms: Atoms) -> np.ndarray:
    """Displacements wrapped into the periodic directions of ``atoms``' cell."""
    cell = atoms.cell.array
    fractional = difference @ np.linalg.inv(cell)
    fractional[:, atoms.pbc] -= np.round(fractional[:, atoms.pbc])
    return fractional @ cell


def publish(name: str, text: str) -> None:
    """Print a case's tables and keep them for docs/cases.md (report.py)."""
    print(text)
    (OUT / f"{name}.md").write_text(text + "\n")


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub table; floats get 3 significant digits."""
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


#: OVITO's structure type numbers (a-CNA and PTM agree on these)
NAMES = {0: "other", 1: "fcc", 2: "hcp", 3: "bcc", 4: "ico"}


def slice_figure(panels: dict[str, tuple[Atoms, np.ndarray]], path: Path, title: str, axis: int = 2, width: float = 4.0) -> None:
    """Atoms within ``width`` A of the box centre along ``axis``, coloured by structure type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"other": "0.75", "fcc": "tab:green", "hcp": "tab:red", "bcc": "tab:blue", "ico": "tab:orange"}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.9), squeeze=False)
    plane = [k for k in range(3) if k != axis]
    for ax, (label, (atoms, types)) in zip(axes[0], panels.items(), strict=True):
        x = atoms.get_scaled_positions() @ atoms.cell.array
        centre = atoms.cell.array[axis, axis] / 2
        cut = np.abs(x[:, axis] - centre) < width / 2
        for number, name in NAMES.items():
            pick = cut & (types == number)
            ax.scatter(x[pick, plane[0]], x[pick, plane[1]], s=4, c=colours.get(name, "k"), label=name, linewidths=0)
        ax.set_title(label, fontsize=9)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].legend(fontsize=7, markerscale=2, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
