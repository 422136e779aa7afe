"""Low-bit networks (FINN-style): quantization-aware training and quantization to thresholds.

Input:  a low-bit network description (model/nets.py: `w_bits`, `a_bits`, `bn` per layer,
        `Net.is_lowbit`) and a dataset.
Output: the float model, trained quantization-aware from the start (`LowBitModel`: its forward
        pass is the quantized network in float, with straight-through gradients), and the
        quantized graph (`quantize`): integer weights and per-channel thresholds computed with
        model/arith.py (`compute_thresholds`; docs/quantization.md "Low-bit layers").

The quantizers (written here, not Brevitas: a few lines each, and the export needs their exact
definitions):

* weights, 1 bit: `sign(w)` (0 -> +1) times `alpha = mean|w|` (per output channel; one scale
  for the last layer), gradient straight through inside |w| <= 1;
* weights, k = 2, 4, 8 bits: `clamp(round(w / alpha), -q, q) * alpha`, q = 2**(k-1) - 1,
  `alpha = max|w| / q` (k >= 4) or `1.4 * mean|w|` (k = 2: ternary, rounding at 0.7 mean|w|);
* activations, 1 bit: the sign, +1 for z >= 0, gradient of hardtanh;
* activations, a = 2, 4 bits: `clamp(floor(z / s + 1/2), 0, 2**a - 1) * s`, the scale `s`
  learnt (straight-through rounding, so `s` gets the LSQ gradient).

A batch norm (`bn=True`) sits between the accumulator and the activation while training; the
export folds it (eval statistics) into the thresholds. A convolution that pads a bipolar input
pads with -1: the hardware's window generator pads with lane code 0, which means -1.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model import arith
from model.graph import Graph, from_net
from model.nets import Conv, Dense, Net, Pool, layer_bits, layer_names, shapes

INPUT_SCALE = 1.0 / 255
TERNARY_ALPHA = 1.4  # 2-bit weights: alpha = 1.4 * mean|w| (rounds to 0 below 0.7 mean|w|)


# --------------------------------------------------------------------------------------------
# Quantizers (torch; the same functions train the model and export it)


def weight_scale(w: torch.Tensor, bits: int, per_channel: bool = True) -> torch.Tensor:
    """alpha per output channel (O,), detached: the real value of one weight step."""
    w = w.detach()
    a = w.reshape(w.shape[0], -1).abs()
    if bits == 1:
        s = a.mean(dim=1) if per_channel else a.mean().expand(w.shape[0])
    elif bits == 2:
        s = TERNARY_ALPHA * (a.mean(dim=1) if per_channel else a.mean().expand(w.shape[0]))
    else:
        q = (1 << (bits - 1)) - 1
        s = (a.amax(dim=1) if per_channel else a.max().expand(w.shape[0])) / q
    return torch.where(s > 0, s, torch.ones_like(s))


def weight_int(w: torch.Tensor, bits: int, alpha: torch.Tensor) -> torch.Tensor:
    """Integer weight values (float tensor), straight-through gradient (zero outside the
    clamp range for 1 bit: |w| > 1)."""
    shape = (-1,) + (1,) * (w.dim() - 1)
    if bits == 1:
        wc = torch.clamp(w, -1.0, 1.0)
        return wc + (torch.where(w >= 0, 1.0, -1.0) - wc).detach()
    lo, hi = arith.w_range(bits)
    x = w / alpha.view(shape)
    return torch.clamp(x + (torch.round(x) - x).detach(), lo, hi)


def sign_act(z: torch.Tensor) -> torch.Tensor:
    """+1 for z >= 0, else -1; gradient of hardtanh."""
    zc = torch.clamp(z, -1.0, 1.0)
    return zc + (torch.where(z >= 0, 1.0, -1.0) - zc).detach()


def relu_act(z: torch.Tensor, s: torch.Tensor, bits: int) -> torch.Tensor:
    """The a-bit quantized ReLU: clamp(floor(z/s + 1/2), 0, 2**a - 1) * s, straight through."""
    x = z / s
    q = x + (torch.floor(x + 0.5) - x).detach()
    return torch.clamp(q, 0, (1 << bits) - 1) * s


# --------------------------------------------------------------------------------------------
# The model


class LowBitLayer(nn.Module):
    """One Conv or Dense layer with its quantizers (and batch norm)."""

    def __init__(self, layer: Conv | Dense, in_shape, out_shape, bits: tuple[int, int, int], last: bool):
        super().__init__()
        c, h, w = in_shape
        self.conv = isinstance(layer, Conv)
        self.k, self.pad = (layer.k, layer.pad) if self.conv else (1, 0)
        self.w_bits, self.a_in, a_out = bits
        self.a_bits = 32 if last else a_out
        self.last = last
        o = out_shape[0]
        shape = (o, c, self.k, self.k) if self.conv else (o, c * h * w)
        fan_in = int(np.prod(shape[1:]))
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-1, 1) / math.sqrt(fan_in))
        self.bias = nn.Parameter(torch.zeros(o))
        self.bn = (nn.BatchNorm2d(o) if self.conv else nn.BatchNorm1d(o)) if layer.bn else None
        # learnt activation scale (2- and 4-bit outputs): s = exp(log_s)
        self.log_s = nn.Parameter(torch.tensor(math.log(2.0 / (1 << self.a_bits)))) if 1 < self.a_bits < 8 else None

    @property
    def s_act(self) -> float | None:
        return None if self.log_s is None else float(torch.exp(self.log_s.detach()))

    def alpha(self) -> torch.Tensor:
        return weight_scale(self.weight, self.w_bits, per_channel=not self.last)

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's pre-activation before batch norm: quantized weights, bias."""
        alpha = self.alpha()
        shape = (-1,) + (1,) * (self.weight.dim() - 1)
        wq = weight_int(self.weight, self.w_bits, alpha) * alpha.view(shape)
        if self.conv:
            if self.pad:
                x = F.pad(x, (self.pad,) * 4, value=float(arith.pad_value(self.a_in)))
            return F.conv2d(x, wq, self.bias)
        return F.linear(x.flatten(1), wq, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.accumulate(x)
        if self.bn is not None:
            z = self.bn(z)
        if self.last:
            return z
        if self.a_bits == 1:
            return sign_act(z)
        return relu_act(z, torch.exp(self.log_s), self.a_bits)


class LowBitModel(nn.Module):
    """The float model of a low-bit network: input pixels / 255 (N, C, H, W), output logits.
    Its forward pass is the quantized network (in float), so its accuracy is what the integer
    network reaches up to the rounding of the thresholds."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net
        self.names = layer_names(net)
        self.mods = nn.ModuleDict()
        last = len(net.layers) - 1
        for i, (name, layer, (ins, outs), bits) in enumerate(
            zip(self.names, net.layers, shapes(net), layer_bits(net), strict=True)
        ):
            if isinstance(layer, Conv | Dense):
                self.mods[name] = LowBitLayer(layer, ins, outs, bits, i == last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.net.in_bits == 1:  # binarized pixels (arith.binarize): +1 for pixel >= 128
            one = torch.ones_like(x)
            x = torch.where(x >= (arith.BINARIZE_AT - 0.5) * INPUT_SCALE, one, -one)
        for name, layer in zip(self.names, self.net.layers, strict=True):
            if isinstance(layer, Pool):
                x = F.max_pool2d(x, 2)
            else:
                x = self.mods[name](x)
        return x.flatten(1)


# --------------------------------------------------------------------------------------------
# Quantization: the float model -> integer weights and thresholds


def quantize(net: Net, model: LowBitModel) -> Graph:
    """The quantized graph of a trained low-bit model: integer weights (PyTorch layout),
    thresholds per hidden channel (model/arith.py `compute_thresholds`; batch norm folded in,
    channels with a negative slope get negated weights), int32 bias on the last layer."""
    graph = from_net(net)
    nodes = []
    s_in = 1.0 if net.in_bits == 1 else INPUT_SCALE
    for node in graph:
        if node.kind == "pool":
            nodes.append(replace(node, s_in=s_in, s_out=s_in))
            continue
        mod: LowBitLayer = model.mods[node.name]
        with torch.no_grad():
            alpha = mod.alpha()
            w_int = weight_int(mod.weight, mod.w_bits, alpha).double().numpy().astype(np.int64)
            alpha = alpha.double().numpy()
            bias = mod.bias.detach().double().numpy()
        s_acc = s_in * alpha
        last = node is graph[-1]
        if last:
            b_int = np.round(bias / s_acc).astype(np.int64)
            if np.any(np.abs(b_int) >= 2**31):
                raise ValueError(f"{node.name}: bias does not fit int32")
            ql = replace(node, weight=w_int, bias=b_int, s_in=s_in, s_w=alpha, s_out=float(s_acc[0]))
            ql.acc_bound = arith.acc_bound(w_int, b_int, arith.in_max(node.a_in))
            arith.check_acc_width(ql)
            nodes.append(ql)
            continue
        g, h = s_acc.copy(), bias.copy()
        if mod.bn is not None:
            bn = mod.bn
            inv = (bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)).numpy()
            g = g * inv
            h = (bias - bn.running_mean.double().numpy()) * inv + bn.bias.detach().double().numpy()
        b_int = np.zeros(len(g), dtype=np.int64)
        bound = arith.acc_bound(w_int, b_int, arith.in_max(node.a_in))
        s_act = mod.s_act if mod.a_bits > 1 else 1.0
        thr, flip = arith.compute_thresholds(g, h, arith.act_levels(mod.a_bits, s_act), bound)
        w_int[flip] *= -1
        ql = replace(node, weight=w_int, bias=b_int, s_in=s_in, s_w=alpha, s_out=float(s_act), thr=thr)
        ql.acc_bound = bound
        arith.check_acc_width(ql)
        nodes.append(ql)
        s_in = s_act
    return replace(graph, nodes=nodes)
