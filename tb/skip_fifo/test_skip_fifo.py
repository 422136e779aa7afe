"""skip_fifo: frames pass unchanged in order under random stalls; one beat per cycle (DEPTH >= 2);
holds exactly DEPTH beats (any DEPTH, not only powers of two) while the output is stalled."""

from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import FallingEdge, RisingEdge

# The same order and throughput checks as axis_fifo's (same parameters DATA_W, DEPTH).
from tb.axis_fifo.test_axis_fifo import count_fires, frames_pass_unchanged, full_throughput  # noqa: F401
from tb.common.axis import StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent


@cocotb.test()
async def capacity_is_depth(dut):
    p = params()
    tb = StreamTB(dut)
    tb.sink.clear_pause_generator()
    tb.sink.pause = True
    await tb.reset()
    fires = [0]
    cocotb.start_soon(count_fires(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready, fires))
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


@pytest.mark.parametrize("data_w,depth", [(8, 2), (8, 29), (128, 58), (16, 16)])
def test_skip_fifo(data_w, depth):
    run_cocotb(
        toplevel="skip_fifo",
        sources=rtl_sources("skip_fifo"),
        test_module="test_skip_fifo",
        test_dir=HERE,
        parameters={"DATA_W": data_w, "DEPTH": depth},
    )
