"""argmax: index equals numpy.argmax (lowest index on ties) and the logits pass through,
under random stalls; N cycles per output."""

import random
from pathlib import Path

import cocotb
import numpy as np
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


def idx_w(n: int) -> int:
    return max(1, (n - 1).bit_length())


def logit_vectors(n: int, w: int, count: int, rng: random.Random) -> list[list[int]]:
    lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
    fixed = [
        [lo] * n,
        [hi] * n,
        [0] * n,
        [lo] * (n - 1) + [hi],
        [hi] + [lo] * (n - 1),
        [hi if i % 3 == 2 else lo for i in range(n)],
        list(range(n)),
        list(range(n, 0, -1)),
    ]
    out = [[min(max(v, lo), hi) for v in f] for f in fixed]
    while len(out) < count:
        kind = rng.random()
        if kind < 0.4:
            out.append([rng.randint(lo, hi) for _ in range(n)])
        elif kind < 0.8:  # few distinct values: many ties
            vals = [rng.randint(lo, hi) for _ in range(rng.randint(1, 3))]
            out.append([rng.choice(vals) for _ in range(n)])
        else:
            out.append([min(max(rng.randint(-2, 2), lo), hi) for _ in range(n)])
    return out


def check(word: int, logits: list[int], n: int, w: int):
    got_logits = unpack(word & ((1 << (n * w)) - 1), n, w, signed=True)
    got_idx = word >> (n * w)
    assert got_logits == logits, "logits changed"
    exp = int(np.argmax(np.array(logits, dtype=np.int64)))
    assert got_idx == exp, f"argmax({logits}) = {got_idx}, expected {exp}"


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def matches_numpy(dut, pauses):
    p = params()
    n, w = p["N"], p["ACC_W"]
    assert len(dut.m_axis_tdata) == n * w + idx_w(n)
    tb = StreamTB(dut, *pauses, seed=13)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(PAUSE_PAIRS.index(pauses))
    vecs = logit_vectors(n, w, 120, rng)
    frames, i = [], 0
    while i < len(vecs):
        k = rng.randint(1, 6)
        frames.append(vecs[i : i + k])
        i += k
    for f in frames:
        await tb.send_beats([pack(v, w) for v in f])
    for f in frames:
        got = await tb.recv_beats()
        assert len(got) == len(f)
        for word, logits in zip(got, f, strict=True):
            check(word, logits, n, w)
    assert tb.sink.empty()
    assert hs.beats == len(vecs)


@cocotb.test()
async def throughput(dut):
    """Header: latency N, N cycles per output."""
    p = params()
    n, w = p["N"], p["ACC_W"]
    tb = StreamTB(dut)
    await tb.reset()
    vecs = logit_vectors(n, w, 50, random.Random(2))
    await tb.send_beats([pack(v, w) for v in vecs])
    start = tb.cycle
    got = await tb.recv_beats()
    cycles = tb.cycle - start
    for word, logits in zip(got, vecs, strict=True):
        check(word, logits, n, w)
    assert len(vecs) * n - 1 <= cycles <= len(vecs) * n + 3, f"{len(vecs)} beats took {cycles} cycles"


@pytest.mark.parametrize("n,acc_w", [(10, 32), (1, 32), (2, 8), (7, 32), (16, 64), (3, 2)])
def test_argmax(n, acc_w):
    run_cocotb(
        toplevel="argmax",
        sources=rtl_sources("argmax"),
        test_module="test_argmax",
        test_dir=HERE,
        parameters={"N": n, "ACC_W": acc_w},
    )
