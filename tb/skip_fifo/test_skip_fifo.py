"""skip_fifo: frames pass unchanged in order under random stalls; one beat per cycle (DEPTH >= 2);
holds exactly DEPTH beats (any DEPTH, not only powers of two) while the output is stalled; the
simulation-only stall report (STALL_REPORT) is printed exactly when, and with the cycle, that a
port-level model of its rule predicts."""

import json
import re
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


async def stall_model(dut, sr: int, reports: list):
    """The report's rule at the ports: after reset, count cycles and the cycles in a row in which
    the FIFO is full, offered a beat and not popped; when that run reaches `sr` at a clock edge,
    a report names the cycle count of that edge. Sampled at the falling edge (the values the next
    rising edge sees)."""
    cycle = stuck = 0
    seen_reset = False
    while True:
        await FallingEdge(dut.clk)
        if int(dut.rst.value):
            seen_reset, cycle, stuck = True, 0, 0
            continue
        if not seen_reset:
            continue
        ready, valid = int(dut.s_axis_tready.value), int(dut.s_axis_tvalid.value)
        pop = int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value)
        if sr > 0 and stuck == sr:
            reports.append(cycle)
        cycle += 1
        stuck = stuck + 1 if (not ready and valid and not pop) else 0


@cocotb.test()
async def stall_report(dut):
    """Full, offered a beat and stalled: for longer than STALL_REPORT cycles (one report), then
    for fewer (none), then full with the input idle (none). The pytest side compares the
    simulator's printed reports with the cycles logged here."""
    p = params()
    sr = p.get("STALL_REPORT", 0)
    reports: list[int] = []
    tb = StreamTB(dut)
    cocotb.start_soon(stall_model(dut, sr, reports))
    tb.sink.clear_pause_generator()
    mask = (1 << p["DATA_W"]) - 1
    for k, (stall, extra) in enumerate([(2 * sr + 10, 1), (max(sr - 5, 1), 1), (2 * sr + 10, 0)]):
        if k == 0:
            await tb.reset()
        tb.sink.pause = True
        words = [(x * 7 + k) & mask for x in range(p["DEPTH"] + extra)]
        send = cocotb.start_soon(tb.send_beats(words))
        for _ in range(p["DEPTH"] + 2 + stall):
            await RisingEdge(dut.clk)
        tb.sink.pause = False
        assert await tb.recv_beats() == words
        await send
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut._log.info("stall reports expected at cycles %s", json.dumps(reports))
    if sr > 0:
        assert len(reports) == 1, reports


REPORT = re.compile(r"skip_fifo \S+: full \((\d+) beats\) and not read for (\d+) cycles at cycle (\d+)")


def test_skip_fifo_stall_report(capfd):
    """The report of a stuck skip path (what names the stage when resnet8 deadlocks): printed
    once per stall longer than STALL_REPORT, with its depth, its threshold and the cycle count."""
    depth, sr = 3, 20
    run_cocotb(
        toplevel="skip_fifo",
        sources=rtl_sources("skip_fifo"),
        test_module="test_skip_fifo",
        test_dir=HERE,
        parameters={"DATA_W": 8, "DEPTH": depth, "STALL_REPORT": sr},
        testcase="stall_report",
    )
    out = capfd.readouterr().out
    expected = re.search(r"stall reports expected at cycles (\[[\d, ]*\])", out)
    assert expected, out[-2000:]
    printed = [tuple(int(x) for x in m) for m in REPORT.findall(out)]
    assert printed == [(depth, sr, c) for c in json.loads(expected.group(1))], out[-2000:]


@pytest.mark.parametrize("data_w,depth", [(8, 2), (8, 29), (128, 58), (16, 16)])
def test_skip_fifo(data_w, depth):
    run_cocotb(
        toplevel="skip_fifo",
        sources=rtl_sources("skip_fifo"),
        test_module="test_skip_fifo",
        test_dir=HERE,
        parameters={"DATA_W": data_w, "DEPTH": depth},
    )
