"""The ``lmp-denoise`` command line."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from dataclasses import replace
from pathlib import Path

from . import __version__
from .errors import DenoiseError
from .infer.denoise import MAX_STEPS, SHAPES, IterationRecipe, Settings, parse_type_map
from .io.compression import DEFAULT_BOUND, CompressedFileError
from .io.formats import DISPLACEMENT_COLUMN
from .models.modelfile import DISORDER


class UserError(DenoiseError):
    """Bad input: printed as one line, exit status 2."""


def _train(args: argparse.Namespace) -> int:
    from .data.lattices import LATTICES, species_of
    from .nn.network import ModelConfig
    from .train.trainer import TrainSettings, train

    for name in ("steps", "batch", "layers", "features"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, not {getattr(args, name)}")
    if not (args.lr > 0 and args.cutoff > 0 and 0 < args.sigma_fraction < 1 and 0 <= args.jitter < 0.5):
        raise UserError("--lr and --cutoff must be > 0, --sigma-fraction in (0, 1), --jitter in [0, 0.5)")
    if not 0 <= args.open_fraction <= 1:
        raise UserError(f"--open-fraction must be in [0, 1], not {args.open_fraction}")
    if not args.loss_floor > 0:
        raise UserError(f"--loss-floor must be > 0, not {args.loss_floor}")
    if not 0 <= args.strain < 0.2:
        raise UserError(f"--strain must be in [0, 0.2), not {args.strain}")
    _check_writable(Path(args.output))
    if args.resume is not None and not args.resume.is_file():
        raise UserError(f"--resume {args.resume}: no such checkpoint (written as OUTPUT.ckpt by an earlier run)")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(f"--device {args.device}: this torch ({torch.__version__}) sees no CUDA GPU; use --device cpu")
    elif args.device != "cpu":
        raise UserError(f"--device must be cpu or cuda, not '{args.device}'")
    structures = args.structures.split(",")
    unknown = [s for s in structures if s not in LATTICES]
    if unknown:
        raise UserError(f"unknown structure(s) {unknown}; choose from {', '.join(LATTICES)}")
    if not 0 < args.label_threshold < 1:
        raise UserError(f"--label-threshold must be in (0, 1), not {args.label_threshold}")
    settings = TrainSettings(
        structures=structures,
        output=Path(args.output),
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        sigma_fraction=args.sigma_fraction,
        jitter=args.jitter,
        open_fraction=args.open_fraction,
        strain=args.strain,
        loss_floor=args.loss_floor,
        label_neighbours=_label_neighbours(args, species_of(structures)),
        label_threshold=args.label_threshold,
        label_average=_label_average(args),
        log=args.log,
        checkpoint_every=args.checkpoint_every,
        command=_command_line(),
        model=ModelConfig(cutoff=args.cutoff, num_layers=args.layers, num_features=args.features),
    )
    path = train(settings, resume=args.resume)
    print(f"wrote {path}")
    return 0


def _check_writable(path: Path) -> None:
    """Fail before any work when an output cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: the folder {folder} is not writable")
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder; give a file name")


def _parse_scale(text: str) -> str | float:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0.0:
        raise UserError(f"--scale must be 'auto' or a positive nearest-neighbour distance in A, not '{text}'")
    return value


def _denoising_settings(args: argparse.Namespace, model, fewest_steps: int = 1) -> Settings:
    """Check the options of _denoising_options for ``model`` (``fewest_steps`` 0: the raw positions
    allowed)."""
    if not fewest_steps <= args.steps <= MAX_STEPS:
        what = "0 (the raw positions)" if fewest_steps == 0 else str(fewest_steps)
        raise UserError(f"--steps must be {what} to {MAX_STEPS}, not {args.steps}")
    if args.tol < 0:
        raise UserError(f"--tol must be >= 0, not {args.tol}")
    if args.shape not in SHAPES:
        raise UserError(f"--shape must be {' or '.join(SHAPES)}, not '{args.shape}'")
    recipe = _recipe(args, model.iteration)
    return Settings(args.steps, args.tol, _parse_scale(args.scale), parse_type_map(args.types), recipe, args.shape)


