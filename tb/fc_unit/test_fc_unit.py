"""fc_unit: every accumulator bit-exact with a NumPy int64 reference, under stalls, for several
foldings; steady-state throughput (IN_BEATS*FOLDS cycles per frame) and latency as the RTL
header states; the result is double-buffered (the next frame accumulates while the output
waits); a missing or short weight file stops the simulation naming the file."""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import bias_words, fc_weight_words, write_mem
from tb.common.sim import BUILD, expect_bad_mem_file_errors, rtl_sources, run_cocotb, sv_string

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "burst"), ("none", "burst")]


# --- shared with the cocotb side -----------------------------------------------------------


def folds(p: dict) -> int:
    return (p["C_OUT"] // p["PE"]) * (p["C_IN"] // p["SIMD"])


def load_model(p: dict):
    d = Path(p["_MEMDIR"])
    return np.load(d / "w.npy"), np.load(d / "b.npy")


def reference(w: np.ndarray, b: np.ndarray, frame: np.ndarray) -> list[int]:
    """frame: (IN_BEATS, C_IN) uint8, flattened in stream order -> C_OUT int64 accumulators."""
    acc = w.astype(np.int64) @ frame.reshape(-1).astype(np.int64) + b.astype(np.int64)
    return [int(v) for v in acc]


def random_frames(p: dict, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    shape = (p["IN_BEATS"], p["C_IN"])
    frames = [rng.integers(0, 256, shape, dtype=np.int64) for _ in range(n)]
    frames[0] = np.full(shape, 255, dtype=np.int64)  # largest magnitudes
    if n > 2:
        frames[2] = np.zeros(shape, dtype=np.int64)  # bias only
    return frames


def beats_of(frame: np.ndarray) -> list[int]:
    return [pack(row, 8) for row in frame]


def n_frames(p: dict, budget: int = 6000) -> int:
    return max(4, min(24, budget // (p["IN_BEATS"] * folds(p))))


class HandshakeLog:
    """Cycle numbers of the beats that move on one stream."""

    def __init__(self, clk, tvalid, tready):
        self.clk, self.tvalid, self.tready = clk, tvalid, tready
        self.cycles: list[int] = []
        cocotb.start_soon(self._run())

    async def _run(self):
        cycle = 0
        while True:
            await RisingEdge(self.clk)
            cycle += 1
            if int(self.tvalid.value) and int(self.tready.value):
                self.cycles.append(cycle)


async def check_outputs(tb: StreamTB, p: dict, w, b, frames):
    for fi, fr in enumerate(frames):
        got = await tb.recv_beats()
        assert len(got) == 1, f"frame {fi}: {len(got)} output beats before tlast, expected 1"
        acc = unpack(got[0], p["C_OUT"], p["ACC_W"], signed=True)
        exp = reference(w, b, fr)
        assert acc == exp, f"frame {fi}: got {acc}, expected {exp}"


# --- cocotb tests --------------------------------------------------------------------------


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def frames_match_reference(dut, pauses):
    p = params()
    w, b = load_model(p)
    tb = StreamTB(dut, *pauses, seed=21)
    chk = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    n = n_frames(p)
    frames = random_frames(p, n, np.random.default_rng(8))
    # Input tlast is ignored (beats are counted): send 1..3 frames per AXI-Stream packet.
    prng = random.Random(4)
    i = 0
    while i < n:
        k = prng.randint(1, 3)
        await tb.send_beats([x for fr in frames[i : i + k] for x in beats_of(fr)])
        i += k
    await check_outputs(tb, p, w, b, frames)
    for _ in range(10):
        await RisingEdge(dut.clk)
    assert tb.sink.empty(), "unexpected extra output beats"
    assert chk.beats == n


@cocotb.test()
async def throughput_and_latency(dut):
    """No stalls: one input beat every FOLDS cycles, one result every IN_BEATS*FOLDS cycles,
    result FOLDS + 3 cycles after the last input beat's handshake (header of rtl/fc_unit.sv)."""
    p = params()
    w, b = load_model(p)
    f, nb = folds(p), p["IN_BEATS"]
    tb = StreamTB(dut)
    s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
    m_log = HandshakeLog(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready)
    await tb.reset()
    n = n_frames(p, budget=3000)
    frames = random_frames(p, n, np.random.default_rng(9))
    await tb.send_beats([x for fr in frames for x in beats_of(fr)])
    await check_outputs(tb, p, w, b, frames)
    assert len(s_log.cycles) == n * nb and len(m_log.cycles) == n
    latency = m_log.cycles[0] - s_log.cycles[nb - 1]
    out_gaps = {m_log.cycles[i + 1] - m_log.cycles[i] for i in range(n - 1)}
    in_gaps = {s_log.cycles[i + 1] - s_log.cycles[i] for i in range(n * nb - 1)}
    dut._log.info("FOLDS=%d latency=%d output intervals=%s input intervals=%s", f, latency, out_gaps, in_gaps)
    assert out_gaps == {nb * f}, f"output every {out_gaps} cycles, expected every {nb * f}"
    assert in_gaps == {f}, f"input accepted every {in_gaps} cycles, expected every {f}"
    assert latency == f + 3, f"latency {latency}, header says FOLDS + 3 = {f + 3}"
    assert tb.sink.empty()


@cocotb.test()
async def next_frame_accumulates_while_output_waits(dut):
    """Double buffer: with the output blocked, the whole next frame is still accepted."""
    p = params()
    w, b = load_model(p)
    f, nb = folds(p), p["IN_BEATS"]
    tb = StreamTB(dut)
    s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
    await tb.reset()
    tb.sink.clear_pause_generator()  # StreamTB's generator would clear the pause every cycle
    tb.sink.pause = True
    frames = random_frames(p, 3, np.random.default_rng(10))
    await tb.send_beats([x for fr in frames for x in beats_of(fr)])
    for _ in range(2 * nb * f + 20):
        await RisingEdge(dut.clk)
    assert int(dut.m_axis_tvalid.value) == 1
    assert len(s_log.cycles) >= 2 * nb, f"only {len(s_log.cycles)} beats accepted with the output blocked"
    tb.sink.pause = False
    await check_outputs(tb, p, w, b, frames)
    assert tb.sink.empty()


# --- pytest: build and run per configuration ---------------------------------------------

# (IN_BEATS, C_IN, C_OUT, PE, SIMD)
CONFIGS = [
    (49, 8, 32, 2, 8),
    (1, 32, 10, 1, 32),
    (25, 16, 120, 8, 16),
    (3, 4, 6, 1, 1),
    (1, 84, 10, 10, 84),
    (4, 2, 3, 3, 2),
    (6, 6, 4, 2, 3),
]


def make_params(cfg, memdir: Path, seed: int, w_file: Path | None = None) -> dict:
    in_beats, c_in, c_out, pe, simd = cfg
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (c_out, in_beats * c_in), dtype=np.int64)
    w.flat[0], w.flat[-1] = -128, 127  # both int8 extremes present
    # int32 biases, kept far enough from the limits that no accumulator overflows int32
    b = rng.integers(-(2**31) + 2**24, 2**31 - 2**24, c_out, dtype=np.int64)
    memdir.mkdir(parents=True, exist_ok=True)
    write_mem(memdir / "w.mem", fc_weight_words(w, in_beats, c_in, pe, simd), width=8, signed=True)
    write_mem(memdir / "b.mem", bias_words(b), width=32, signed=True)
    np.save(memdir / "w.npy", w)
    np.save(memdir / "b.npy", b)
    return {
        "IN_BEATS": in_beats,
        "C_IN": c_in,
        "C_OUT": c_out,
        "PE": pe,
        "SIMD": simd,
        "ACC_W": 32,
        "W_FILE": sv_string(w_file or memdir / "w.mem"),
        "B_FILE": sv_string(memdir / "b.mem"),
        "_MEMDIR": str(memdir),
    }


def cfg_id(cfg) -> str:
    return "nb{}_ci{}_co{}_pe{}_simd{}".format(*cfg)


@pytest.mark.parametrize("cfg", CONFIGS, ids=cfg_id)
def test_fc_unit(cfg):
    memdir = BUILD / "tb" / "fc_unit" / "mem" / cfg_id(cfg)
    p = make_params(cfg, memdir, seed=sum(cfg) * 104729)
    run_cocotb(
        toplevel="fc_unit", sources=rtl_sources("fc_unit"), test_module="test_fc_unit", test_dir=HERE, parameters=p
    )


def test_fc_unit_bad_weight_file(capfd):
    """A missing weight file, a short one and one with a too wide word each stop the simulation
    with a message naming the file."""
    memdir = BUILD / "tb" / "fc_unit" / "mem" / "bad_w"
    bad = memdir / "bad_w.mem"
    p = make_params((4, 2, 3, 3, 2), memdir, seed=1, w_file=bad)
    good = (memdir / "w.mem").read_text().splitlines()

    def run_sim():
        run_cocotb(
            toplevel="fc_unit",
            sources=rtl_sources("fc_unit"),
            test_module="test_fc_unit",
            test_dir=HERE,
            parameters=p,
            testcase="throughput_and_latency",
            tag="badw",
        )

    expect_bad_mem_file_errors("fc_unit W_FILE", bad, good, run_sim, capfd)
