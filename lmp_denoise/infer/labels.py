"""Per-atom structure labels: template matching against the model's own training lattices.

After denoising, a crystalline atom sits within a few hundredths of an angstrom of an ideal site,
so its neighbourhood can be compared with the ideal neighbourhoods of the structures the model
was trained on. The comparison is rotation invariant and needs no alignment: for a template with
``k`` neighbours, an atom's descriptor is

- its ``k`` nearest neighbours' distances, sorted within each species (the species counts must
  equal the template's), and
- the ``k (k - 1) / 2`` distances between those neighbours, sorted;

the score is the RMS difference from the template's descriptor over all entries, divided by the
template's nearest-neighbour distance (lengths in model units: the input is scaled by the same
factor as for denoising). An atom takes the label of the template with the lowest score if that
score is at most ``threshold``, else "other". Scores are capped at 1 (also where no template of
the atom's species applies).

Neighbours may be restricted to some species (``neighbour_species`` in the model file): silica is
labelled through its Si network, whose shape tells the polymorphs apart, while the oxygens'
positions swing with the tetrahedra's tilts at any temperature. An atom of a species that is not
a neighbour species (O in silica) and that no template fits takes the label and score of the
best-matched atom of its first shell (an O atom: of its two Si), if every one of them is within
``within`` and carries a structure label (``inherit`` in the model file; the shell size and
``within``, halfway to the second shell, come from the templates).

Where the model file sets ``average`` (model units; silica: 9, about three Si-Si distances), the
choice between structures is made on averaged scores: for each structure, the best template
scores of the label neighbour atoms (Si in silica) within ``average`` of an atom (itself included
if it is one) are averaged, and the atom takes the structure of the lowest mean if its own score
for that structure is at most ``threshold`` (the score reported is its own; an O atom it leaves
"other" inherits as above). One hot silica tetrahedron may look like a
neighbouring polymorph (alpha and beta quartz differ by a tilt); its surroundings do not, and a
defect or liquid atom, whose own scores are high, stays "other".

``k`` is chosen per template when the model file is written: the smallest complete shell count
(a gap of at least ``GAP`` nearest-neighbour distances after the k-th neighbour) that tells the
template from every other structure's by a score of at least ``SEPARATION``; fcc and hcp need the
first shell (12), bcc two shells (14), cubic and hexagonal diamond three (28 and 17). The templates
and the threshold are stored in the model file (metadata key ``labels``); the per-atom work is
one C++ source (nn/kernel/denoise_labels.h) compiled into the LAMMPS compute and the Python
kernel, with a numpy version of it here for machines without a compiler (tested equal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..nn.kernel import fused_kernel
from ..nn.neighbors import edges, half_edges, slabs

OTHER = "other"
THRESHOLD = 0.06  # largest score that still counts as the template's structure
SEPARATION = 0.2  # smallest score between one structure's template and every other structure's
GAP = 0.1  # a shell ends where the next neighbour is this much (x d) farther
REACH = 3.0  # templates use neighbours up to this x their nearest-neighbour distance
MAX_K = 48  # and at most this many
SEARCH = 1.25  # inputs are searched for neighbours this much farther than the farthest template neighbour
CHUNK = 2048  # atoms per block of descriptor arithmetic (bounds the k^2 temporaries)
SLAB_ATOMS = 1 << 15  # larger systems are labelled slab by slab
MAX_AVERAGE = 12.0  # model units (~3.4 model cutoffs): the compute's neighbour list must reach this far


@dataclass(frozen=True)
class Template:
    label: int  # index into the label names
    species: int  # model species of the centre atom
    counts: tuple[int, ...]  # neighbours of each model species among the k nearest
    radial: np.ndarray  # (k,) sorted within species, species in index order
    pairs: np.ndarray  # (k (k - 1) / 2,) sorted
    spacing: float  # nearest-neighbour distance

    @property
    def k(self) -> int:
        return len(self.radial)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "species": self.species,
            "counts": list(self.counts),
            "radial": [round(float(v), 6) for v in self.radial],
            "pairs": [round(float(v), 6) for v in self.pairs],
            "spacing": round(self.spacing, 6),
        }

    @staticmethod
    def from_dict(data: dict) -> Template:
        return Template(
            int(data["label"]),
            int(data["species"]),
            tuple(int(c) for c in data["counts"]),
            np.asarray(data["radial"], float),
            np.asarray(data["pairs"], float),
            float(data["spacing"]),
        )


@dataclass(frozen=True)
class Inherit:
    """Atoms of ``species`` that no template fits take the label and score of the best-matched of
    their ``count`` nearest neighbours, if each is within ``within`` (model units) and labelled."""

    species: int
    count: int
    within: float

    def __post_init__(self) -> None:
        if self.count < 1 or not self.within > 0:
            raise ValueError(f"a label inheritance rule needs neighbours and a reach, not {self.as_dict()}")

    def as_dict(self) -> dict:
        return {"species": self.species, "count": self.count, "within": self.within}


@dataclass(frozen=True)
class LabelSet:
    """What the model file says about labels: names (structures, then "other"), templates, threshold."""

    names: list[str]
    templates: list[Template]
    threshold: float
    reach: float  # neighbours are searched this far (model units): the farthest template neighbour + room
    neighbour_species: list[int]  # model species whose atoms count as neighbours
    inherit: list[Inherit]  # species labelled through their first shell when no template fits
    average: float = 0.0  # model units: structure scores are averaged over label neighbour atoms this close; 0 off

    def __post_init__(self) -> None:
        if not 0.0 <= self.average <= MAX_AVERAGE:
            raise ValueError(f"the label average reach must be 0 (off) to {MAX_AVERAGE:g} model units, not {self.average:g}")

    def as_dict(self) -> dict:
        return {
            "names": self.names,
            "threshold": self.threshold,
            "reach": self.reach,
            "average": self.average,
            "neighbour_species": self.neighbour_species,
            "inherit": [rule.as_dict() for rule in self.inherit],
            "descriptor": "k nearest distances sorted per species + their sorted pair distances (lmp_denoise/infer/labels.py)",
            "templates": [t.as_dict() for t in self.templates],
        }

    @staticmethod
    def from_dict(data: dict) -> LabelSet:
        templates = [Template.from_dict(t) for t in data["templates"]]
        every = sorted({s for t in templates for s in range(len(t.counts))})
        return LabelSet(
            list(data["names"]),
            templates,
            float(data["threshold"]),
            float(data["reach"]),
            data.get("neighbour_species", every),
            [Inherit(int(r["species"]), int(r["count"]), float(r["within"])) for r in data.get("inherit", [])],
            float(data.get("average", 0.0)),  # absent before 0.10
        )


@dataclass
class Neighbourhoods:
    """Each atom's nearest neighbours, sorted by distance, padded to ``width`` with inf."""

    distance: np.ndarray  # (N, width)
    vectors: np.ndarray  # (N, width, 3)
    species: np.ndarray  # (N, width), -1 where padded
    atom: np.ndarray  # (N, width) the neighbours' indices, -1 where padded


