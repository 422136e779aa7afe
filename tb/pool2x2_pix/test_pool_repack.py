"""pool2x2_pix -> pix_repack (N_IN = PIX/2), the engine's chain: the pooled frame as full beats
of N_OUT pooled pixels in raster order, tlast on the last, against NumPy under random stalls;
frames back to back."""

from pathlib import Path

import cocotb
import numpy as np
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, params, unpack
from tb.common.sim import rtl_sources, run_cocotb
from tb.pool2x2_pix.test_pool2x2_pix import PAUSE_PAIRS, dw, images, reference, to_beats

HERE = Path(__file__).parent


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def pool_then_repack(dut, pauses):
    p = params()
    n_out, c = p["N_OUT"], p["C"]
    tb = StreamTB(dut, *pauses, seed=21 + PAUSE_PAIRS.index(pauses), m_lanes=n_out)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = np.random.default_rng(40 + PAUSE_PAIRS.index(pauses))
    imgs = images(p, 3, rng)
    for img in imgs:
        await tb.send_beats(to_beats(img, p["PIX"], dw(p)))
    pooled = p["H"] // 2 * (p["W"] // 2)
    for k, img in enumerate(imgs):
        got = [unpack(x, c, dw(p), signed=False) for x in await tb.recv_beats()]
        exp = reference(img, p["MODE"]).reshape(-1, c).tolist()
        exp += [[0] * c] * (-pooled % n_out)  # zero-padded last beat
        assert got == exp, f"frame {k} differs"
    assert tb.sink.empty()
    assert hs.beats == len(imgs) * -(-pooled // n_out)


CONFIGS = [
    # H, W, C, MODE, PIX, N_OUT
    (28, 28, 4, 0, 8, 2),  # tiny's pool1 at PIX = 8, straddling beats
    (14, 14, 8, 1, 2, 1),
    (6, 10, 3, 1, 4, 3),  # straddling, up-sizing
    (6, 6, 2, 0, 4, 4),  # 9 pooled pixels: a padded last beat
]


@pytest.mark.parametrize("h,w,c,mode,pix,n_out", CONFIGS)
def test_pool_repack(h, w, c, mode, pix, n_out):
    run_cocotb(
        toplevel="test_pool_repack",
        sources=[*rtl_sources("pool2x2_pix", "pix_repack"), HERE / "test_pool_repack.sv"],
        test_module="test_pool_repack",
        test_dir=HERE,
        parameters={"H": h, "W": w, "C": c, "MODE": mode, "PIX": pix, "N_OUT": n_out},
    )
