"""A NequIP-style E(3)-equivariant network that predicts one displacement vector per atom.

The network sees only edge vectors (never absolute positions), so it is translation invariant
by construction; spherical harmonics and e3nn tensor products make it rotation and mirror
equivariant. Defaults are the paper's (Hsu et al. 2024, Suppl. Table 1), parity-corrected.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet, Gate
from e3nn.util.jit import compile_mode


@dataclass(frozen=True)
class ModelConfig:
    num_species: int = 1
    cutoff: float = 3.2
    num_layers: int = 3
    num_features: int = 10
    num_basis: int = 16
    radial_hidden: int = 64
    lmax: int = 2
    avg_neighbors: float = 12.0
    output_scale: float = 0.1
    num_classes: int = 0  # 0: one displacement vector per atom; N: N class logits (scalars) per atom

    def as_dict(self) -> dict:
        return asdict(self)


def hidden_irreps(num_features: int) -> o3.Irreps:
    return o3.Irreps(f"{num_features}x0e + {num_features}x1o")


@compile_mode("script")
class RadialBasis(torch.nn.Module):
    """Bessel functions times NequIP's polynomial envelope (p = 6): smooth to zero at the cutoff."""

    def __init__(self, cutoff: float, num_basis: int, p: int = 6) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.p = float(p)
        self.register_buffer("frequencies", math.pi * torch.arange(1, num_basis + 1).float())

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = (r / self.cutoff).unsqueeze(-1)
        p = self.p
        envelope = (
            1.0 - (p + 1.0) * (p + 2.0) / 2.0 * x**p + p * (p + 2.0) * x ** (p + 1.0) - p * (p + 1.0) / 2.0 * x ** (p + 2.0)
        )
        envelope = envelope * (x < 1.0)
        bessel = math.sqrt(2.0 / self.cutoff) * torch.sin(self.frequencies * x) / x
        return bessel * envelope


@compile_mode("script")
class Interaction(torch.nn.Module):
    """Self-interaction, equivariant convolution, gate, and a SkipInit residual (starts at zero)."""

    def __init__(self, irreps_hidden: o3.Irreps, irreps_sh: o3.Irreps, config: ModelConfig) -> None:
        super().__init__()
        self.norm = 1.0 / math.sqrt(config.avg_neighbors)
        self.linear_in = o3.Linear(irreps_hidden, irreps_hidden)
        irreps_message, instructions = _message_paths(irreps_hidden, irreps_sh)
        self.conv = o3.TensorProduct(
            irreps_hidden,
            irreps_sh,
            irreps_message,
            instructions,
            shared_weights=False,
            internal_weights=False,
        )
        self.radial = FullyConnectedNet(
            [config.num_basis, config.radial_hidden, self.conv.weight_numel], torch.nn.functional.silu
        )
        scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l == 0])
        gated = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l > 0])
        gates = o3.Irreps(f"{gated.num_irreps}x0e")
        self.gate = Gate(scalars, [torch.nn.functional.silu], gates, [torch.sigmoid], gated)
        self.linear_out = o3.Linear(irreps_message.simplify(), self.gate.irreps_in)
        self.residual = torch.nn.Parameter(torch.zeros(1))

    def forward(self, h: torch.Tensor, sh: torch.Tensor, basis: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        center, neighbour = edge_index[0], edge_index[1]
        messages = self.conv(self.linear_in(h)[neighbour], sh, self.radial(basis))
        summed = torch.zeros(h.shape[0], messages.shape[1], dtype=h.dtype, device=h.device)
        summed = summed.index_add(0, center, messages) * self.norm
        return h + self.residual * self.gate(self.linear_out(summed))


def _message_paths(irreps_in: o3.Irreps, irreps_sh: o3.Irreps) -> tuple[o3.Irreps, list]:
    """Tensor-product paths ('uvu') that end in an irrep the hidden features carry."""
    wanted = {ir for _, ir in irreps_in}
    irreps_out, instructions = [], []
    for i_in, (mul, ir_in) in enumerate(irreps_in):
        for i_sh, (_, ir_sh) in enumerate(irreps_sh):
            for ir_out in ir_in * ir_sh:
                if ir_out in wanted:
                    instructions.append((i_in, i_sh, len(irreps_out), "uvu", True))
                    irreps_out.append((mul, ir_out))
    return o3.Irreps(irreps_out), instructions


@compile_mode("script")
class DenoiserNet(torch.nn.Module):
    """g(r, z): the displacement that noise added to each atom, from edge vectors and species
    (with ``num_classes``, the same network ends in class logits instead: the supervised
    classifier of the paper's ablation, benchmarks/ablation).

    Inputs: ``edge_vectors`` (E, 3) = r_neighbour - r_center (+ periodic shift),
    ``edge_index`` (2, E) as (center, neighbour), ``species`` (N,) integer indices.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.cutoff = config.cutoff
        self.num_species = config.num_species
        irreps_hidden = hidden_irreps(config.num_features)
        irreps_species = o3.Irreps(f"{config.num_species}x0e")
        irreps_sh = o3.Irreps.spherical_harmonics(config.lmax, p=-1)
        self.spherical_harmonics = o3.SphericalHarmonics(irreps_sh, True, normalization="component")
        self.embed = o3.Linear(irreps_species, irreps_hidden)
        self.basis = RadialBasis(config.cutoff, config.num_basis)
        self.layers = torch.nn.ModuleList([Interaction(irreps_hidden, irreps_sh, config) for _ in range(config.num_layers)])
        outputs = f"{config.num_classes}x0e" if config.num_classes else "1x1o"
        self.output_scale = config.output_scale if not config.num_classes else 1.0
        self.readout = o3.Linear(irreps_hidden, o3.Irreps(outputs))

    def forward(self, edge_vectors: torch.Tensor, edge_index: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        onehot = torch.nn.functional.one_hot(species, self.num_species).to(edge_vectors.dtype)
        h = self.embed(onehot)
        r = torch.linalg.norm(edge_vectors, dim=1)
        sh = self.spherical_harmonics(edge_vectors)
        basis = self.basis(r)
        for layer in self.layers:
            h = layer(h, sh, basis, edge_index)
        return self.readout(h) * self.output_scale
