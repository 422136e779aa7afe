"""Memory-file emission: the integer parameters of a quantized graph as $readmemh files.

Input:  a quantized graph (model/graph.py) and its hardware plan (model/plan.py: the folding
        and the stream format each compute node reads).
Output: <layer>_w.mem (weights packed into PE*SIMD[*TAPS] lanes per word), <layer>_b.mem,
        <layer>_m.mem, <layer>_r.mem, <layer>_lut.mem per compute node (docs/architecture.md
        "Memory files"), and the inverse (`read_mem`, `unpack_*`) that model/manifest.py uses to
        load an export back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model import arith
from model.graph import Graph, QuantLayer
from model.nets import Fold
from model.plan import INPUT_T_FILE, Plan, check_fold


def _lanes_to_word(lanes: np.ndarray, bits: int) -> int:
    word = 0
    mask = (1 << bits) - 1
    for i, v in enumerate(lanes.tolist()):
        word |= (int(v) & mask) << (bits * i)
    return word


def _word_to_lanes(word: int, n: int, bits: int) -> np.ndarray:
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    vals = [(word >> (bits * i)) & mask for i in range(n)]
    return np.array([v - (1 << bits) if v >= half else v for v in vals], dtype=np.int64)


def weight_codes(w: np.ndarray, w_bits: int) -> np.ndarray:
    """Lane codes of integer weights: bipolar -1/+1 -> bit 0/1 (W_BITS = 1), else the value
    (two's complement in the lane)."""
    w = np.asarray(w, dtype=np.int64)
    if w_bits == 1:
        if np.any(np.abs(w) != 1):
            raise ValueError("bipolar weights must be -1 or +1")
        return (w + 1) // 2
    q = 1 << (w_bits - 1)
    if np.any(w < -q) or np.any(w >= q):
        raise ValueError(f"weights outside {w_bits} bits")
    return w


def _code_values(lanes: np.ndarray, w_bits: int) -> np.ndarray:
    """The inverse of weight_codes on lanes read back as signed: bipolar 0/-1 -> -1/+1."""
    return np.where(lanes == 0, -1, 1) if w_bits == 1 else lanes


def pack_conv_weights(w: np.ndarray, fold: Fold, w_bits: int = 8) -> list[int]:
    """Conv weights (O, I, K, K) -> words: address (og*(I/SIMD) + ig)*(K*K/TAPS) + tg,
    lane (pe*SIMD + s)*TAPS + u = w[og*PE+pe][ig*SIMD+s][i][j], tap i*K + j = tg*TAPS + u
    (rtl/conv_unit.sv; TAPS = K*K when the fold gives none); lanes of `w_bits` bits."""
    w = weight_codes(w, w_bits)
    o, c, k, _ = w.shape
    pe, simd = fold.pe, fold.simd
    taps = fold.taps or k * k
    words = []
    for og in range(o // pe):
        for ig in range(c // simd):
            block = w[og * pe : (og + 1) * pe, ig * simd : (ig + 1) * simd].reshape(pe, simd, k * k)
            for tg in range(k * k // taps):
                words.append(_lanes_to_word(block[:, :, tg * taps : (tg + 1) * taps].reshape(-1), w_bits))
    return words


def unpack_conv_weights(words: list[int], shape, fold: Fold, w_bits: int = 8) -> np.ndarray:
    o, c, k, _ = shape
    pe, simd = fold.pe, fold.simd
    taps = fold.taps or k * k
    nt = k * k // taps
    w = np.zeros((o, c, k * k), dtype=np.int64)
    for addr, word in enumerate(words):
        og, rest = divmod(addr, (c // simd) * nt)
        ig, tg = divmod(rest, nt)
        lanes = _code_values(_word_to_lanes(word, pe * simd * taps, w_bits), w_bits)
        w[og * pe : (og + 1) * pe, ig * simd : (ig + 1) * simd, tg * taps : (tg + 1) * taps] = lanes.reshape(
            pe, simd, taps
        )
    return w.reshape(shape)


def pack_fc_weights(w_stream: np.ndarray, in_beats: int, c_in: int, fold: Fold, w_bits: int = 8) -> list[int]:
    """Dense weights (O, IN_BEATS*C_IN) in stream order -> words: address
    (b*(O/PE) + og)*(C_IN/SIMD) + ig, lane pe*SIMD + s = w[og*PE+pe][b*C_IN + ig*SIMD + s];
    lanes of `w_bits` bits."""
    w_stream = weight_codes(w_stream, w_bits)
    o = w_stream.shape[0]
    pe, simd = fold.pe, fold.simd
    w4 = w_stream.reshape(o // pe, pe, in_beats, c_in // simd, simd)  # og, pe, b, ig, s
    w4 = w4.transpose(2, 0, 3, 1, 4)  # b, og, ig, pe, s
    return [_lanes_to_word(block.reshape(-1), w_bits) for block in w4.reshape(-1, pe * simd)]


def unpack_fc_weights(words: list[int], o: int, in_beats: int, c_in: int, fold: Fold, w_bits: int = 8) -> np.ndarray:
    pe, simd = fold.pe, fold.simd
    lanes = _code_values(np.stack([_word_to_lanes(wd, pe * simd, w_bits) for wd in words]), w_bits)
    w4 = lanes.reshape(in_beats, o // pe, c_in // simd, pe, simd).transpose(1, 3, 0, 2, 4)
    return w4.reshape(o, in_beats * c_in)


def format_mem(words, bits: int) -> str:
    """$readmemh text: one lower-case hex word per line, two's complement, no comments."""
    digits = (bits + 3) // 4
    mask = (1 << bits) - 1
    return "".join(f"{int(v) & mask:0{digits}x}\n" for v in words)


def read_mem(path: str | Path, bits: int, signed: bool = False) -> list[int]:
    vals = []
    for line in Path(path).read_text().splitlines():
        v = int(line, 16)
        if signed and v >= 1 << (bits - 1):
            v -= 1 << bits
        vals.append(v)
    return vals


def layer_mem_files(ql: QuantLayer, fold: Fold, beats_lanes: tuple[int, int]) -> dict[str, tuple[str, int, int]]:
    """suffix -> (text, depth, word bits) of every memory file of one compute node;
    `beats_lanes`: how its input arrives (model/plan.py stream_formats), which a Dense node's
    weight words follow."""
    check_fold(ql.name, ql, fold, beats_lanes[1])
    if ql.kind == "conv":
        words = pack_conv_weights(ql.weight, fold, ql.w_bits)
        wbits = fold.pe * fold.simd * (fold.taps or ql.k * ql.k) * ql.w_bits
    else:
        words = pack_fc_weights(arith.dense_weight_stream(ql), *beats_lanes, fold, ql.w_bits)
        wbits = fold.pe * fold.simd * ql.w_bits
    out = {"w": (format_mem(words, wbits), len(words), wbits), "b": (format_mem(ql.bias, 32), len(ql.bias), 32)}
    if ql.thr is not None:  # one word per channel, threshold j at bits [j*32 +: 32], sorted ascending
        if np.any(np.diff(ql.thr, axis=1) < 0) or np.any(np.abs(ql.thr) >= 2**31):
            raise ValueError(f"{ql.name}: thresholds not sorted ascending or outside int32")
        tbits = ql.thr.shape[1] * arith.ACC_W
        out["t"] = (format_mem([_lanes_to_word(row, arith.ACC_W) for row in ql.thr], tbits), len(ql.thr), tbits)
    if ql.m is not None:
        if np.any(ql.m < 0) or np.any(ql.m >= 2**32) or np.any(ql.r > 255):
            raise ValueError(f"{ql.name}: m or r do not fit their memory words")
        out["m"] = (format_mem(ql.m, 32), len(ql.m), 32)
        out["r"] = (format_mem(ql.r, 8), len(ql.r), 8)
    if ql.lut is not None:
        out["lut"] = (format_mem(ql.lut, 8), 256, 8)
    return out


def write_mem_files(graph: Graph, plan: Plan, out_dir: Path) -> dict[str, dict[str, dict]]:
    """Write every memory file into out_dir; node -> suffix -> {file, depth, width} (what the
    manifest records)."""
    out: dict[str, dict[str, dict]] = {}
    if plan.in_bits == 1:  # the pixel binarizer's one threshold, a 9-bit word
        p = Path(out_dir) / INPUT_T_FILE
        p.write_text(format_mem([arith.BINARIZE_AT], 9))
        out["input"] = {"t": {"file": p.name, "depth": 1, "width": 9}}
    for ql in graph:
        if not ql.is_compute:
            continue
        files = out[ql.name] = {}
        for suffix, (text, depth, bits) in layer_mem_files(ql, plan.folds[ql.name], plan.formats[ql.name]).items():
            p = Path(out_dir) / f"{ql.name}_{suffix}.mem"
            p.write_text(text)
            files[suffix] = {"file": p.name, "depth": depth, "width": bits}
    return out
