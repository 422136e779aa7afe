"""pix_repack: pixel gearbox (N_IN pixel lanes with a kept count per beat -> full beats of N_OUT
pixels) against a Python reference: frames back to back with random kept counts (0-lane beats,
tlast on a 0-lane beat, junk in the unkept lanes), frame sizes that are and are not multiples of
N_OUT (zero-padded last beat), random and bursty TVALID gaps and TREADY backpressure; an empty
frame; throughput with full input beats and no stalls."""

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamFrame

from tb.common.axis import HandshakeChecker, StreamTB, params, record_handshakes
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_PAIRS = [
    ("none", "none"),
    ("random", "random"),
    ("burst", "none"),
    ("none", "burst"),
    ("random", "burst"),
    ("random", "valid_first"),
]


def make_tb(dut, in_pause="none", out_pause="none", seed=1) -> StreamTB:
    # s_axis has tkeep: one lane per tkeep bit; m_axis: N_OUT lanes.
    return StreamTB(dut, in_pause, out_pause, seed=seed, s_lanes=None, m_lanes=params()["N_OUT"])


def split_beats(pixels: list[int], n_in: int, rng: np.random.Generator, zero_tail: bool) -> list[list[int]]:
    """A frame's pixels as beats of 0..n_in kept pixels; with zero_tail, tlast on a 0-lane beat."""
    beats, i = [], 0
    while i < len(pixels):
        k = 0 if rng.random() < 0.15 else int(rng.integers(1, n_in + 1))
        beats.append(pixels[i : i + k])
        i += k
    if zero_tail or not beats:
        beats.append([])
    return beats


def to_frame(beats: list[list[int]], n_in: int, lane_w: int, rng: np.random.Generator) -> AxiStreamFrame:
    """Unkept lanes carry random junk: the DUT must ignore them."""
    tdata, tkeep = [], []
    for b in beats:
        tdata += b + [int(x) for x in rng.integers(0, 1 << lane_w, size=n_in - len(b), dtype=np.uint64)]
        tkeep += [1] * len(b) + [0] * (n_in - len(b))
    return AxiStreamFrame(tdata=tdata, tkeep=tkeep)


def reference(pixels: list[int], n_out: int) -> list[int]:
    """Pixels in order, the last beat padded with zero lanes."""
    return pixels + [0] * (-len(pixels) % n_out)


def frame_sizes(p, n: int, rng: np.random.Generator) -> list[int]:
    n_out = p["N_OUT"]
    sizes = [1, n_out, 3 * n_out + 1, p["N_IN"] * n_out]
    sizes += [int(rng.integers(1, 40)) for _ in range(n)]
    return sizes[:n]


