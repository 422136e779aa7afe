"""axis_fork: every frame reaches both outputs unchanged, in order, once, whatever the two
outputs' stalls (independent backpressure); one output stalled forever lets the other take
exactly the current beat and no more (the fork never runs ahead of its slowest output)."""

import logging
import random
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from tb.common.axis import PAUSES, HandshakeChecker, params
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_SETS = [
    ("none", "none", "none"),
    ("random", "random", "burst"),
    ("none", "burst", "random"),
    ("burst", "none", "none"),
]


async def setup(dut, pauses, seed=3):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
    sinks = [AxiStreamSink(AxiStreamBus.from_prefix(dut, f"m{i}_axis"), dut.clk, dut.rst, byte_lanes=1) for i in (0, 1)]
    for obj, pause, k in zip((src, *sinks), pauses, range(3), strict=True):
        obj.log.setLevel(logging.WARNING)
        obj.set_pause_generator(PAUSES[pause](seed + k))
    dut.rst.value = 1
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    return src, sinks


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_SETS)
async def both_outputs_get_every_frame(dut, pauses):
    mask = (1 << params()["DATA_W"]) - 1
    src, sinks = await setup(dut, pauses)
    hs = [
        HandshakeChecker(
            dut.clk,
            getattr(dut, f"m{i}_axis_tvalid"),
            getattr(dut, f"m{i}_axis_tready"),
            getattr(dut, f"m{i}_axis_tdata"),
            getattr(dut, f"m{i}_axis_tlast"),
            f"m{i}",
        )
        for i in (0, 1)
    ]
    rng = random.Random(7)
    frames = [[rng.randrange(mask + 1) for _ in range(rng.randint(1, 40))] for _ in range(25)]
    for f in frames:
        await src.send(AxiStreamFrame(f))
    for f in frames:
        for sink in sinks:
            got = await with_timeout(sink.recv(compact=True), 2000, "us")
            assert [int(x) for x in got.tdata] == f
    for _ in range(20):
        await RisingEdge(dut.clk)
    assert all(s.empty() for s in sinks)
    assert [h.beats for h in hs] == [sum(map(len, frames))] * 2


@cocotb.test()
async def stalled_output_holds_the_fork(dut):
    src, sinks = await setup(dut, ("none", "none", "none"))
    sinks[1].clear_pause_generator()
    sinks[1].pause = True
    for _ in range(3):  # the sink drops tready on a clock edge
        await RisingEdge(dut.clk)
    words = [x & ((1 << params()["DATA_W"]) - 1) for x in range(10)]
    await src.send(AxiStreamFrame(words))
    taken = 0
    for _ in range(50):
        await RisingEdge(dut.clk)
        taken += int(dut.m0_axis_tvalid.value) and int(dut.m0_axis_tready.value)
    assert taken == 1, f"output 0 took {taken} beats while output 1 stalled"
    assert int(dut.m0_axis_tvalid.value) == 0 and int(dut.m1_axis_tvalid.value) == 1
    sinks[1].pause = False
    for sink in sinks:
        got = await with_timeout(sink.recv(compact=True), 100, "us")
        assert [int(x) for x in got.tdata] == words


@pytest.mark.parametrize("data_w", [1, 8, 96])
def test_axis_fork(data_w):
    run_cocotb(
        toplevel="test_axis_fork",
        sources=[*rtl_sources("axis_fork"), HERE / "test_axis_fork.sv"],
        test_module="test_axis_fork",
        test_dir=HERE,
        parameters={"DATA_W": data_w},
    )
