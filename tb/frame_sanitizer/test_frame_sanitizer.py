"""frame_sanitizer: every input frame becomes exactly N_BEATS beats plus one flag, in order."""

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import RisingEdge

from tb.common.axis import HandshakeChecker, StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "burst")]


def expected(frame: list[int], n: int) -> tuple[list[int], int]:
    body = frame[:n] + [0] * max(0, n - len(frame))
    return body, int(len(frame) != n)


class FlagMonitor:
    """Takes flags with a random tready and records them."""

    def __init__(self, dut, seed):
        self.dut, self.flags, self.rng = dut, [], random.Random(seed)
        cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            self.dut.m_flag_tready.value = int(self.rng.random() < 0.7)
            await RisingEdge(self.dut.clk)
            if int(self.dut.m_flag_tvalid.value) and int(self.dut.m_flag_tready.value):
                self.flags.append(int(self.dut.m_flag_tdata.value))


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def malformed_frames(dut, pauses):
    n = params()["N_BEATS"]
    tb = StreamTB(dut, *pauses, seed=11)
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast)
    flags = FlagMonitor(dut, 5)
    await tb.reset()
    rng = random.Random(2)
    # exact, short by one, one beat, long by one, double length (a frame with no TLAST
    # followed by a good one arrives as one long frame), then random lengths.
    lengths = [n, max(1, n - 1), 1, n + 1, 2 * n, n] + [rng.choice([n, n, rng.randint(1, 2 * n)]) for _ in range(20)]
    frames = [[rng.randrange(1, 256) for _ in range(length)] for length in lengths]
    for f in frames:
        await tb.send_beats(f)
    for i, f in enumerate(frames):
        body, _ = expected(f, n)
        got = await tb.recv_beats()
        assert got == body, f"frame {i} (length {len(f)}): wrong beats"
    for _ in range(20):
        await RisingEdge(dut.clk)
    assert flags.flags == [expected(f, n)[1] for f in frames]
    assert tb.sink.empty()


@cocotb.test()
async def reset_mid_frame(dut):
    n = params()["N_BEATS"]
    tb = StreamTB(dut)
    flags = FlagMonitor(dut, 3)
    await tb.reset()
    await tb.send_beats(list(range(1, n + 1)))
    for _ in range(n // 2):
        await RisingEdge(dut.clk)
    await tb.reset()  # the source drops its frame; the sanitizer must forget the half frame
    while not tb.sink.empty():
        await tb.sink.recv()
    flags.flags.clear()
    good = [(i % 255) + 1 for i in range(n)]
    await tb.send_beats(good)
    assert await tb.recv_beats() == good
    for _ in range(5):
        await RisingEdge(dut.clk)
    assert flags.flags == [0]


@cocotb.test()
async def one_beat_per_cycle(dut):
    """Header: latency 1 cycle, one beat per cycle, frames back to back."""
    n = params()["N_BEATS"]
    tb = StreamTB(dut)
    dut.m_flag_tready.value = 1
    await tb.reset()
    frames = 4
    for _ in range(frames):
        await tb.send_beats([7] * n)
    await tb.recv_beats()
    start = tb.cycle
    for _ in range(frames - 1):
        await tb.recv_beats()
    assert tb.cycle - start == (frames - 1) * n, f"{(frames - 1) * n} beats took {tb.cycle - start} cycles"


@pytest.mark.parametrize("n_beats", [1, 16, 784])
def test_frame_sanitizer(n_beats):
    run_cocotb(
        toplevel="frame_sanitizer",
        sources=rtl_sources("frame_sanitizer"),
        test_module="test_frame_sanitizer",
        test_dir=Path(__file__).parent,
        parameters={"N_BEATS": n_beats, "DATA_W": 8},
    )