def _command_line() -> str:
    return shlex.join(["lmp-denoise", *sys.argv[1:]])


def _recipe(args: argparse.Namespace, base: IterationRecipe) -> IterationRecipe | None:
    """--momentum / --stepsize / --disorder over the model file's recipe ``base``: None (none given)
    keeps it; a momentum or stepsize given alone pairs with the plain value of the other (momentum
    0, stepsize 1)."""
    if args.disorder not in (None, *DISORDER):
        raise UserError(f"--disorder must be {' or '.join(DISORDER)}, not '{args.disorder}'")
    recipe = base if args.disorder is None else replace(base, disorder=args.disorder)
    if args.momentum is not None or args.stepsize is not None:
        recipe = replace(recipe, stepsize=1.0 if args.stepsize is None else args.stepsize, momentum=args.momentum or 0.0)
    return None if recipe == base else recipe


def _denoise(args: argparse.Namespace) -> int:
    from .infer.files import denoise_file
    from .infer.parallel import share_cores, world
    from .models import load_model

    model = load_model(args.model)
    settings = _denoising_settings(args, model)
    inputs = [Path(p) for p in args.inputs]
    outputs = _output_names(inputs, args.output)
    comm = world()
    share_cores(comm)
    for source, target in zip(inputs, outputs, strict=True):
        frames = denoise_file(source, target, model, settings, not args.quiet, comm)
        if comm is None or comm.rank == 0:
            print(f"{source} -> {target}: {frames} frame(s)" + (f" on {comm.size} MPI ranks" if comm else ""))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from .infer.files import denoise_file
    from .models import load_model

    model = load_model(args.model)
    settings = _denoising_settings(args, model, fewest_steps=0)
    inputs = [Path(p) for p in args.inputs]
    outputs = _output_names(inputs, args.output) if args.output else [None] * len(inputs)
    names = model.labels.names  # a model without labels fails here, before any work
    width = max(8, *map(len, names))
    print(f"{'file':<32} {'frame':>5} " + " ".join(f"{n:>{width}}" for n in names))
    for source, target in zip(inputs, outputs, strict=True):

        def report(number: int, labels, source=source) -> None:
            shares = labels.fractions()
            print(f"{str(source):<32} {number + 1:>5} " + " ".join(f"{shares[n]:>{width}.2%}" for n in names), flush=True)

        denoise_file(source, target, model, settings, not args.quiet, labels=report)
        if target is not None:
            print(f"{source} -> {target}")
    if args.output:
        legend = ", ".join(f"{k} {n}" for k, n in enumerate(names))
        print(f"per-atom columns: structure (dumps: {legend}; extended XYZ: the name) and structure_score")
    return 0


def _compress(args: argparse.Namespace) -> int:
    from .infer.files import compress_files
    from .models import load_model

    if not args.bound > 0:
        raise UserError(f"--bound must be a positive distance in A, not {args.bound}")
    model = load_model(args.model)
    settings = _denoising_settings(args, model)
    inputs = [Path(p) for p in args.inputs]
    _output_names(inputs[:1], args.output)
    frames = compress_files(inputs, Path(args.output), model, args.bound, settings, not args.quiet)
    size = Path(args.output).stat().st_size
    print(f"{len(inputs)} input(s) -> {args.output}: {frames} frame(s), {size:,} bytes, bound {args.bound} A")
    return 0