async def recv_lanes(tb: StreamTB) -> list[int]:
    return await tb.recv_beats()  # m_lanes = N_OUT: one entry per lane


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def matches_reference(dut, pauses):
    p = params()
    n_in, n_out, lane_w = p["N_IN"], p["N_OUT"], p["LANE_W"]
    tb = make_tb(dut, *pauses, seed=5 + PAUSE_PAIRS.index(pauses))
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = np.random.default_rng(PAUSE_PAIRS.index(pauses))
    frames = []
    for k, size in enumerate(frame_sizes(p, 12, rng)):
        pixels = [int(x) for x in rng.integers(0, 1 << lane_w, size=size, dtype=np.uint64)]
        beats = split_beats(pixels, n_in, rng, zero_tail=(k % 3 == 1))
        frames.append(pixels)
        await tb.source.send(to_frame(beats, n_in, lane_w, rng))
    for k, pixels in enumerate(frames):
        got = await recv_lanes(tb)
        exp = reference(pixels, n_out)
        assert got == exp, f"frame {k}: got {got}, expected {exp}"
    assert tb.sink.empty()
    assert hs.beats == sum(len(reference(f, n_out)) // n_out for f in frames)


@cocotb.test()
async def empty_frame_gives_no_beat(dut):
    """A frame with no kept pixel (only a 0-lane tlast beat) gives no output beat; the frames
    around it are unchanged."""
    p = params()
    n_in, n_out, lane_w = p["N_IN"], p["N_OUT"], p["LANE_W"]
    tb = make_tb(dut, "random", "random", seed=7)
    await tb.reset()
    rng = np.random.default_rng(11)
    a = [int(x) for x in rng.integers(0, 1 << lane_w, size=2 * n_out, dtype=np.uint64)]
    b = [int(x) for x in rng.integers(0, 1 << lane_w, size=n_out + 1, dtype=np.uint64)]
    for beats in (split_beats(a, n_in, rng, False), [[]], [[], []], split_beats(b, n_in, rng, True)):
        await tb.source.send(to_frame(beats, n_in, lane_w, rng))
    assert await recv_lanes(tb) == reference(a, n_out)
    assert await recv_lanes(tb) == reference(b, n_out)
    for _ in range(20):
        await RisingEdge(dut.clk)
    assert tb.sink.empty()


@cocotb.test()
async def throughput(dut):
    """Full input beats (N_IN kept lanes), frames back to back, no stalls. Measured: input
    handshakes come every max(1, N_IN/N_OUT) cycles (4 -> 2: one input beat per 2 cycles),
    output beats one per cycle when N_IN >= N_OUT, and the whole run takes
    max(input beats * max(1, N_IN/N_OUT), output beats) cycles plus the latency."""
    p = params()
    n_in, n_out, lane_w = p["N_IN"], p["N_OUT"], p["LANE_W"]
    tb = make_tb(dut)
    await tb.reset()
    rng = np.random.default_rng(3)
    frames, beats_in = 4, 24
    ins, outs = [], []
    cocotb.start_soon(record_handshakes(tb, dut.s_axis_tvalid, dut.s_axis_tready, ins))
    cocotb.start_soon(record_handshakes(tb, dut.m_axis_tvalid, dut.m_axis_tready, outs))
    sent = []
    for _ in range(frames):
        pixels = [int(x) for x in rng.integers(0, 1 << lane_w, size=beats_in * n_in, dtype=np.uint64)]
        sent.append(pixels)
        await tb.source.send(to_frame([pixels[i : i + n_in] for i in range(0, len(pixels), n_in)], n_in, lane_w, rng))
    for pixels in sent:
        assert await recv_lanes(tb) == reference(pixels, n_out)
    n_i, n_o = frames * beats_in, sum(len(reference(s, n_out)) // n_out for s in sent)
    assert len(ins) == n_i and len(outs) == n_o
    in_span, out_span, total = ins[-1] - ins[0] + 1, outs[-1] - outs[0] + 1, outs[-1] - ins[0] + 1
    rate = max(1.0, n_in / n_out)  # cycles per input beat the output side allows
    tb.log.info(
        "pix_repack %d->%d: %d input beats in %d cycles, %d output beats in %d cycles, %d cycles in all",
        n_in, n_out, n_i, in_span, n_o, out_span, total,
    )  # fmt: skip
    assert in_span <= int(np.ceil(n_i * rate)) + 1, f"{n_i} input beats took {in_span} cycles"
    if n_in >= n_out:
        assert out_span == n_o, f"{n_o} output beats took {out_span} cycles (one per cycle expected)"
    assert total <= max(int(np.ceil(n_i * rate)), n_o) + 2, f"{total} cycles in all"


CONFIGS = [
    # LANE_W, N_IN, N_OUT
    (8, 4, 2),
    (32, 4, 1),
    (8, 1, 4),
    (8, 4, 7),
    (8, 2, 2),
    (24, 4, 2),
    (8, 1, 1),
    (5, 3, 5),
]
# With the burst FIFO in front (IN_FIFO, as the engine puts behind pool2x2_pix)
FIFO_CONFIGS = [(8, 4, 2, 8), (32, 4, 1, 2)]


@pytest.mark.parametrize("lane_w,n_in,n_out,in_fifo", [(*c, 0) for c in CONFIGS] + FIFO_CONFIGS)
def test_pix_repack(lane_w, n_in, n_out, in_fifo):
    params = {"LANE_W": lane_w, "N_IN": n_in, "N_OUT": n_out} | ({"IN_FIFO": in_fifo} if in_fifo else {})
    run_cocotb(
        toplevel="pix_repack",
        sources=rtl_sources("pix_repack", "axis_fifo"),
        test_module="test_pix_repack",
        test_dir=HERE,
        parameters=params,
    )
