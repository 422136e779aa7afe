"""lut_mul: the shift-and-add product equals w * a (w signed, a unsigned) for every pair of
inputs, at every width lane_dot uses it with; with PIPE = 1 one clock later, and held while
`en` is low."""

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from tb.common.axis import params
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent


@cocotb.test()
async def exhaustive(dut):
    p = params()
    wb, ab, pipe = p["W_BITS"], p["A_BITS"], p.get("PIPE", 0)
    assert len(dut.p) == wb + ab
    ws = np.arange(-(1 << (wb - 1)), 1 << (wb - 1))
    as_ = np.arange(1 << ab)
    dut.en.value = 1
    if pipe:
        cocotb.start_soon(Clock(dut.clk, 2, unit="ns").start())
        await FallingEdge(dut.clk)
    else:
        dut.clk.value = 0
    got = np.zeros((len(ws), len(as_)), dtype=np.int64)
    prev = dut.p.value.to_signed() if pipe else 0
    for i, w in enumerate(ws):
        dut.w.value = int(w) & ((1 << wb) - 1)
        for j, a in enumerate(as_):
            dut.a.value = int(a)
            if pipe:  # the first level is registered at the rising edge: read after it
                await Timer(500, unit="ps")  # before the edge: still the previous product
                assert dut.p.value.to_signed() == prev, (w, a)
                await FallingEdge(dut.clk)
                prev = int(w) * int(a)
            else:
                await Timer(1, unit="ns")
            got[i, j] = dut.p.value.to_signed()
    expected = np.outer(ws, as_)
    bad = np.argwhere(got != expected)
    assert bad.size == 0, f"{len(bad)} wrong products, first w={ws[bad[0][0]]} a={as_[bad[0][1]]}"
    if pipe:  # en low: the register holds, whatever the inputs do
        held = dut.p.value.to_signed()
        dut.en.value = 0
        for a in (0, (1 << ab) - 1, 1):
            dut.a.value = a
            await FallingEdge(dut.clk)
            assert dut.p.value.to_signed() == held


@pytest.mark.parametrize(
    "w_bits,a_bits,pipe", [(8, 8, 0), (4, 8, 0), (2, 8, 0), (8, 4, 0), (2, 2, 0), (4, 4, 0), (8, 8, 1), (2, 8, 1)]
)
def test_lut_mul(w_bits, a_bits, pipe):
    run_cocotb(
        toplevel="lut_mul",
        sources=rtl_sources("lut_mul"),
        test_module="test_lut_mul",
        test_dir=HERE,
        parameters={"W_BITS": w_bits, "A_BITS": a_bits, **({"PIPE": 1} if pipe else {})},
    )
