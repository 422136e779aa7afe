"""The engine's integer arithmetic, defined once (docs/quantization.md): NumPy only, no torch.

The integer reference (model/reference.py), the PyTorch quantized model (model/torch_quant.py)
and the generated constants (model/emit_mem.py) all compute with these functions; the RTL
implements the same formulas. How the float scales become these integers is model/quant.py.


* Weights: int8 symmetric, per output channel (`s_w[o] = max|w[o]| / 127`). The last layer
  (its accumulators are the logits) uses one scale for all outputs, so that the argmax of the
  integer logits is the argmax of (approximately) the float logits.
* Input: raw pixels 0..255 at scale 1/255. Activations after ReLU: uint8, zero point 0.
* Bias: int32 at scale `s_in * s_w[o]`.
* Requantization per output channel: `y = clamp((acc * m + 2**(r-1)) >> r, lo, hi)` with an
  arithmetic (floor) shift: one rounding, half up. `m` has M_BITS bits
  (`2**(M_BITS-1) <= m < 2**M_BITS`), `r` in 1..62; `scale="pow2"` makes every scale a power
  of two (activation scales `2**e / 255`, weight scales `2**e`) so that `m = 1`.
* Sigmoid layers requantize to int8 (-128..127) at their own calibrated scale `s_pre`, then
  a 256-entry LUT `lut[q + 128] = clip(round(255 * sigmoid(q * s_pre)), 0, 255)` gives uint8
  at scale 1/255.
* Max pool is exact on uint8; average pool is `(a + b + c + d + 2) >> 2`.
* A convolution with act "none" before the last layer (a residual branch) requantizes to
  int8 (-128..127) at its own calibrated scale.
* Add (residual join) of a (scale s_a) and b (scale s_b) to scale s_o:
  `y = clamp((a * m_a + b * m_b + 2**(r-1)) >> r, 0, 255)` with one shift r for both and
  m_a / 2**r = s_a / s_o (m_b likewise); in pow2 mode m_a and m_b are powers of two, so the
  hardware aligns the scales with shifts only.
* Global average pooling of N = H*W pixels: `y = (sum * m + 2**(r-1)) >> r`, the constant
  (m, r) chosen so that y = floor(sum / N + 1/2) for every possible sum (a division, not a
  scale change: the output keeps the input's scale).
* Strided convolution: the stride-1 result on the stride grid (rows and columns 0, s, 2s, ...).
* Dense layers read their input in stream order (y, x, c): `dense_weight_stream` permutes
  PyTorch's (c, y, x) columns.
"""

from __future__ import annotations

import math

import numpy as np

from model.graph import QuantLayer

M_BITS = 15  # requant multiplier: 2**14 <= m < 2**15 (float scale mode)
R_MIN, R_MAX = 1, 62
ACC_W = 32
W_MAX = 127  # int8 weights are symmetric: -127..127
U8 = (0, 255)
I8 = (-128, 127)
# Beyond this pre-activation the sigmoid LUT saturates (round(255*sigmoid(x)) == 255), so a
# wider int8 range only wastes resolution.
SIGMOID_SAT = math.log(254.5 / 0.5)


# --------------------------------------------------------------------------------------------
# Integer arithmetic (NumPy int64 / Python ints)


