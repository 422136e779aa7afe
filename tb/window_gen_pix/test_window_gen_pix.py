"""window_gen_pix: PIX windows per beat from PIX pixels per beat, "same" padding, bit-exact
against a NumPy reference.

Random images, frames back to back, random/bursty TVALID gaps and TREADY backpressure (and a
sink whose TREADY waits for TVALID), an input that stops for a long time (mid frame, right
after the next frame started, and between frames), and a throughput test: one beat per clock
across frame boundaries, output beat B exactly 1 cycle after the shift of input beat B + TB,
the last frame finishing on its own (tail bubbles) with no further input. The sweep covers
beats that straddle rows (PIX not dividing W, the 28x28 at 8 pixels per beat target among
them), PIX = 1 (window_gen's windows), PIX = W (one-beat line buffers), K = 1, 3, 5 and DW = 1.
"""

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, RisingEdge
from numpy.lib.stride_tricks import sliding_window_view

from tb.common.axis import HandshakeChecker, HandshakeLog, StreamTB, pack, params
from tb.common.sim import rtl_sources, run_cocotb


class Geometry:
    def __init__(self, p: dict):
        self.H, self.W, self.C, self.K, self.PAD, self.DW, self.PIX = (
            p[k] for k in ("H", "W", "C", "K", "PAD", "DW", "PIX")
        )
        self.npix = self.H * self.W
        self.nb = self.npix // self.PIX  # beats per frame, in and out
        self.tb = -(-self.PAD * (self.W + 1) // self.PIX)  # TB: shifts from input beat to output beat

    def image(self, rng: np.random.Generator) -> np.ndarray:
        # 1..2**DW-1: a tap wrongly masked to zero (or a pad tap leaking data) can never match.
        # DW = 1 has a single nonzero value: random bits instead, so misplaced taps show.
        lo = 0 if self.DW == 1 else 1
        return rng.integers(lo, 1 << self.DW, size=(self.H, self.W, self.C), dtype=np.uint8)

    def beats(self, img: np.ndarray) -> list[int]:
        """PIX pixels per beat in raster order; pixel p channel c in lane p*C + c."""
        return [pack(row, self.DW) for row in img.reshape(self.nb, self.PIX * self.C)]

    def windows(self, img: np.ndarray) -> list[int]:
        """Reference: zero pad, take the K x K window of every output position (tap (i, j)
        channel c at lane (i*K + j)*C + c), then PIX windows per beat, window p at lanes
        p*K*K*C onwards."""
        k, pad = self.K, self.PAD
        padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)))
        win = sliding_window_view(padded, (k, k), axis=(0, 1))  # (oy, ox, c, i, j)
        win = win.transpose(0, 1, 3, 4, 2)  # (oy, ox, i, j, c): row-major = lane order
        return [pack(row, self.DW) for row in win.reshape(self.nb, self.PIX * k * k * self.C)]


def checker(dut):
    """AXI-Stream stability rule on the output."""
    return HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")


async def recv_frame(tb, g: Geometry, expected: list[int], what: str):
    got = await tb.recv_beats(timeout_us=1000)
    assert len(got) == len(expected), f"{what}: {len(got)} beats, expected {len(expected)}"
    for b, (a, e) in enumerate(zip(got, expected, strict=True)):
        if a != e:
            lanes = g.K * g.K * g.C
            mask = (1 << (lanes * g.DW)) - 1
            for p in range(g.PIX):
                wa, we = (a >> (p * lanes * g.DW)) & mask, (e >> (p * lanes * g.DW)) & mask
                if wa != we:
                    oy, ox = divmod(b * g.PIX + p, g.W)
                    raise AssertionError(
                        f"{what}: beat {b} window {p} (oy={oy}, ox={ox}) differs: got {wa:#x}, expected {we:#x}"
                    )


# valid_first: a downstream whose TREADY waits for TVALID (tb/common/axis.py): the registers
# must not wait for TREADY before they shift (hold depends on valid_q, not on TREADY alone).
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
    imgs = [g.image(rng) for _ in range(4)]
    for img in imgs:
        await tb.send_beats(g.beats(img))
    for n, img in enumerate(imgs):
        await recv_frame(tb, g, g.windows(img), f"frame {n}")
    await ClockCycles(dut.clk, 20)
    assert tb.sink.empty()
    assert not int(dut.m_axis_tvalid.value)


