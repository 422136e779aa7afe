"""gap_unit: one beat per frame of N beats, bit-exact against model/arith.py gap_int with the
(M, R) of gap_multiplier (the rounded mean), on random frames and all-255 frames (the largest
sum), under random stalls; back-to-back frames keep their alignment."""

import random
from pathlib import Path

import cocotb
import numpy as np
import pytest

from model.arith import gap_int, gap_multiplier
from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def rounded_mean(dut, pauses):
    p = params()
    c, n = p["C"], p["N"]
    tb = StreamTB(dut, *pauses, seed=4)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(8)
    frames = [np.full((n, c), 255)] + [
        np.array([[rng.randrange(256) for _ in range(c)] for _ in range(n)]) for _ in range(6)
    ]
    for f in frames:
        await tb.send_beats([pack(row.tolist(), 8) for row in f])
    for f in frames:
        want = gap_int(f.reshape(1, n, 1, c), (p["M"],), (p["R"],)).ravel().tolist()
        assert [unpack(x, c, 8, False) for x in await tb.recv_beats()] == [want]
    assert tb.sink.empty()
    assert hs.beats == len(frames)


@pytest.mark.parametrize("c,n", [(4, 49), (3, 1), (2, 196), (64, 49)])
def test_gap_unit(c, n):
    m, r = gap_multiplier(n)
    run_cocotb(
        toplevel="gap_unit",
        sources=rtl_sources("gap_unit"),
        test_module="test_gap_unit",
        test_dir=HERE,
        parameters={"C": c, "N": n, "M": m, "R": r},
    )
