"""window_gen: K x K windows with zero padding, bit-exact against a NumPy reference.

Random images, frames back to back, random/bursty TVALID gaps and TREADY backpressure, an
input that stops for a long time (mid frame, at a frame boundary, and just after the next
frame started), and a throughput test: one pixel per clock across frame boundaries, the last
frame finishing on its own (tail bubbles) with no further input. Lane widths DW 8 (bytes) and
1, 2 (low-bit activation streams, docs/rtl-library.md "Low-bit arithmetic contract").
"""

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, RisingEdge

from tb.common.axis import HandshakeChecker, HandshakeLog, StreamTB, pack, params
from tb.common.sim import rtl_sources, run_cocotb


class Geometry:
    def __init__(self, p: dict):
        self.H, self.W, self.C, self.K, self.PAD, self.DW = (p[k] for k in ("H", "W", "C", "K", "PAD", "DW"))
        self.HO = self.H + 2 * self.PAD - self.K + 1
        self.WO = self.W + 2 * self.PAD - self.K + 1
        self.npix = self.H * self.W
        self.tail = self.PAD * (self.W + 1)  # bubble shifts after the last pixel
        self.first = (self.K - 1 - self.PAD) * (self.W + 1)  # shift index of the first window

    def image(self, rng: np.random.Generator) -> np.ndarray:
        # 1..2**DW-1: a tap wrongly masked to zero (or a pad tap leaking data) can never match.
        # DW = 1 has a single nonzero value: random bits instead, so misplaced taps show.
        lo = 0 if self.DW == 1 else 1
        return rng.integers(lo, 1 << self.DW, size=(self.H, self.W, self.C), dtype=np.uint8)

    def beats(self, img: np.ndarray) -> list[int]:
        """One beat per pixel, raster order, channel c in lane c (lane 0 = LSB)."""
        return [pack(img[y, x], self.DW) for y in range(self.H) for x in range(self.W)]

    def windows(self, img: np.ndarray) -> list[int]:
        """Reference: zero pad, then tap (i, j) channel c at lane (i*K + j)*C + c."""
        k, pad = self.K, self.PAD
        padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)))
        out = []
        for oy in range(self.HO):
            for ox in range(self.WO):
                win = padded[oy : oy + k, ox : ox + k, :]  # (i, j, c): row-major = lane order
                out.append(pack(win.ravel(), self.DW))
        return out


def checker(dut):
    """AXI-Stream stability rule on the output."""
    return HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")


async def recv_frame(tb, g: Geometry, expected: list[int], what: str):
    got = await tb.recv_beats(timeout_us=1000)
    assert len(got) == len(expected), f"{what}: {len(got)} windows, expected {len(expected)}"
    for n, (a, b) in enumerate(zip(got, expected, strict=True)):
        if a != b:
            oy, ox = divmod(n, g.WO)
            raise AssertionError(f"{what}: window (oy={oy}, ox={ox}) differs: got {a:#x}, expected {b:#x}")


# valid_first: a downstream whose TREADY waits for TVALID (tb/common/axis.py): the window must
# not wait for TREADY before it shifts (hold depends on valid_q, not on TREADY alone).
PAUSE_PAIRS = [("random", "random"), ("burst", "burst"), ("none", "random"), ("random", "valid_first")]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def frames_back_to_back(dut, pauses):
    """Several frames queued back to back under random input gaps and output backpressure."""
    g = Geometry(params())
    tb = StreamTB(dut, *pauses, seed=11)
    await tb.reset()
    checker(dut)  # after reset: a failed previous test may leave a beat pending
    rng = np.random.default_rng(5)
    imgs = [g.image(rng) for _ in range(5)]
    for img in imgs:
        await tb.send_beats(g.beats(img))
    for n, img in enumerate(imgs):
        await recv_frame(tb, g, g.windows(img), f"frame {n}")
    await ClockCycles(dut.clk, 20)
    assert tb.sink.empty()
    assert not int(dut.m_axis_tvalid.value)


@cocotb.test()
async def throughput(dut):
    """No stalls: N frames take exactly N*H*W input cycles with no gap at frame boundaries; the
    first window comes (K-1-PAD)*(W+1)+1 cycles after the first pixel; the last frame finishes
    with PAD*(W+1) tail bubbles and no further input."""
    g = Geometry(params())
    tb = StreamTB(dut)
    log = HandshakeLog(dut)
    await tb.reset()
    checker(dut)  # after reset: a failed previous test may leave a beat pending
    rng = np.random.default_rng(6)
    n_frames = 4
    imgs = [g.image(rng) for _ in range(n_frames)]
    for img in imgs:
        await tb.send_beats(g.beats(img))
    for n, img in enumerate(imgs):
        await recv_frame(tb, g, g.windows(img), f"frame {n}")
    await ClockCycles(dut.clk, 10)
    assert tb.sink.empty()

    s, m = log.s_cycles, log.m_cycles
    assert len(s) == n_frames * g.npix and len(m) == n_frames * g.HO * g.WO
    in_span = s[-1] - s[0] + 1
    assert in_span == n_frames * g.npix, f"input: {n_frames * g.npix} pixels took {in_span} cycles (gaps)"
    latency = m[0] - s[0]
    assert latency == g.first + 1, f"first window {latency} cycles after the first pixel, expected {g.first + 1}"
    total = m[-1] - s[0]
    bound = n_frames * g.npix + g.tail
    dut._log.info(
        "%d frames of %dx%d: %d cycles from first pixel to last window (N*H*W = %d, tail %d)",
        n_frames,
        g.H,
        g.W,
        total,
        n_frames * g.npix,
        g.tail,
    )
    assert total <= bound, f"{n_frames} frames took {total} cycles, bound {bound}"
    # Windows of one frame come at one per cycle wherever the raster allows (no extra stalls):
    # window (oy, ox) of frame f exactly 1 cycle after the shift of its newest raster index.
    for f in range(n_frames):
        for oy in range(g.HO):
            for ox in range(g.WO):
                t = (oy + g.K - 1 - g.PAD) * g.W + (ox + g.K - 1 - g.PAD)
                want = s[0] + f * g.npix + t + 1
                have = m[(f * g.HO + oy) * g.WO + ox]
                assert have == want, f"frame {f} window ({oy},{ox}) at +{have - s[0]}, expected +{want - s[0]}"


