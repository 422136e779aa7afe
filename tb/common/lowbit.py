"""The low-bit arithmetic contract (docs/rtl-library.md, "Low-bit arithmetic contract") in NumPy,
written from the contract, not from the RTL: lane codes as they travel in the streams and memory
files, and the integer values they stand for.

  weights     W_BITS = 1: bipolar, code 1 -> +1, code 0 -> -1; else signed two's complement
  activations A_BITS = 1: bipolar, code 1 -> +1, code 0 -> -1; else unsigned 0 .. 2**A_BITS - 1
  product     the product of the two values (w1a1: +1 when the codes are equal, else -1)

Codes are what `pack` / `write_mem` take: 0/1 for a bipolar lane, the signed value for a
signed weight lane, the unsigned value for an activation lane.
"""

from __future__ import annotations

import numpy as np

BITS = (1, 2, 4, 8)


def w_code_range(w_bits: int) -> tuple[int, int]:
    """Smallest and largest weight code (inclusive)."""
    return (0, 1) if w_bits == 1 else (-(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1)


def a_code_range(a_bits: int) -> tuple[int, int]:
    """Smallest and largest activation code (inclusive)."""
    return 0, (1 << a_bits) - 1


def w_value(codes, w_bits: int) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.int64)
    return 2 * codes - 1 if w_bits == 1 else codes


def a_value(codes, a_bits: int) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.int64)
    return 2 * codes - 1 if a_bits == 1 else codes


def w_mem_signed(w_bits: int) -> bool:
    """How write_mem stores a weight lane: bipolar codes are plain bits."""
    return w_bits > 1


def xnor_popcount_dot(w_codes, a_codes) -> int:
    """w1a1 dot product in its hardware form, 2*popcount(~(w ^ a)) - n (a cross-check of the
    value-domain product sum)."""
    w_codes, a_codes = np.asarray(w_codes).ravel(), np.asarray(a_codes).ravel()
    return 2 * int(np.sum(w_codes == a_codes)) - w_codes.size


def random_w_codes(shape, w_bits: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = w_code_range(w_bits)
    w = rng.integers(lo, hi + 1, shape, dtype=np.int64)
    w.flat[0], w.flat[-1] = lo, hi  # both extremes present (for W_BITS > 1: -2**(W-1) and max)
    return w


def random_a_codes(shape, a_bits: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = a_code_range(a_bits)
    return rng.integers(lo, hi + 1, shape, dtype=np.int64)
