"""axis_gather: N input beats -> one N-lane output beat, bit-exact and in order under random
stalls; TLAST of the N-th beat; an early TLAST closes the group with zero lanes; one input beat
per cycle sustained."""

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

from tb.common.axis import HandshakeChecker, StreamTB, pack, params
from tb.common.sim import rtl_sources, run_cocotb

PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst"), ("burst", "burst")]


def gather(words: list[int], lasts: list[int], n: int, w: int) -> list[tuple[int, int]]:
    """Reference: (tdata, tlast) output beats for input beats (word, tlast). A group closes on
    its N-th beat (tlast of that beat) or on any tlast (missing lanes zero, tlast 1)."""
    out, group = [], []
    for word, last in zip(words, lasts, strict=True):
        group.append(word)
        if len(group) == n or last:
            lanes = np.zeros(n, dtype=object)
            lanes[: len(group)] = group
            out.append((pack(lanes, w), 1 if last else 0))
            group = []
    return out


def frame_reference(frame: list[int], n: int, w: int) -> list[int]:
    """One input frame (TLAST on its last beat only) -> the output frame's beats: the frame
    zero-padded to a multiple of N, N beats per row, lane i = beat i of the row."""
    rows = np.zeros((-(-len(frame) // n), n), dtype=object)
    rows.flat[: len(frame)] = frame
    return [pack(r, w) for r in rows]


def random_frames(rng, n: int, w: int, count: int, ragged: bool) -> list[list[int]]:
    """Frames of whole groups, or (ragged) any length 1 .. 4N; data incl. 0 and all ones."""
    top = (1 << w) - 1
    frames = []
    for _ in range(count):
        length = int(rng.integers(1, 4 * n + 1)) if ragged else n * int(rng.integers(1, 5))
        vals = rng.integers(0, top, length, endpoint=True)
        corners = rng.random(length) < 0.2
        vals[corners] = rng.choice([0, top], int(corners.sum()))
        frames.append([int(v) for v in vals])
    return frames


async def setup(dut, pauses, seed) -> StreamTB:
    """StreamTB after reset, with the AXI-Stream rules checked on both sides (from after
    reset: a test that failed may leave a beat presented, which the reset then removes)."""
    tb = StreamTB(dut, *pauses, seed=seed)
    await tb.reset()
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    HandshakeChecker(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready, dut.s_axis_tdata, dut.s_axis_tlast, "s_axis")
    return tb


async def send_and_check(tb: StreamTB, frames: list[list[int]], n: int, w: int):
    for f in frames:
        await tb.send_beats(f)
    for i, f in enumerate(frames):
        got = await tb.recv_beats()
        assert got == frame_reference(f, n, w), f"frame {i} (length {len(f)})"
    assert tb.sink.empty()


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def whole_groups(dut, pauses):
    """Frames of whole groups: bit-exact regrouping, TLAST only on the frame's last group."""
    n, w = params()["N"], params()["DATA_W"]
    tb = await setup(dut, pauses, seed=7)
    await send_and_check(tb, random_frames(np.random.default_rng(3), n, w, 40, ragged=False), n, w)


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def early_tlast(dut, pauses):
    """Frames of any length: a TLAST before the N-th beat emits the group with zero lanes and
    TLAST, and the next frame starts at lane 0."""
    n, w = params()["N"], params()["DATA_W"]
    tb = await setup(dut, pauses, seed=17)
    frames = random_frames(np.random.default_rng(5), n, w, 40, ragged=True)
    frames += [[(1 << w) - 1]] * 3  # one-beat frames back to back
    await send_and_check(tb, frames, n, w)


@cocotb.test()
async def beat_stream(dut):
    """The per-beat rule (gather) on a stream whose TLASTs fall anywhere, compared beat by beat
    with the output tlast of every beat (not only at frame ends)."""
    n, w = params()["N"], params()["DATA_W"]
    tb = await setup(dut, ("random", "random"), seed=23)
    rng = np.random.default_rng(9)
    words = [int(v) for v in rng.integers(0, (1 << w) - 1, 300, endpoint=True)]
    lasts = [int(v) for v in rng.random(300) < 0.15]
    lasts[-1] = 1
    frames, cur = [], []
    for word, last in zip(words, lasts, strict=True):
        cur.append(word)
        if last:
            frames.append(cur)
            cur = []
    for f in frames:
        await tb.send_beats(f)
    want = gather(words, lasts, n, w)
    got = []
    while len(got) < len(want):
        frame = await with_timeout(tb.sink.recv(compact=False), 2000, "us")
        beats = [int(x) for x in frame.tdata]
        got += [(b, int(i == len(beats) - 1)) for i, b in enumerate(beats)]
    assert got == want
    assert tb.sink.empty()


@cocotb.test()
async def throughput(dut):
    """Both sides free: one input beat per cycle sustained (s_axis_tready never low), one
    output beat per N cycles, latency 1; one-beat frames cost N cycles each (N-1 pad cycles)."""
    n, w = params()["N"], params()["DATA_W"]
    tb = StreamTB(dut)
    ins, outs, stalls = [], [], []

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.s_axis_tvalid.value):
                (ins if int(dut.s_axis_tready.value) else stalls).append(tb.cycle)
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
                outs.append(tb.cycle)

    await tb.reset()
    cocotb.start_soon(watch())
    groups = 50
    data = [i % (1 << w) for i in range(groups * n)]
    await tb.send_beats(data)
    assert await tb.recv_beats() == frame_reference(data, n, w)
    span = ins[-1] - ins[0] + 1
    dut._log.info("N=%d: %d beats in %d cycles, %d stall cycles", n, len(ins), span, len(stalls))
    assert len(ins) == groups * n and span == groups * n and not stalls, "one input beat per cycle"
    assert np.diff(outs).tolist() == [n] * (groups - 1), "one output beat per N cycles"
    assert outs[0] - ins[n - 1] == (0 if n == 1 else 1), "latency"

    # Early TLAST: each one-beat frame takes 1 input cycle + N-1 pad cycles.
    for lst in (ins, outs, stalls):
        lst.clear()
    for _ in range(10):
        await tb.send_beats([1])
    for _ in range(10):
        assert await tb.recv_beats() == [1]
    assert np.diff(outs).tolist() == [n] * 9, f"one-beat frames: {np.diff(outs).tolist()}"


@cocotb.test()
async def ready_out_of_reset(dut):
    """s_axis_tready is a flip-flop: its reset value lets the first cycle out of reset take a
    beat, as a combinational ready would."""
    tb = StreamTB(dut)  # drives m_axis_tready (no pauses) and an idle s_axis
    await tb.release_reset(3)
    await ReadOnly()
    wire = params()["N"] == 1  # N = 1: s_axis_tready is m_axis_tready
    assert int(dut.s_axis_tready.value) == (int(dut.m_axis_tready.value) if wire else 1)


# (DATA_W, N): defaults, wires, N = 8, 1-bit lanes, a non-power-of-two N, wide lanes.
CONFIGS = [(8, 4), (8, 1), (8, 8), (1, 2), (32, 3), (12, 10)]


@pytest.mark.parametrize("data_w,n", CONFIGS)
def test_axis_gather(data_w, n):
    run_cocotb(
        toplevel="axis_gather",
        sources=rtl_sources("axis_gather"),
        test_module="test_axis_gather",
        test_dir=Path(__file__).parent,
        parameters={"DATA_W": data_w, "N": n},
    )
