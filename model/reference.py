"""Integer-only reference inference (NumPy int64): exactly the hardware arithmetic.

Activations are kept in stream layout (N, H, W, C): one pixel = all channels of one
position, raster order. The layers run in graph order, each on the outputs of the nodes its
`inputs` name. Every RTL logit must equal `run_reference`'s bit for bit.
"""

from __future__ import annotations

import numpy as np

from model.arith import (
    add_int,
    avg_pool_int,
    binarize,
    dense_weight_stream,
    gap_int,
    pad_value,
    requantize,
    threshold_int,
)
from model.graph import INPUT, QuantLayer


def conv_acc(x: np.ndarray, ql: QuantLayer) -> np.ndarray:
    """int64 accumulators (N, H', W', C_out) of a zero-padded convolution + bias; a stride s
    keeps the stride-1 result on the stride grid."""
    n, h, w, c = x.shape
    k, p = ql.k, ql.pad
    # padding is lane code 0: the value -1 on a bipolar stream (model/arith.py pad_value)
    xp = np.full((n, h + 2 * p, w + 2 * p, c), pad_value(ql.a_in), dtype=np.int64)
    xp[:, p : p + h, p : p + w, :] = x
    ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
    acc = np.zeros((n, ho, wo, ql.weight.shape[0]), dtype=np.int64)
    for i in range(k):
        for j in range(k):
            # tap (i, j): (C_in, C_out) slice of the weights
            acc += xp[:, i : i + ho, j : j + wo, :] @ ql.weight[:, :, i, j].T.astype(np.int64)
    return acc[:, :: ql.stride, :: ql.stride] + ql.bias


def dense_acc(x: np.ndarray, ql: QuantLayer) -> np.ndarray:
    """int64 accumulators (N, 1, 1, C_out); the input is flattened in stream order (y, x, c)."""
    flat = x.reshape(x.shape[0], -1)
    acc = flat @ dense_weight_stream(ql).T.astype(np.int64) + ql.bias
    return acc.reshape(x.shape[0], 1, 1, -1)


def pool(x: np.ndarray, kind: str) -> np.ndarray:
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2, :]
    a, b, c_, d = x[:, 0::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 0::2], x[:, 1::2, 1::2]
    if kind == "max":
        return np.maximum(np.maximum(a, b), np.maximum(c_, d))
    return avg_pool_int(a, b, c_, d)


def run_layer(ql: QuantLayer, x: np.ndarray, dump: dict | None = None, other: np.ndarray | None = None) -> np.ndarray:
    """One node on its input x (and an Add's second input `other`)."""
    if ql.kind == "pool":
        y = pool(x, ql.pool)
    elif ql.kind == "add":
        y = add_int(x, other, ql.m, ql.r, ql.lo, ql.hi)
    elif ql.kind == "gap":
        y = gap_int(x, ql.m, ql.r)
    else:
        acc = conv_acc(x, ql) if ql.kind == "conv" else dense_acc(x, ql)
        if dump is not None:
            dump[f"{ql.name}_acc"] = acc
        if ql.thr is not None:  # low-bit activation: thresholds (bipolar -1/+1 or 0 .. 2**a - 1)
            y = threshold_int(acc, ql.thr, ql.a_bits)
        elif ql.m is None:  # logits layer: the accumulators are the output
            y = acc
        else:
            y = requantize(acc, ql.m, ql.r, ql.lo, ql.hi)
            if ql.lut is not None:
                if dump is not None:
                    dump[f"{ql.name}_pre"] = y
                y = ql.lut[y + 128]
    if dump is not None:
        dump[ql.name] = y
    return y


def run_reference(qlayers: list[QuantLayer], images_uint8, dump: bool = False):
    """Logits int64 (N, n_classes) for uint8 images (N, H, W) or (N, H, W, C).

    With dump=True returns (logits, acts): acts maps every layer name to its integer output
    in stream layout (N, H, W, C); compute layers also give `<name>_acc` (accumulators incl.
    bias) and sigmoid layers `<name>_pre` (int8 before the LUT)."""
    x = np.asarray(images_uint8)
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {x.dtype}")
    x = x.astype(np.int64)
    if x.ndim == 3:
        x = x[..., None]
    if getattr(qlayers, "in_bits", 8) == 1:  # the first layer reads binarized pixels
        x = binarize(x)
    acts: dict | None = {} if dump else None
    env = {INPUT: x}
    for ql in qlayers:
        other = env[ql.inputs[1]] if len(ql.inputs) > 1 else None
        x = env[ql.name] = run_layer(ql, env[ql.inputs[0]], acts, other)
    logits = x.reshape(x.shape[0], -1)
    return (logits, acts) if dump else logits


def classify(logits: np.ndarray) -> np.ndarray:
    """Class = argmax, lowest index on ties (as the RTL argmax)."""
    return np.argmax(logits, axis=1)
