"""axis_fifo: frames pass unchanged in order under random stalls; one beat per cycle when
free; holds exactly DEPTH + 1 beats while the output is stalled."""

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import FallingEdge, RisingEdge

from tb.common.axis import HandshakeChecker, StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst"), ("burst", "burst")]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def frames_pass_unchanged(dut, pauses):
    p = params()
    tb = StreamTB(dut, *pauses, seed=11)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(4)
    frames = [[rng.randrange(1 << p["DATA_W"]) for _ in range(rng.randint(1, 3 * p["DEPTH"]))] for _ in range(30)]
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
    n = 200
    mask = (1 << params()["DATA_W"]) - 1
    await tb.send_beats([x & mask for x in range(n)])
    start = tb.cycle
    assert await tb.recv_beats() == [x & mask for x in range(n)]
    cycles = tb.cycle - start
    # Header: one beat per cycle, latency 1 (+1 for the source's own register).
    assert cycles <= n + 3, f"{n} beats took {cycles} cycles"


async def count_fires(clk, valid, ready, counter: list):
    while True:
        await RisingEdge(clk)
        if int(valid.value) and int(ready.value):
            counter[0] += 1


@cocotb.test()
async def capacity(dut):
    """Output stalled: exactly DEPTH + 1 beats go in, then they all come out in order."""
    p = params()
    tb = StreamTB(dut)
    tb.sink.clear_pause_generator()
    tb.sink.pause = True
    await tb.reset()
    fires = [0]
    cocotb.start_soon(count_fires(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready, fires))
    mask = (1 << p["DATA_W"]) - 1
    n = p["DEPTH"] + 5
    words = [(x * 7 + 1) & mask for x in range(n)]
    await tb.send_beats(words)
    for _ in range(3 * n):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    assert int(dut.s_axis_tready.value) == 0
    assert fires[0] == p["DEPTH"] + 1, f"accepted {fires[0]} beats while stalled"
    tb.sink.pause = False
    assert await tb.recv_beats() == words
    assert tb.sink.empty()


@pytest.mark.parametrize("data_w,depth", [(1, 2), (8, 4), (8, 16), (72, 8), (33, 64)])
def test_axis_fifo(data_w, depth):
    run_cocotb(
        toplevel="axis_fifo",
        sources=rtl_sources("axis_fifo"),
        test_module="test_axis_fifo",
        test_dir=Path(__file__).parent,
        parameters={"DATA_W": data_w, "DEPTH": depth},
    )