def _decompress(args: argparse.Namespace) -> int:
    from .infer.files import decompress_file
    from .io.compression import is_compressed

    source = Path(args.input)
    if not source.is_file():
        raise UserError(f"{source}: no such file")
    if not is_compressed(source):
        raise UserError(
            f"{source}: not an lmp-denoise compressed trajectory (written by 'lmp-denoise compress' or fix denoise/write)"
        )
    _check_writable(Path(args.output))
    kind = args.format or ("extxyz" if Path(args.output).suffix in (".xyz", ".extxyz") else "dump")
    try:
        frames, damage = decompress_file(source, Path(args.output), kind, args.salvage)
    except CompressedFileError as err:
        hint = "; --salvage writes them" if "intact" in str(err) else ""
        raise UserError(f"{err}{hint}") from None
    if damage:
        print(f"lmp-denoise: warning: {damage}; wrote them", file=sys.stderr)
    print(f"{source} -> {args.output}: {frames} frame(s), {kind}")
    return 0


def _output_names(inputs: list[Path], output: str) -> list[Path]:
    out = Path(output)
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        raise UserError(f"no such input file: {', '.join(missing)}")
    if len(inputs) == 1 and not out.is_dir():
        _check_writable(out)
        return [out]
    if not out.is_dir():
        raise UserError(f"with several inputs, -o must be an existing directory, not '{output}'")
    names = [p.name for p in inputs]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise UserError(
            f"several inputs are named {', '.join(clashes)}: their outputs in {out} would overwrite each other;"
            " denoise them into different folders"
        )
    targets = [out / n for n in names]
    _check_writable(targets[0])
    return targets


def _models(args: argparse.Namespace) -> int:
    from .models import load_model, shipped

    for name, path in shipped().items():
        model = load_model(path)
        meta, recipe = model.metadata, model.iteration
        training = meta.get("training", {})
        print(
            f"{name}\n  file: {path}\n  structures: {', '.join(meta.get('structures', []))}"
            f"\n  species: {', '.join(meta['species'])}\n  cutoff: {meta['cutoff']} A x {meta['num_layers']} layers"
            f" at {meta['reference_volume']:.3f} A^3/atom\n  trained: {training.get('steps')} steps,"
            f" final loss {training.get('final_loss', float('nan')):.3e}"
            + "".join(f"\n  command: {line}" for line in meta.get("command_history", [meta.get("command", "")]))
            + f"\n  labels: {_label_summary(model) if 'labels' in meta else '(none)'}"
            f"\n  iteration: stepsize {recipe.stepsize:g}, momentum {recipe.momentum:g}{_momentum_hint(model)}"
            f"\n  disorder: {_disorder_summary(recipe)}"
            f"\n  open space: {_open_summary(recipe)}"
            f"\n  scale auto: volume per atom{_shape_summary(model)}"
            + "".join(f"\n  then: {line}" for line in meta.get("upgrades", []))
        )
    return 0


def _open_summary(recipe: IterationRecipe) -> str:
    if not recipe.open_gap:
        return "off (objects surrounded by vacuum may change size over the iterations; upgrade --open-space on)"
    return (
        f"objects keep their size and shape along directions open to vacuum (a gap of at least {recipe.open_gap:g} x the cutoff,"
        f" an extent of at least {recipe.open_spread:g} x the cutoff)"
    )


def _disorder_summary(recipe: IterationRecipe) -> str:
    if recipe.disorder == "all":
        return "all (every atom keeps every iteration)"
    return (
        f"first (atoms labelled 'other' with at most {recipe.ordered_share:.0%} labelled neighbours within"
        f" {recipe.disorder_reach:g} cutoffs keep the first"
        " iteration's move; --disorder all to move them on)"
    )


def _shape_summary(model) -> str:
    rounds = model.scale_recipe.shape_rounds
    return f", homogeneous deformation undone ({rounds} rounds; --shape none to skip)" if rounds else " (shape kept)"


def _label_summary(model) -> str:
    """Label names, and how they are found where not every species is a neighbour."""
    labels, species = model.labels, model.species
    text = f"{', '.join(labels.names)} (threshold {labels.threshold:g}"
    if len(labels.neighbour_species) < len(species):
        text += f"; through {', '.join(species[s] for s in labels.neighbour_species)} neighbours"
    if labels.average > 0:
        voters = ", ".join(species[s] for s in labels.neighbour_species)
        text += f"; structure chosen by the {voters} atoms within {labels.average:g} model units"
    for rule in labels.inherit:
        text += f"; {species[rule.species]} left 'other' inherits from its {rule.count} nearest"
    return text + ")"