@cocotb.test()
async def input_stops(dut):
    """The input stops for a long time mid frame, right after the next frame's first pixels
    (the old frame's tail must then wait for input, no bubbles), and between frames (tail
    bubbles finish the frame); then it continues. Output under random backpressure."""
    g = Geometry(params())
    tb = StreamTB(dut, "none", "random", seed=21)
    tb.source.clear_pause_generator()
    log = HandshakeLog(dut)
    await tb.reset()
    checker(dut)  # after reset: a failed previous test may leave a beat pending
    rng = np.random.default_rng(7)
    imgs = [g.image(rng) for _ in range(4)]
    stop = 3 * g.W + 50

    async def stall_after(count: int) -> int:
        while len(log.s_cycles) < count:
            await RisingEdge(dut.clk)
        tb.source.pause = True
        await ClockCycles(dut.clk, stop)
        taken, lasts = len(log.s_cycles), log.m_lasts
        tb.source.pause = False
        return taken, lasts

    await tb.send_beats(g.beats(imgs[0]))
    await tb.send_beats(g.beats(imgs[1]))
    await stall_after(g.npix // 2)  # mid frame 0
    taken, lasts = await stall_after(g.npix + 1)  # frame 1 started (1 or 2 pixels taken)
    # Frame 0 is complete only once its PAD*(W+1) tail shifts are done; after frame 1 started
    # they must come from frame 1's pixels (no bubbles), so it waits for the input.
    done = taken - g.npix >= g.tail
    assert lasts == int(done), f"frame 0 tlast count {lasts} with {taken - g.npix} pixels of frame 1 taken"
    await recv_frame(tb, g, g.windows(imgs[0]), "frame 0")
    await recv_frame(tb, g, g.windows(imgs[1]), "frame 1")  # finishes by tail bubbles
    await ClockCycles(dut.clk, stop)
    assert not int(dut.m_axis_tvalid.value)
    for img in imgs[2:]:
        await tb.send_beats(g.beats(img))
    await recv_frame(tb, g, g.windows(imgs[2]), "frame 2")
    await recv_frame(tb, g, g.windows(imgs[3]), "frame 3")
    await ClockCycles(dut.clk, 20)
    assert tb.sink.empty()
    assert not int(dut.m_axis_tvalid.value)


# (H, W, C, K, PAD): K = 1..5, PAD = 0..2 (2*PAD <= K-1), odd and non-square sizes, W = 1.
CONFIGS = [
    (28, 28, 1, 3, 1),
    (14, 14, 4, 3, 1),
    (28, 28, 1, 5, 2),
    (14, 14, 6, 5, 0),
    (7, 7, 8, 3, 1),
    (5, 6, 2, 3, 0),
    (9, 7, 3, 1, 0),
    (6, 5, 1, 5, 2),
    (4, 6, 1, 2, 0),
    (6, 1, 1, 3, 1),
]


# Low-bit lanes: H, W, C, K, PAD, DW
DW_CONFIGS = [
    (7, 6, 5, 3, 1, 1),
    (6, 5, 3, 3, 0, 2),
]


@pytest.mark.parametrize(
    "h,w,c,k,pad,dw", DW_CONFIGS, ids=[f"H{h}W{w}C{c}K{k}P{p}DW{d}" for h, w, c, k, p, d in DW_CONFIGS]
)
def test_window_gen_lane_width(h, w, c, k, pad, dw):
    run_cocotb(
        toplevel="window_gen",
        sources=rtl_sources("window_gen"),
        test_module="test_window_gen",
        test_dir=Path(__file__).parent,
        parameters={"H": h, "W": w, "C": c, "DW": dw, "K": k, "PAD": pad},
    )


@pytest.mark.parametrize("h,w,c,k,pad", CONFIGS, ids=[f"H{h}W{w}C{c}K{k}P{p}" for h, w, c, k, p in CONFIGS])
def test_window_gen(h, w, c, k, pad):
    run_cocotb(
        toplevel="window_gen",
        sources=rtl_sources("window_gen"),
        test_module="test_window_gen",
        test_dir=Path(__file__).parent,
        parameters={"H": h, "W": w, "C": c, "DW": 8, "K": k, "PAD": pad},
    )
