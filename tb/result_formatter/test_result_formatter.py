"""result_formatter: logits beat + flag -> N logits, class (argmax, lowest on ties), TUSER flag."""

import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.sim import rtl_sources, run_cocotb


@cocotb.test()
@cocotb.parametrize(pauses=[("none", "none"), ("random", "random"), ("burst", "burst")])
async def frames(dut, pauses):
    p = params()
    n, w = p["N_CLASSES"], p["ACC_W"]
    tb = StreamTB(dut, *pauses, seed=4)
    flags = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_flag"), dut.clk, dut.rst, byte_lanes=1)
    flags.log.setLevel("WARNING")
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast)
    await tb.reset()
    rng = np.random.default_rng(1)
    lo, hi = -(1 << (w - 1)), (1 << (w - 1))
    cases = [rng.integers(lo, hi, n) for _ in range(20)]
    cases += [np.full(n, 7), np.array([lo] * n), np.array([hi - 1] * (n - 1) + [lo])]  # ties, extremes
    cases += [rng.integers(-3, 3, n) for _ in range(10)]  # many ties
    want_flags = [random.Random(i).randint(0, 1) for i in range(len(cases))]
    for logits, f in zip(cases, want_flags, strict=True):
        await tb.send_beats([pack(logits, w)])
        await flags.send(AxiStreamFrame([f]))
    for i, (logits, f) in enumerate(zip(cases, want_flags, strict=True)):
        frame = await tb.sink.recv(compact=False)
        words = [int(x) for x in frame.tdata]
        assert [unpack(x, 1, 32, True)[0] for x in words[:n]] == logits.tolist(), f"frame {i}: logits"
        assert words[n] == int(np.argmax(logits)), f"frame {i}: class {words[n]}"
        assert set(int(u) for u in frame.tuser) == {f}, f"frame {i}: tuser"
    assert tb.sink.empty()


@cocotb.test()
async def cycles_per_frame(dut):
    n, w = params()["N_CLASSES"], params()["ACC_W"]
    tb = StreamTB(dut)
    dut.s_flag_tvalid.value = 1
    dut.s_flag_tdata.value = 0
    await tb.reset()
    frames = 8
    for k in range(frames):
        await tb.send_beats([pack(list(range(k, k + n)), w)])
    start = None
    for _ in range(frames):
        await tb.sink.recv()
        start = start or tb.cycle
    for _ in range(2):
        await RisingEdge(dut.clk)
    # Header: N_CLASSES + 1 beats per frame, plus one cycle to take the next logits beat.
    assert tb.cycle - start <= (frames - 1) * (n + 2) + 3


@pytest.mark.parametrize("n_classes,acc_w", [(10, 32), (2, 8), (3, 20)])
def test_result_formatter(n_classes, acc_w):
    run_cocotb(
        toplevel="result_formatter",
        sources=rtl_sources("result_formatter"),
        test_module="test_result_formatter",
        test_dir=Path(__file__).parent,
        parameters={"N_CLASSES": n_classes, "ACC_W": acc_w},
    )
