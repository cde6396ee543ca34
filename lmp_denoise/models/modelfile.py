"""The model file: the tabulated network as TorchScript, the trained weights, and metadata.

It is the one contract between Python, the LAMMPS compute and OVITO. The TorchScript module is a
``TabulatedNet`` (methods forward, embed, layer, readout; its buffers are what the fused kernels
read); ``metadata.json`` carries the cutoff, layers (receptive field), reference volume per atom,
species, dtype, feature size and the training record; ``network.pt`` the trained e3nn weights, so
that the exact network can be rebuilt and re-tabulated. Format 1 files (the e3nn network itself)
are read by converting them on the fly; ``lmp-denoise upgrade`` writes them as format 2.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import DenoiseError
from ..infer.labels import LabelSet, build_labels
from ..infer.scale import RECIPE, ScaleRecipe, StructureError, anisotropy, dense_volume, nearest_distances, shape_correction
from ..io.formats import default_file_mode

if TYPE_CHECKING:
    from ..nn.network import DenoiserNet

DEFAULT_INTERVALS = 512  # spline intervals per radial function

FORMAT_VERSION = 2
METADATA_NAME = "metadata.json"
NETWORK_NAME = "network.pt"
REQUIRED_KEYS = ("format_version", "cutoff", "num_layers", "reference_volume", "species", "dtype")
MAX_STEPSIZE = 3.0  # a network's largest response to a displacement is ~1.1-1.6: 3 already diverges
# stepsizes up to this share of the heavy-ball stability bound: near the bound the fastest modes
# ring for tens of iterations (stepsize 1.75, momentum 0.26 with response 1.54 never settles)
STABILITY_MARGIN = 0.9
SUGGESTED_MOMENTUM = 0.3
DISORDER = ("first", "all")  # what disordered atoms keep: the first iteration's move, or every one
# at most this share of labelled neighbours makes a disordered neighbourhood: glass and liquid ~0, a
# hot crystal > 0.8 (at 0.15 the cores of the Ta polycrystal's wide boundaries kept their first move
# too, and PTM counted 3% more disordered atoms than with every iteration)
ORDERED_SHARE = 0.05
# neighbours counted within this many model cutoffs: the first shell of a (001) surface atom holds
# only surface and second-layer atoms, which the templates leave "other" (their second shell is cut)
DISORDER_REACH = 1.5
# objects surrounded by vacuum keep their size and shape (infer/open_space.py): a periodic direction
# is open across a gap of this many model cutoffs (no edge crosses it), and counts where the atoms
# spread along it by this many cutoffs (RMS; a monolayer's thickness is noise: ~0.05)
OPEN_GAP = 1.0
OPEN_SPREAD = 0.5


class ModelFileError(DenoiseError, ValueError):
    """A model file that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class IterationRecipe:
    """r <- r - stepsize g(r) + momentum (r - r_prev) from the second iteration on; the first is
    always r <- r - g(r). A network that sees a few neighbour shells removes long-wavelength
    displacements only slowly (locally they look like strain); momentum carries them along
    (heavy-ball iteration, same fixed points g = 0). Each model file carries the recipe measured
    for it (``iteration``; files written before lmp-denoise 0.4: the plain iteration).

    ``disorder`` "first": after the last iteration, an atom that the model's structure labels call
    "other" and of whose neighbours within ``disorder_reach`` model cutoffs at most
    ``ordered_share`` carry a structure label (glass, liquid; not a crystal's surface, whose
    second and third layers are labelled) goes back to where the first iteration put it: the
    networks know only lattices, one step brings such atoms nearest their time average, and every
    later step drifts them on. "all": every atom keeps every iteration (files written before
    lmp-denoise 0.9).

    ``open_gap``: along open directions (no periodic box, or a vacuum gap of at least this many
    model cutoffs) each iteration's moves lose their homogeneous part, so particles and slabs keep
    their size and shape (infer/open_space.py; ``open_spread`` the smallest RMS extent, in model
    cutoffs, of a direction that counts); 0: off (files written before lmp-denoise 0.12); None: the
    model file's."""

    stepsize: float = 1.0
    momentum: float = 0.0
    disorder: str | None = None  # None: the model file's
    ordered_share: float = ORDERED_SHARE
    disorder_reach: float = DISORDER_REACH
    open_gap: float | None = None
    open_spread: float = OPEN_SPREAD

    def __post_init__(self) -> None:
        if not 0.0 < self.stepsize <= MAX_STEPSIZE:
            raise StructureError(
                f"stepsize must be above 0 and at most {MAX_STEPSIZE} (1 = the plain iteration), not {self.stepsize}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise StructureError(f"momentum must be at least 0 and below 1 (0 = the plain iteration), not {self.momentum}")
        if self.disorder is not None and self.disorder not in DISORDER:
            raise StructureError(f"disorder must be {' or '.join(DISORDER)}, not '{self.disorder}'")
        if not 0.0 <= self.ordered_share < 1.0:
            raise StructureError(f"ordered_share must be at least 0 and below 1, not {self.ordered_share}")
        if not 1.0 <= self.disorder_reach <= 3.0:
            raise StructureError(f"disorder_reach must be 1 to 3 model cutoffs, not {self.disorder_reach}")
        if self.open_gap is not None and not (self.open_gap == 0.0 or 1.0 <= self.open_gap <= 10.0):
            raise StructureError(f"open_gap must be 0 (off) or 1 to 10 model cutoffs, not {self.open_gap}")
        if not 0.0 <= self.open_spread <= 10.0:
            raise StructureError(f"open_spread must be 0 to 10 model cutoffs, not {self.open_spread}")

    @property
    def heavy_ball(self) -> bool:
        """Whether the iterations after the first differ from r <- r - g(r)."""
        return self.stepsize != 1.0 or self.momentum != 0.0

    def as_dict(self) -> dict:
        disorder = {} if self.disorder is None else {"disorder": self.disorder}
        shares = {"ordered_share": self.ordered_share, "disorder_reach": self.disorder_reach}
        gap = {} if self.open_gap is None else {"open_gap": self.open_gap}
        space = {**gap, "open_spread": self.open_spread}
        return {"stepsize": self.stepsize, "momentum": self.momentum, **disorder, **shares, **space}

    def largest_stepsize(self, response: float, margin: float = STABILITY_MARGIN) -> float:
        """Largest stepsize at this momentum that converges with a network whose largest response
        is ``response`` (heavy ball: A lambda < 2 (1 + B)), times ``margin``."""
        return margin * 2.0 * (1.0 + self.momentum) / response

    def plain(self) -> IterationRecipe:
        """This recipe with r <- r - g(r) in every iteration."""
        return replace(self, stepsize=1.0, momentum=0.0)

    def suggested(self, response: float, momentum: float = SUGGESTED_MOMENTUM) -> IterationRecipe:
        """This recipe with the heavy-ball stepsize and momentum tuned to eigenvalues between ~0.085
        response and response (the optimum for that range, times STABILITY_MARGIN): what the README
        measures."""
        return replace(self, stepsize=round(STABILITY_MARGIN * (1.0 + momentum**0.5) ** 2 / response, 2), momentum=momentum)


PLAIN = IterationRecipe()


@dataclass
class LoadedModel:
    module: torch.jit.ScriptModule  # a scripted TabulatedNet
    metadata: dict
    path: Path
    network_state: dict | None = None  # trained e3nn weights

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
    def scale_recipe(self) -> ScaleRecipe:
        """Constants of the automatic scale (files of format 1 carry none: this version's)."""
        if "scale_recipe" not in self.metadata:
            return RECIPE
        try:
            return ScaleRecipe(**self.metadata["scale_recipe"])
        except (TypeError, ValueError) as err:
            raise ModelFileError(
                f"'{self.path}' has a bad scale recipe ({err}); write this version's with"
                f" 'lmp-denoise upgrade {self.path} -o NEW.pt --scale-recipe current'"
            ) from None

    @property
    def labels(self) -> LabelSet:
        """Structure labels and their templates (models written before lmp-denoise 0.4 have none)."""
        if "labels" not in self.metadata:
            raise ModelFileError(
                f"model '{self.path}' carries no structure labels; add them with 'lmp-denoise upgrade {self.path} -o NEW.pt'"
            )
        try:
            return LabelSet.from_dict(self.metadata["labels"])
        except (KeyError, TypeError, ValueError) as err:
            raise ModelFileError(
                f"model '{self.path}' has malformed structure labels ({type(err).__name__}: {err}); rebuild them with"
                f" 'lmp-denoise upgrade {self.path} -o NEW.pt --label-threshold T'"
            ) from None

    @property
    def iteration(self) -> IterationRecipe:
        """The file's default iteration recipe (files written before lmp-denoise 0.4: plain)."""
        known = ("stepsize", "momentum", "disorder", "ordered_share", "disorder_reach", "open_gap", "open_spread")
        recipe = {k: v for k, v in self.metadata.get("iteration", {}).items() if k in known and v is not None}
        try:
            return self.checked(IterationRecipe(**{"disorder": "all", "open_gap": 0.0, **recipe}))
        except (TypeError, StructureError) as err:
            raise ModelFileError(f"'{self.path}' has a bad iteration recipe ({err}); re-export the model") from None

    @property
    def largest_response(self) -> float | None:
        """Largest eigenvalue of the network's response at its training lattices (None before 0.4)."""
        value = self.metadata.get("iteration", {}).get("largest_response")
        return None if value is None else float(value)

    def checked(self, recipe: IterationRecipe) -> IterationRecipe:
        """``recipe``, if the iteration it makes converges with this network and it has the labels
        that ``disorder`` "first" needs (``disorder`` None: the file's)."""
        if recipe.disorder is None:
            recipe = replace(recipe, disorder=self.iteration.disorder)
        if recipe.open_gap is None:
            recipe = replace(recipe, open_gap=self.iteration.open_gap)
        if recipe.disorder == "first" and "labels" not in self.metadata:
            raise StructureError(
                f"disorder first needs the structure labels that model '{self.path.stem}' lacks: add them with"
                f" 'lmp-denoise upgrade {self.path} -o NEW.pt', or use disorder all"
            )
        if not recipe.heavy_ball:
            return recipe
        response = self.largest_response
        if response is None:
            raise ModelFileError(
                f"model '{self.path}' does not carry its largest response, which momentum needs; "
                f"add it with 'lmp-denoise upgrade {self.path} -o NEW.pt'"
            )
        bound = recipe.largest_stepsize(response, self.metadata["iteration"].get("stability_margin", STABILITY_MARGIN))
        if recipe.stepsize > bound:
            hint = PLAIN.suggested(response)
            raise StructureError(
                f"stepsize {recipe.stepsize:g} with momentum {recipe.momentum:g} would not converge with model"
                f" '{self.path.stem}' (largest response {response:.3f}): use a stepsize up to {bound:.3g}, e.g."
                f" --momentum {hint.momentum:g} --stepsize {hint.stepsize:g}"
            )
        return recipe

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.metadata["dtype"])

    def network(self) -> DenoiserNet:
        """The exact trained e3nn network (for re-tabulation and reference checks)."""
        from ..nn.network import DenoiserNet, ModelConfig

        if self.network_state is None:
            raise ModelFileError(f"'{self.path}' carries no trained weights; re-export it with lmp-denoise")
        net = DenoiserNet(ModelConfig(**self.metadata["config"]))
        net.load_state_dict(self.network_state)
        return net.eval()


