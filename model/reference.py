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

# Integers up to 2**53 are exact in float64, so a product of integer matrices whose every
# partial sum stays below that is computed exactly by a float64 matmul (BLAS: tens of times
# faster than NumPy's int64 matmul), whatever the order of the additions.
EXACT_F64 = 2**53
CHUNK = 500  # images per pass of run_reference (memory)


def _exact_f64(x: np.ndarray, w: np.ndarray) -> bool:
    """True when x @ w (w: (K, N)) cannot leave float64's exact integers: every partial sum
    is at most max|x| * max_n sum_k |w[k, n]|."""
    if x.size == 0 or w.size == 0:
        return True
    return int(np.abs(x).max()) * int(np.abs(w).sum(axis=0).max()) < EXACT_F64


def int_matmul(x: np.ndarray, w: np.ndarray, exact_f64: bool | None = None) -> np.ndarray:
    """x @ w of int64 arrays, exactly: in float64 when `exact_f64` (None: checked here), else int64."""
    if exact_f64 is None:
        exact_f64 = _exact_f64(x, w)
    if exact_f64:
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x @ w


def conv_acc(x: np.ndarray, ql: QuantLayer) -> np.ndarray:
    """int64 accumulators (N, H', W', C_out) of a zero-padded convolution + bias; a stride s
    keeps the stride-1 result on the stride grid (only those positions are computed)."""
    n, h, w, c = x.shape
    k, p, s = ql.k, ql.pad, ql.stride
    wt = np.asarray(ql.weight, dtype=np.int64)
    c_out = wt.shape[0]
    # padding is lane code 0: the value -1 on a bipolar stream (model/arith.py pad_value)
    pad = pad_value(ql.a_in)
    # the bound of the whole accumulator, every tap summed (the bias is added in int64)
    exact = _exact_f64(x, wt.transpose(1, 2, 3, 0).reshape(-1, c_out)) and _exact_f64(
        np.array([pad]), wt.transpose(1, 2, 3, 0).reshape(-1, c_out)
    )
    dt = np.float64 if exact else np.int64
    xp = np.full((n, h + 2 * p, w + 2 * p, c), pad, dtype=dt)
    xp[:, p : p + h, p : p + w, :] = x
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    acc = np.zeros((n * ho * wo, c_out), dtype=dt)
    for i in range(k):
        for j in range(k):
            # tap (i, j): the inputs it meets at the kept output positions, times its (C_in, C_out) weights
            tap = xp[:, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s, :].reshape(-1, c)
            acc += tap @ wt[:, :, i, j].T.astype(dt)
    return acc.astype(np.int64).reshape(n, ho, wo, c_out) + ql.bias


def dense_acc(x: np.ndarray, ql: QuantLayer) -> np.ndarray:
    """int64 accumulators (N, 1, 1, C_out); the input is flattened in stream order (y, x, c)."""
    flat = x.reshape(x.shape[0], -1)
    acc = int_matmul(flat, dense_weight_stream(ql).T.astype(np.int64)) + ql.bias
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
    if not dump and len(x) > CHUNK:  # bounded memory; images are independent
        return np.concatenate([run_reference(qlayers, x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])
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