def neighbourhoods(
    positions: np.ndarray, cell: np.ndarray, pbc, species: np.ndarray, reach: float, width: int, allowed: list[int]
) -> Neighbourhoods:
    """The ``width`` nearest neighbours of every atom within ``reach``, of the species ``allowed``."""
    index, vectors = edges(positions, cell, pbc, reach)
    keep = np.isin(species[index[1]], allowed)
    index, vectors = index[:, keep], vectors[keep]
    distance = np.linalg.norm(vectors, axis=1)
    order = np.lexsort((distance, index[0]))
    centre = index[0][order]
    start = np.searchsorted(centre, np.arange(len(positions)))
    rank = np.arange(len(order)) - start[centre]
    keep = rank < width
    n = len(positions)
    out = Neighbourhoods(
        np.full((n, width), np.inf), np.zeros((n, width, 3)), np.full((n, width), -1, dtype=np.int64), np.full((n, width), -1)
    )
    rows, cols, picked = centre[keep], rank[keep], order[keep]
    out.distance[rows, cols] = distance[picked]
    out.vectors[rows, cols] = vectors[picked]
    out.atom[rows, cols] = index[1][picked]
    out.species[rows, cols] = species[out.atom[rows, cols]]
    return out


def _scores(near: Neighbourhoods, atoms: np.ndarray, templates: list[Template]) -> np.ndarray:
    """(templates, atoms) scores, 1 where a template cannot apply; each atom's descriptor is
    computed once for every distinct k."""
    out = np.ones((len(templates), len(atoms)))
    for k in sorted({t.k for t in templates}):
        mine = [(i, t) for i, t in enumerate(templates) if t.k == k]
        a, b = np.triu_indices(k, 1)
        for first in range(0, len(atoms), CHUNK):
            rows = atoms[first : first + CHUNK]
            d, v, s = near.distance[rows, :k], near.vectors[rows, :k], near.species[rows, :k]
            complete = np.isfinite(d).all(axis=1)
            if not complete.any():
                continue
            d, v, s, where = d[complete], v[complete], s[complete], first + np.flatnonzero(complete)
            radial = np.take_along_axis(d, _species_order(d, s), axis=1)
            pairs = np.sort(np.linalg.norm(v[:, a] - v[:, b], axis=2), axis=1)
            counts = np.stack([(s == n).sum(axis=1) for n in range(len(mine[0][1].counts))], axis=1)
            for i, template in mine:
                fits = (counts == template.counts).all(axis=1)
                squares = ((radial[fits] - template.radial) ** 2).sum(axis=1) + ((pairs[fits] - template.pairs) ** 2).sum(axis=1)
                out[i, where[fits]] = np.minimum(np.sqrt(squares / (k + len(a))) / template.spacing, 1.0)
    return out


