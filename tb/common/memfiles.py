"""$readmemh memory files as docs/architecture.md defines them.

One word per line, lower-case hex, exactly DEPTH lines, no comments or address markers.
Lane 0 is the least significant lane of a word; signed values are two's complement in their
lane width.

Generic part: `write_mem` / `read_mem` (any lane count, lane width, signedness).
Layout part: `conv_weight_words`, `fc_weight_words` (the weight lane packing of the contract),
`bias_words`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _check_range(values, width: int, signed: bool) -> None:
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    arr = np.asarray(values, dtype=object).ravel()
    bad = [int(v) for v in arr if not lo <= int(v) <= hi]
    if bad:
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"value {bad[0]} does not fit a {kind} {width}-bit lane")


def pack_word(lanes, width: int, signed: bool | None = None) -> int:
    """Lanes (lane 0 first) -> one integer word; negative lanes in two's complement. With
    `signed` given, every lane must fit a lane of that kind."""
    if signed is not None:
        _check_range(lanes, width, signed)
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(lanes):
        word |= (int(v) & mask) << (i * width)
    return word


def unpack_word(word: int, lanes: int, width: int, signed: bool) -> list[int]:
    mask = (1 << width) - 1
    out = []
    for i in range(lanes):
        v = (int(word) >> (i * width)) & mask
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out


def write_mem(path: str | Path, words, width: int, signed: bool) -> Path:
    """Write a memory file. `words` is a sequence of words, each a sequence of lanes
    (lane 0 first) or a 2-D array (depth x lanes). Every word has the same lane count."""
    rows = [list(np.asarray(w).ravel()) for w in words]
    if not rows:
        raise ValueError("a memory needs at least one word")
    n_lanes = len(rows[0])
    if any(len(r) != n_lanes for r in rows):
        raise ValueError("all words need the same number of lanes")
    digits = (n_lanes * width + 3) // 4
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{pack_word(r, width, signed):0{digits}x}\n" for r in rows)
    path.write_text(text)
    return path


def write_memh(path: str | Path, words, width: int) -> Path:
    """A memory file of plain unsigned words (one lane per word)."""
    return write_mem(path, [[w] for w in words], width, signed=False)


def read_mem(path: str | Path, lanes: int, width: int, signed: bool) -> np.ndarray:
    """Read a memory file back: array (depth x lanes) of int64."""
    words = Path(path).read_text().split()
    return np.array([unpack_word(int(w, 16), lanes, width, signed) for w in words], dtype=np.int64).reshape(
        len(words), lanes
    )


# --- weight layouts (docs/architecture.md, "Memory files") -----------------------------------


def conv_weight_words(w, pe: int, simd: int, taps: int | None = None) -> np.ndarray:
    """Conv weights w[o][c][i][j] (C_OUT x C_IN x K x K) -> words (FOLDS x PE*SIMD*TAPS lanes).

    Address (og*(C_IN/SIMD) + ig)*(K*K/TAPS) + tg; lane (pe*SIMD + s)*TAPS + u =
    w[og*PE+pe][ig*SIMD+s][i][j] with tap i*K + j = tg*TAPS + u (TAPS None: all K*K).
    """
    w = np.asarray(w)
    c_out, c_in, k, k2 = w.shape
    taps = taps or k * k
    assert k == k2 and c_out % pe == 0 and c_in % simd == 0 and (k * k) % taps == 0
    no, ni, nt = c_out // pe, c_in // simd, k * k // taps
    words = np.zeros((no * ni * nt, pe * simd * taps), dtype=np.int64)
    for og in range(no):
        for ig in range(ni):
            for p in range(pe):
                for s in range(simd):
                    o, c = og * pe + p, ig * simd + s
                    for i in range(k):
                        for j in range(k):
                            tg, u = divmod(i * k + j, taps)
                            words[(og * ni + ig) * nt + tg, (p * simd + s) * taps + u] = w[o, c, i, j]
    return words


def fc_weight_words(w, in_beats: int, c_in: int, pe: int, simd: int) -> np.ndarray:
    """FC weights w[o][n] (C_OUT x IN_BEATS*C_IN, columns in stream order) ->
    words (IN_BEATS*(C_OUT/PE)*(C_IN/SIMD) x PE*SIMD lanes).

    Address (b*(C_OUT/PE) + og)*(C_IN/SIMD) + ig; lane pe*SIMD + s = w[og*PE+pe][b*C_IN + ig*SIMD + s].
    """
    w = np.asarray(w)
    c_out, n = w.shape
    assert n == in_beats * c_in and c_out % pe == 0 and c_in % simd == 0
    no, ni = c_out // pe, c_in // simd
    words = np.zeros((in_beats * no * ni, pe * simd), dtype=np.int64)
    for b in range(in_beats):
        for og in range(no):
            for ig in range(ni):
                for p in range(pe):
                    for s in range(simd):
                        words[(b * no + og) * ni + ig, p * simd + s] = w[og * pe + p, b * c_in + ig * simd + s]
    return words


def bias_words(bias) -> np.ndarray:
    """Bias vector -> words (C_OUT x 1 lane); write with width=32, signed=True."""
    return np.asarray(bias).reshape(-1, 1)
