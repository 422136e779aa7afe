"""result_formatter: logits (IN_LANES per beat) + flag -> N logits, class (argmax, lowest on ties), TUSER flag."""

import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from tb.common.axis import PAUSES, HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.sim import rtl_sources, run_cocotb


def shape() -> tuple[int, int, int]:
    p = params()
    n = p["N_CLASSES"]
    return n, p["ACC_W"], p.get("IN_LANES", n)


def beats(logits, lanes: int, w: int) -> list[int]:
    """A frame of logits as input beats: logit k at beat k // lanes, lane k % lanes."""
    return [pack(logits[b : b + lanes], w) for b in range(0, len(logits), lanes)]


def reference(logits) -> list[int]:
    """Expected result words (unsigned 32-bit): the sign-extended logits, then the class."""
    return [int(x) & 0xFFFFFFFF for x in logits] + [int(np.argmax(logits))]


def cases(n: int, w: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    lo, hi = -(1 << (w - 1)), (1 << (w - 1))
    out = [rng.integers(lo, hi, n) for _ in range(20)]
    out += [np.full(n, 7), np.array([lo] * n), np.array([hi - 1] * n)]  # all tied
    out += [np.array([hi - 1] * (n - 1) + [lo]), np.array([lo] * (n - 1) + [hi - 1])]  # extremes
    out += [np.array([lo, hi - 1] * (n // 2) + [lo] * (n % 2))]  # tie between first and later
    out += [rng.choice([lo, hi - 1, -1, 0], n) for _ in range(6)]  # extremes, ties, sign bits
    out += [rng.integers(-3, 3, n) for _ in range(10)]  # many ties
    return out


def flags_source(dut, pause: str, seed: int) -> AxiStreamSource:
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_flag"), dut.clk, dut.rst, byte_lanes=1)
    src.log.setLevel("WARNING")
    src.set_pause_generator(PAUSES[pause](seed))
    return src


def checkers(dut) -> None:
    """AXI-Stream rules on all three streams (started after reset: a test that failed may
    leave a beat presented, which the reset then removes)."""
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    HandshakeChecker(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready, dut.s_axis_tdata, dut.s_axis_tlast, "s_axis")
    HandshakeChecker(dut.clk, dut.s_flag_tvalid, dut.s_flag_tready, dut.s_flag_tdata, None, "s_flag")


async def check_frames(tb: StreamTB, logits_list, want_flags) -> None:
    n = len(logits_list[0])
    for i, (logits, f) in enumerate(zip(logits_list, want_flags, strict=True)):
        frame = await with_timeout(tb.sink.recv(compact=False), 2000, "us")
        words = [int(x) for x in frame.tdata]
        assert len(words) == n + 1, f"frame {i}: {len(words)} beats"
        assert [unpack(x, 1, 32, True)[0] for x in words[:n]] == logits.tolist(), f"frame {i}: logits"
        assert words == reference(logits), f"frame {i}: class {words[n]}, want {int(np.argmax(logits))}"
        assert set(int(u) for u in frame.tuser) == {f}, f"frame {i}: tuser"


@cocotb.test()
@cocotb.parametrize(pauses=[("none", "none", "none"), ("random", "random", "random"), ("burst", "burst", "random")])
async def frames(dut, pauses):
    """Random stalls on the logits, the flags and the result stream; flags pair with frames in order."""
    n, w, lanes = shape()
    tb = StreamTB(dut, pauses[0], pauses[1], seed=4)
    flags = flags_source(dut, pauses[2], seed=9)
    await tb.reset()
    checkers(dut)
    logits_list = cases(n, w)
    want_flags = [random.Random(i).randint(0, 1) for i in range(len(logits_list))]
    for logits, f in zip(logits_list, want_flags, strict=True):
        await tb.send_beats(beats(logits, lanes, w))
        await flags.send(AxiStreamFrame([f]))
    await check_frames(tb, logits_list, want_flags)
    assert tb.sink.empty()
    assert tb.source.empty() and flags.empty()


@cocotb.test()
async def tlast_ignored(dut):
    """Frames are counted: the logits of all frames as one AXI frame (TLAST only at the end)
    and as one-beat frames (TLAST on every beat) give the same results."""
    n, w, lanes = shape()
    tb = StreamTB(dut, "random", "random", seed=11)
    flags = flags_source(dut, "random", seed=12)
    await tb.reset()
    checkers(dut)
    logits_list = cases(n, w)[:8]
    want_flags = [i % 2 for i in range(len(logits_list))]
    words = [b for logits in logits_list for b in beats(logits, lanes, w)]
    for f in want_flags:
        await flags.send(AxiStreamFrame([f]))
    await tb.send_beats(words)
    await check_frames(tb, logits_list, want_flags)
    for f in want_flags:
        await flags.send(AxiStreamFrame([1 - f]))
    for word in words:
        await tb.send_beats([word])
    await check_frames(tb, logits_list, [1 - f for f in want_flags])
    assert tb.sink.empty()


@cocotb.test()
async def cycles_per_frame(dut):
    """Back to back with everything ready: the cycles between the TLAST handshakes of
    consecutive result frames, and the latency of the first result beat (header figures)."""
    n, w, lanes = shape()
    tb = StreamTB(dut)
    dut.s_flag_tvalid.value = 1
    dut.s_flag_tdata.value = 0
    ends, first_in, first_out = [], [], []

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value) and not first_in:
                first_in.append(tb.cycle)
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
                if not first_out:
                    first_out.append(tb.cycle)
                if int(dut.m_axis_tlast.value):
                    ends.append(tb.cycle)

    await tb.reset()
    cocotb.start_soon(watch())
    frames = 8
    for k in range(frames):
        await tb.send_beats(beats(list(range(k, k + n)), lanes, w))
    for k in range(frames):
        words = await tb.recv_beats()
        assert words == reference(list(range(k, k + n)))
    gaps = np.diff(ends).tolist()
    # Header: N_CLASSES + 2 cycles per frame with one beat per frame, N_CLASSES + 1 lane-serial.
    want = n + 2 if lanes == n else n + 1
    dut._log.info("IN_LANES=%d N_CLASSES=%d: cycles per result frame %s", lanes, n, gaps)
    assert gaps == [want] * (frames - 1), f"cycles per frame {gaps}, header says {want}"
    assert first_out[0] - first_in[0] == 1, "latency: first result beat 1 cycle after the first logits beat"


# (N_CLASSES, ACC_W, IN_LANES); IN_LANES None = the default (N_CLASSES, one beat per frame).
CONFIGS = [(10, 32, None), (2, 8, None), (3, 20, 3), (10, 32, 1), (10, 32, 2), (10, 32, 5), (3, 20, 1), (2, 8, 1)]


@pytest.mark.parametrize("n_classes,acc_w,in_lanes", CONFIGS)
def test_result_formatter(n_classes, acc_w, in_lanes):
    parameters = {"N_CLASSES": n_classes, "ACC_W": acc_w}
    if in_lanes is not None:
        parameters["IN_LANES"] = in_lanes
    run_cocotb(
        toplevel="result_formatter",
        sources=rtl_sources("result_formatter"),
        test_module="test_result_formatter",
        test_dir=Path(__file__).parent,
        parameters=parameters,
    )