def _species_order(distance: np.ndarray, species: np.ndarray) -> np.ndarray:
    """Per row, the column order that sorts by species, then distance."""
    return np.argsort(species * (1.0 + distance.max()) + distance, axis=1, kind="stable")


def _template(near: Neighbourhoods, atom: int, k: int, label: int, species: int, num_species: int) -> Template:
    d, v, s = near.distance[atom, :k], near.vectors[atom, :k], near.species[atom, :k]
    a, b = np.triu_indices(k, 1)
    return Template(
        label,
        species,
        tuple(int((s == n).sum()) for n in range(num_species)),
        d[_species_order(d[None], s[None])[0]],
        np.sort(np.linalg.norm(v[a] - v[b], axis=1)),
        float(d[0]),
    )


def build_labels(
    structures: list[str],
    species: list[str],
    neighbours: list[str] | None = None,
    threshold: float = THRESHOLD,
    average: float = 0.0,
) -> LabelSet:
    """Templates of every distinct site of the training lattices (see the module text), seen
    through the atoms of the species ``neighbours`` (default: all; e.g. only Si in silica); the
    choice between structures averaged over ``average`` model units (0: each atom alone)."""
    neighbours = species if not neighbours else neighbours
    unknown = [n for n in neighbours if n not in species]
    if unknown:
        raise ValueError(f"label neighbour species {unknown} are not among the model's species {species}")
    allowed = [species.index(n) for n in neighbours]
    from ..data.lattices import SPECIES, training_cell

    sites = []  # (label, centre species, Neighbourhoods, atom)
    for label, name in enumerate(structures):
        cell = training_cell(name, 800)
        kinds = np.array([species.index(SPECIES[name][t]) for t in cell.get_tags()])
        index, vectors = edges(cell.positions, cell.cell.array, cell.pbc, 6.0)
        first = np.full(len(cell), np.inf)  # each atom's nearest neighbour of the allowed species
        allowed_pair = np.isin(kinds[index[1]], allowed)
        np.minimum.at(first, index[0][allowed_pair], np.linalg.norm(vectors[allowed_pair], axis=1))
        near = neighbourhoods(cell.positions, cell.cell.array, cell.pbc, kinds, REACH * first.max(), 256, allowed)
        kept: list[tuple[int, np.ndarray]] = []  # distinct sites: species, or distances that differ by > 1e-3
        for atom in range(len(cell)):
            d = near.distance[atom][: MAX_K + 1]
            d = d[np.isfinite(d)]
            if not any(kind == kinds[atom] and len(d) == len(o) and np.abs(d - o).max() < 1e-3 for kind, o in kept):
                kept.append((kinds[atom], d))
                sites.append((label, int(kinds[atom]), near, atom))
    templates = []
    for label, centre, near, atom in sites:
        d = near.distance[atom][np.isfinite(near.distance[atom])]
        shells = [k for k in range(1, min(len(d), MAX_K + 1)) if d[k] - d[k - 1] >= GAP * d[0] and d[k - 1] <= REACH * d[0]]
        rivals = [(n, a) for lab, c, n, a in sites if lab != label and c == centre]
        best = None
        for k in shells:
            template = _template(near, atom, k, label, centre, len(species))
            separation = min((_scores(n, np.array([a]), [template])[0, 0] for n, a in rivals), default=1.0)
            if best is None or separation > best[1]:
                best = (template, separation)
            if separation >= SEPARATION:
                break
        templates.append(best[0])
    reach = round(SEARCH * max(float(t.radial.max()) for t in templates), 6)
    inheriting = sorted({t.species for t in templates} - set(allowed))
    inherit = [_inherit(s, [t for t in templates if t.species == s]) for s in inheriting]
    return LabelSet([*structures, OTHER], templates, threshold, reach, allowed, inherit, average)


