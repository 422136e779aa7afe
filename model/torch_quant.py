"""PyTorch views of the quantized network.

* `QuantizedNet`: the integer network as an nn.Module (NCHW, PyTorch weight layout). Sums run
  in float64, which holds every accumulator exactly (|acc| < 2**31 << 2**53); requantization,
  pooling and the LUT run on int64 tensors. Bit-identical logits to model/reference.py, by
  an independent implementation (different layout, flatten order and ops).
* `FakeQuantNet`: the float model with fake quantization (straight-through estimator) of
  weights, biases and activations, for quantization-aware fine-tuning.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.arith import I8, U8
from model.nets import INPUT, Add, Conv, GlobalAvgPool, Net, Pool, layer_inputs, layer_names
from model.quant import QuantLayer, weight_scales


class QuantizedNet(nn.Module):
    def __init__(self, qlayers: list[QuantLayer]):
        super().__init__()
        self.qlayers = qlayers
        for i, ql in enumerate(qlayers):
            if ql.kind in ("add", "gap"):
                self.register_buffer(f"m{i}", torch.as_tensor(ql.m, dtype=torch.int64))
                self.register_buffer(f"r{i}", torch.as_tensor(ql.r, dtype=torch.int64))
            if ql.is_compute:
                self.register_buffer(f"w{i}", torch.as_tensor(ql.weight, dtype=torch.float64))
                self.register_buffer(f"b{i}", torch.as_tensor(ql.bias, dtype=torch.float64))
                if ql.m is not None:
                    self.register_buffer(f"m{i}", torch.as_tensor(ql.m, dtype=torch.int64))
                    self.register_buffer(f"r{i}", torch.as_tensor(ql.r, dtype=torch.int64))
                if ql.lut is not None:
                    self.register_buffer(f"lut{i}", torch.as_tensor(ql.lut, dtype=torch.int64))
                if ql.thr is not None:
                    self.register_buffer(f"thr{i}", torch.as_tensor(ql.thr, dtype=torch.int64))

    @torch.no_grad()
    def forward(self, images) -> torch.Tensor:
        """uint8 images (N, H, W) or (N, C, H, W) -> int64 logits (N, n_classes)."""
        x = torch.as_tensor(np.asarray(images))
        if x.dtype != torch.uint8:
            raise ValueError(f"images must be uint8, got {x.dtype}")
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = x.to(torch.int64)
        if getattr(self.qlayers, "in_bits", 8) == 1:  # binarized pixels: +1 for pixel >= 128
            x = torch.where(x >= 128, 1, -1)
        env = {INPUT: x}
        for i, ql in enumerate(self.qlayers):
            x = env[ql.name] = self._layer(i, ql, env)
        return x.flatten(1)

    def _layer(self, i: int, ql: QuantLayer, env: dict) -> torch.Tensor:
        x = env[ql.inputs[0]]
        if ql.kind in ("add", "gap"):
            m, r = getattr(self, f"m{i}"), getattr(self, f"r{i}")
            half = torch.bitwise_left_shift(torch.ones_like(r[0]), r[0] - 1)
            if ql.kind == "add":
                acc = x * m[0] + env[ql.inputs[1]] * m[1]
                return torch.clamp(torch.bitwise_right_shift(acc + half, r[0]), ql.lo, ql.hi)
            total = x.sum(dim=(2, 3), keepdim=True)
            return torch.bitwise_right_shift(total * m[0] + half, r[0])
        if ql.kind == "pool":
            h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
            xd = x[:, :, :h, :w].to(torch.float64)
            if ql.pool == "max":
                return F.max_pool2d(xd, 2).to(torch.int64)
            s = (F.avg_pool2d(xd, 2) * 4).to(torch.int64)  # exact sum of the 4 values
            return torch.bitwise_right_shift(s + 2, 2)
        w, b = getattr(self, f"w{i}"), getattr(self, f"b{i}")
        xd = x.to(torch.float64)
        if ql.kind == "conv":
            # a bipolar stream pads with -1 (lane code 0), others with 0
            xd = F.pad(xd, (ql.pad,) * 4, value=-1.0 if ql.a_in == 1 else 0.0)
            acc = F.conv2d(xd, w, b, stride=ql.stride)
        else:
            acc = F.linear(xd.flatten(1), w, b)[:, :, None, None]  # PyTorch (c, y, x) order
        acc = acc.to(torch.int64)
        if ql.thr is not None:  # MultiThreshold: how many of the channel's thresholds acc reaches
            thr = getattr(self, f"thr{i}")  # (C, N_T)
            count = (acc.unsqueeze(-1) >= thr[None, :, None, None, :]).sum(-1)
            return 2 * count - 1 if ql.a_bits == 1 else count
        if ql.m is None:
            return acc
        m = getattr(self, f"m{i}").view(1, -1, 1, 1)
        r = getattr(self, f"r{i}").view(1, -1, 1, 1)
        half = torch.bitwise_left_shift(torch.ones_like(r), r - 1)
        x = torch.clamp(torch.bitwise_right_shift(acc * m + half, r), ql.lo, ql.hi)
        if ql.lut is not None:
            x = getattr(self, f"lut{i}")[x + 128]
        return x


def ste_round(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def fake_quant(x: torch.Tensor, s, qmin: int, qmax: int) -> torch.Tensor:
    return torch.clamp(ste_round(x / s), qmin, qmax) * s


class FakeQuantNet(nn.Module):
    """Float model with the integer network's rounding and clamping in the forward pass
    (straight-through gradients). Activation scales are fixed (from calibration); weight
    scales follow the weights (per output channel; shared on the logits layer)."""

    def __init__(self, net: Net, params, act_scales, scale: str = "float"):
        super().__init__()
        self.net, self.scale, self.act_scales = net, scale, list(act_scales)
        self.weights = nn.ParameterList([nn.Parameter(w.detach().clone().float()) for w, _ in params])
        self.biases = nn.ParameterList([nn.Parameter(b.detach().clone().float()) for _, b in params])

    def float_params(self):
        return [(w.detach().clone(), b.detach().clone()) for w, b in zip(self.weights, self.biases, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (N, 1, H, W) = pixel / 255 -> float logits. Walks the layers by their
        inputs; every tensor travels with its scale."""
        env = {INPUT: (x, 1.0 / 255)}
        ci = 0
        n_layers = len(self.net.layers)
        names, inputs = layer_names(self.net), layer_inputs(self.net)
        for idx, (name, layer, ins) in enumerate(zip(names, self.net.layers, inputs, strict=True)):
            x, s_in = env[ins[0]]
            if isinstance(layer, Pool):
                h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
                x = x[:, :, :h, :w]
                if layer.kind == "max":
                    x = F.max_pool2d(x, 2)
                else:
                    avg = F.avg_pool2d(x, 2)
                    exact = torch.floor((torch.round(avg * 4 / s_in) + 2) / 4) * s_in
                    x = avg + (exact - avg).detach()
                env[name] = (x, s_in)
                continue
            if isinstance(layer, GlobalAvgPool):
                env[name] = (fake_quant(x.mean(dim=(2, 3), keepdim=True), s_in, *U8), s_in)
                continue
            if isinstance(layer, Add):
                s_in = self.act_scales[idx]
                env[name] = (fake_quant(F.relu(x + env[ins[1]][0]), s_in, *U8), s_in)
                continue
            w, b = self.weights[ci], self.biases[ci]
            ci += 1
            last = idx == n_layers - 1
            s_w = torch.as_tensor(weight_scales(w.detach().double(), self.scale, per_channel=not last), dtype=w.dtype)
            shape = (-1,) + (1,) * (w.dim() - 1)
            wq = torch.clamp(ste_round(w / s_w.view(shape)), -127, 127) * s_w.view(shape)
            s_acc = s_in * s_w
            bq = ste_round(b / s_acc) * s_acc
            if isinstance(layer, Conv):
                x = F.conv2d(x, wq, bq, stride=layer.stride, padding=layer.pad)
            else:
                x = F.linear(x.flatten(1), wq, bq)
            if layer.act == "relu":
                s_in = self.act_scales[idx]
                x = fake_quant(x, s_in, *U8)
            elif layer.act == "sigmoid":
                q = fake_quant(x, self.act_scales[idx], *I8)
                x = ste_round(255.0 * torch.sigmoid(q)) / 255.0
                s_in = 1.0 / 255
            elif not last:
                s_in = self.act_scales[idx]
                x = fake_quant(x, s_in, *I8)
            env[name] = (x, s_in)
        return x


def agreement(a_classes, b_classes) -> float:
    a, b = np.asarray(a_classes), np.asarray(b_classes)
    return float(np.mean(a == b))
