"""stride_sel: of every H x W frame exactly the beats at (y, x) with y % S == 0 and
x % S == 0 leave, in order, tlast on the last of them, under random stalls; the frames keep
their alignment back to back."""

import random
from pathlib import Path

import cocotb
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


def expected(frame, h, w, s):
    return [v for i, v in enumerate(frame) if (i // w) % s == 0 and (i % w) % s == 0]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def keeps_the_stride_grid(dut, pauses):
    p = params()
    h, w, s = p["H"], p["W"], p["S"]
    tb = StreamTB(dut, *pauses, seed=9)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(1)
    frames = [[rng.randrange(1 << p["DATA_W"]) for _ in range(h * w)] for _ in range(6)]
    for f in frames:
        await tb.send_beats(f)
    for f in frames:  # recv_beats splits at tlast: the last kept beat of each frame
        assert await tb.recv_beats() == expected(f, h, w, s)
    assert tb.sink.empty()
    assert hs.beats == sum(len(expected(f, h, w, s)) for f in frames)


@pytest.mark.parametrize("h,w,s", [(28, 28, 2), (14, 14, 2), (5, 7, 2), (6, 9, 3), (4, 4, 1)])
def test_stride_sel(h, w, s):
    run_cocotb(
        toplevel="stride_sel",
        sources=rtl_sources("stride_sel"),
        test_module="test_stride_sel",
        test_dir=HERE,
        parameters={"DATA_W": 16, "H": h, "W": w, "S": s},
    )