def _inherit(species: int, templates: list[Template]) -> Inherit:
    """The rule for a species that is not a label neighbour: its first shell (the neighbours before
    the first gap of ``GAP`` d in every template) and a reach halfway to the second shell."""
    shells = []
    for t in templates:
        d = np.sort(t.radial)
        gaps = np.flatnonzero(np.diff(d) >= GAP * d[0])
        shells.append(int(gaps[0]) + 1 if len(gaps) else len(d))
    count = min(shells)
    first = max(float(np.sort(t.radial)[count - 1]) for t in templates)
    second = min(float(np.sort(t.radial)[count]) if len(t.radial) > count else np.inf for t in templates)
    within = first * (1 + GAP) if not np.isfinite(second) else 0.5 * (first + second)
    return Inherit(species, count, round(within, 6))


@dataclass
class Labels:
    """Per-atom structure labels."""

    index: np.ndarray  # (N,) into names; the last name is "other"
    score: np.ndarray  # (N,) best template score (RMS descriptor difference / d, capped at 1)
    names: list[str]

    @property
    def name(self) -> np.ndarray:
        return np.array(self.names, dtype=object)[self.index]

    def fractions(self) -> dict[str, float]:
        counts = np.bincount(self.index, minlength=len(self.names))
        return {n: float(c) / max(1, len(self.index)) for n, c in zip(self.names, counts, strict=True)}


def label_atoms(
    positions: np.ndarray,
    cell: np.ndarray,
    pbc,
    species: np.ndarray,
    to_model: float | np.ndarray,
    labels: LabelSet,
    which: bool = True,
) -> Labels:
    """Labels of (denoised) positions; ``to_model`` maps input lengths to model units: a factor,
    or a 3x3 map of row vectors (``DenoiseResult.to_model``: the scale and the undone deformation).
    Large systems are labelled slab by slab (nn/neighbors.py ``slabs``): bounded memory, the same
    labels; the compiled kernel (nn/kernel/denoise_labels.h, the compute's source) does the
    per-atom work where it is built, numpy otherwise. ``which`` False asks only whether each atom
    is labelled (what the disorder rule needs): the compiled kernel then answers index -1 (and
    score 0) where a template fits without finding the best one; numpy, and models whose labels
    average, answer in full. Either way the atoms labelled "other" are the same."""
    to_model = np.asarray(to_model, dtype=np.float64)
    if to_model.ndim == 0:
        to_model = to_model * np.eye(3)
    x, box = positions @ to_model, np.asarray(cell) @ to_model
    keep = max([1] + [rule.count for rule in labels.inherit])
    n, other = len(positions), len(labels.names) - 1
    best, index = np.ones(n), np.full(n, other)
    nearest, distance = np.full((n, keep), -1), np.full((n, keep), np.inf)
    structures = np.ones((n, other)) if labels.average > 0 else None
    whether = not which and labels.average == 0
    for home, members, slab_box, ids in slabs(x, box, pbc, labels.reach, SLAB_ATOMS):
        found = _label_slab(members, slab_box, pbc, species[ids], len(home), labels, keep, whether)
        index[home], best[home], near, distance[home], mine = found
        nearest[home] = np.where(near >= 0, ids[np.maximum(near, 0)], -1)
        if structures is not None:
            structures[home] = mine
    if structures is not None:
        mean = _averaged(structures, x, box, pbc, np.isin(species, labels.neighbour_species), labels.average)
        index = np.argmin(mean, axis=1)  # the first of equal means, as the compiled kernel
        best = structures[np.arange(n), index]
    index[best > labels.threshold] = other
    for rule in labels.inherit:  # donors are label neighbours, never of an inheriting species
        atoms = np.flatnonzero((species == rule.species) & (index == other))
        donors = nearest[atoms, : rule.count]
        ok = (donors >= 0).all(axis=1) & (distance[atoms, : rule.count] <= rule.within).all(axis=1)
        ok[ok] = (index[donors[ok]] != other).all(axis=1)
        atoms, donors = atoms[ok], donors[ok]
        chosen = donors[np.arange(len(atoms)), np.argmin(best[donors], axis=1)]  # the best-matched donor
        index[atoms], best[atoms] = index[chosen], best[chosen]
    return Labels(index, best, labels.names)