# the largest deformation the estimate may read on a model's own ideal lattices for it to be used
SHAPE_TOLERANCE = 1e-3


def shape_misreads(structures: list[str]) -> dict[str, float]:
    """The training lattices on which the deformation estimate (infer/scale.py shape_correction)
    reads a deformation, with its size: their first shells are not isotropic (silica's
    polymorphs), so a model trained on them is left without the estimate."""
    from ..data.lattices import scale_recipe, training_cell

    out = {}
    for name in structures:
        atoms = training_cell(name, 1000)
        cell, pbc, recipe = atoms.cell.array, atoms.pbc, scale_recipe([name])
        d = nearest_distances(atoms.positions, cell, pbc, recipe)[0]
        dense = dense_volume(atoms.positions, cell, pbc, recipe, d)[1]
        value = anisotropy(shape_correction(atoms.positions, cell, pbc, dense, d, recipe))
        if value > SHAPE_TOLERANCE:
            out[name] = value
    return out


def shape_recipe(structures: list[str]) -> ScaleRecipe:
    """The scale recipe of a new model file: this version's for its lattices (data/lattices.py
    scale_recipe), without the deformation estimate if it misreads one of them."""
    from ..data.lattices import scale_recipe

    recipe = scale_recipe(structures)
    return replace(recipe, shape_rounds=0) if shape_misreads(structures) else recipe


