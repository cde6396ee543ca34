"""The paper's ablation (Fig. 3 c, f): a supervised classifier on the denoiser's architecture.

The same equivariant network as dc3-six (16x0e + 16x1o as in lmp-denoise 0.3-0.5, when the
classifiers in benchmarks/out/ablation were trained; 3 layers, cutoff 3.5 A at the reference
volume) ends in 7 class logits instead of a displacement, and is trained with
cross-entropy on the same noisy DC3 lattices (bulk, sigma up to 0.125 d, density jitter and
strain) - labels instead of noise as the target. On the rebuilt DC3 data (benchmarks/dc3/data)
it labels the raw snapshots and the snapshots after 8 denoising steps with dc3-six; next to it
a-CNA and PTM on the raw snapshots, and this package's template labels after 8 steps.
Prints the Th = 1 table, writes docs/ablation.md and docs/figures/ablation.png.

    python benchmarks/ablation/classifier.py [--steps 1500] [--data benchmarks/dc3/data]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dc3"))
from systems import SYSTEMS  # noqa: E402
from table import cna_like, ptm, types_for  # noqa: E402

from lmp_denoise.data.noise import NoisyLattices  # noqa: E402
from lmp_denoise.infer.denoise import classify, length_scale, species_indices  # noqa: E402
from lmp_denoise.io.formats import read_frames  # noqa: E402
from lmp_denoise.models import load_model  # noqa: E402
from lmp_denoise.nn.neighbors import edges  # noqa: E402
from lmp_denoise.nn.network import DenoiserNet, ModelConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "out" / "ablation"
STRUCTURES = ["fcc", "bcc", "hcp", "sc", "cd", "hd", "rocksalt"]  # dc3-six's, in its order
CHANNELS = 16  # the classifier's width (dc3-six has 24 since 0.6; the ablation was run at 16)
METHODS = ["a-CNA raw", "PTM raw", "classifier raw", "classifier 8 steps", "labels 8 steps"]


def train(steps: int, seed: int = 1) -> DenoiserNet:
    """The classifier, trained now or read from benchmarks/out/ablation."""
    path = OUT / f"classifier_{steps}.pt"
    shipped = load_model("dc3-six")
    config = ModelConfig(**{**shipped.metadata["config"], "num_features": CHANNELS, "num_classes": len(STRUCTURES)})
    net = DenoiserNet(config)
    if path.exists():
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()
    torch.manual_seed(seed)
    data = NoisyLattices(STRUCTURES, config.cutoff, seed=seed, strain=0.02)
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3)
    t0 = time.time()
    for step in range(steps):
        for group in optimizer.param_groups:  # warm-up, then cosine decay (as lmp_denoise.train.trainer)
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 100) * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        batch = data.batch(8)
        logits = net(batch.edge_vectors, batch.edge_index, batch.species)
        loss = torch.nn.functional.cross_entropy(logits, batch.structure)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % 100 == 0:
            accuracy = (logits.argmax(1) == batch.structure).float().mean().item()
            print(f"  classifier step {step + 1}/{steps}: loss {loss.item():.3f}, batch accuracy {accuracy:.3f},"
                  f" {time.time() - t0:.0f} s", flush=True)  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return net.eval()


@torch.no_grad()
def predict(net: DenoiserNet, atoms, model, types) -> np.ndarray:
    """Class index per atom, on the input scaled as the denoiser scales it."""
    factor = length_scale(atoms, model)
    index, vectors = edges(atoms.positions, atoms.cell.array, atoms.pbc, net.cutoff / factor)
    species = torch.from_numpy(species_indices(atoms, model, types))
    logits = net(torch.from_numpy(vectors * factor).float(), torch.from_numpy(index), species)
    return logits.argmax(1).numpy()


def scores(net: DenoiserNet, model, data: Path) -> dict[str, list[tuple[float, dict[str, float]]]]:
    """Per system: (Th, % correct per method) for every crystal temperature in the data."""
    out: dict[str, list] = {}
    for name, system in SYSTEMS.items():
        for folder in sorted((data / name).glob("T*")):
            th = float(folder.name[1:])
            if th > 1.0:
                continue
            want = STRUCTURES.index(system.lattice)
            rows = []
            for atoms in read_frames(folder / "raw.dump.gz"):
                found = classify(atoms, model, 8, types=types_for(system))
                clean = found.result.atoms
                rows.append(
                    {
                        "a-CNA raw": cna_like(atoms, system).mean(),
                        "PTM raw": ptm(atoms, system, 0.0).mean(),
                        "classifier raw": (predict(net, atoms, model, types_for(system)) == want).mean(),
                        "classifier 8 steps": (predict(net, clean, model, types_for(system)) == want).mean(),
                        "labels 8 steps": (found.labels.index == want).mean(),
                    }
                )
            out.setdefault(name, []).append((th, {m: 100 * float(np.mean([r[m] for r in rows])) for m in METHODS}))
            print(f"  {name} Th={th:.2f}: " + ", ".join(f"{m} {v:.1f}" for m, v in out[name][-1][1].items()), flush=True)
    return out


def figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {
        "a-CNA raw": ("0.6", ":"),
        "PTM raw": ("0.3", "--"),
        "classifier raw": ("tab:orange", "--"),
        "classifier 8 steps": ("tab:orange", "-"),
        "labels 8 steps": ("tab:blue", "-"),
    }
    fig, axes = plt.subplots(2, 5, figsize=(15, 6), sharex=True, sharey=True)
    for ax, (name, series) in zip(axes.ravel(), results.items(), strict=False):
        th = [t for t, _ in series]
        for method, (colour, line) in styles.items():
            ax.plot(th, [row[method] for _, row in series], line, color=colour, marker="o", ms=3, label=method)
        ax.set_title(f"{name} ({SYSTEMS[name].expect})", fontsize=10)
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("T / Tm")
    for ax in axes[:, 0]:
        ax.set_ylabel("% labelled correctly")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Supervised classifier (same network, trained on labels) raw and after 8 denoising steps (dc3-six)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="classifier training updates (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "dc3" / "data")
    args = parser.parse_args()
    if not any(args.data.glob("*/T*/raw.dump.gz")):
        parser.error(f"no DC3 data under {args.data}: run 'make dc3' (benchmarks/dc3/generate.py) first")
    net = train(args.steps)
    model = load_model("dc3-six")
    results = scores(net, model, args.data)
    figure(results, ROOT / "docs" / "figures" / "ablation.png")
    lines = ["| system | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS)]
    for name, series in results.items():
        row = dict(series)[max(t for t, _ in series)]
        lines.append(f"| {name} {SYSTEMS[name].expect} | " + " | ".join(f"{row[m]:.1f}" for m in METHODS) + " |")
    table = "\n".join(lines)
    print(table)
    text = (
        "# Ablation: a supervised classifier on the same network (paper Fig. 3 c, f)\n\n"
        f"Written by `python benchmarks/ablation/classifier.py --steps {args.steps}`. % of atoms labelled with the"
        " right class at the highest crystal temperature of the data (Th = 1.0), mean of its frames.\n\n"
        f"{table}\n\n![accuracy vs temperature](figures/ablation.png)\n"
    )
    (ROOT / "docs" / "ablation.md").write_text(text)
    print(f"wrote {ROOT / 'docs' / 'ablation.md'} and docs/figures/ablation.png")


if __name__ == "__main__":
    main()
