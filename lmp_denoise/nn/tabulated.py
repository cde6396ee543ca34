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

import math

import torch
from e3nn import o3

from .network import DenoiserNet

# tensor-product paths (l_feature, l_sh, l_out) kept by the network, in e3nn's weight order
PATHS = ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 2, 1))
DEFAULT_INTERVALS = 512


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
        C = self.channels
        center, neighbour = edge_index[0] - first, edge_index[1]
        r = torch.linalg.norm(edge_vectors, dim=1)
        unit = edge_vectors / r.unsqueeze(1)
        ux, uy, uz = unit[:, 0], unit[:, 1], unit[:, 2]
        monomials = torch.stack([ux * ux, uy * uy, uz * uz, ux * uy, uy * uz, ux * uz], dim=1)
        quad = (monomials @ self.quadrupole).view(-1, 3, 3)  # T[a, k]: feature component a -> k
        w = self._radial(layer, r)

        scalars = h[:, :C] @ self.linear_in[layer, 0]
        vectors = (h[:, C:].view(-1, 3, C)) @ self.linear_in[layer, 1]
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
        out_s = sum_s @ self.linear_out_scalar[layer]
        out_v = sum_v @ self.linear_out_vector[layer]
        gate = self.gate_constants[1] * torch.sigmoid(out_s[:, C:])
        own = h[first : first + count]
        new_s = own[:, :C] + self.residual[layer] * self.gate_constants[0] * torch.nn.functional.silu(out_s[:, :C])
        new_v = own[:, C:].reshape(-1, 3, C) + self.residual[layer] * gate.unsqueeze(1) * out_v
        return torch.cat([new_s, new_v.reshape(count, 3 * C)], dim=1)

    @torch.jit.export
    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return (h[:, self.channels :].view(-1, 3, self.channels) @ self.readout_matrix).squeeze(2)

    def forward(self, edge_vectors: torch.Tensor, edge_index: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        h = self.embed(species)
        for k in range(self.num_layers):
            h = self.layer(k, h, edge_vectors, edge_index, 0, h.shape[0])
        return self.readout(h)


# ---------------------------------------------------------------------------------------------
# compiling a trained DenoiserNet


def _channel_blocks(irreps: o3.Irreps) -> tuple[list[int], list[list[int]]]:
    """Indices of the scalar channels and of each vector component's channels, in order."""
    scalar, vector = [], [[], [], []]
    for (mul, ir), sl in zip(irreps, irreps.slices(), strict=True):
        for u in range(mul):
            if ir.l == 0:
                scalar.append(sl.start + u)
            elif ir.l == 1:
                for k in range(3):
                    vector[k].append(sl.start + 3 * u + k)
            else:
                raise ValueError(f"irrep {ir} is not supported by the tabulated network")
    return scalar, vector


def _linear_blocks(linear: o3.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """An equivariant o3.Linear as (scalar matrix, vector-channel matrix)."""
    with torch.no_grad():
        matrix = linear(torch.eye(linear.irreps_in.dim))
    s_in, v_in = _channel_blocks(linear.irreps_in)
    s_out, v_out = _channel_blocks(linear.irreps_out)
    scalar = matrix[s_in][:, s_out] if s_in and s_out else torch.zeros(len(s_in), len(s_out))
    vector = matrix[v_in[0]][:, v_out[0]] if v_in[0] and v_out[0] else torch.zeros(len(v_in[0]), len(v_out[0]))
    for k in (1, 2):
        if v_in[k] and v_out[k] and not torch.allclose(matrix[v_in[k]][:, v_out[k]], vector, atol=1e-6):
            raise ValueError("linear map is not equivariant")
    return scalar, vector


def _identity_constant(w3j: torch.Tensor) -> float:
    """c where a Wigner 3j symbol with an l = 0 index is c x identity on the other two."""
    matrix = w3j.squeeze()
    c = float(matrix.reshape(-1)[0])
    if matrix.dim() == 2 and not torch.allclose(matrix, c * torch.eye(matrix.shape[0]), atol=1e-6):
        raise ValueError("unexpected Wigner 3j symbol")
    return c


def _path_constants(interaction) -> tuple[list[float], torch.Tensor]:
    """Constants that multiply each path's radial weight, and the 1o x 2e -> 1o matrix map."""
    conv = interaction.conv
    got = [(conv.irreps_in1[i.i_in1][1].l, conv.irreps_in2[i.i_in2][1].l, conv.irreps_out[i.i_out][1].l) for i in conv.instructions]
    if tuple(got) != PATHS:
        raise ValueError(f"tensor-product paths {got} are not the ones the tabulated network implements {PATHS}")
    sqrt3 = math.sqrt(3.0)  # component-normalised l = 1 harmonics are sqrt(3) x unit vector
    constants = []
    quadrupole = torch.zeros(6, 9)
    for (l1, l2, l3), ins in zip(PATHS, conv.instructions, strict=True):
        w3j = o3.wigner_3j(l1, l2, l3)
        if (l1, l2, l3) == (1, 2, 1):
            quadrupole = _quadrupole_map(w3j)
            constants.append(ins.path_weight)
        elif l2 == 1:  # harmonics of l = 1 enter as sqrt(3) x unit vector
            constants.append(ins.path_weight * _identity_constant(w3j) * sqrt3)
        else:
            constants.append(ins.path_weight * _identity_constant(w3j))
    return constants, quadrupole


def _quadrupole_map(w3j: torch.Tensor) -> torch.Tensor:
    """(6, 9) matrix: monomials (xx, yy, zz, xy, yz, xz) of a unit vector -> T[a, k] = sum_m C[a, m, k] Y2_m."""
    generator = torch.Generator().manual_seed(0)
    unit = torch.nn.functional.normalize(torch.randn(64, 3, generator=generator, dtype=torch.float64), dim=1)
    y2 = o3.spherical_harmonics(2, unit, normalize=True, normalization="component")
    x, y, z = unit.unbind(1)
    monomials = torch.stack([x * x, y * y, z * z, x * y, y * z, x * z], dim=1)
    harmonics = torch.linalg.lstsq(monomials, y2).solution  # (6, 5): exact, Y2 is quadratic
    if not torch.allclose(monomials @ harmonics, y2, atol=1e-10):
        raise ValueError("l = 2 harmonics are not quadratic in the unit vector")
    return (harmonics.float() @ w3j.permute(1, 0, 2).reshape(5, 9)).float()


def _tabulate(radial, basis, constants: torch.Tensor, cutoff: float, intervals: int) -> torch.Tensor:
    """Cubic Hermite coefficients (n, 4, P) of r -> radial(basis(r)) * constants on [0, cutoff]."""
    grid = torch.linspace(0.0, cutoff, intervals + 1, dtype=torch.float64)
    grid[0] = 1e-6 * cutoff  # the Bessel basis is sin(w r)/r: finite, but 0/0 at r = 0 exactly

    def f(r: torch.Tensor) -> torch.Tensor:
        return radial(basis(r.float())).double() * constants

    with torch.no_grad():
        values, slopes = torch.func.jvp(f, (grid,), (torch.ones_like(grid),))
    h = cutoff / intervals
    f0, f1, d0, d1 = values[:-1], values[1:], slopes[:-1] * h, slopes[1:] * h
    c2 = 3.0 * (f1 - f0) - 2.0 * d0 - d1
    c3 = 2.0 * (f0 - f1) + d0 + d1
    return torch.stack([f0, d0, c2, c3], dim=1)


def _gate_constants(gate) -> torch.Tensor:
    one = torch.ones(1, gate.irreps_in.dim)
    with torch.no_grad():
        scalar = gate.act_scalars(one[:, : gate.act_scalars.irreps_in.dim])[0, 0] / torch.nn.functional.silu(torch.tensor(1.0))
        gates = gate.act_gates(one[:, : gate.act_gates.irreps_in.dim])[0, 0] / torch.sigmoid(torch.tensor(1.0))
    return torch.stack([scalar, gates])


def tabulate(net: DenoiserNet, intervals: int = DEFAULT_INTERVALS) -> TabulatedNet:
    """Compile a trained network into a ``TabulatedNet`` that computes the same function."""
    net = net.cpu().eval()
    embedding, _ = _linear_blocks(net.embed)
    linear_in, splines, out_s, out_v, residual = [], [], [], [], []
    quadrupole = torch.zeros(6, 9)
    for interaction in net.layers:
        linear_in.append(torch.stack(_linear_blocks(interaction.linear_in)))
        constants, quadrupole = _path_constants(interaction)
        channels = torch.tensor(constants, dtype=torch.float64).repeat_interleave(net.embed.irreps_out.count("0e"))
        splines.append(_tabulate(interaction.radial, net.basis, channels * interaction.norm, net.cutoff, intervals))
        scalar, vector = _linear_blocks(interaction.linear_out)
        out_s.append(scalar)
        out_v.append(vector)
        residual.append(interaction.residual.detach().reshape(()))
    _, readout = _linear_blocks(net.readout)
    return TabulatedNet(
        embedding=embedding,
        linear_in=torch.stack(linear_in),
        spline=torch.stack(splines),
        quadrupole=quadrupole,
        linear_out_scalar=torch.stack(out_s),
        linear_out_vector=torch.stack(out_v),
        gate_constants=_gate_constants(net.layers[0].gate),
        residual=torch.stack(residual),
        readout=readout * net.output_scale,
        cutoff=net.cutoff,
    )