def save(net: DenoiserNet, metadata: dict, path: str | Path, intervals: int = DEFAULT_INTERVALS) -> Path:
    """Tabulate ``net`` and write it, its weights and ``metadata`` atomically to ``path``."""
    missing = [k for k in REQUIRED_KEYS if k != "format_version" and k not in metadata]
    if missing:
        raise ValueError(f"model metadata lacks {missing}")
    from ..nn.tabulate import tabulate

    path = Path(path)
    net = net.eval().cpu()
    tabulated = tabulate(net, intervals)
    scripted = torch.jit.script(tabulated)
    info = {
        "format_version": FORMAT_VERSION,
        "scale_recipe": shape_recipe(metadata.get("structures", [])).as_dict(),
        **metadata,
        "config": net.config.as_dict(),
        "network": {"kind": "tabulated", "intervals": intervals, "feature_size": tabulated.feature_size()},
    }
    from .response import largest_response  # evaluates the tabulated network: imports this module

    written = LoadedModel(scripted, info, path)
    info["iteration"] = {
        **PLAIN.as_dict(),
        "disorder": "first" if "labels" in metadata else "all",  # a new file: this version's default
        "open_gap": OPEN_GAP,
        **metadata.get("iteration", {}),
        "largest_response": round(largest_response(written), 4),
        "stability_margin": STABILITY_MARGIN,
    }
    written.iteration  # noqa: B018 (a default recipe that would not converge is refused here)
    weights = io.BytesIO()
    torch.save(net.state_dict(), weights)
    extra = {METADATA_NAME: json.dumps(info, indent=1), NETWORK_NAME: weights.getvalue()}
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
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
    """Read a model file, with an error that names the problem for anything unusable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file '{path}' does not exist")
    extra = {METADATA_NAME: "", NETWORK_NAME: ""}
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
    if version not in (1, FORMAT_VERSION):
        raise ModelFileError(
            f"'{path}' has model format version {version}, this lmp-denoise reads versions 1 and"
            f" {FORMAT_VERSION}: re-export the model with this version"
        )
    required = REQUIRED_KEYS + (("scale_recipe",) if version == FORMAT_VERSION else ())
    missing = [k for k in required if k not in metadata]
    if missing:
        raise ModelFileError(f"'{path}' metadata lacks {missing}; re-export the model")
    if version == 1:  # the file holds the e3nn network itself: tabulate it in memory
        from ..nn.tabulate import tabulate

        state = {k: v.cpu() for k, v in module.state_dict().items()}
        exact = LoadedModel(module, metadata, path, state).network()
        return LoadedModel(torch.jit.script(tabulate(exact)).to(device), metadata, path, state)
    state = torch.load(io.BytesIO(extra[NETWORK_NAME]), weights_only=True) if extra[NETWORK_NAME] else None
    return LoadedModel(module.eval(), metadata, path, state)


def upgrade(
    source: str | Path,
    target: str | Path,
    label_neighbours: list[str] | None = None,
    label_threshold: float | None = None,
    recipe: IterationRecipe | None = None,
    command: str | None = None,
    shape: bool | None = None,
    label_average: float | None = None,
    current_scale: bool = False,
) -> Path:
    """Rewrite a model file in the current format (same weights, metadata and history), adding
    the structure labels of its training lattices if it has none; the label options rebuild them
    (``label_average`` sets their average reach, model units, without rebuilding),
    ``recipe`` replaces the iteration recipe, ``current_scale`` writes this version's constants of
    the automatic scale for its lattices into the file (its deformation estimate on or off as
    before), ``shape``
    True writes this version's constants of the deformation estimate into the file's scale recipe
    (False: no estimate); ``command`` is added to the file's ``upgrades``."""
    old = load(source)
    metadata = {k: v for k, v in old.metadata.items() if k not in ("format_version", "network")}
    if command:
        metadata["upgrades"] = [*metadata.get("upgrades", []), command]
    if recipe is not None:
        metadata["iteration"] = recipe.as_dict()
    if current_scale:
        from ..data.lattices import scale_recipe

        current = scale_recipe(metadata.get("structures", [])).as_dict()
        try:  # the file's deformation setting, unless its recipe is damaged: then this version's whole
            current["shape_rounds"] = old.scale_recipe.shape_rounds
        except ModelFileError:
            pass
        metadata["scale_recipe"] = current
    if shape is not None:
        misread = shape_misreads(metadata.get("structures", [])) if shape else {}
        if misread:
            worst = max(misread, key=misread.get)
            raise ModelFileError(
                f"the deformation estimate reads this model's own {worst} lattice as deformed by {misread[worst]:.1%}"
                " (its first shell is not isotropic): --shape yes would distort it; leave it off"
            )
        current = {k: v for k, v in RECIPE.as_dict().items() if k.startswith("shape_")}
        metadata["scale_recipe"] = {
            **metadata.get("scale_recipe", old.scale_recipe.as_dict()),
            **current,
            "shape_rounds": current["shape_rounds"] if shape else 0,
        }
    relabel = label_neighbours is not None or label_threshold is not None
    if label_average is None:  # a rebuild keeps the file's average
        label_average = metadata.get("labels", {}).get("average", 0.0)
    if ("labels" not in metadata or relabel) and "structures" in metadata:
        options = {} if label_threshold is None else {"threshold": label_threshold}
        try:
            labels = build_labels(metadata["structures"], metadata["species"], label_neighbours, **options)
        except ValueError as err:
            raise ModelFileError(str(err)) from None
        metadata["labels"] = labels.as_dict()
    if "labels" in metadata:
        try:
            metadata["labels"] = replace(LabelSet.from_dict(metadata["labels"]), average=label_average).as_dict()
        except ValueError as err:
            raise ModelFileError(str(err)) from None
    return save(old.network(), metadata, target)
