"""axis_skid: frames pass unchanged in order under random stalls; one beat per cycle when free."""

import random

import cocotb
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def frames_pass_unchanged(dut, pauses):
    p = params()
    tb = StreamTB(dut, *pauses, seed=7)
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(3)
    frames = [[rng.randrange(1 << p["DATA_W"]) for _ in range(rng.randint(1, 40))] for _ in range(30)]
    for f in frames:
        await tb.send_beats(f)
    for f in frames:
        assert await tb.recv_beats() == f
    assert tb.sink.empty()


@cocotb.test()
async def full_throughput(dut):
    tb = StreamTB(dut)
    await tb.reset()
    n = 200
    await tb.send_beats(list(range(n)))
    start = tb.cycle
    assert await tb.recv_beats() == [x & ((1 << params()["DATA_W"]) - 1) for x in range(n)]
    cycles = tb.cycle - start
    # Header: one beat per cycle, latency 1 (+1 for the source's own register).
    assert cycles <= n + 3, f"{n} beats took {cycles} cycles"


@pytest.mark.parametrize("data_w", [1, 8, 72])
def test_axis_skid(data_w):
    run_cocotb(
        toplevel="axis_skid",
        sources=rtl_sources("axis_skid"),
        test_module="test_axis_skid",
        test_dir=__import__("pathlib").Path(__file__).parent,
        parameters={"DATA_W": data_w},
    )