def _momentum_hint(model) -> str:
    if model.largest_response is None:
        return " (momentum: needs 'lmp-denoise upgrade')"
    hint = model.iteration.suggested(model.largest_response)
    return f"; largest response {model.largest_response:.3f}, suggested --momentum {hint.momentum:g} --stepsize {hint.stepsize:g}"


def _label_average(args: argparse.Namespace) -> float:
    """--label-average, checked."""
    from .infer.labels import MAX_AVERAGE

    if not 0 <= args.label_average <= MAX_AVERAGE:
        raise UserError(f"--label-average must be 0 (off) to {MAX_AVERAGE:g} model units, not {args.label_average:g}")
    return args.label_average


def _label_neighbours(args: argparse.Namespace, species: list[str]) -> list[str] | None:
    """--label-neighbours as a list of species names, checked against the model's species."""
    if not args.label_neighbours:
        return None
    names = args.label_neighbours.split(",")
    unknown = [n for n in names if n not in species]
    if unknown:
        raise UserError(
            f"--label-neighbours {args.label_neighbours}: {unknown} are not species of the model ({' '.join(species)})"
        )
    return names


def _upgrade(args: argparse.Namespace) -> int:
    from .models import resolve
    from .models.modelfile import FORMAT_VERSION, OPEN_GAP, load, upgrade

    if args.label_threshold is not None and not 0 < args.label_threshold < 1:
        raise UserError(f"--label-threshold must be in (0, 1), not {args.label_threshold}")
    if args.shape not in (None, "yes", "no"):
        raise UserError(f"--shape must be yes or no, not '{args.shape}'")
    shape = None if args.shape is None else args.shape == "yes"
    if args.scale_recipe not in ("current", "keep"):
        raise UserError(f"--scale-recipe must be current or keep, not '{args.scale_recipe}'")
    average = None if args.label_average is None else _label_average(args)
    args.input = str(resolve(args.input))  # a shipped model by name, as everywhere else
    old = load(args.input)
    neighbours = _label_neighbours(args, old.species) if args.label_neighbours else None
    recipe = _recipe(args, old.iteration)
    if args.open_space not in (None, "on", "off"):
        raise UserError(f"--open-space must be on or off, not '{args.open_space}'")
    if args.open_space is not None:
        recipe = replace(recipe or old.iteration, open_gap=OPEN_GAP if args.open_space == "on" else 0.0)
    current = args.scale_recipe == "current"
    path = upgrade(args.input, args.output, neighbours, args.label_threshold, recipe, _command_line(), shape, average, current)
    print(f"{args.input} -> {path}: model file format {FORMAT_VERSION}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run

    return 1 if run() else 0


def _evaluate(args: argparse.Namespace) -> int:
    from .integrations.ovito_analysis import CLASSES, accuracy
    from .io.formats import read_frames

    if args.expect not in CLASSES:
        raise UserError(f"--expect must be one of {', '.join(CLASSES)}, not '{args.expect}'")
    print(f"{'file':<40} {'frame':>5} {'a-CNA':>8} {'PTM':>8}   (fraction of atoms labelled {args.expect})")
    for path in args.inputs:
        for number, atoms in enumerate(read_frames(path), 1):
            result = accuracy(atoms, args.expect, args.rmsd_cutoff)
            print(f"{str(path):<40} {number:>5} {result['a-CNA']:>8.2%} {result['PTM']:>8.2%}")
    return 0


def _denoising_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that denoises: model, K, tol, scale, type map, quiet."""
    parser.add_argument("--model", default="fcc-bcc-hcp", help="model file or shipped model name (default: %(default)s)")
    parser.add_argument(
        "--steps", type=int, default=8, help=f"largest number of iterations K, 1-{MAX_STEPS} (default: %(default)s)"
    )
    parser.add_argument("--tol", type=float, default=0.0, help="stop once the largest move is below T, A (default: %(default)s)")
    _recipe_options(parser)
    parser.add_argument(
        "--scale",
        default="auto",
        help="'auto' (local volume per atom) or the nearest-neighbour distance D in A (default: %(default)s)",
    )
    parser.add_argument(
        "--shape",
        metavar="auto|none",
        default="auto",
        help="with --scale auto: undo the system's homogeneous deformation (strained crystals, thin films) before"
        " the model, as the model file's recipe says; none: only the volume is scaled (default: %(default)s)",
    )
    parser.add_argument("--types", help="TYPE:SPECIES,... atom types to model species, by name or index (multi-species models)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _recipe_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--momentum",
        type=float,
        metavar="B",
        help="from the 2nd iteration on, add B x the previous move, 0 <= B < 1 (0 = plain; default: the model's)",
    )
    parser.add_argument(
        "--stepsize",
        type=float,
        metavar="A",
        help="from the 2nd iteration on, move by -A x g(r), 0 < A <= 3 (1 = plain; default: the model's)",
    )
    parser.add_argument(
        "--disorder",
        metavar="first|all",
        help="first: atoms that the model's labels leave 'other' amid (almost) no labelled neighbours (glass,"
        " liquid) keep only the first iteration's move; all: every iteration (default: the model's)",
    )


LABEL_AVERAGE_HELP = (
    "the choice between structures averages each structure's template score over the label neighbour atoms within R"
    " model units (about three Si-Si distances in silica: 9); 0: each atom alone"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lmp-denoise",
        description="Score-based denoising of atomistic snapshots: strip thermal noise so that "
        "crystal structure and defects can be identified.",
    )
    parser.add_argument("--version", action="version", version=f"lmp-denoise {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a denoiser on synthetic noisy lattices",
        description="Train g(r) on perfect lattices plus Gaussian noise (denoising score matching) and export a model file.",
    )
    train.add_argument(
        "--structures",
        default="fcc,bcc,hcp",
        help="comma-separated lattices: fcc,bcc,hcp,sc,cd,hd,rocksalt (default: %(default)s)",
    )
    train.add_argument("-o", "--output", required=True, help="model file to write (.pt)")
    train.add_argument("--steps", type=int, default=4000, help="optimizer updates (default: %(default)s)")
    train.add_argument("--batch", type=int, default=8, help="structures per update, ~450 atoms each (default: %(default)s)")
    train.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    train.add_argument(
        "--sigma-fraction",
        type=float,
        default=0.125,
        help="largest noise sigma as a fraction of the nearest-neighbour distance (default: %(default)s)",
    )
    train.add_argument(
        "--jitter", type=float, default=0.03, help="random relative change of the lattice length scale (default: %(default)s)"
    )
    train.add_argument(
        "--open-fraction",
        type=float,
        default=0.5,
        help="share of training structures with free surfaces or voids: clusters, slabs (default: %(default)s)",
    )
    train.add_argument(
        "--strain",
        type=float,
        default=0.02,
        help="largest component of a random homogeneous strain of each structure (default: %(default)s)",
    )
    train.add_argument(
        "--loss-floor",
        type=float,
        default=0.5,
        help="noise level (x the largest) below which errors stop gaining weight in the loss (default: %(default)s)",
    )
    train.add_argument(
        "--label-neighbours",
        help="species whose atoms the structure labels compare, comma-separated (default: all; silica: Si)",
    )
    train.add_argument(
        "--label-threshold",
        type=float,
        default=0.06,
        help="largest template score (RMS mismatch / nearest-neighbour distance) of a labelled atom (default: %(default)s)",
    )
    train.add_argument(
        "--label-average",
        metavar="R",
        type=float,
        default=0.0,
        help=LABEL_AVERAGE_HELP + " (default: %(default)s)",
    )
    train.add_argument("--cutoff", type=float, default=3.5, help="graph cutoff, A at the reference volume (default: %(default)s)")
    train.add_argument("--layers", type=int, default=3, help="interaction layers (default: %(default)s)")
    train.add_argument("--features", type=int, default=16, help="channels per irrep (default: %(default)s)")
    train.add_argument("--log", type=Path, help="append one JSON line per step (loss, time)")
    train.add_argument("--checkpoint-every", type=int, default=200)
    train.add_argument("--resume", type=Path, help="continue from a checkpoint written by an earlier run")
    train.set_defaults(run=_train)

    den = sub.add_parser(
        "denoise",
        help="denoise LAMMPS dumps (.gz too) or extended XYZ files",
        description="Move every atom by r <- r - g(r), up to K times, and write the same format with "
        f"denoised positions and a per-atom '{DISPLACEMENT_COLUMN}' column (|r_denoised - r|).",
    )
    den.add_argument("inputs", nargs="+", metavar="INPUT", help="LAMMPS text dump (optionally .gz) or extxyz file")
    den.add_argument("-o", "--output", required=True, help="output file, or a directory for several inputs")
    _denoising_options(den)
    den.set_defaults(run=_denoise)

    cla = sub.add_parser(
        "classify",
        help="denoise, then label each atom with one of the model's structures or 'other'",
        description="Denoise every frame (K iterations; 0 labels the raw positions), then label each atom with the "
        "training structure whose ideal neighbourhood it matches (template score at most the model's threshold) or "
        "'other'; where the model file says so (sio2), the structure is the one its neighbourhood matches best on "
        "average, and O atoms left 'other' take the label of their Si. Prints the fraction of atoms per label and "
        "frame; with -o also writes the denoised frames with "
        "per-atom columns 'structure' (extended XYZ: the label name; LAMMPS dump: its index, listed at the end) and "
        "'structure_score' (RMS template mismatch / nearest-neighbour distance). Label names: 'lmp-denoise models'.",
    )
    cla.add_argument("inputs", nargs="+", metavar="INPUT", help="LAMMPS text dump (optionally .gz) or extxyz file")
    cla.add_argument("-o", "--output", help="output file, or a directory for several inputs (default: print only)")
    _denoising_options(cla)
    cla.set_defaults(run=_classify)

    ev = sub.add_parser(
        "evaluate",
        help="fraction of atoms adaptive CNA and PTM assign to the expected class",
        description="Classify every frame with OVITO's adaptive CNA and PTM (all templates enabled) "
        "and print the fraction of atoms in the expected class. Needs: pip install 'lmp-denoise[eval]'.",
    )
    ev.add_argument("inputs", nargs="+", metavar="FILE", help="LAMMPS text dump (optionally .gz) or extxyz file")
    ev.add_argument("--expect", required=True, help="fcc, bcc, hcp, sc, cd, hd, ico, or liquid/other")
    ev.add_argument("--rmsd-cutoff", type=float, default=0.1, help="PTM RMSD cutoff, 0 = none (default: %(default)s)")
    ev.set_defaults(run=_evaluate)

    comp = sub.add_parser(
        "compress",
        help="denoise dumps and write one compressed trajectory",
        description="Denoise every frame of the inputs (in order) and write their denoised positions into one "
        "compressed trajectory: positions within --bound of the denoised ones, predicted from the previous frame, "
        "xz-coded, with a per-atom disorder level (|displacement| < 0.5 / 1 / 2 / >= 2 A). The format is the one "
        "LAMMPS's fix denoise/write writes; read it back with 'lmp-denoise decompress' or lmp_denoise.io.compression.read.",
    )
    comp.add_argument("inputs", nargs="+", metavar="INPUT", help="LAMMPS text dump (optionally .gz) or extxyz file")
    comp.add_argument("-o", "--output", required=True, help="compressed trajectory to write (any name)")
    comp.add_argument(
        "--bound", type=float, default=DEFAULT_BOUND, help="largest error of a stored coordinate, A (default: %(default)s)"
    )
    _denoising_options(comp)
    comp.set_defaults(run=_compress)

    dec = sub.add_parser(
        "decompress",
        help="write a compressed trajectory as a LAMMPS dump or extended XYZ",
        description="Read a compressed trajectory (recognised by its content, whatever its name) and write every "
        "frame: id type x y z disorder. A file cut off by a killed run is an error; --salvage writes its intact frames.",
    )
    dec.add_argument("input", metavar="INPUT", help="compressed trajectory")
    dec.add_argument("-o", "--output", required=True, help="file to write")
    dec.add_argument(
        "--format", choices=("dump", "extxyz"), help="output format (default: extxyz for names ending .xyz/.extxyz, else dump)"
    )
    dec.add_argument("--salvage", action="store_true", help="write the intact frames of a damaged file")
    dec.set_defaults(run=_decompress)

    upg = sub.add_parser(
        "upgrade",
        help="rewrite a model file in the current format",
        description="Read a model file of any supported format (e.g. format 1, the e3nn network itself) and write "
        "it in the current format: the same trained weights, metadata and training commands, with the tabulated "
        "network that the LAMMPS compute and the fused kernel evaluate, and the network's largest response measured "
        "again. --momentum/--stepsize set the file's default iteration recipe (refused if it would not converge); "
        "--shape yes makes the automatic scale also undo a system's homogeneous deformation (since 0.8), no stops it; "
        "--scale-recipe current writes this version's constants of the automatic scale (since 0.11: small clusters "
        "measured by their interior); every file it writes keeps the size and shape of objects surrounded by vacuum "
        "(since 0.12; --open-space off: not).",
    )
    upg.add_argument("input", metavar="INPUT", help="model file to read, or a shipped model's name")
    upg.add_argument("-o", "--output", required=True, help="model file to write (may be INPUT)")
    upg.add_argument("--label-neighbours", help="rebuild the structure labels: species they look at, e.g. Si")
    upg.add_argument("--label-threshold", type=float, help="rebuild the structure labels with this largest score")
    upg.add_argument(
        "--label-average",
        metavar="R",
        type=float,
        help=LABEL_AVERAGE_HELP + " (default: as INPUT)",
    )
    _recipe_options(upg)
    upg.add_argument("--shape", metavar="yes|no", help="measure and undo the homogeneous deformation (default: as INPUT)")
    upg.add_argument(
        "--scale-recipe",
        metavar="current|keep",
        default="keep",
        help="current: this version's constants of the automatic scale, deformation estimate as INPUT (default: keep)",
    )
    upg.add_argument(
        "--open-space",
        metavar="on|off",
        help="on: along directions open to vacuum (a slab's normal, every direction of a particle) each iteration's"
        " moves lose their homogeneous part, so objects keep their size and shape (default: on)",
    )
    upg.set_defaults(run=_upgrade)

    doc = sub.add_parser(
        "doctor",
        help="check the install: torch, kernel, MPI, LAMMPS plugin, models, OVITO",
        description="Print what a user needs to debug an install: torch build and devices, the fused kernel, the MPI "
        "library, whether LAMMPS loads and runs compute denoise and fix denoise/write, the shipped models and their "
        "format, OVITO. Exit status 1 when any check finds a problem.",
    )
    doc.set_defaults(run=_doctor)

    models = sub.add_parser("models", help="list shipped models and their metadata")
    models.set_defaults(run=_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # a killed run (SIGTERM) unwinds like Ctrl-C: temporary outputs are removed, inputs untouched
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        return args.run(args)
    except DenoiseError as err:
        from .infer.parallel import world

        comm = world()
        if comm is None or comm.rank == 0:
            print(f"lmp-denoise: error: {err}", file=sys.stderr)
        return 2
