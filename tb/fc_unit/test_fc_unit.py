"""fc_unit: every accumulator bit-exact with a NumPy int64 reference, under stalls, for several
foldings; steady-state throughput (IN_BEATS*FOLDS cycles per frame) and latency as the RTL
header states; the result is double-buffered (the next frame accumulates while the output
waits); a missing or short weight file stops the simulation naming the file.

Low-bit precisions (W_BITS, A_BITS in {1, 2, 4, 8}): the reference decodes the lane codes by
the contract (tb/common/lowbit.py: bipolar 1-bit sides, signed weights, unsigned activations)
and sums the value products; w1a1 is cross-checked in its XNOR-popcount form. A weight file
with 8-bit lanes given to a low-bit unit stops the simulation (word wider than the memory).

Narrow accumulators (SUM_W < ACC_W): the smallest width that holds the worst case |bias| +
sum|w|*max|x|, with weights and biases chosen so that two outputs reach +bound and -bound and
the bound is 2**(SUM_W-1) - 1: one bit fewer, or a lane not sign-extended, fails the check.
OUT_REG = 0 (no output register: the result waits in the accumulators): one cycle more per
frame, and with the output blocked the unit holds instead of accumulating the next frame."""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge

from tb.common import lowbit
from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import bias_words, fc_weight_words, write_mem
from tb.common.sim import BUILD, expect_bad_mem_file_errors, rtl_sources, run_cocotb, sv_string

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "burst"), ("none", "burst")]


# --- shared with the cocotb side -----------------------------------------------------------


