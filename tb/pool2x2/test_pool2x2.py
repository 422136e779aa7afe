"""pool2x2: max / average 2x2 stride-2 pooling against NumPy on random images (even and odd
sizes, floor mode), frames back to back, random stalls; one input pixel per cycle. Lane widths
DW 1 (bipolar: max is the OR of the bits), 2 and 4 for low-bit activation streams."""

from pathlib import Path

import cocotb
import numpy as np
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
LATENCY = 1
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst"), ("random", "burst")]


def reference(img: np.ndarray, mode: int) -> np.ndarray:
    h, w, c = img.shape
    t = img[: h // 2 * 2, : w // 2 * 2].astype(np.int32).reshape(h // 2, 2, w // 2, 2, c)
    if mode == 0:
        return t.max(axis=(1, 3))
    return (t.sum(axis=(1, 3)) + 2) >> 2


def dw(p) -> int:
    return p.get("DW", 8)


def images(p, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    shape = (p["H"], p["W"], p["C"])
    top = (1 << dw(p)) - 1
    edge = [np.full(shape, top, np.uint8), rng.choice(np.array(sorted({0, 1, top - 1, top}), np.uint8), size=shape)]
    return (edge + [rng.integers(0, top + 1, size=shape, dtype=np.uint8) for _ in range(n)])[:n]


def to_beats(img: np.ndarray, width: int = 8) -> list[int]:
    return [pack(px, width) for px in img.reshape(-1, img.shape[2])]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def matches_numpy(dut, pauses):
    p = params()
    tb = StreamTB(dut, *pauses, seed=3)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = np.random.default_rng(PAUSE_PAIRS.index(pauses))
    n = max(3, 300 // (p["H"] * p["W"]))
    imgs = images(p, n, rng)
    for img in imgs:
        await tb.send_beats(to_beats(img, dw(p)))
    ho, wo = p["H"] // 2, p["W"] // 2
    for k, img in enumerate(imgs):
        got = await tb.recv_beats()
        exp = reference(img, p["MODE"]).reshape(-1, p["C"]).tolist()
        assert len(got) == ho * wo, f"frame {k}: {len(got)} pixels, expected {ho * wo}"
        assert [unpack(w, p["C"], dw(p), signed=False) for w in got] == exp, f"frame {k} differs"
    assert tb.sink.empty()
    assert hs.beats == n * ho * wo


@cocotb.test()
async def throughput(dut):
    """Frames back to back with no stalls: one input pixel per cycle, so cycles per output
    is H*W / ((H/2)*(W/2)) (4 for even sizes)."""
    p = params()
    tb = StreamTB(dut)
    await tb.reset()
    frames = 4
    imgs = images(p, frames, np.random.default_rng(9))
    for img in imgs:
        await tb.send_beats(to_beats(img, dw(p)))
    start = tb.cycle
    for img in imgs:
        got = await tb.recv_beats()
        assert [unpack(w, p["C"], dw(p), signed=False) for w in got] == reference(img, p["MODE"]).reshape(
            -1, p["C"]
        ).tolist()
    cycles = tb.cycle - start
    n_in = frames * p["H"] * p["W"]
    # The last output pixel comes with the frame's last used pixel: when H or W is odd the
    # dropped row/column still has to be consumed, which the next frame's data waits for.
    assert cycles <= n_in + LATENCY + 2, f"{n_in} input pixels took {cycles} cycles"
    assert cycles >= n_in - p["W"] - 1


CONFIGS = [
    # H, W, C, MODE
    (28, 28, 1, 0),
    (28, 28, 4, 1),
    (14, 14, 16, 0),
    (14, 14, 16, 1),
    (7, 7, 4, 1),
    (7, 7, 1, 0),
    (5, 6, 1, 0),
    (6, 5, 16, 1),
    (2, 2, 1, 1),
    (3, 3, 4, 0),
]

# Low-bit lanes: H, W, C, MODE, DW (DW = 1 max: bipolar max, the OR of the bits)
DW_CONFIGS = [
    (6, 6, 5, 0, 1),
    (5, 7, 3, 0, 2),
    (6, 4, 4, 1, 4),
    (4, 6, 2, 1, 1),
]


@pytest.mark.parametrize("h,w,c,mode", CONFIGS)
def test_pool2x2(h, w, c, mode):
    run_cocotb(
        toplevel="pool2x2",
        sources=rtl_sources("pool2x2"),
        test_module="test_pool2x2",
        test_dir=HERE,
        parameters={"H": h, "W": w, "C": c, "MODE": mode},
    )


@pytest.mark.parametrize("h,w,c,mode,dw", DW_CONFIGS)
def test_pool2x2_lane_width(h, w, c, mode, dw):
    run_cocotb(
        toplevel="pool2x2",
        sources=rtl_sources("pool2x2"),
        test_module="test_pool2x2",
        test_dir=HERE,
        parameters={"H": h, "W": w, "C": c, "MODE": mode, "DW": dw},
    )


def test_bipolar_max_is_or():
    """The contract's bipolar max (bit 1 = +1, bit 0 = -1): max of the values is the OR of the
    bits, which is what the unsigned max of 1-bit lanes computes (the reference above)."""
    bits = np.array(np.meshgrid(*[[0, 1]] * 4)).reshape(4, -1).T
    for q in bits:
        assert (2 * q - 1).max() == 2 * int(np.bitwise_or.reduce(q)) - 1 == 2 * int(q.max()) - 1
