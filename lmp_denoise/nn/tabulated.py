"""The inference network: a trained ``DenoiserNet`` compiled into a few plain tensor operations.

Everything the trained network computes from an edge's length alone (Bessel basis, envelope,
radial MLP, tensor-product path weights, the neighbour normalisation) is tabulated once per layer
as a cubic Hermite spline on a uniform grid; the e3nn tensor products of hidden features
``Cx0e + Cx1o`` with spherical harmonics ``0e + 1o + 2e`` are written out path by path, with
e3nn's own Wigner 3j symbols and path weights, and the per-node linear maps become matrices.
The result equals the e3nn network to float precision (splines: < 1e-6 relative) and costs a
fraction of it: ~89% of the network's FLOPs were the per-edge radial MLP.

Features are carried flat, ``(N, 4C)`` = C scalars, then 3 x C vector components (component-
major), so that the LAMMPS compute can exchange a ghost atom's features as one row of doubles.
Methods: ``forward`` (whole graph), and ``embed`` / ``layer`` / ``readout`` for evaluations that
exchange features between layers (MPI ranks in LAMMPS, chunks of atoms in Python).
"""

from __future__ import annotations

import torch


class TabulatedNet(torch.nn.Module):
    """g(r, z) with radial functions as splines; see the module docstring."""

    def __init__(
        self,
        embedding: torch.Tensor,  # (S, C) scalar features of each species
        linear_in: torch.Tensor,  # (L, 2, C, C): scalar and vector channel maps
        spline: torch.Tensor,  # (L, n, 4, 5C): cubic coefficients per interval, paths x channels
        quadrupole: torch.Tensor,  # (6, 9): unit-vector monomials -> the 1o x 2e -> 1o matrix
        linear_out_scalar: torch.Tensor,  # (L, 2C, 2C)
        linear_out_vector: torch.Tensor,  # (L, 3C, C)
        gate_constants: torch.Tensor,  # (2,): e3nn's normalize2mom factors of silu and sigmoid
        residual: torch.Tensor,  # (L,)
        readout: torch.Tensor,  # (C, 1), output scale included
        cutoff: float,
    ) -> None:
        super().__init__()
        self.channels = int(embedding.shape[1])
        self.num_layers = int(linear_in.shape[0])
        self.intervals = int(spline.shape[1])
        self.cutoff = float(cutoff)
        self.spacing = float(cutoff) / self.intervals
        for name, value in (
            ("embedding", embedding),
            ("linear_in", linear_in),
            ("spline", spline),
            ("quadrupole", quadrupole),
            ("linear_out_scalar", linear_out_scalar),
            ("linear_out_vector", linear_out_vector),
            ("gate_constants", gate_constants),
            ("residual", residual),
            ("readout_matrix", readout),
        ):
            self.register_buffer(name, value.detach().float().contiguous())

    @torch.jit.export
    def feature_size(self) -> int:
        return 4 * self.channels

    @torch.jit.export
    def tables(self) -> list[torch.Tensor]:
        """The buffers the fused kernels read, in their order."""
        return [
            self.embedding,
            self.linear_in,
            self.spline,
            self.quadrupole,
            self.linear_out_scalar,
            self.linear_out_vector,
            self.gate_constants,
            self.residual,
            self.readout_matrix,
        ]

    @torch.jit.export
    def embed(self, species: torch.Tensor) -> torch.Tensor:
        scalars = self.embedding[species]
        return torch.cat([scalars, scalars.new_zeros(scalars.shape[0], 3 * self.channels)], dim=1)

    def _radial(self, layer: int, r: torch.Tensor) -> torch.Tensor:
        """(E, 5, C) path weights of one layer, zero at and beyond the cutoff."""
        x = torch.clamp(r, 0.0, self.cutoff) / self.spacing
        cell = torch.clamp(x.floor().long(), 0, self.intervals - 1)
        t = (x - cell.to(x.dtype)).unsqueeze(1)
        c = self.spline[layer][cell]  # (E, 4, 5C)
        w = c[:, 0] + t * (c[:, 1] + t * (c[:, 2] + t * c[:, 3]))
        w = w * (r < self.cutoff).to(w.dtype).unsqueeze(1)
        return w.view(-1, 5, self.channels)

    @torch.jit.export
    def layer(
        self, layer: int, h: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor, first: int, count: int
    ) -> torch.Tensor:
        """Features of nodes first .. first+count-1 after interaction ``layer``, from the edges centred on them."""
        r = torch.linalg.norm(edge_vectors, dim=1)
        unit = edge_vectors / r.unsqueeze(1)
        return interaction(
            h,
            unit,
            edge_quadrupoles(unit, self.quadrupole),
            self._radial(layer, r),
            edge_index,
            first,
            count,
            self.linear_in[layer],
            self.linear_out_scalar[layer],
            self.linear_out_vector[layer],
            self.gate_constants,
            self.residual[layer],
        )

    @torch.jit.export
    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return (h[:, self.channels :].view(-1, 3, self.channels) @ self.readout_matrix).squeeze(2)

    def forward(self, edge_vectors: torch.Tensor, edge_index: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        h = self.embed(species)
        for k in range(self.num_layers):
            h = self.layer(k, h, edge_vectors, edge_index, 0, h.shape[0])
        return self.readout(h)


def edge_quadrupoles(unit: torch.Tensor, quadrupole: torch.Tensor) -> torch.Tensor:
    """(E, 3, 3) T[a, k] of each edge: the 1o x 2e -> 1o path maps feature component a to k."""
    ux, uy, uz = unit[:, 0], unit[:, 1], unit[:, 2]
    monomials = torch.stack([ux * ux, uy * uy, uz * uz, ux * uy, uy * uz, ux * uz], dim=1)
    return (monomials @ quadrupole).view(-1, 3, 3)


def interaction(
    h: torch.Tensor,
    unit: torch.Tensor,
    quad: torch.Tensor,
    w: torch.Tensor,
    edge_index: torch.Tensor,
    first: int,
    count: int,
    linear_in: torch.Tensor,
    linear_out_scalar: torch.Tensor,
    linear_out_vector: torch.Tensor,
    gate_constants: torch.Tensor,
    residual: torch.Tensor,
) -> torch.Tensor:
    """One interaction layer on flat features ``h`` (N, 4C): nodes first .. first+count-1 from the
    edges centred on them, given the edges' unit vectors, ``edge_quadrupoles`` and path weights
    ``w`` (E, 5, C) (splines at inference, the radial MLP in training: tabulate.PlainForward)."""
    C = w.shape[2]
    center, neighbour = edge_index[0] - first, edge_index[1]
    scalars = h[:, :C] @ linear_in[0]
    vectors = (h[:, C:].reshape(-1, 3, C)) @ linear_in[1]
    xs = scalars[neighbour]  # (E, C)
    xv = vectors[neighbour]  # (E, 3, C)
    message_s = torch.cat([w[:, 0] * xs, w[:, 3] * (xv * unit.unsqueeze(2)).sum(1)], dim=1)
    rotated = torch.bmm(quad.transpose(1, 2), xv)
    message_v = torch.cat(
        [unit.unsqueeze(2) * (w[:, 1] * xs).unsqueeze(1), w[:, 2].unsqueeze(1) * xv, w[:, 4].unsqueeze(1) * rotated],
        dim=2,
    )
    sum_s = h.new_zeros(count, 2 * C).index_add_(0, center, message_s)
    sum_v = h.new_zeros(count, 3, 3 * C).index_add_(0, center, message_v)
    out_s = sum_s @ linear_out_scalar
    out_v = sum_v @ linear_out_vector
    gate = gate_constants[1] * torch.sigmoid(out_s[:, C:])
    own = h[first : first + count]
    new_s = own[:, :C] + residual * gate_constants[0] * torch.nn.functional.silu(out_s[:, :C])
    new_v = own[:, C:].reshape(-1, 3, C) + residual * gate.unsqueeze(1) * out_v
    return torch.cat([new_s, new_v.reshape(count, 3 * C)], dim=1)