@cocotb.test()
async def throughput(dut):
    """No stalls: N frames take exactly N*H*W/PIX input cycles with no gap at frame boundaries;
    output beat B of every frame comes exactly 1 cycle after the shift of input beat B + TB (so
    no gap at the output's frame boundaries either); the last frame finishes with TB tail
    bubbles and no further input."""
    g = Geometry(params())
    tb = StreamTB(dut)
    log = HandshakeLog(dut)
    await tb.reset()
    checker(dut)  # after reset: a failed previous test may leave a beat pending
    rng = np.random.default_rng(6)
    n_frames = 3
    imgs = [g.image(rng) for _ in range(n_frames)]
    for img in imgs:
        await tb.send_beats(g.beats(img))
    for n, img in enumerate(imgs):
        await recv_frame(tb, g, g.windows(img), f"frame {n}")
    await ClockCycles(dut.clk, 10)
    assert tb.sink.empty()

    s, m = log.s_cycles, log.m_cycles
    assert len(s) == n_frames * g.nb and len(m) == n_frames * g.nb
    in_span = s[-1] - s[0] + 1
    assert in_span == n_frames * g.nb, f"input: {n_frames * g.nb} beats took {in_span} cycles (gaps)"
    total = m[-1] - s[0]
    dut._log.info(
        "%d frames of %dx%d at PIX %d: %d cycles from first input beat to last output beat (N*H*W/PIX = %d, TB %d)",
        n_frames,
        g.H,
        g.W,
        g.PIX,
        total,
        n_frames * g.nb,
        g.tb,
    )
    assert total == n_frames * g.nb + g.tb, f"{n_frames} frames took {total} cycles, expected {n_frames * g.nb + g.tb}"
    # Input beats are consecutive, and tail bubbles follow the last one at once: shift k of the
    # run happens at cycle s[0] + k.
    for k, have in enumerate(m):
        want = s[0] + k + g.tb + 1
        f, b = divmod(k, g.nb)
        assert have == want, f"frame {f} output beat {b} at +{have - s[0]}, expected +{want - s[0]}"


@cocotb.test()
async def input_stops(dut):
    """The input stops for a long time mid frame, right after the next frame's first beats
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
    stop = 3 * g.nb + 50

    async def stall_after(count: int) -> tuple[int, int]:
        while len(log.s_cycles) < count:
            await RisingEdge(dut.clk)
        tb.source.pause = True
        await ClockCycles(dut.clk, stop)
        taken, lasts = len(log.s_cycles), log.m_lasts
        tb.source.pause = False
        return taken, lasts

    await tb.send_beats(g.beats(imgs[0]))
    await tb.send_beats(g.beats(imgs[1]))
    await stall_after(g.nb // 2)  # mid frame 0
    taken, lasts = await stall_after(g.nb + 1)  # frame 1 started (1 or 2 beats taken)
    # Frame 0 is complete only once its TB tail shifts are done; after frame 1 started they
    # must come from frame 1's beats (no bubbles), so it waits for the input.
    done = taken - g.nb >= g.tb
    assert lasts == int(done), f"frame 0 tlast count {lasts} with {taken - g.nb} beats of frame 1 taken"
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


# (H, W, C, K, PAD, PIX, DW). Straddling beats: W % PIX != 0 (28/8, 14/4.. see ids).
CONFIGS = [
    (28, 28, 1, 3, 1, 8, 8),  # the target: 98 beats per frame, beats straddle rows
    (28, 28, 1, 3, 1, 4, 8),
    (28, 28, 1, 3, 1, 2, 8),
    (14, 14, 4, 3, 1, 2, 8),
    (28, 28, 1, 5, 2, 8, 8),  # K = 5, straddling
    (14, 14, 4, 3, 1, 7, 8),
    (6, 10, 3, 3, 1, 4, 8),  # non-square, straddling
    (4, 6, 2, 1, 0, 3, 8),  # K = 1 (TB = 0)
    (7, 7, 2, 3, 1, 1, 8),  # PIX = 1: window_gen's windows
    (6, 5, 2, 3, 1, 5, 8),  # PIX = W: one-beat line buffers (register), no remainder
    (6, 10, 1, 5, 2, 6, 8),  # K = 5, one-beat line buffers with a remainder of 4 pixels
    (8, 6, 5, 3, 1, 4, 1),  # DW = 1, straddling
]


@pytest.mark.parametrize(
    "h,w,c,k,pad,pix,dw",
    CONFIGS,
    ids=[f"H{h}W{w}C{c}K{k}P{p}PIX{x}DW{d}" for h, w, c, k, p, x, d in CONFIGS],
)
def test_window_gen_pix(h, w, c, k, pad, pix, dw):
    run_cocotb(
        toplevel="window_gen_pix",
        sources=rtl_sources("window_gen_pix"),
        test_module="test_window_gen_pix",
        test_dir=Path(__file__).parent,
        parameters={"H": h, "W": w, "C": c, "DW": dw, "K": k, "PAD": pad, "PIX": pix},
    )
