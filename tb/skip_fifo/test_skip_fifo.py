"""skip_fifo: frames pass unchanged in order under random stalls; one beat per cycle; holds
exactly DEPTH beats (any DEPTH, not only powers of two) while the output is stalled."""

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import FallingEdge, RisingEdge

from tb.common.axis import HandshakeChecker, StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst"), ("burst", "burst")]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def frames_pass_unchanged(dut, pauses):
    p = params()
    tb = StreamTB(dut, *pauses, seed=5)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(2)
    frames = [[rng.randrange(1 << p["DATA_W"]) for _ in range(rng.randint(1, 3 * p["DEPTH"]))] for _ in range(25)]
    for f in frames:
        await tb.send_beats(f)
    for f in frames:
        assert await tb.recv_beats() == f
    assert tb.sink.empty()
    assert hs.beats == sum(len(f) for f in frames)


@cocotb.test()
async def full_throughput(dut):
    tb = StreamTB(dut)
    await tb.reset()
    n = 150
    mask = (1 << params()["DATA_W"]) - 1
    await tb.send_beats([x & mask for x in range(n)])
    start = tb.cycle
    assert await tb.recv_beats() == [x & mask for x in range(n)]
    assert tb.cycle - start <= n + 3, f"{n} beats took {tb.cycle - start} cycles"


@cocotb.test()
async def capacity_is_depth(dut):
    p = params()
    tb = StreamTB(dut)
    tb.sink.clear_pause_generator()
    tb.sink.pause = True
    await tb.reset()
    fires = [0]

    async def count():
        while True:
            await RisingEdge(dut.clk)
            fires[0] += int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value)

    cocotb.start_soon(count())
    mask = (1 << p["DATA_W"]) - 1
    words = [(x * 5 + 3) & mask for x in range(p["DEPTH"] + 4)]
    await tb.send_beats(words)
    for _ in range(3 * len(words) + 10):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    assert int(dut.s_axis_tready.value) == 0
    assert fires[0] == p["DEPTH"], f"accepted {fires[0]} beats while stalled, DEPTH {p['DEPTH']}"
    tb.sink.pause = False
    assert await tb.recv_beats() == words


@pytest.mark.parametrize("data_w,depth", [(8, 1), (8, 29), (128, 58), (16, 16)])
def test_skip_fifo(data_w, depth):
    run_cocotb(
        toplevel="skip_fifo",
        sources=rtl_sources("skip_fifo"),
        test_module="test_skip_fifo",
        test_dir=HERE,
        parameters={"DATA_W": data_w, "DEPTH": depth},
    )
