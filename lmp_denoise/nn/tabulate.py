"""Compiling a trained ``DenoiserNet`` into a ``TabulatedNet`` (see tabulated.py for the method).

Every constant is taken from the e3nn objects themselves (Wigner 3j symbols, path weights,
normalize2mom factors, the linear maps applied to identity matrices), so the tabulated network
computes the same function; tests check it against the e3nn network.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3

from ..models.modelfile import DEFAULT_INTERVALS
from .network import DenoiserNet
from .tabulated import TabulatedNet, edge_quadrupoles, interaction

# tensor-product paths (l_feature, l_sh, l_out) kept by the network, in e3nn's weight order
PATHS = ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 2, 1))


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


def _linear_blocks(linear: o3.Linear, check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """An equivariant o3.Linear as (scalar matrix, vector-channel matrix), differentiable in its
    weights; ``check``: that the three vector components share one matrix (once per network is enough)."""
    matrix = linear(torch.eye(linear.irreps_in.dim, device=linear.weight.device))
    s_in, v_in = _channel_blocks(linear.irreps_in)
    s_out, v_out = _channel_blocks(linear.irreps_out)
    scalar = matrix[s_in][:, s_out] if s_in and s_out else torch.zeros(len(s_in), len(s_out))
    vector = matrix[v_in[0]][:, v_out[0]] if v_in[0] and v_out[0] else torch.zeros(len(v_in[0]), len(v_out[0]))
    for k in (1, 2) if check else ():
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
    got = [
        (conv.irreps_in1[i.i_in1][1].l, conv.irreps_in2[i.i_in2][1].l, conv.irreps_out[i.i_out][1].l) for i in conv.instructions
    ]
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


def _layer_constants(net: DenoiserNet) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The 1o x 2e -> 1o matrix map, and per layer the (5C,) float64 constants that multiply the
    radial MLP's output (path weights, Wigner 3j factors, neighbour normalisation)."""
    channels = net.embed.irreps_out.count("0e")
    quadrupole, per_layer = torch.zeros(6, 9), []
    for layer in net.layers:
        constants, quadrupole = _path_constants(layer)
        per_layer.append(torch.tensor(constants, dtype=torch.float64).repeat_interleave(channels) * layer.norm)
    return quadrupole, per_layer


def tabulate(net: DenoiserNet, intervals: int = DEFAULT_INTERVALS) -> TabulatedNet:
    """Compile a trained network into a ``TabulatedNet`` that computes the same function."""
    net = net.cpu().eval()
    quadrupole, constants = _layer_constants(net)
    with torch.no_grad():
        embedding, _ = _linear_blocks(net.embed)
        linear_in, splines, out_s, out_v, residual = [], [], [], [], []
        for layer, channels in zip(net.layers, constants, strict=True):
            linear_in.append(torch.stack(_linear_blocks(layer.linear_in)))
            splines.append(_tabulate(layer.radial, net.basis, channels, net.cutoff, intervals))
            scalar, vector = _linear_blocks(layer.linear_out)
            out_s.append(scalar)
            out_v.append(vector)
            residual.append(layer.residual.detach().reshape(()))
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


class PlainForward:
    """The e3nn network's function through the tabulated network's operations
    (``tabulated.interaction``), with the radial MLP in place of the splines: differentiable in the
    e3nn weights and 1.36x faster than e3nn's own forward on a training batch (CPU, 24 channels;
    ``benchmarks/speed.py --training``). Training runs it; the e3nn modules keep the weights, so
    checkpoints and model files are unchanged. The linear maps' layout is checked once, here, not
    in every step (on a GPU each check would wait for the device)."""

    def __init__(self, net: DenoiserNet) -> None:
        if net.config.num_classes:
            raise ValueError("PlainForward computes displacement networks, not classifiers")
        self.net = net
        device = net.readout.weight.device
        quadrupole, constants = _layer_constants(net)
        self.quadrupole = quadrupole.to(device)
        self.constants = [c.float().to(device) for c in constants]
        self.gate_constants = _gate_constants(net.layers[0].gate).to(device)
        with torch.no_grad():
            for linear in (net.embed, net.readout, *(m for layer in net.layers for m in (layer.linear_in, layer.linear_out))):
                _linear_blocks(linear)

    def __call__(self, edge_vectors: torch.Tensor, edge_index: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        net = self.net
        embedding, _ = _linear_blocks(net.embed, check=False)
        scalars = embedding[species]
        h = torch.cat([scalars, scalars.new_zeros(scalars.shape[0], 3 * scalars.shape[1])], dim=1)
        r = torch.linalg.norm(edge_vectors, dim=1)
        unit, basis = edge_vectors / r.unsqueeze(1), net.basis(r)
        quad = edge_quadrupoles(unit, self.quadrupole)
        for layer, constants in zip(net.layers, self.constants, strict=True):
            w = (layer.radial(basis) * constants).view(r.shape[0], 5, -1)
            h = interaction(
                h,
                unit,
                quad,
                w,
                edge_index,
                0,
                h.shape[0],
                torch.stack(_linear_blocks(layer.linear_in, check=False)),
                *_linear_blocks(layer.linear_out, check=False),
                self.gate_constants,
                layer.residual.reshape(()),
            )
        _, readout = _linear_blocks(net.readout, check=False)
        channels = embedding.shape[1]
        return (h[:, channels:].reshape(-1, 3, channels) @ readout).squeeze(2) * net.output_scale