def requantize(acc, m, r, lo: int, hi: int) -> np.ndarray:
    """y = clamp((acc * m + 2**(r-1)) >> r, lo, hi); m, r broadcast against the last axis."""
    acc = np.asarray(acc, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    if np.any(r < R_MIN) or np.any(r > R_MAX):
        raise ValueError(f"requant shift out of range {R_MIN}..{R_MAX}")
    y = (acc * m + (np.int64(1) << (r - 1))) >> r  # numpy >> on int64 is arithmetic (floor)
    return np.clip(y, lo, hi)


def avg_pool_int(a, b, c, d):
    return (np.asarray(a, np.int64) + b + c + d + 2) >> 2


def compute_multiplier(M: float, m_bits: int = M_BITS) -> tuple[int, int]:
    """Integer (m, r) with m / 2**r ~= M, 2**(m_bits-1) <= m < 2**m_bits, r in 1..62.

    Raises ValueError when M needs r < 1 (M >= 2**(m_bits-1)). A tiny M (r would exceed 62)
    is represented with r = 62 and a smaller m (possibly 0: the output is constant)."""
    if not (M > 0 and math.isfinite(M)):
        raise ValueError(f"requant multiplier must be positive and finite, got {M!r}")
    f, e = math.frexp(M)  # M = f * 2**e, 0.5 <= f < 1
    r = m_bits - e
    m = math.floor(f * (1 << m_bits) + 0.5)
    if m == 1 << m_bits:
        m, r = m >> 1, r - 1
    if r < R_MIN:
        raise ValueError(f"requant multiplier {M:g} too large: needs shift {r} < {R_MIN}")
    if r > R_MAX:
        m, r = math.floor(M * 2.0**R_MAX + 0.5), R_MAX
    return int(m), int(r)


def pow2_multiplier(M: float) -> tuple[int, int]:
    """(1, r) for M == 2**-r exactly (pow2 scale mode)."""
    f, e = math.frexp(M)
    if f != 0.5:
        raise ValueError(f"pow2 mode: multiplier {M!r} is not a power of two")
    r = 1 - e
    if not R_MIN <= r <= R_MAX:
        raise ValueError(f"pow2 mode: multiplier {M:g} needs shift {r} outside {R_MIN}..{R_MAX}")
    return 1, r


def add_multipliers(s_a: float, s_b: float, s_o: float, scale: str = "float") -> tuple[int, int, int]:
    """(m_a, m_b, r) of an Add: m_a / 2**r ~= s_a / s_o, m_b / 2**r ~= s_b / s_o, one shift r,
    both multipliers below 2**M_BITS. pow2: exact powers of two (shifts), r the smallest >= 1."""
    ma_f, mb_f = s_a / s_o, s_b / s_o
    if scale == "pow2":
        ea, eb = (math.frexp(v) for v in (ma_f, mb_f))
        if ea[0] != 0.5 or eb[0] != 0.5:
            raise ValueError(f"pow2 mode: add scale ratios {ma_f!r}, {mb_f!r} are not powers of two")
        r = max(R_MIN, 1 - ea[1], 1 - eb[1])
        ma, mb = 1 << (ea[1] - 1 + r), 1 << (eb[1] - 1 + r)
    else:
        r = M_BITS - math.frexp(max(ma_f, mb_f))[1]
        ma, mb = math.floor(ma_f * 2.0**r + 0.5), math.floor(mb_f * 2.0**r + 0.5)
    if not R_MIN <= r <= R_MAX or max(ma, mb) >= 1 << M_BITS:
        raise ValueError(f"add multipliers out of range: m_a={ma} m_b={mb} r={r}")
    return int(ma), int(mb), int(r)


def add_int(a, b, m, r, lo: int, hi: int) -> np.ndarray:
    """y = clamp((a * m_a + b * m_b + 2**(r-1)) >> r, lo, hi)."""
    acc = np.asarray(a, np.int64) * int(m[0]) + np.asarray(b, np.int64) * int(m[1])
    return np.clip((acc + (1 << (int(r[0]) - 1))) >> int(r[0]), lo, hi)


def gap_multiplier(n: int, in_max: int = 255) -> tuple[int, int]:
    """(m, r) with (s * m + 2**(r-1)) >> r == floor(s / n + 1/2) for every sum s in 0..n*in_max,
    the smallest such r (shorter multipliers)."""
    s = np.arange(n * in_max + 1, dtype=np.int64)
    want = (2 * s + n) // (2 * n)
    for r in range(R_MIN, 32):
        m = math.floor(2.0**r / n + 0.5)
        if np.array_equal((s * m + (1 << (r - 1))) >> r, want):
            return m, r
    raise ValueError(f"no exact global-average multiplier for {n} pixels")


def gap_int(x: np.ndarray, m, r) -> np.ndarray:
    """Global average of stream-layout x (N, H, W, C) -> (N, 1, 1, C)."""
    total = np.asarray(x, np.int64).sum(axis=(1, 2), keepdims=True)
    return (total * int(m[0]) + (1 << (int(r[0]) - 1))) >> int(r[0])


def sigmoid_lut(s_pre: float) -> np.ndarray:
    q = np.arange(-128, 128, dtype=np.float64)
    return np.clip(np.round(255.0 / (1.0 + np.exp(-q * s_pre))), 0, 255).astype(np.int64)


def dense_weight_stream(ql: QuantLayer) -> np.ndarray:
    """Dense weights with columns in stream order (y, x, c) instead of PyTorch's (c, y, x)."""
    c, h, w = ql.in_shape
    o = ql.weight.shape[0]
    return ql.weight.reshape(o, c, h, w).transpose(0, 2, 3, 1).reshape(o, h * w * c)


def in_max(bits: int) -> int:
    """The largest |input| of a `bits`-bit activation lane: 1 for bipolar (+-1), else 2**bits - 1."""
    return 1 if bits == 1 else (1 << bits) - 1


def acc_bound(weight: np.ndarray, bias: np.ndarray, in_max: int = 255) -> int:
    """Worst-case |accumulator| over all inputs in 0..in_max (all engine lanes are uint8)."""
    w = np.abs(weight.reshape(weight.shape[0], -1).astype(np.int64))
    return int(np.max(w.sum(axis=1) * in_max + np.abs(bias)))


def check_acc_width(ql: QuantLayer, acc_w: int = ACC_W) -> None:
    if ql.acc_bound >= 1 << (acc_w - 1):
        raise ValueError(f"{ql.name}: worst-case |accumulator| {ql.acc_bound} does not fit int{acc_w}")


# --------------------------------------------------------------------------------------------
# Low-bit layers (docs/quantization.md "Low-bit layers and thresholds")
#
# Values: a bipolar lane (1 bit) stands for -1 (code 0) or +1 (code 1); a 2- or 4-bit
# activation lane for its unsigned code; a w-bit weight (w > 1) for its two's complement code,
# symmetric -(2**(w-1) - 1) .. 2**(w-1) - 1. The accumulator is the exact integer sum of the
# value products plus the int32 bias (0 in a thresholded layer: the bias is in the thresholds).
#
# A thresholded layer's activation, per channel o with sorted int thresholds T[o][0..N_T-1]:
#     count = #{j : acc >= T[o][j]}                   (N_T = 2**a - 1)
#     value = 2*count - 1 (a = 1, bipolar), count (a = 2, 4)
#
# The thresholds come from the float layer offline: its pre-activation is affine in the
# accumulator, z = g[o]*acc + h[o] (accumulator scale, bias and batch norm folded), and the
# activation steps up where z reaches a level t_j: t = (0,) for the sign, t_j = (j - 1/2)*s for
# the quantized ReLU of scale s (round half up: floor(z/s + 1/2), clamped to 0 .. 2**a - 1).
# For g > 0, z >= t_j <=> acc >= ceil((t_j - h)/g). For g < 0 the inequality turns round:
# the channel's weights are negated (acc -> -acc) and the same formula holds with |g|. g = 0
# gives a constant output.


def w_range(w_bits: int) -> tuple[int, int]:
    """Integer weight values of a w-bit layer: bipolar +-1 (only -1 and +1), else symmetric."""
    if w_bits == 1:
        return -1, 1
    q = (1 << (w_bits - 1)) - 1
    return -q, q


def act_levels(a_bits: int, s_act: float = 1.0) -> np.ndarray:
    """Where a low-bit activation steps up, in units of its pre-activation z: the sign at 0;
    the a-bit quantized ReLU of scale s_act at (j - 1/2)*s_act, j = 1 .. 2**a - 1."""
    if a_bits == 1:
        return np.zeros(1)
    n = (1 << a_bits) - 1
    return (np.arange(1, n + 1, dtype=np.float64) - 0.5) * float(s_act)


def compute_thresholds(g, h, levels, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds (O, N_T) int64, sorted ascending per row, and the channels whose
    weights must be negated (g < 0), for the pre-activation z = g*acc + h (float64 per
    channel) stepping at `levels`. `bound`: the largest |acc| (acc_bound); thresholds are
    clipped to +-(bound + 1), which changes no output."""
    g = np.asarray(g, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    t = np.asarray(levels, dtype=np.float64)
    flip = g < 0
    lim = bound + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.ceil((t[None, :] - h[:, None]) / np.abs(g)[:, None])
    const = np.where(h[:, None] >= t[None, :], -lim, lim)  # g == 0: reached always or never
    thr = np.where((g == 0)[:, None], const, np.clip(np.nan_to_num(raw, nan=lim, posinf=lim, neginf=-lim), -lim, lim))
    return thr.astype(np.int64), flip


def threshold_int(acc, thr: np.ndarray, a_bits: int) -> np.ndarray:
    """Activation values of accumulators acc (..., O) against thresholds (O, N_T): the count of
    thresholds reached, as a bipolar value (a = 1) or the unsigned count."""
    acc = np.asarray(acc, dtype=np.int64)
    count = (acc[..., None] >= np.asarray(thr, dtype=np.int64)).sum(axis=-1)
    return 2 * count - 1 if a_bits == 1 else count


def lane_code(values, bits: int) -> np.ndarray:
    """The lane code of activation values: bipolar -1/+1 -> 0/1; otherwise the value."""
    v = np.asarray(values, dtype=np.int64)
    return (v + 1) // 2 if bits == 1 else v


BINARIZE_AT = 128  # binarized pixels: +1 for pixel >= 128, else -1


def binarize(pixels) -> np.ndarray:
    """Binarized pixels (a network with in_bits = 1): +1 for pixel >= BINARIZE_AT, else -1; in
    hardware a threshold unit with the one threshold BINARIZE_AT on the 9-bit zero-extended pixel."""
    return np.where(np.asarray(pixels, dtype=np.int64) >= BINARIZE_AT, 1, -1)


def pad_value(bits: int) -> int:
    """The value of a zero lane (window_gen's padding): -1 on a bipolar stream, else 0."""
    return -1 if bits == 1 else 0
