"""Quantization of a float model: calibration, scales and the quantized graph (docs/quantization.md).

Input: a network description (model/nets.py) and its trained float weights. Output: the
quantized graph (model/graph.py) whose integers model/arith.py computes with. Float scales
become integer multipliers and shifts here (`compute_multiplier`, `pow2_multiplier`, ...,
defined in model/arith.py with the arithmetic they feed).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.arith import (
    I8,
    SIGMOID_SAT,
    U8,
    W_MAX,
    acc_bound,
    add_multipliers,
    check_acc_width,
    compute_multiplier,
    gap_multiplier,
    pow2_multiplier,
    sigmoid_lut,
)
from model.graph import Graph, QuantLayer, from_net
from model.nets import INPUT, Add, Conv, GlobalAvgPool, Net, Pool, layer_inputs, layer_names, shapes

METHODS = ("maxmin", "percentile", "mse")
SCALES = ("float", "pow2")
PERCENTILE = 99.99


# --------------------------------------------------------------------------------------------
# Float model access: weights of the Conv2d/Linear modules in order, and a functional forward


def float_params(net: Net, model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of every Conv/Dense layer of `net`, in order, from the float model
    (batch norm folded in: model/train.py GraphModel)."""
    if hasattr(model, "folded_params"):
        return model.folded_params()
    mods = [mod for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
    layers = [(layer, io) for layer, io in zip(net.layers, shapes(net), strict=True) if not isinstance(layer, Pool)]
    if len(mods) != len(layers):
        raise ValueError(f"{net.name}: the model has {len(mods)} Conv2d/Linear modules, the net {len(layers)}")
    out = []
    for mod, (layer, ((c, h, w), (co, _, _))) in zip(mods, layers, strict=True):
        if isinstance(layer, Conv):
            want = (co, c, layer.k, layer.k)
        else:
            want = (co, c * h * w)
        if tuple(mod.weight.shape) != want:
            raise ValueError(f"{net.name}: weight shape {tuple(mod.weight.shape)}, expected {want}")
        bias = mod.bias if mod.bias is not None else torch.zeros(co)
        out.append((mod.weight.detach().clone().float(), bias.detach().clone().float()))
    return out


def load_params(model: nn.Module, params) -> None:
    """Write (weight, bias) pairs back into the float model's Conv2d/Linear modules."""
    if hasattr(model, "load_folded"):
        model.load_folded(params)
        return
    mods = [mod for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for mod, (w, b) in zip(mods, params, strict=True):
            mod.weight.copy_(w)
            if mod.bias is not None:
                mod.bias.copy_(b)


def images_to_float(images) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) = pixel / 255 (no normalisation)."""
    x = torch.as_tensor(np.asarray(images))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.float() / 255.0


def float_forward(net: Net, params, x: torch.Tensor, record: bool = False):
    """Float forward pass, walking the layers by their inputs; with record, also the list of
    per-layer calibration tensors (post-ReLU output, sigmoid pre-activation, the int8 output of
    a convolution with act 'none' before the last layer, None otherwise)."""
    rec = []
    it = iter(params)
    env = {INPUT: x}
    last = len(net.layers) - 1
    for idx, (name, layer, ins) in enumerate(zip(layer_names(net), net.layers, layer_inputs(net), strict=True)):
        x = env[ins[0]]
        val = None
        if isinstance(layer, Pool):
            x = F.max_pool2d(x, 2) if layer.kind == "max" else F.avg_pool2d(x, 2)
        elif isinstance(layer, GlobalAvgPool):
            x = x.mean(dim=(2, 3), keepdim=True)
        else:
            if isinstance(layer, Add):
                x = x + env[ins[1]]
            else:
                w, b = next(it)
                if isinstance(layer, Conv):
                    x = F.conv2d(x, w, b, stride=layer.stride, padding=layer.pad)
                else:
                    x = F.linear(x.flatten(1), w, b)
            if layer.act == "relu":
                x = F.relu(x)
                val = x
            elif layer.act == "sigmoid":
                val = x
                x = torch.sigmoid(x)
            elif idx != last:
                val = x
        env[name] = x
        rec.append(val)
    return (x, rec) if record else x


# --------------------------------------------------------------------------------------------
# Calibration


def _quant_err(x: np.ndarray, s: float, qmin: int, qmax: int, sigmoid: bool) -> float:
    q = np.clip(np.round(x / s), qmin, qmax)
    if sigmoid:
        return float(np.mean((np.round(255.0 / (1.0 + np.exp(-q * s))) / 255.0 - 1.0 / (1.0 + np.exp(-x))) ** 2))
    return float(np.mean((q * s - x) ** 2))


def _round_sig(x: float) -> float:
    # Calibrated ranges are rounded to 6 significant digits: float noise from a different
    # thread count cannot move a scale (and with it an exported multiplier).
    return float(f"{x:.6g}")


def calibrate_range(values: np.ndarray, method: str, sigmoid: bool, signed: bool = False) -> float:
    """Real-valued range covered by the output lanes: 255*s (ReLU) or 127*s (sigmoid pre, or
    `signed` int8 lanes)."""
    x = np.abs(values) if sigmoid or signed else values
    x = x.astype(np.float64).ravel()
    top = float(x.max()) if x.size else 0.0
    if method == "maxmin":
        rng = top
    elif method == "percentile":
        rng = float(np.percentile(x, PERCENTILE))
    elif method == "mse":
        sample = values.astype(np.float64).ravel()
        if sample.size > 400_000:
            sample = sample[:: sample.size // 400_000 + 1]
        cap = min(top, SIGMOID_SAT * 1.5) if sigmoid else top
        qmin, qmax = I8 if sigmoid or signed else U8
        n = qmax
        best = None
        for frac in np.linspace(0.25, 1.0, 61):
            t = cap * frac
            if t <= 0:
                continue
            err = _quant_err(sample, t / n, qmin, qmax, sigmoid)
            if best is None or err < best[0] - 1e-18:
                best = (err, t)
        rng = best[1] if best else top
    else:
        raise ValueError(f"unknown calibration method {method!r}; choose one of {', '.join(METHODS)}")
    if sigmoid:
        rng = min(rng, SIGMOID_SAT)
    if not rng > 0:
        rng = 1.0
    return _round_sig(rng)


def _pow2_scale(values: np.ndarray, s: float, qmin: int, qmax: int, sigmoid: bool, rel: float) -> float:
    """Nearest power-of-two scale (times rel) below or above s, whichever has the lower error."""
    e = math.log2(s / rel)
    cands = sorted({math.floor(e), math.ceil(e)})
    if len(cands) == 1:
        return 2.0 ** cands[0] * rel
    sample = values.astype(np.float64).ravel()
    if sample.size > 400_000:
        sample = sample[:: sample.size // 400_000 + 1]
    errs = [_quant_err(sample, 2.0**c * rel, qmin, qmax, sigmoid) for c in cands]
    return 2.0 ** cands[int(np.argmin(errs))] * rel


def calibrate(
    net: Net, float_model, calib_images, method: str = "maxmin", scale: str = "float", batch: int = 500
) -> list[float | None]:
    """Output scale per layer (s_out for ReLU layers, s_pre for sigmoid, None otherwise),
    from the float model's activations on the given (training!) images."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale mode {scale!r}; choose one of {', '.join(SCALES)}")
    params = float_params(net, float_model) if isinstance(float_model, nn.Module) else float_model
    recs: list[list[np.ndarray]] = [[] for _ in net.layers]
    with torch.no_grad():
        for i in range(0, len(calib_images), batch):
            _, rec = float_forward(net, params, images_to_float(calib_images[i : i + batch]), record=True)
            for j, v in enumerate(rec):
                if v is not None:
                    recs[j].append(v.numpy())
    out: list[float | None] = []
    for layer, rec in zip(net.layers, recs, strict=True):
        if not rec:
            out.append(None)
            continue
        vals = np.concatenate([v.ravel() for v in rec])
        sig = layer.act == "sigmoid"
        signed = layer.act == "none"
        rng = calibrate_range(vals, method, sig, signed)
        qmin, qmax = I8 if sig or signed else U8
        s = rng / qmax
        if scale == "pow2":
            s = _pow2_scale(vals, s, qmin, qmax, sig, 1.0 / 255)
        out.append(s)
    return out


# --------------------------------------------------------------------------------------------
# Quantization


def weight_scales(w: torch.Tensor | np.ndarray, scale: str = "float", per_channel: bool = True) -> np.ndarray:
    """Symmetric int8 weight scale per output channel (or one shared scale)."""
    w = np.asarray(w.detach().numpy() if isinstance(w, torch.Tensor) else w, dtype=np.float64)
    w2 = w.reshape(w.shape[0], -1)
    top = np.abs(w2).max(axis=1) if per_channel else np.full(w2.shape[0], np.abs(w2).max())
    top = np.where(top > 0, top, 1.0)
    s = top / W_MAX
    if scale == "pow2":
        out = np.empty_like(s)
        for o in range(len(s)):
            row = w2[o] if per_channel else w2
            out[o] = _pow2_scale(row, s[o], -W_MAX, W_MAX, False, 1.0)
        s = out
    return s


def quantize_weights(w: np.ndarray, s_w: np.ndarray) -> np.ndarray:
    shape = (-1,) + (1,) * (w.ndim - 1)
    return np.clip(np.round(w / s_w.reshape(shape)), -W_MAX, W_MAX).astype(np.int64)


def quantize(
    net: Net,
    float_model,
    calib_images=None,
    method: str = "maxmin",
    scale: str = "float",
    act_scales: list[float | None] | None = None,
) -> Graph:
    """The quantized graph (model/graph.py) of a float model (nn.Module or float_params list).
    Activation scales come from `calibrate` on `calib_images` (training images) unless
    `act_scales` is given."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale mode {scale!r}; choose one of {', '.join(SCALES)}")
    params = float_params(net, float_model) if isinstance(float_model, nn.Module) else list(float_model)
    if act_scales is None:
        if calib_images is None:
            raise ValueError("quantize needs calibration images or act_scales")
        act_scales = calibrate(net, params, calib_images, method, scale)
    graph = from_net(net)
    nodes: list[QuantLayer] = []
    s_of = {INPUT: 1.0 / 255}
    it = iter(params)
    for idx, node in enumerate(graph):
        s_in = s_of[node.inputs[0]]
        last = idx == len(graph) - 1
        if node.kind in ("pool", "gap", "add"):
            ql = replace(node, s_in=s_in, s_out=s_in)
            if node.kind == "gap":
                n_pix = node.in_shape[1] * node.in_shape[2]
                ql.m, ql.r = (np.array([v], dtype=np.int64) for v in gap_multiplier(n_pix))
                ql.lo, ql.hi = U8
            elif node.kind == "add":
                s_q = act_scales[idx]
                if node.act != "relu" or s_q is None:
                    raise ValueError(f"{net.name}.{node.name}: an Add needs act='relu' and an activation scale")
                ma, mb, r = add_multipliers(s_in, s_of[node.inputs[1]], s_q, scale)
                ql.m, ql.r = np.array([ma, mb], dtype=np.int64), np.array([r], dtype=np.int64)
                ql.lo, ql.hi = U8
                ql.s_out = float(s_q)
            nodes.append(ql)
            s_of[node.name] = ql.s_out
            continue
        if node.act == "none" and not last and node.kind != "conv":
            raise ValueError(
                f"{net.name}: {node.name}: act='none' is only supported on the last layer and convolutions"
            )
        w, b = next(it)
        w = w.double().numpy()
        b = b.double().numpy()
        s_w = weight_scales(w, scale, per_channel=not last)
        w_int = quantize_weights(w, s_w)
        s_acc = s_in * s_w
        b_int = np.round(b / s_acc)
        if np.any(np.abs(b_int) >= 2**31):
            raise ValueError(f"{node.name}: bias does not fit int32")
        b_int = b_int.astype(np.int64)
        ql = replace(node, weight=w_int, bias=b_int, s_in=s_in, s_w=s_w, acc_bound=acc_bound(w_int, b_int))
        check_acc_width(ql)
        if node.act == "none" and last:
            ql.s_out = float(s_acc[0])
        else:
            s_q = act_scales[idx]
            if s_q is None:
                raise ValueError(f"{node.name}: no activation scale")
            mr = [pow2_multiplier(M) if scale == "pow2" else compute_multiplier(M) for M in s_acc / s_q]
            ql.m = np.array([m for m, _ in mr], dtype=np.int64)
            ql.r = np.array([r for _, r in mr], dtype=np.int64)
            if node.act == "relu":
                ql.lo, ql.hi = U8
                ql.s_out = float(s_q)
            elif node.act == "none":
                ql.lo, ql.hi = I8
                ql.s_out = float(s_q)
            else:
                ql.lo, ql.hi = I8
                ql.s_pre = float(s_q)
                ql.lut = sigmoid_lut(s_q)
                ql.s_out = 1.0 / 255
        nodes.append(ql)
        s_of[node.name] = ql.s_out
    return replace(graph, nodes=nodes)


def act_scales_of(qlayers: list[QuantLayer]) -> list[float | None]:
    """The calibrated scales a quantized net was built with (for `quantize(act_scales=...)`)."""
    out = []
    for ql in qlayers:
        if ql.kind in ("pool", "gap") or ql.m is None:
            out.append(None)
        else:
            out.append(ql.s_pre if ql.act == "sigmoid" else ql.s_out)
    return out


def finetune_qat(
    net: Net,
    float_model: nn.Module,
    dataset,
    act_scales,
    scale: str = "float",
    epochs: int = 3,
    lr: float = 1e-4,
    seed: int = 1,
) -> nn.Module:
    """Quantization-aware fine-tuning: trains the fake-quant model (model/torch_quant.py:
    straight-through estimator, activation scales fixed to `act_scales`) with model/train.py's
    loop (dataset.train_*, best epoch on dataset.val_*), and returns a copy of `float_model`
    holding the fine-tuned float weights. Quantize it with `quantize(..., act_scales=act_scales)`."""
    import copy

    from model.torch_quant import FakeQuantNet
    from model.train import train_model

    fq = FakeQuantNet(net, float_params(net, float_model), act_scales, scale)
    fq, _info = train_model(net, dataset, epochs=epochs, seed=seed, model=fq, lr=lr, progress=False)
    out = copy.deepcopy(float_model)
    load_params(out, fq.float_params())
    return out.eval()
