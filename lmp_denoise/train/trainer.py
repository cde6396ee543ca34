"""Denoising score matching on synthetic lattices, with checkpoints that resume exactly."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..data.lattices import REFERENCE_VOLUME, species_of
from ..data.noise import NoisyLattices
from ..infer.labels import THRESHOLD, build_labels
from ..io.progress import Progress
from ..models.modelfile import save
from ..nn.network import DenoiserNet, ModelConfig
from ..nn.tabulate import PlainForward


@dataclass
class TrainSettings:
    structures: list[str]
    output: Path
    steps: int = 4000
    batch: int = 8
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    sigma_fraction: float = 0.125
    jitter: float = 0.03
    open_fraction: float = 0.5  # structures with free surfaces or voids (data/noise.py)
    strain: float = 0.02  # largest component of the random homogeneous strain (data/noise.py)
    loss_floor: float = 0.5  # noise level, x sigma_max, below which the loss weight stops growing
    label_neighbours: list[str] | None = None  # species the structure labels look at (None: all)
    label_threshold: float = THRESHOLD  # largest template score of a labelled atom
    label_average: float = 0.0  # model units: structure choice averaged over label neighbours this close (0 off)
    checkpoint: Path | None = None
    checkpoint_every: int = 200
    log: Path | None = None
    command: str = ""
    earlier_commands: list[str] = field(default_factory=list)  # runs this one resumes, then this one
    model: ModelConfig = field(default_factory=ModelConfig)


def loss_fn(forward: PlainForward, batch, device: str) -> torch.Tensor:
    """Squared error of the predicted noise per atom, weighted by noise level (see data/noise.py)."""
    predicted = forward(batch.edge_vectors.to(device), batch.edge_index.to(device), batch.species.to(device))
    return ((predicted - batch.target.to(device)).pow(2).sum(dim=1) * batch.weight.to(device)).mean()


def _learning_rate(settings: TrainSettings, step: int) -> float:
    """Linear warm-up over 100 steps, then cosine decay to 1% of the peak."""
    warm = min(1.0, (step + 1) / 100.0)
    progress = step / max(1, settings.steps)
    return settings.lr * warm * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def train(settings: TrainSettings, resume: Path | None = None) -> Path:
    """Train, checkpointing as it goes, and export the final model file."""
    torch.manual_seed(settings.seed)
    config = replace(settings.model, num_species=len(species_of(settings.structures)))
    settings.model = config
    model = DenoiserNet(config).to(settings.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr)
    data = NoisyLattices(
        settings.structures,
        config.cutoff,
        settings.sigma_fraction,
        settings.jitter,
        seed=settings.seed,
        open_fraction=settings.open_fraction,
        strain=settings.strain,
        loss_floor=settings.loss_floor,
    )
    start, history = 0, []
    if resume is not None:
        state = torch.load(resume, map_location=settings.device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        data.rng.bit_generator.state = state["data_rng"]
        torch.set_rng_state(state["torch_rng"])
        start, history = state["step"], state["history"]
        earlier = state.get("commands", ["(earlier run without a recorded command)"])
        settings.earlier_commands = [*earlier, settings.command]
    forward = PlainForward(model)
    checkpoint = settings.checkpoint or settings.output.with_suffix(".ckpt")
    log = open(settings.log, "a") if settings.log else None
    progress = TrainProgress(start, settings.steps)
    t0 = time.time()
    for step in progress.wrap(range(start, settings.steps)):
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(settings, step)
        loss = loss_fn(forward, data.batch(settings.batch), settings.device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        progress.step(step + 1, float(np.mean(history[-50:])))
        if log:
            log.write(json.dumps({"step": step + 1, "loss": history[-1], "time": time.time() - t0}) + "\n")
            log.flush()
        if (step + 1) % settings.checkpoint_every == 0 or step + 1 == settings.steps:
            commands = settings.earlier_commands or [settings.command]
            _save_checkpoint(checkpoint, model, optimizer, data, step + 1, history, commands)
    if log:
        log.close()
    return save(model, _metadata(settings, history), settings.output)


class TrainProgress(Progress):
    """Training steps: in a batch log one line every ``EVERY`` seconds (step, mean loss of the last
    50, steps/s, time left) and one at the end."""

    EVERY = 30.0

    def __init__(self, start: int, total: int) -> None:
        super().__init__("train", "step", total=total, initial=start, every=self.EVERY)

    def step(self, done: int, loss: float) -> None:
        def line() -> str:
            rate = (done - self.initial) / max(1e-9, self.elapsed)
            left = (self.total - done) / max(rate, 1e-9)
            return f"step {done}/{self.total}, loss {loss:.3e}, {rate:.2f} steps/s, {left / 60:.0f} min left"

        self.report(f"loss={loss:.3e}", line, last=done >= self.total)


def _save_checkpoint(path: Path, model, optimizer, data: NoisyLattices, step: int, history: list, commands: list[str]) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "data_rng": data.rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "step": step,
        "history": history,
        "commands": commands,
    }
    tmp = Path(f"{path}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _metadata(settings: TrainSettings, history: list[float]) -> dict:
    config = settings.model
    return {
        "cutoff": config.cutoff,
        "num_layers": config.num_layers,
        "reference_volume": REFERENCE_VOLUME,
        "species": species_of(settings.structures),
        "structures": list(settings.structures),
        "labels": build_labels(
            settings.structures,
            species_of(settings.structures),
            settings.label_neighbours,
            settings.label_threshold,
            settings.label_average,
        ).as_dict(),
        "dtype": "float32",
        "sigma_fraction": settings.sigma_fraction,
        "density_jitter": settings.jitter,
        "open_fraction": settings.open_fraction,
        "strain": settings.strain,
        "loss": f"noise MSE weighted 1 / (sigma^2 + ({settings.loss_floor} sigma_max)^2) (lmp_denoise/data/noise.py)",
        "config": config.as_dict(),
        "training": {
            "steps": len(history),
            "batch": settings.batch,
            "lr": settings.lr,
            "seed": settings.seed,
            "final_loss": float(np.mean(history[-100:])) if history else None,
        },
        "command": settings.command,
        "command_history": settings.earlier_commands or [settings.command],
        "torch_version": torch.__version__,
    }
