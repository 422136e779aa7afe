"""conv_unit: every accumulator bit-exact with a NumPy int64 reference, under stalls, for several
foldings; steady-state throughput (FOLDS cycles per window) and latency as the RTL header states;
a missing or short weight file stops the simulation naming the file.

PIX > 1: each input beat carries PIX windows that share the weights; every window of a beat is
checked against the same reference, and throughput and latency are those of PIX = 1 per beat.

Low-bit precisions (W_BITS, A_BITS in {1, 2, 4, 8}): the reference decodes the lane codes by
the contract (tb/common/lowbit.py: bipolar 1-bit sides, signed weights, unsigned activations)
and sums the value products; w1a1 is cross-checked in its XNOR-popcount form."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from tb.common import lowbit
from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import bias_words, conv_weight_words, write_mem
from tb.common.sim import (
    BUILD,
    RTL,
    expect_bad_mem_file_errors,
    rtl_sources,
    run_cocotb,
    setup_verilator_env,
    sv_string,
)
from tb.fc_unit.test_fc_unit import narrow_layer

HERE = Path(__file__).parent
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "burst"), ("none", "burst")]


# --- shared with the cocotb side -----------------------------------------------------------


def folds(p: dict) -> int:
    return (p["C_OUT"] // p["PE"]) * (p["C_IN"] // p["SIMD"]) * (p["K"] ** 2 // p["TAPS"])


def bits(p: dict) -> tuple[int, int]:
    """(W_BITS, A_BITS); 8, 8 when the parameters are left at their defaults."""
    return p.get("W_BITS", 8), p.get("A_BITS", 8)


def pix(p: dict) -> int:
    """Windows per input beat (1 when the parameter is left at its default)."""
    return p.get("PIX", 1)


def beats_per_window(p: dict) -> int:
    """Output beats per input beat. SERIAL = 1: one beat per output group of PE lanes; else
    one beat of PIX*C_OUT lanes."""
    return p["C_OUT"] // p["PE"] if p["SERIAL"] else 1


def window_results(p: dict, beats: list[int]) -> list[list[int]]:
    """Output beats -> the C_OUT accumulators of each window (pixel p of a beat is lanes
    p*C_OUT ..)."""
    lanes = pix(p) * p["C_OUT"] // beats_per_window(p)
    accs = [v for word in beats for v in unpack(word, lanes, p["ACC_W"], signed=True)]
    return [accs[i : i + p["C_OUT"]] for i in range(0, len(accs), p["C_OUT"])]


def load_model(p: dict):
    d = Path(p["_MEMDIR"])
    return np.load(d / "w.npy"), np.load(d / "b.npy")


def reference(w: np.ndarray, b: np.ndarray, win: np.ndarray, wa_bits: tuple[int, int] = (8, 8)) -> list[int]:
    """win: (K, K, C_IN) activation codes, w: weight codes -> C_OUT int64 accumulators (codes
    decoded by the low-bit contract; 8/8 is int8 x uint8)."""
    wb, ab = wa_bits
    wv, xv = lowbit.w_value(w, wb), lowbit.a_value(win, ab)
    acc = np.einsum("ocij,ijc->o", wv, xv) + b.astype(np.int64)
    if wb == 1 and ab == 1:  # the XNOR-popcount form gives the same sums
        xnor = [lowbit.xnor_popcount_dot(w[o], win.transpose(2, 0, 1)) + int(b[o]) for o in range(len(b))]
        assert xnor == [int(v) for v in acc]
    return [int(v) for v in acc]


def random_windows(p: dict, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    shape = (p["K"], p["K"], p["C_IN"])
    ab = bits(p)[1]
    wins = [lowbit.random_a_codes(shape, ab, rng) for _ in range(n)]
    # corners: all-max and all-zero activations (bipolar: all +1 and all -1)
    wins[0] = np.full(shape, lowbit.a_code_range(ab)[1], dtype=np.int64)
    if n > 2:
        wins[2] = np.zeros(shape, dtype=np.int64)
    return wins


def window_word(win: np.ndarray, a_bits: int = 8) -> int:
    # lane (i*K + j)*C_IN + c == C-order flattening of (K, K, C_IN)
    return pack(win.ravel(), a_bits)


def beat_word(wins: list[np.ndarray], a_bits: int = 8) -> int:
    """PIX windows in one input beat, window p above window p-1."""
    return pack(np.concatenate([w.ravel() for w in wins]), a_bits)


def random_beats(p: dict, n: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """n input beats of PIX windows each (PIX = 1: the windows of random_windows)."""
    wins = random_windows(p, n * pix(p), rng)
    return [wins[i * pix(p) : (i + 1) * pix(p)] for i in range(n)]


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


# --- cocotb tests --------------------------------------------------------------------------


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def windows_match_reference(dut, pauses):
    p = params()
    w, b = load_model(p)
    tb = StreamTB(dut, *pauses, seed=11)
    chk = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = np.random.default_rng(5)
    n = max(24, min(128, 3000 // folds(p)))  # input beats
    beats = random_beats(p, n, rng)
    # beats grouped into frames of random length: m_axis_tlast must follow s_axis_tlast
    prng = random.Random(9)
    frames, i = [], 0
    while i < n:
        k = prng.randint(1, 9)
        frames.append(beats[i : i + k])
        i += k
    for f in frames:
        await tb.send_beats([beat_word(x, bits(p)[1]) for x in f])
    bpw = beats_per_window(p)
    for fi, f in enumerate(frames):
        got = await tb.recv_beats()
        assert len(got) == len(f) * bpw, f"frame {fi}: {len(got)} beats, expected {len(f) * bpw} (tlast misplaced)"
        wins = [x for beat in f for x in beat]
        for wi, (acc, win) in enumerate(zip(window_results(p, got), wins, strict=True)):
            exp = reference(w, b, win, bits(p))
            assert acc == exp, f"frame {fi} window {wi} (pixel {wi % pix(p)}): got {acc}, expected {exp}"
    for _ in range(10):
        await RisingEdge(dut.clk)
    assert tb.sink.empty(), "unexpected extra output beats"
    assert chk.beats == n * bpw


@cocotb.test()
async def throughput_and_latency(dut):
    """No stalls: one input beat (PIX windows) every FOLDS cycles, a beat's (last) result beat
    3 + DOT_PIPE cycles after its input handshake, which comes with its last fold (header of
    rtl/conv_unit.sv)."""
    p = params()
    w, b = load_model(p)
    f = folds(p)
    tb = StreamTB(dut)
    s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
    m_log = HandshakeLog(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready)
    await tb.reset()
    n = 24
    beats = random_beats(p, n, np.random.default_rng(6))
    await tb.send_beats([beat_word(x, bits(p)[1]) for x in beats])
    got = await tb.recv_beats()
    assert window_results(p, got) == [reference(w, b, x, bits(p)) for beat in beats for x in beat]
    bpw = beats_per_window(p)
    fb = f // bpw  # cycles per output beat
    assert len(s_log.cycles) == n and len(m_log.cycles) == n * bpw
    latency = m_log.cycles[bpw - 1] - s_log.cycles[0]
    out_gaps = {m_log.cycles[i + 1] - m_log.cycles[i] for i in range(n * bpw - 1)}
    in_gaps = {s_log.cycles[i + 1] - s_log.cycles[i] for i in range(n - 1)}
    dut._log.info("FOLDS=%d latency=%d output intervals=%s input intervals=%s", f, latency, out_gaps, in_gaps)
    assert out_gaps == {fb}, f"output every {out_gaps} cycles, expected every {fb}"
    assert in_gaps == {f}, f"input accepted every {in_gaps} cycles, expected every {f}"
    expected = 3 + p.get("DOT_PIPE", 1)
    assert latency == expected, f"latency {latency}, header says {expected}"
    assert tb.sink.empty()


@cocotb.test()
async def ready_out_of_reset(dut):
    """The first cycle out of reset takes a beat exactly when a beat is one fold: s_axis_tready
    comes with a beat's last fold, from a flip-flop whose reset value says whether the first
    fold is the last."""
    tb = StreamTB(dut)  # an idle s_axis, m_axis_tready driven
    await tb.release_reset(3)
    await ReadOnly()
    assert int(dut.s_axis_tready.value) == (folds(params()) == 1)


@cocotb.test()
async def output_blocked_then_drained(dut):
    """Output blocked for a long time: the next window still completes into the second buffer,
    then the pipeline holds; nothing is lost or reordered when the output drains."""
    p = params()
    w, b = load_model(p)
    f = folds(p)
    tb = StreamTB(dut)
    s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
    await tb.reset()
    tb.sink.clear_pause_generator()  # StreamTB's generator would clear the pause every cycle
    tb.sink.pause = True
    n = 8
    beats = random_beats(p, n, np.random.default_rng(12))
    await tb.send_beats([beat_word(x, bits(p)[1]) for x in beats])
    for _ in range(4 * f + 40):
        await RisingEdge(dut.clk)
    assert int(dut.m_axis_tvalid.value) == 1
    held = len(s_log.cycles)
    # Windows are taken with their last fold. SERIAL keeps one group, not a second window:
    # with more than two groups the pipeline holds inside the first window.
    least = {1: 2, 2: 1}.get(beats_per_window(p), 0)
    assert least <= held < n, f"{held} windows accepted with the output blocked"
    tb.sink.pause = False
    got = await tb.recv_beats()
    assert window_results(p, got) == [reference(w, b, x, bits(p)) for beat in beats for x in beat]
    assert tb.sink.empty()


# --- pytest: build and run per configuration ---------------------------------------------

# (K, C_IN, C_OUT, PE, SIMD, TAPS, SERIAL); TAPS = K*K is the default (all taps per cycle)
CONFIGS = [
    (3, 1, 4, 4, 1, 9, 0),
    (3, 4, 8, 2, 4, 9, 0),
    (3, 4, 8, 1, 1, 9, 0),
    (5, 1, 6, 6, 1, 25, 0),
    (5, 6, 16, 4, 6, 25, 0),
    (1, 3, 5, 5, 3, 1, 0),
    (3, 4, 8, 8, 4, 9, 0),
    (2, 6, 6, 3, 2, 4, 0),
    # tap folding: one kernel row, one tap, two taps per cycle
    (3, 1, 4, 1, 1, 3, 0),
    (3, 4, 8, 1, 1, 1, 0),
    (3, 4, 8, 2, 2, 3, 0),
    (5, 1, 6, 3, 1, 5, 0),
    (2, 6, 6, 3, 2, 2, 0),
    # SERIAL: one output beat per group (tiny's up5k convolutions; a group of 2; PE = C_OUT)
    (3, 1, 4, 1, 1, 3, 1),
    (3, 4, 8, 1, 1, 3, 1),
    (3, 4, 8, 2, 2, 9, 1),
    (2, 6, 6, 6, 2, 2, 1),
]


# Low-bit precisions: (K, C_IN, C_OUT, PE, SIMD, TAPS, SERIAL, W_BITS, A_BITS)
LOWBIT_CONFIGS = [
    (3, 4, 8, 2, 4, 9, 0, 1, 1),  # w1a1: 36-lane XNOR-popcount per PE
    (3, 4, 8, 2, 2, 3, 1, 1, 1),  # w1a1, tap folding, serial output
    (3, 2, 4, 2, 2, 9, 0, 2, 2),
    (2, 3, 5, 5, 3, 2, 0, 4, 4),
    (3, 1, 4, 4, 1, 9, 0, 1, 8),  # w1a8: binarized first layer on 8-bit pixels
    (3, 2, 6, 3, 1, 3, 0, 2, 8),
    (3, 3, 4, 1, 3, 9, 0, 8, 1),  # a1: sign select of int8 weights
]

# Narrow accumulators (SUM_W from the worst case, reached exactly): the shapes of tiny's conv1 and
# conv2 on the UP5K (tap folding, serial output), all taps at once, and a binarized layer.
NARROW_CONFIGS = [
    (3, 1, 4, 1, 1, 3, 1, 8, 8, "narrow"),
    (3, 4, 8, 1, 1, 3, 1, 8, 8, "narrow"),
    (3, 4, 8, 2, 4, 9, 0, 8, 8, "narrow"),
    (3, 4, 8, 2, 4, 9, 0, 1, 1, "narrow"),
]


def make_params(
    cfg,
    memdir: Path,
    seed: int,
    w_file: Path | None = None,
    pix: int = 1,
    dsp: int | None = None,
    dot_pipe: int = 1,
) -> dict:
    """cfg: (K, C_IN, C_OUT, PE, SIMD, TAPS, SERIAL[, W_BITS, A_BITS[, "narrow"]]); without the
    bits the unit is built with its default parameters (int8 x uint8); "narrow": SUM_W from
    tb/fc_unit's narrow_layer (the worst case reached exactly); PIX and DOT_PIPE are passed only
    when not 1, DSP_MULS only when given."""
    k, c_in, c_out, pe, simd, taps, serial = cfg[:7]
    wb, ab = cfg[7:9] or (8, 8)
    narrow = cfg[9:10] == ("narrow",)
    rng = np.random.default_rng(seed)
    w = lowbit.random_w_codes((c_out, c_in, k, k), wb, rng)  # int8: -128 and 127 present
    # int32 biases, kept far enough from the limits that no accumulator overflows int32
    b = rng.integers(-(2**31) + 2**24, 2**31 - 2**24, c_out, dtype=np.int64)
    if narrow:  # outputs 0 and 1 reach +-(2**(SUM_W-1) - 1) on the all-max window
        b, sum_w = narrow_layer(w.reshape(c_out, -1), ab, rng, wb)
    memdir.mkdir(parents=True, exist_ok=True)
    words = conv_weight_words(w, pe, simd, taps)
    write_mem(memdir / "w.mem", words, width=wb, signed=lowbit.w_mem_signed(wb))
    write_mem(memdir / "b.mem", bias_words(b), width=32, signed=True)
    np.save(memdir / "w.npy", w)
    np.save(memdir / "b.npy", b)
    p = {
        "K": k,
        "C_IN": c_in,
        "C_OUT": c_out,
        "PE": pe,
        "SIMD": simd,
        "TAPS": taps,
        "SERIAL": serial,
        "ACC_W": 32,
        "W_FILE": sv_string(w_file or memdir / "w.mem"),
        "B_FILE": sv_string(memdir / "b.mem"),
        "_MEMDIR": str(memdir),
    }
    if cfg[7:9]:
        p.update(W_BITS=wb, A_BITS=ab)
    if narrow:
        p["SUM_W"] = sum_w
    if pix != 1:
        p["PIX"] = pix
    if dsp is not None:
        p["DSP_MULS"] = dsp
    if dot_pipe != 1:
        p["DOT_PIPE"] = dot_pipe
    return p


def cfg_id(cfg) -> str:
    tail = "_w{}a{}".format(*cfg[7:9]) if cfg[7:9] else ""
    return "k{}_ci{}_co{}_pe{}_simd{}_taps{}_serial{}".format(*cfg[:7]) + tail + "".join(f"_{t}" for t in cfg[9:])


@pytest.mark.parametrize("cfg", CONFIGS + LOWBIT_CONFIGS + NARROW_CONFIGS, ids=cfg_id)
def test_conv_unit(cfg):
    memdir = BUILD / "tb" / "conv_unit" / "mem" / cfg_id(cfg)
    p = make_params(cfg, memdir, seed=sum(cfg[:9]) * 7919)
    run_cocotb(
        toplevel="conv_unit",
        sources=rtl_sources("lut_mul", "lane_dot", "conv_unit"),
        test_module="test_conv_unit",
        test_dir=HERE,
        parameters=p,
    )


# PIX windows per beat: (cfg as above, PIX)
PIX_CONFIGS = [
    ((3, 1, 4, 4, 1, 9, 0), 8),  # tiny's conv1 shape, eight pixels per beat
    ((3, 4, 8, 8, 4, 9, 0), 2),  # tiny's conv2 shape
    ((3, 4, 8, 2, 2, 3, 0), 2),  # folded: output, input and tap groups
    ((3, 2, 4, 2, 2, 9, 0, 2, 2), 4),  # w2a2
    ((3, 4, 8, 2, 4, 9, 0, 1, 1), 2),  # w1a1 XNOR-popcount
]


def pix_id(case) -> str:
    cfg, pix = case
    return f"{cfg_id(cfg)}_pix{pix}"


@pytest.mark.parametrize("case", PIX_CONFIGS, ids=pix_id)
def test_conv_unit_pix(case):
    cfg, pix = case
    memdir = BUILD / "tb" / "conv_unit" / "mem" / pix_id(case)
    p = make_params(cfg, memdir, seed=sum(cfg) * 7919 + pix, pix=pix)
    run_cocotb(
        toplevel="conv_unit",
        sources=rtl_sources("lut_mul", "lane_dot", "conv_unit"),
        test_module="test_conv_unit",
        test_dir=HERE,
        parameters=p,
    )


# Where and how the products are built: (cfg, DSP_MULS or None: all `*`, DOT_PIPE). DSP_MULS
# splits them between `*` (DSP blocks) and rtl/lut_mul.sv; DOT_PIPE 2 registers the adder tree
# halfway, 3 also each lane once more (a DSP lane's operands, a lut_mul lane's first level).
BUILD_CONFIGS = [
    ((3, 4, 8, 2, 4, 9, 0), 11, 1),  # tiny's conv2 at FOLD=auto: PE 0 split 11 / 25, PE 1 all in LUTs
    ((3, 1, 4, 4, 1, 9, 0), 0, 1),  # tiny's conv1: every product in LUTs
    ((2, 3, 5, 5, 3, 2, 0, 4, 4), 7, 1),  # w4a4: lut_mul at 4 x 4
    ((3, 4, 8, 2, 4, 9, 0), 11, 3),  # tiny's conv2 on the ECP5-25k: 36 terms, split products
    ((3, 4, 8, 2, 4, 9, 0), None, 2),
    ((3, 4, 8, 2, 2, 3, 1), None, 3),  # serial output, tap folding: 6 terms
    ((3, 4, 8, 2, 4, 9, 0, 1, 1), None, 3),  # w1a1: the popcount tree halved
    ((3, 1, 4, 4, 1, 1, 0), None, 2),  # one term: the register at the leaves
]


@pytest.mark.parametrize("case", BUILD_CONFIGS, ids=lambda c: f"{cfg_id(c[0])}_dsp{c[1]}_pipe{c[2]}")
def test_conv_unit_dsp_and_pipe(case):
    cfg, dsp, pipe = case
    memdir = BUILD / "tb" / "conv_unit" / "mem" / f"{cfg_id(cfg)}_dsp{dsp}_pipe{pipe}"
    p = make_params(cfg, memdir, seed=sum(cfg) * 7919 + (dsp or 0) + pipe, dsp=dsp, dot_pipe=pipe)
    run_cocotb(
        toplevel="conv_unit",
        sources=rtl_sources("lut_mul", "lane_dot", "conv_unit"),
        test_module="test_conv_unit",
        test_dir=HERE,
        parameters=p,
    )


def test_conv_unit_serial_pix_refused():
    """SERIAL = 1 with PIX > 1 is not supported: elaboration stops with $fatal (checked with
    Verilator's lint, which elaborates; the cocotb build runs with -Wno-fatal)."""
    setup_verilator_env()
    cmd = ["verilator", "--lint-only", "-Wall", f"-I{RTL}", "-y", str(RTL), "--top-module", "conv_unit"]
    cmd += [str(RTL / "conv_unit.sv"), "-GPIX=2", "-GSERIAL=1"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert "conv_unit: SERIAL = 1 with PIX (2) > 1 is not supported" in res.stdout + res.stderr


def test_conv_unit_bad_weight_file(capfd):
    """A missing weight file, a short one and one with a too wide word each stop the simulation
    with a message naming the file."""
    memdir = BUILD / "tb" / "conv_unit" / "mem" / "bad_w"
    bad = memdir / "bad_w.mem"
    p = make_params((1, 3, 5, 5, 3, 1, 0), memdir, seed=1, w_file=bad)
    good = (memdir / "w.mem").read_text().splitlines()

    def run_sim():
        run_cocotb(
            toplevel="conv_unit",
            sources=rtl_sources("lut_mul", "lane_dot", "conv_unit"),
            test_module="test_conv_unit",
            test_dir=HERE,
            parameters=p,
            testcase="throughput_and_latency",
            tag="badw",
        )

    expect_bad_mem_file_errors("conv_unit W_FILE", bad, good, run_sim, capfd)
