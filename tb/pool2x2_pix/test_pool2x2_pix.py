"""pool2x2_pix: 2x2 stride-2 max / average pooling of frames carried PIX pixels per beat (beats
that straddle rows included) against NumPy, bit-exact: frames back to back under random and
bursty TVALID gaps and TREADY backpressure. Checks the module's own output: per beat the kept
lanes (contiguous from lane 0, as many as the beat's odd-row pairs), their order, unkept lanes
zero, tlast on the frame's last beat (frames come apart at tlast); one input beat per cycle."""

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import with_timeout

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, record_handshakes, unpack
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
LATENCY = 1
PAUSE_PAIRS = [
    ("none", "none"),
    ("random", "random"),
    ("burst", "none"),
    ("none", "burst"),
    ("random", "burst"),
    ("random", "valid_first"),
]


def reference(img: np.ndarray, mode: int) -> np.ndarray:
    h, w, c = img.shape
    t = img.astype(np.int32).reshape(h // 2, 2, w // 2, 2, c)
    if mode == 0:
        return t.max(axis=(1, 3))
    return (t.sum(axis=(1, 3)) + 2) >> 2


def beat_counts(h: int, w: int, pix: int) -> list[int]:
    """Pooled pixels per input beat: its pairs that lie on odd rows."""
    return [sum(((b * pix + 2 * q) // w) % 2 for q in range(pix // 2)) for b in range(h * w // pix)]


def dw(p) -> int:
    return p.get("DW", 8)


def images(p, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    shape = (p["H"], p["W"], p["C"])
    top = (1 << dw(p)) - 1
    edge = [np.full(shape, top, np.uint8), rng.choice(np.array(sorted({0, 1, top - 1, top}), np.uint8), size=shape)]
    return (edge + [rng.integers(0, top + 1, size=shape, dtype=np.uint8) for _ in range(n)])[:n]


def to_beats(img: np.ndarray, pix: int, width: int) -> list[int]:
    """Pixel p of a beat at [p*C*DW +: C*DW], channel c at [(p*C + c)*DW +: DW]."""
    return [pack(lanes, width) for lanes in img.reshape(-1, pix * img.shape[2])]


def make_tb(dut, in_pause="none", out_pause="none", seed=1) -> StreamTB:
    return StreamTB(dut, in_pause, out_pause, seed=seed, m_lanes=None)  # m_axis: one lane per tkeep bit


async def recv_checked(tb: StreamTB, p) -> list[list[int]]:
    """One output frame: checks every beat's tkeep (contiguous from lane 0, the expected count,
    zero data in unkept lanes) and returns the kept pooled pixels as channel lists."""
    p2, c, w = p["PIX"] // 2, p["C"], dw(p)
    frame = await with_timeout(tb.sink.recv(compact=False), 2000, "us")
    data, keep = [int(x) for x in frame.tdata], list(frame.tkeep)
    exp_counts = [n for n in beat_counts(p["H"], p["W"], p["PIX"]) if n]
    assert len(data) == p2 * len(exp_counts), f"{len(data) // p2} beats, expected {len(exp_counts)}"
    pixels = []
    for b, n in enumerate(exp_counts):
        k, d = keep[b * p2 : (b + 1) * p2], data[b * p2 : (b + 1) * p2]
        assert k == [1] * n + [0] * (p2 - n), f"beat {b}: tkeep {k}, expected {n} lanes from lane 0"
        assert all(x == 0 for x in d[n:]), f"beat {b}: unkept lanes not zero"
        pixels += [unpack(x, c, w, signed=False) for x in d[:n]]
    return pixels


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def matches_numpy(dut, pauses):
    p = params()
    tb = make_tb(dut, *pauses, seed=3 + PAUSE_PAIRS.index(pauses))
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = np.random.default_rng(PAUSE_PAIRS.index(pauses))
    n = max(3, 300 // (p["H"] * p["W"]))
    imgs = images(p, n, rng)
    for img in imgs:
        await tb.send_beats(to_beats(img, p["PIX"], dw(p)))
    for k, img in enumerate(imgs):
        got = await recv_checked(tb, p)
        exp = reference(img, p["MODE"]).reshape(-1, p["C"]).tolist()
        assert got == exp, f"frame {k} differs"
    assert tb.sink.empty()
    assert hs.beats == n * sum(1 for x in beat_counts(p["H"], p["W"], p["PIX"]) if x)


@cocotb.test()
async def throughput(dut):
    """Frames back to back with no stalls: the H*W/PIX input beats of each frame go in on
    consecutive cycles (measured: first to last input handshake over all frames), and the last
    output beat leaves LATENCY cycle after the last input beat."""
    p = params()
    tb = make_tb(dut)
    await tb.reset()
    frames = 4
    ins, outs = [], []
    cocotb.start_soon(record_handshakes(tb, dut.s_axis_tvalid, dut.s_axis_tready, ins))
    cocotb.start_soon(record_handshakes(tb, dut.m_axis_tvalid, dut.m_axis_tready, outs))
    imgs = images(p, frames, np.random.default_rng(9))
    for img in imgs:
        await tb.send_beats(to_beats(img, p["PIX"], dw(p)))
    for img in imgs:
        assert await recv_checked(tb, p) == reference(img, p["MODE"]).reshape(-1, p["C"]).tolist()
    n_in = frames * p["H"] * p["W"] // p["PIX"]
    assert len(ins) == n_in
    span = ins[-1] - ins[0] + 1
    lag = outs[-1] - ins[-1]
    tb.log.info("pool2x2_pix: %d input beats in %d cycles, last output %d cycle(s) later", n_in, span, lag)
    assert span == n_in, f"{n_in} input beats took {span} cycles"
    assert lag == LATENCY


CONFIGS = [
    # H, W, C, MODE, PIX, DW
    (28, 28, 1, 0, 8, 8),  # straddling: beats start at columns 0, 8, 16, 24, 4, ...
    (28, 28, 4, 0, 8, 8),
    (28, 28, 4, 1, 8, 8),
    (14, 14, 8, 0, 2, 8),
    (14, 14, 8, 1, 2, 8),
    (28, 28, 1, 1, 4, 8),
    (6, 10, 3, 0, 4, 8),  # straddling
    (6, 10, 3, 1, 4, 8),
    (4, 6, 2, 0, 6, 8),  # PIX = W
    (2, 2, 1, 1, 2, 8),
    (6, 6, 5, 0, 4, 1),  # DW = 1 (bipolar max: the OR), straddling
    (6, 4, 4, 1, 4, 4),
    (14, 14, 1, 0, 14, 2),  # PIX = W, odd PIX/2
]


@pytest.mark.parametrize("h,w,c,mode,pix,dw", CONFIGS)
def test_pool2x2_pix(h, w, c, mode, pix, dw):
    run_cocotb(
        toplevel="pool2x2_pix",
        sources=rtl_sources("pool2x2_pix"),
        test_module="test_pool2x2_pix",
        test_dir=HERE,
        parameters={"H": h, "W": w, "C": c, "MODE": mode, "PIX": pix, "DW": dw},
    )


def test_beat_counts_straddle():
    """The reference's beat geometry on the brief's example (W = 28, PIX = 8)."""
    assert [(b * 8) % 28 for b in range(8)] == [0, 8, 16, 24, 4, 12, 20, 0]
    counts = beat_counts(28, 28, 8)
    assert counts[:8] == [0, 0, 0, 2, 4, 4, 4, 0] and sum(counts) == 14 * 14
