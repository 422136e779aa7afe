"""add_unit: bit-exact against model/arith.py add_int, y = clamp((a*MA + b*MB + 2**(R-1)) >> R,
LO, HI), on random and extreme lanes (int8 or uint8 per input), in multiplier and shift-only
(POW2) mode, with independent random stalls on both inputs and the output; tlast from a."""

import logging
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from model.arith import add_int
from tb.common.axis import PAUSES, HandshakeChecker, pack, params, unpack
from tb.common.sim import rtl_sources, run_cocotb

HERE = Path(__file__).parent
PAUSE_SETS = [("none", "none", "none"), ("random", "burst", "random"), ("burst", "none", "burst")]


def lanes(rng, c, signed):
    lo, hi = (-128, 127) if signed else (0, 255)
    return [
        rng.choice([lo, hi, 0, rng.randint(lo, hi)]) if rng.random() < 0.2 else rng.randint(lo, hi) for _ in range(c)
    ]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_SETS)
async def bit_exact(dut, pauses):
    p = params()
    c = p["C"]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    srcs = [AxiStreamSource(AxiStreamBus.from_prefix(dut, f"s_{x}_axis"), dut.clk, dut.rst, byte_lanes=1) for x in "ab"]
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
    for k, (obj, pause) in enumerate(zip((*srcs, sink), pauses, strict=True)):
        obj.log.setLevel(logging.WARNING)
        obj.set_pause_generator(PAUSES[pause](20 + k))
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    dut.rst.value = 1
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    rng = random.Random(5)
    frames = []
    for _ in range(12):
        n = rng.randint(1, 30)
        a = [lanes(rng, c, p["SIGNED_A"]) for _ in range(n)]
        b = [lanes(rng, c, p["SIGNED_B"]) for _ in range(n)]
        frames.append((a, b))
        await srcs[0].send(AxiStreamFrame([pack(v, 8) for v in a]))
        await srcs[1].send(AxiStreamFrame([pack(v, 8) for v in b]))
    for a, b in frames:
        got = await with_timeout(sink.recv(compact=True), 2000, "us")
        want = add_int(np.array(a), np.array(b), (p["MA"], p["MB"]), (p["R"],), p["LO"], p["HI"])
        signed_out = p["LO"] < 0
        assert [unpack(int(x), c, 8, signed_out) for x in got.tdata] == want.tolist()
    assert sink.empty()


# (signed a, signed b, MA, MB, R, POW2, LO, HI): a residual branch (int8) plus an identity skip
# (uint8), shifts only; two int8 branches (1x1 shortcut) with multipliers; an int8 result.
CASES = [
    (1, 0, 1, 2, 1, 1, 0, 255),
    (1, 1, 4, 1, 3, 1, 0, 255),
    (1, 0, 15160, 27070, 15, 0, 0, 255),
    (1, 1, 9523, 30592, 14, 0, -128, 127),
    (0, 0, 1, 1, 1, 0, 0, 255),
]


@pytest.mark.parametrize("sa,sb,ma,mb,r,pow2,lo,hi", CASES)
def test_add_unit(sa, sb, ma, mb, r, pow2, lo, hi):
    run_cocotb(
        toplevel="add_unit",
        sources=rtl_sources("add_unit"),
        test_module="test_add_unit",
        test_dir=HERE,
        parameters={
            "C": 3,
            "SIGNED_A": sa,
            "SIGNED_B": sb,
            "MA": ma,
            "MB": mb,
            "R": r,
            "POW2": pow2,
            "LO": lo,
            "HI": hi,
        },
    )