def folds(p: dict) -> int:
    return (p["C_OUT"] // p["PE"]) * (p["C_IN"] // p["SIMD"])


def out_reg(p: dict) -> int:
    return p.get("OUT_REG", 1)


def bits(p: dict) -> tuple[int, int]:
    """(W_BITS, A_BITS); 8, 8 when the parameters are left at their defaults."""
    return p.get("W_BITS", 8), p.get("A_BITS", 8)


def load_model(p: dict):
    d = Path(p["_MEMDIR"])
    return np.load(d / "w.npy"), np.load(d / "b.npy")


def reference(w: np.ndarray, b: np.ndarray, frame: np.ndarray, wa_bits: tuple[int, int] = (8, 8)) -> list[int]:
    """frame: (IN_BEATS, C_IN) activation codes, flattened in stream order; w: weight codes
    -> C_OUT int64 accumulators (codes decoded by the low-bit contract; 8/8 is int8 x uint8)."""
    wb, ab = wa_bits
    x = lowbit.a_value(frame.reshape(-1), ab)
    acc = lowbit.w_value(w, wb) @ x + b.astype(np.int64)
    if wb == 1 and ab == 1:  # the XNOR-popcount form gives the same sums
        xnor = [lowbit.xnor_popcount_dot(w[o], frame) + int(b[o]) for o in range(len(b))]
        assert xnor == [int(v) for v in acc]
    return [int(v) for v in acc]


def random_frames(p: dict, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    shape = (p["IN_BEATS"], p["C_IN"])
    ab = bits(p)[1]
    top = lowbit.a_code_range(ab)[1]
    frames = [lowbit.random_a_codes(shape, ab, rng) for _ in range(n)]
    frames[0] = np.full(shape, top, dtype=np.int64)  # largest magnitudes
    if n > 2:
        frames[2] = np.zeros(shape, dtype=np.int64)  # bias only (bipolar: all -1)
    return frames


def beats_of(frame: np.ndarray, a_bits: int = 8) -> list[int]:
    return [pack(row, a_bits) for row in frame]


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
        exp = reference(w, b, fr, bits(p))
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
        await tb.send_beats([x for fr in frames[i : i + k] for x in beats_of(fr, bits(p)[1])])
        i += k
    await check_outputs(tb, p, w, b, frames)
    for _ in range(10):
        await RisingEdge(dut.clk)
    assert tb.sink.empty(), "unexpected extra output beats"
    assert chk.beats == n


@cocotb.test()
async def throughput_and_latency(dut):
    """No stalls: one input beat every FOLDS cycles (the second one cycle after the first:
    it waits behind it), one result every IN_BEATS*FOLDS cycles (+1 without the output
    register), result FOLDS + 3 + DOT_PIPE cycles after the frame's last beat reaches the
    issue stage: after its handshake when it came straight in (IN_BEATS = 1), FOLDS - 1 later
    when it waited (header of rtl/fc_unit.sv)."""
    p = params()
    w, b = load_model(p)
    f, nb = folds(p), p["IN_BEATS"]
    tb = StreamTB(dut)
    s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
    m_log = HandshakeLog(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready)
    await tb.reset()
    n = n_frames(p, budget=3000)
    frames = random_frames(p, n, np.random.default_rng(9))
    await tb.send_beats([x for fr in frames for x in beats_of(fr, bits(p)[1])])
    await check_outputs(tb, p, w, b, frames)
    assert len(s_log.cycles) == n * nb and len(m_log.cycles) == n
    latency = m_log.cycles[0] - s_log.cycles[nb - 1]
    out_gaps = {m_log.cycles[i + 1] - m_log.cycles[i] for i in range(n - 1)}
    gaps = [s_log.cycles[i + 1] - s_log.cycles[i] for i in range(n * nb - 1)]
    in_gaps = set(gaps[1:])
    dut._log.info("FOLDS=%d latency=%d output intervals=%s input intervals=%s", f, latency, out_gaps, set(gaps))
    extra = 1 - out_reg(p)  # OUT_REG = 0: the unit holds one cycle while the result is taken
    assert out_gaps == {nb * f + extra}, f"output every {out_gaps} cycles, expected every {nb * f + extra}"
    assert gaps[0] == 1, f"second beat accepted {gaps[0]} cycles after the first, expected 1 (it waits)"
    assert in_gaps == ({f, f + 1} if extra else {f}), f"input accepted every {in_gaps} cycles, expected every {f}"
    expected = f + 3 + p.get("DOT_PIPE", 1) + (f - 1 if nb > 1 else 0)
    assert latency == expected, f"latency {latency}, header says FOLDS + 3 + DOT_PIPE = {expected}"
    assert tb.sink.empty()


@cocotb.test()
async def next_frame_accumulates_while_output_waits(dut):
    """Double buffer: with the output blocked, the whole next frame is still accepted. Without
    the output register (OUT_REG = 0) the unit holds instead: no beat is accepted while the
    result waits, so none overwrites it."""
    p = params()
    w, b = load_model(p)
    f, nb = folds(p), p["IN_BEATS"]
    tb = StreamTB(dut)
    s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
    await tb.reset()
    tb.sink.clear_pause_generator()  # StreamTB's generator would clear the pause every cycle
    tb.sink.pause = True
    frames = random_frames(p, 3, np.random.default_rng(10))
    await tb.send_beats([x for fr in frames for x in beats_of(fr, bits(p)[1])])
    for _ in range(2 * nb * f + 20):
        await RisingEdge(dut.clk)
    assert int(dut.m_axis_tvalid.value) == 1
    if out_reg(p):
        assert len(s_log.cycles) >= 2 * nb, f"only {len(s_log.cycles)} beats accepted with the output blocked"
    else:
        held = len(s_log.cycles)
        for _ in range(2 * nb * f + 20):
            await RisingEdge(dut.clk)
        assert len(s_log.cycles) == held < 3 * nb, f"{held} then {len(s_log.cycles)} beats accepted while held"
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


# Low-bit precisions: (IN_BEATS, C_IN, C_OUT, PE, SIMD, W_BITS, A_BITS); odd SIMD and sizes
LOWBIT_CONFIGS = [
    (3, 8, 6, 2, 4, 1, 1),  # w1a1: XNOR-popcount
    (2, 7, 3, 1, 7, 1, 1),  # w1a1, SIMD 7 (tree padded to 8 leaves)
    (4, 6, 4, 2, 3, 2, 2),
    (2, 8, 4, 4, 8, 4, 4),
    (3, 5, 3, 3, 5, 1, 8),  # w1a8: sign select of 8-bit pixels
    (2, 6, 4, 2, 2, 2, 8),
    (3, 6, 4, 1, 3, 4, 1),  # a1: sign select of the weights
    (2, 4, 4, 2, 4, 8, 2),
]


# Narrow accumulators, bipolar weights: (IN_BEATS, C_IN, C_OUT, PE, SIMD, 1, A_BITS, "narrow");
# SUM_W is the smallest width for the layer's worst case (see narrow_layer).
NARROW_CONFIGS = [
    (3, 8, 6, 2, 4, 1, 1, "narrow"),  # w1a1, SUM_W 7
    (5, 4, 4, 4, 1, 1, 8, "narrow"),  # w1 x 8-bit pixels, all outputs in parallel (fc1 of sfc_w1a1)
    (2, 16, 8, 1, 8, 1, 1, "narrow"),  # w1a1, one output at a time: the ring rotates narrow groups
    (4, 8, 6, 2, 4, 1, 1, "narrow", "single"),  # no output register (OUT_REG = 0)
    (2, 16, 8, 1, 8, 1, 1, "narrow", "single"),
    (6, 1, 4, 4, 1, 1, 8, "narrow", "single"),  # one cycle per beat: the hold shows in every frame
]


def narrow_layer(w: np.ndarray, a_bits: int, rng: np.random.Generator, w_bits: int = 1) -> tuple[np.ndarray, int]:
    """Biases and the accumulator width for weights `w` (codes, changed in place): output 1 has
    every weight at the most negative value (bipolar -1, int8 -128) and bias -B, output 0 the
    most positive and bias +B, the rest random biases within +-B, with B chosen so that the
    worst case |acc| (n*max|w|*max|x| + B, reached by output 1 on an all-max input) is exactly
    2**(SUM_W-1) - 1. Bipolar (w_bits 1) or int8 (w_bits 8) weights."""
    n, amax = w.shape[1], lowbit.a_code_range(a_bits)[1] if a_bits > 1 else 1
    wmax = 128 if w_bits == 8 else 1
    sum_w = (n * wmax * amax).bit_length() + 2
    big = (1 << (sum_w - 1)) - 1 - n * wmax * amax
    if w_bits == 8:
        w[0], w[1] = 127, -128
    else:
        w[0], w[1] = 1, 0  # bipolar codes: 1 is +1, 0 is -1
    b = rng.integers(-big, big + 1, w.shape[0], dtype=np.int64)
    b[0], b[1] = big, -big
    return b, sum_w


def make_params(
    cfg, memdir: Path, seed: int, w_file: Path | None = None, dsp: int | None = None, dot_pipe: int = 1
) -> dict:
    """cfg: (IN_BEATS, C_IN, C_OUT, PE, SIMD[, W_BITS, A_BITS[, "narrow"]]); without the bits
    the unit is built with its default parameters (int8 x uint8); "narrow": SUM_W from
    narrow_layer; DSP_MULS only when given, DOT_PIPE only when not 1."""
    in_beats, c_in, c_out, pe, simd = cfg[:5]
    wb, ab = cfg[5:7] or (8, 8)
    narrow = cfg[7:8] == ("narrow",)
    rng = np.random.default_rng(seed)
    w = lowbit.random_w_codes((c_out, in_beats * c_in), wb, rng)  # int8: -128 and 127 present
    # int32 biases, kept far enough from the limits that no accumulator overflows int32
    b = rng.integers(-(2**31) + 2**24, 2**31 - 2**24, c_out, dtype=np.int64)
    if narrow:
        b, sum_w = narrow_layer(w, ab, rng, wb)
    memdir.mkdir(parents=True, exist_ok=True)
    words = fc_weight_words(w, in_beats, c_in, pe, simd)
    write_mem(memdir / "w.mem", words, width=wb, signed=lowbit.w_mem_signed(wb))
    write_mem(memdir / "b.mem", bias_words(b), width=32, signed=True)
    np.save(memdir / "w.npy", w)
    np.save(memdir / "b.npy", b)
    p = {
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
    if cfg[5:]:
        p.update(W_BITS=wb, A_BITS=ab)
    if narrow:
        p["SUM_W"] = sum_w
    if "single" in cfg[8:]:
        p["OUT_REG"] = 0
    if dsp is not None:
        p["DSP_MULS"] = dsp
    if dot_pipe != 1:
        p["DOT_PIPE"] = dot_pipe
    return p


def cfg_id(cfg) -> str:
    tail = "_w{}a{}".format(*cfg[5:7]) if cfg[5:] else ""
    tail += "".join(f"_{x}" for x in cfg[7:])
    return "nb{}_ci{}_co{}_pe{}_simd{}".format(*cfg[:5]) + tail


@pytest.mark.parametrize("cfg", CONFIGS + LOWBIT_CONFIGS + NARROW_CONFIGS, ids=cfg_id)
def test_fc_unit(cfg):
    memdir = BUILD / "tb" / "fc_unit" / "mem" / cfg_id(cfg)
    p = make_params(cfg, memdir, seed=sum(cfg[:7]) * 104729)
    run_cocotb(
        toplevel="fc_unit",
        sources=rtl_sources("lut_mul", "lane_dot", "fc_unit"),
        test_module="test_fc_unit",
        test_dir=HERE,
        parameters=p,
    )


# Where and how the products are built: (cfg, DSP_MULS or None: all `*`, DOT_PIPE), as in
# tb/conv_unit.
BUILD_CONFIGS = [
    ((49, 8, 32, 2, 8), 5, 1),  # tiny's fc1 at FOLD=auto: PE 0 split 5 / 3, PE 1 all in LUTs
    ((6, 6, 4, 2, 3, 2, 8), 0, 1),  # w2a8: lut_mul at 2 x 8
    ((49, 8, 32, 2, 8), 5, 3),  # (784 weight words: the ROM reads ahead)
    ((2, 16, 8, 1, 8, 1, 1, "narrow"), None, 2),  # w1a1, narrow accumulators
    ((4, 8, 6, 2, 4, 1, 1, "narrow", "single"), None, 3),  # no output register
]


@pytest.mark.parametrize("case", BUILD_CONFIGS, ids=lambda c: f"{cfg_id(c[0])}_dsp{c[1]}_pipe{c[2]}")
def test_fc_unit_dsp_and_pipe(case):
    cfg, dsp, pipe = case
    memdir = BUILD / "tb" / "fc_unit" / "mem" / f"{cfg_id(cfg)}_dsp{dsp}_pipe{pipe}"
    p = make_params(cfg, memdir, seed=sum(cfg[:7]) * 104729 + (dsp or 0) + pipe, dsp=dsp, dot_pipe=pipe)
    run_cocotb(
        toplevel="fc_unit",
        sources=rtl_sources("lut_mul", "lane_dot", "fc_unit"),
        test_module="test_fc_unit",
        test_dir=HERE,
        parameters=p,
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
            sources=rtl_sources("lut_mul", "lane_dot", "fc_unit"),
            test_module="test_fc_unit",
            test_dir=HERE,
            parameters=p,
            testcase="throughput_and_latency",
            tag="badw",
        )

    expect_bad_mem_file_errors("fc_unit W_FILE", bad, good, run_sim, capfd)


@pytest.mark.parametrize("cfg", [(4, 2, 3, 3, 2, 1, 1), (4, 2, 3, 3, 2, 2, 4)], ids=cfg_id)
def test_fc_unit_lowbit_bad_weight_file(cfg, capfd):
    """Low-bit weight memories (word PE*SIMD*W_BITS bits) are checked like the 8-bit ones, and
    a file written with 8-bit lanes (all -1 weights: every lane 0xff) is rejected as too wide."""
    memdir = BUILD / "tb" / "fc_unit" / "mem" / f"bad_{cfg_id(cfg)}"
    bad = memdir / "bad_w.mem"
    p = make_params(cfg, memdir, seed=2, w_file=bad)
    good = (memdir / "w.mem").read_text().splitlines()

    def run_sim():
        run_cocotb(
            toplevel="fc_unit",
            sources=rtl_sources("lut_mul", "lane_dot", "fc_unit"),
            test_module="test_fc_unit",
            test_dir=HERE,
            parameters=p,
            testcase="throughput_and_latency",
            tag="badw",
        )

    expect_bad_mem_file_errors("fc_unit W_FILE", bad, good, run_sim, capfd)
    lanes = cfg[3] * cfg[4]
    try:
        bad.write_text("".join("ff" * lanes + "\n" for _ in good))
        with pytest.raises((SystemExit, RuntimeError, AssertionError)):
            run_sim()
        out = capfd.readouterr()
        msg = f"fc_unit W_FILE: {bad} word 0 '{'ff' * lanes}' is wider than {lanes * cfg[5]} bits"
        assert msg in out.out + out.err, (out.out + out.err)[-3000:]
    finally:
        bad.unlink(missing_ok=True)
