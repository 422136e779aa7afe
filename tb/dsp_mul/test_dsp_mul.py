"""dsp_mul: p = w * a (w signed, a unsigned) two clocks after the operands, both registers
holding while `en` is low; the portable rtl/dsp_mul.sv and the ECP5 one (rtl/ecp5/dsp_mul.sv
on tb/dsp_mul/MULT18X18D.sv, a model of the primitive's modes it uses) against the same
cycle-by-cycle reference, with the extreme operands first and then random ones."""

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from tb.common.axis import params
from tb.common.sim import RTL, rtl_sources, run_cocotb

HERE = Path(__file__).parent


@cocotb.test()
async def registered_products(dut):
    p = params()
    wb, ab = p["W_BITS"], p["A_BITS"]
    rng = random.Random(wb * 100 + ab)
    wmin, wmax, amax = -(1 << (wb - 1)), (1 << (wb - 1)) - 1, (1 << ab) - 1
    corners = [(w, a) for w in (wmin, -1, 0, 1, wmax) for a in (0, 1, amax)]
    ops = corners + [(rng.randint(wmin, wmax), rng.randint(0, amax)) for _ in range(400)]
    cocotb.start_soon(Clock(dut.clk, 2, unit="ns").start())
    dut.en.value = 1
    dut.w.value, dut.a.value = 0, 0
    for _ in range(3):  # flush the registers with 0 * 0
        await RisingEdge(dut.clk)
    opnd, prod = (0, 0), 0  # the reference's two registers
    checked = 0
    for i, (w, a) in enumerate(ops + [(0, 0)] * 2):
        await FallingEdge(dut.clk)
        assert dut.p.value.to_signed() == prod, f"step {i}: p={dut.p.value.to_signed()} expected {prod}"
        checked += 1
        en = 1 if i < len(corners) else int(rng.random() < 0.7)  # random stalls after the corners
        dut.en.value = en
        dut.w.value, dut.a.value = w & ((1 << wb) - 1), a
        await RisingEdge(dut.clk)
        if en:
            opnd, prod = (w, a), opnd[0] * opnd[1]
    assert checked == len(ops) + 2


@pytest.mark.parametrize("impl", ["portable", "ecp5"])
@pytest.mark.parametrize("w_bits,a_bits", [(8, 8), (2, 8), (4, 4), (8, 2)])
def test_dsp_mul(impl, w_bits, a_bits):
    sources = rtl_sources("dsp_mul") if impl == "portable" else [RTL / "ecp5" / "dsp_mul.sv", HERE / "MULT18X18D.sv"]
    run_cocotb(
        toplevel="dsp_mul",
        sources=sources,
        test_module="test_dsp_mul",
        test_dir=HERE,
        parameters={"W_BITS": w_bits, "A_BITS": a_bits},
    )
