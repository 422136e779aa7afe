"""Constructed engine vectors that hit exact rounding ties in every requantization stage.

requant rounds half up: y = (acc*m + 2**(r-1)) >> r. The held-out images almost never land
on an exact tie (acc*m = (k + 1/2) * 2**r), so without help only requant's unit test would
check the rule. `tie_export` copies a power-of-two export (m = 1, so a tie is acc = k*2**r +
2**(r-1)) and nudges each channel's bias by less than one output step so that a chosen value
of a chosen image sits exactly on a tie: a positive one for even channels, a negative one for
odd channels. It then rewrites the bias files and the expected answers from the integer
reference, so the RTL run checks the rule end to end, for both signs, in every stage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from model.emit_mem import format_mem
from model.manifest import load_graph
from model.reference import run_reference
from model.torch_quant import QuantizedNet


def ties(acc: np.ndarray, r: np.ndarray) -> tuple[int, int]:
    """(positive, negative) exact ties among accumulators (m = 1), channel last."""
    a = acc.reshape(-1, acc.shape[-1])
    half, period = 1 << (r - 1), 1 << r
    tie = (a % period) == half  # numpy's % is a floor mod, as >> is a floor shift
    return int((tie & (a > 0)).sum()), int((tie & (a < 0)).sum())


def tie_export(src: Path, out: Path, n_images: int = 8) -> dict[str, tuple[int, int]]:
    """Write the tie export to `out`; returns layer -> (positive, negative) ties over the
    first n_images held-out images (every requantized layer gets both)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(src, out)
    graph = load_graph(out)
    nodes = list(graph)
    images = np.load(out / "vectors" / "images.npy")[:n_images]
    for ql in nodes:
        if ql.m is None:
            continue
        if np.any(ql.m != 1):
            raise ValueError(f"{src}: {ql.name} has multipliers other than 1: export it with --scale pow2")
        _, acts = run_reference(nodes, images, dump=True)
        acc = acts[f"{ql.name}_acc"].reshape(-1, ql.bias.shape[0])
        for c in range(acc.shape[1]):
            r = int(ql.r[c])
            half, period = 1 << (r - 1), 1 << r
            v = acc[:, c]
            # in range after the shift, so the tie decides an output value where it can
            want = (v > period) & (v < ql.hi * period) if c % 2 == 0 else (v < 0) & (v > (ql.lo - 4) * period)
            if not want.any():
                continue
            nudge = (half - v[want]) % period  # 0 .. 2**r - 1: less than one output step
            ql.bias[c] += int(nudge.min())
        (out / f"{ql.name}_b.mem").write_text(format_mem(ql.bias, 32))

    logits, acts = run_reference(nodes, images, dump=True)
    vec = out / "vectors"
    np.save(vec / "images.npy", images)
    np.save(vec / "labels.npy", np.load(src / "vectors" / "labels.npy")[:n_images])
    np.save(vec / "logits.npy", logits)
    np.save(vec / "torch_quant_classes.npy", np.argmax(QuantizedNet(nodes)(images).numpy(), axis=1))
    np.save(vec / "float_classes.npy", np.load(src / "vectors" / "float_classes.npy")[:n_images])
    return {ql.name: ties(acts[f"{ql.name}_acc"], ql.r) for ql in nodes if ql.m is not None}