def _label_slab(
    positions: np.ndarray, cell: np.ndarray, pbc, species: np.ndarray, home: int, labels: LabelSet, keep: int, whether: bool
):
    """Template label, score, the ``keep`` nearest label neighbours (indices into ``positions``,
    -1 past the end) with their distances, and (where ``labels.average`` is set) every structure's
    score (home, structures), of the first ``home`` atoms of ``positions`` (model units; the rest
    are the slab's margin); ``whether``: the compiled kernel finds only whether an atom is labelled."""
    every = labels.average > 0
    kernel = fused_kernel()
    if kernel is not None:
        i, j, bond = half_edges(positions, cell, pbc, labels.reach)
        templates = labels.templates
        flat = [
            torch.tensor([t.label for t in templates]),
            torch.tensor([t.species for t in templates]),
            torch.tensor([list(t.counts) for t in templates]),
            torch.from_numpy(np.concatenate([t.radial for t in templates])),
            torch.from_numpy(np.concatenate([t.pairs for t in templates])),
            torch.tensor([t.spacing for t in templates], dtype=torch.float64),
        ]
        centres = torch.from_numpy(np.arange(len(positions)) < home)
        out = kernel.classify(
            *map(torch.from_numpy, (i, j, bond)), centres, torch.from_numpy(species), *flat, labels.threshold,
            len(labels.names) - 1, labels.reach, labels.neighbour_species, keep, every, whether,
        )  # fmt: skip
        return (*(t.numpy()[:home] for t in out[:4]), out[4].numpy()[:home] if every else None)
    width = max([t.k for t in labels.templates] + [keep])
    near = neighbourhoods(positions, cell, pbc, species, labels.reach, width, labels.neighbour_species)
    best = np.ones(home)
    index = np.full(home, len(labels.names) - 1)
    structures = np.ones((home, len(labels.names) - 1)) if every else None
    for centre in sorted({t.species for t in labels.templates}):
        templates = [t for t in labels.templates if t.species == centre]
        atoms = np.flatnonzero(species[:home] == centre)
        scores = _scores(near, atoms, templates)
        winner = np.argmin(scores, axis=0)  # the first of equal scores, as the compiled kernel
        best[atoms] = scores[winner, np.arange(len(atoms))]
        index[atoms] = np.array([t.label for t in templates])[winner]
        for template, row in zip(templates, scores, strict=True) if every else ():
            structures[atoms, template.label] = np.minimum(structures[atoms, template.label], row)
    return index, best, near.atom[:home, :keep], near.distance[:home, :keep], structures


def _averaged(
    structures: np.ndarray, positions: np.ndarray, cell: np.ndarray, pbc, voters: np.ndarray, reach: float
) -> np.ndarray:
    """Each atom's structure scores averaged over the ``voters`` (atoms of the label neighbour
    species) within ``reach`` (model units), itself included if it is one; its own scores where
    no voter is that close."""
    total, count = np.where(voters[:, None], structures, 0.0), voters.astype(float)
    for home, members, slab_box, ids in slabs(positions, cell, pbc, reach, SLAB_ATOMS):
        i, j, _ = half_edges(members, slab_box, pbc, reach)
        mine = len(home)
        for centre, neighbour in ((i, j), (j, i)):
            keep = (centre < mine) & voters[ids[neighbour]]
            np.add.at(total, home[centre[keep]], structures[ids[neighbour[keep]]])
            count[home] += np.bincount(centre[keep], minlength=mine)
    alone = count == 0
    total[alone], count[alone] = structures[alone], 1.0
    return total / count[:, None]


def disordered_atoms(
    labels: Labels, positions: np.ndarray, cell: np.ndarray, pbc, to_model: np.ndarray, cutoff: float, ordered_share: float
) -> np.ndarray:
    """Atoms labelled "other" of whose neighbours within ``cutoff`` (model units; every species)
    at most ``ordered_share`` carry a structure label: glass and liquid, where an atom at a
    crystal's defect or surface still has labelled atoms around it."""
    other = labels.index == len(labels.names) - 1
    if not other.any():
        return other
    count, ordered = np.zeros(len(positions)), np.zeros(len(positions))
    x, box = positions @ to_model, np.asarray(cell) @ to_model
    for home, members, slab_box, ids in slabs(x, box, pbc, cutoff, SLAB_ATOMS):
        i, j, _ = half_edges(members, slab_box, pbc, cutoff)
        labelled, mine = ~other[ids], len(home)
        for centre, neighbour in ((i, j), (j, i)):
            keep = centre < mine
            centre, neighbour = centre[keep], neighbour[keep]
            count[home] += np.bincount(centre, minlength=mine)
            ordered[home] += np.bincount(centre, weights=labelled[neighbour], minlength=mine)
    return other & (ordered <= ordered_share * count)
