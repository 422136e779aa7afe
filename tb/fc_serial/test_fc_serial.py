"""fc_serial: every output lane bit-exact with the NumPy int64 reference of fc_unit, under stalls on
both streams, one output beat per output group and tlast only on a frame's last beat, for several
foldings (NO = 1 included: the forwarding path); steady-state throughput (one input beat every
FOLDS cycles) and the latency of the RTL header; with W_LOAD = 1 the run-time weight load: frames
wait for weights, wrong-length load frames are rejected with one w_load_error pulse, reloads
change the results, reset in the middle of a load, a load waits for the frame in progress; a
missing or short weight file (W_LOAD = 0) stops the simulation naming the file.

The helpers (reference, frames, parameter/memory-file builder, handshake log) are fc_unit's."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from tb.common.axis import PAUSES, HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import fc_weight_words
from tb.common.sim import BUILD, expect_bad_mem_file_errors, rtl_sources, run_cocotb
from tb.fc_unit.test_fc_unit import (
    PAUSE_PAIRS,
    HandshakeLog,
    beats_of,
    cfg_id,
    folds,
    load_model,
    make_params,
    n_frames,
    random_frames,
    reference,
)

HERE = Path(__file__).parent
W_LOAD = bool(params().get("W_LOAD", 0))  # the build's mode (PARAMS is empty under pytest)
LATENCY = 3  # header: tlast beat handshake - last input beat handshake


# --- shared with the cocotb side -----------------------------------------------------------


def groups(p: dict) -> tuple[int, int]:
    """(NO, NI): output groups (= output beats per frame) and input groups."""
    return p["C_OUT"] // p["PE"], p["C_IN"] // p["SIMD"]


def frame_cycles(p: dict) -> int:
    return p["IN_BEATS"] * folds(p)


def weight_words(p: dict, w: np.ndarray) -> list[int]:
    """A load frame: the weight memory words in address order (the lines of W_FILE)."""
    rows = fc_weight_words(w, p["IN_BEATS"], p["C_IN"], p["PE"], p["SIMD"])
    return [pack(row, 8) for row in rows]


class SerialTB(StreamTB):
    """StreamTB + the weight-load source (W_LOAD = 1), handshake logs on all three streams and a
    monitor of w_valid / w_load_error, all counting the same cycles."""

    def __init__(self, dut, in_pause="none", out_pause="none", seed=1, load_pause="none"):
        super().__init__(dut, in_pause, out_pause, seed, count_cycles=False)
        self.p = params()
        self.w, self.b = load_model(self.p)
        self.no, self.ni = groups(self.p)
        self.depth = frame_cycles(self.p)
        self.m_check = HandshakeChecker(
            dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis"
        )
        self.s_log = HandshakeLog(dut.clk, dut.s_axis_tvalid, dut.s_axis_tready)
        self.m_log = HandshakeLog(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready)
        if W_LOAD:
            bus = AxiStreamBus.from_prefix(dut, "s_wload_axis")
            self.loader = AxiStreamSource(bus, dut.clk, dut.rst, byte_lanes=1)
            self.loader.log.setLevel(logging.ERROR)  # no dump of the frame a reset flushes
            self.loader.set_pause_generator(PAUSES[load_pause](seed + 7))
            self.l_log = HandshakeLog(dut.clk, dut.s_wload_axis_tvalid, dut.s_wload_axis_tready)
            self.err_cycles: list[int] = []
            self.wvalid_low: list[int] = []  # cycles with w_valid = 0
            cocotb.start_soon(self._watch_load())
        else:
            dut.s_wload_axis_tdata.value = 0
            dut.s_wload_axis_tlast.value = 0
            dut.s_wload_axis_tvalid.value = 0

    async def _watch_load(self):
        cycle = 0
        while True:
            await RisingEdge(self.dut.clk)
            cycle += 1
            if int(self.dut.w_load_error.value):
                self.err_cycles.append(cycle)
            if not int(self.dut.w_valid.value):
                self.wvalid_low.append(cycle)

    async def cycles(self, n: int):
        for _ in range(n):
            await RisingEdge(self.dut.clk)

    async def send_frames(self, frames):
        await self.send_beats([x for fr in frames for x in beats_of(fr)])

    async def load(self, words: list[int], expect_valid: bool = True):
        """One load frame (tlast on its last word); returns when it has been taken."""
        await self.loader.send(AxiStreamFrame(words))
        await self.loader.wait()
        await self.cycles(3)
        assert int(self.dut.w_valid.value) == int(expect_valid), f"w_valid after a {len(words)}-word load frame"

    async def load_model_weights(self):
        if W_LOAD:
            await self.load(weight_words(self.p, self.w))

    async def check_outputs(self, frames, w=None):
        """One AXI-Stream packet of NO beats per frame; lanes concatenated = the reference."""
        w = self.w if w is None else w
        for fi, fr in enumerate(frames):
            got = await self.recv_beats()
            assert len(got) == self.no, f"frame {fi}: {len(got)} beats up to tlast, expected {self.no}"
            acc = [v for beat in got for v in unpack(beat, self.p["PE"], self.p["ACC_W"], signed=True)]
            exp = reference(w, self.b, fr)
            assert acc == exp, f"frame {fi}: got {acc}, expected {exp}"

    def assert_single_pulses(self):
        assert all(b - a > 1 for a, b in zip(self.err_cycles, self.err_cycles[1:], strict=False)), (
            f"w_load_error high for more than one cycle: {self.err_cycles}"
        )


def frame_count(p: dict) -> int:
    return 3 if frame_cycles(p) > 3000 else n_frames(p)


# --- cocotb tests: every build -------------------------------------------------------------


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def frames_match_reference(dut, pauses):
    p = params()
    tb = SerialTB(dut, *pauses, seed=21, load_pause=pauses[0])
    await tb.reset()
    await tb.load_model_weights()
    n = frame_count(p)
    frames = random_frames(p, n, np.random.default_rng(8))
    # Input tlast is ignored (beats are counted): send 1..3 frames per AXI-Stream packet.
    prng = random.Random(4)
    i = 0
    while i < n:
        k = prng.randint(1, 3)
        await tb.send_frames(frames[i : i + k])
        i += k
    await tb.check_outputs(frames)
    await tb.cycles(10)
    assert tb.sink.empty(), "unexpected extra output beats"
    assert tb.m_check.beats == n * tb.no


@cocotb.test()
async def throughput_and_latency(dut):
    """No stalls: one input beat every FOLDS cycles, output beats NI cycles apart within a frame,
    frames IN_BEATS*FOLDS cycles apart; the tlast beat 3 cycles after the last input beat's
    handshake, the first beat (NO-1)*NI cycles earlier (header of rtl/fc_serial.sv)."""
    p = params()
    tb = SerialTB(dut)
    await tb.reset()
    await tb.load_model_weights()
    f, nb, no, ni = folds(p), p["IN_BEATS"], tb.no, tb.ni
    n = n_frames(p, budget=3000)
    frames = random_frames(p, n, np.random.default_rng(9))
    s0, m0 = len(tb.s_log.cycles), len(tb.m_log.cycles)
    await tb.send_frames(frames)
    await tb.check_outputs(frames)
    s, m = tb.s_log.cycles[s0:], tb.m_log.cycles[m0:]
    assert len(s) == n * nb and len(m) == n * no
    in_gaps = {s[i + 1] - s[i] for i in range(len(s) - 1)}
    frame_gaps = {m[(i + 1) * no] - m[i * no] for i in range(n - 1)}
    beat_gaps = {m[i * no + j + 1] - m[i * no + j] for i in range(n) for j in range(no - 1)}
    lat_last = [m[i * no + no - 1] - s[i * nb + nb - 1] for i in range(n)]
    lat_first = [m[i * no] - s[i * nb + nb - 1] for i in range(n)]
    dut._log.info(
        "FOLDS=%d NO=%d NI=%d input intervals=%s frame intervals=%s beat intervals=%s "
        "latency tlast beat=%s first beat=%s",
        f,
        no,
        ni,
        in_gaps,
        frame_gaps,
        beat_gaps,
        set(lat_last),
        set(lat_first),
    )
    assert in_gaps == {f}, f"input accepted every {in_gaps} cycles, expected every {f}"
    assert n < 2 or frame_gaps == {nb * f}, f"frames every {frame_gaps} cycles, expected {nb * f}"
    assert no < 2 or beat_gaps == {ni}, f"output beats every {beat_gaps} cycles, expected {ni}"
    assert set(lat_last) == {LATENCY}, f"tlast beat latency {set(lat_last)}, header says {LATENCY}"
    exp_first = LATENCY - (no - 1) * ni
    assert set(lat_first) == {exp_first}, f"first beat latency {set(lat_first)}, header says {exp_first}"
    assert tb.sink.empty()


# --- cocotb tests: W_LOAD = 0 --------------------------------------------------------------


@cocotb.test(skip=W_LOAD)
async def load_port_inert_without_w_load(dut):
    """W_LOAD = 0: s_wload_axis_tready = 0, w_valid = 1, w_load_error = 0 whatever the load port
    does; frames are computed from W_FILE."""
    p = params()
    tb = SerialTB(dut)
    await tb.reset()
    dut.s_wload_axis_tvalid.value = 1
    frames = random_frames(p, 2, np.random.default_rng(11))
    await tb.send_frames(frames)
    for i in range(frame_cycles(p) + 20):
        dut.s_wload_axis_tlast.value = i % 3 == 0
        dut.s_wload_axis_tdata.value = (i * 0x9E3779B1) & ((1 << (8 * p["PE"] * p["SIMD"])) - 1)
        await RisingEdge(dut.clk)
        assert int(dut.s_wload_axis_tready.value) == 0
        assert int(dut.w_valid.value) == 1
        assert int(dut.w_load_error.value) == 0
    await tb.check_outputs(frames)


# --- cocotb tests: W_LOAD = 1 --------------------------------------------------------------


@cocotb.test(skip=not W_LOAD)
async def frames_wait_for_weights(dut):
    """After reset w_valid = 0 and no input beat is taken; the frames come out right after the load."""
    p = params()
    tb = SerialTB(dut, "random", "random", seed=5, load_pause="random")
    await tb.reset()
    frames = random_frames(p, 3, np.random.default_rng(12))
    await tb.send_frames(frames)
    await tb.cycles(frame_cycles(p) + 50)
    assert int(dut.w_valid.value) == 0
    assert not tb.s_log.cycles, "input beats accepted before any weights were loaded"
    assert not tb.m_log.cycles and tb.sink.empty()
    await tb.load(weight_words(p, tb.w))
    await tb.check_outputs(frames)
    assert tb.l_log.cycles[-1] < tb.s_log.cycles[0], "frame started before the load was complete"
    assert not tb.err_cycles


@cocotb.test(skip=not W_LOAD)
async def wrong_length_loads_are_rejected(dut):
    """Short frames (tlast early) and long ones (no tlast on word DEPTH: the rest up to tlast is
    dropped) give one w_load_error pulse each, the cycle after the offending word, and leave
    w_valid = 0 with the frames held; a good load then works. A bad load after a good one
    clears w_valid at its first word."""
    p = params()
    tb = SerialTB(dut, "burst", "random", seed=6, load_pause="random")
    await tb.reset()
    good = weight_words(p, tb.w)
    depth = len(good)
    frames = random_frames(p, 2, np.random.default_rng(13))
    await tb.send_frames(frames)
    junk = [(0x5A5A5A5A5A5A * (i + 1)) & ((1 << (8 * p["PE"] * p["SIMD"])) - 1) for i in range(2 * depth + 3)]
    # (words, index of the word after whose handshake the error is known)
    bad = [(junk[: depth - 1], depth - 2), (junk[:1], 0), (junk[: depth + 1], depth - 1)]
    bad.append((junk[: 2 * depth + 3], depth - 1))  # the tail would be a whole frame: dropped
    for words, at in bad:
        k0, e0 = len(tb.l_log.cycles), len(tb.err_cycles)
        await tb.load(words, expect_valid=False)
        assert len(tb.l_log.cycles) - k0 == len(words), "every word of a bad load frame is consumed"
        assert len(tb.err_cycles) - e0 == 1, f"{len(words)}-word frame: {len(tb.err_cycles) - e0} error pulses"
        assert tb.err_cycles[-1] == tb.l_log.cycles[k0 + at] + 1, "error pulse not right after the bad word"
        assert not tb.s_log.cycles, "input beat accepted without valid weights"
        # the frame is over (an overlong one's dropped tail included): no load runs or waits
        assert not int(tb.dut.s_wload_axis_tready.value), "s_wload_axis_tready high after the load frame ended"
    tb.assert_single_pulses()
    await tb.load(good)
    await tb.check_outputs(frames)
    # after a good load: a short frame clears w_valid at its first word
    k0, e0 = len(tb.l_log.cycles), len(tb.err_cycles)
    await tb.load(good[: depth - 1], expect_valid=False)
    assert tb.l_log.cycles[k0] + 1 in tb.wvalid_low, "w_valid not cleared at the first word of a new load"
    assert len(tb.err_cycles) == e0 + 1
    s0 = len(tb.s_log.cycles)
    more = random_frames(p, 2, np.random.default_rng(14))
    await tb.send_frames(more)
    await tb.cycles(frame_cycles(p) + 20)
    assert len(tb.s_log.cycles) == s0 and tb.sink.empty(), "frame computed with an incomplete load"
    await tb.load(good)
    await tb.check_outputs(more)
    tb.assert_single_pulses()


@cocotb.test(skip=not W_LOAD)
async def reload_changes_results(dut):
    """A new load between frames replaces the weights; w_valid drops at its first word."""
    p = params()
    tb = SerialTB(dut, "random", "burst", seed=7, load_pause="burst")
    await tb.reset()
    w2 = np.random.default_rng(15).integers(-128, 128, tb.w.shape, dtype=np.int64)
    rng = np.random.default_rng(16)
    for w in (tb.w, w2, tb.w):
        k0 = len(tb.l_log.cycles)
        await tb.load(weight_words(p, w))
        assert tb.l_log.cycles[k0] + 1 in tb.wvalid_low, "w_valid not cleared at the first load word"
        frames = random_frames(p, 3, rng)
        await tb.send_frames(frames)
        await tb.check_outputs(frames, w)
    assert not tb.err_cycles


@cocotb.test(skip=not W_LOAD)
async def reset_in_the_middle_of_a_load(dut):
    """Reset halfway through a load (and during the dropped tail of a long one): w_valid = 0, no
    frame is computed, the next full load works."""
    p = params()
    tb = SerialTB(dut, "random", "random", seed=8, load_pause="random")
    await tb.reset()
    good = weight_words(p, tb.w)
    depth = len(good)
    await tb.load(good)
    w2 = np.random.default_rng(17).integers(-128, 128, tb.w.shape, dtype=np.int64)
    # (words, handshakes before the reset, error pulses: the long frame has one at word DEPTH)
    for words, cut, errors in ((weight_words(p, w2), max(1, depth // 2), 0), (good + good[:5], depth + 2, 1)):
        k0, e0 = len(tb.l_log.cycles), len(tb.err_cycles)
        await tb.loader.send(AxiStreamFrame(words))
        while len(tb.l_log.cycles) - k0 < cut:
            await RisingEdge(dut.clk)
        await tb.reset()
        await tb.cycles(2)
        assert int(dut.w_valid.value) == 0, "w_valid after reset"
        assert len(tb.err_cycles) - e0 == errors
        frames = random_frames(p, 2, np.random.default_rng(cut))
        s0 = len(tb.s_log.cycles)
        await tb.send_frames(frames)
        await tb.cycles(frame_cycles(p) + 20)
        assert len(tb.s_log.cycles) == s0, "input beat accepted after reset without weights"
        await tb.load(good)
        await tb.check_outputs(frames)
        assert len(tb.err_cycles) - e0 == errors


@cocotb.test(skip=not W_LOAD)
async def load_waits_for_the_frame_in_progress(dut):
    """A load offered while a frame is computed is taken only after that frame's last output
    beat has left (here: with the output held); the frame uses the old weights, a frame sent
    after the load was offered waits for it and uses the new ones."""
    p = params()
    tb = SerialTB(dut)
    await tb.reset()
    await tb.load_model_weights()
    tb.sink.clear_pause_generator()  # StreamTB's generator would clear the pause every cycle
    tb.sink.pause = True
    rng = np.random.default_rng(18)
    a, b2 = random_frames(p, 1, rng), random_frames(p, 1, rng)
    w2 = np.random.default_rng(19).integers(-128, 128, tb.w.shape, dtype=np.int64)
    s0, k0, m0 = len(tb.s_log.cycles), len(tb.l_log.cycles), len(tb.m_log.cycles)
    await tb.send_frames(a)
    while len(tb.s_log.cycles) == s0:  # frame a has started
        await RisingEdge(dut.clk)
    await tb.loader.send(AxiStreamFrame(weight_words(p, w2)))
    await tb.cycles(3)
    await tb.send_frames(b2)
    for _ in range(2 * frame_cycles(p) + 50):
        await RisingEdge(dut.clk)
        assert int(dut.s_wload_axis_tready.value) == 0, "load port ready while a frame is in progress"
    assert len(tb.l_log.cycles) == k0
    assert len(tb.s_log.cycles) - s0 <= p["IN_BEATS"], "next frame started before the pending load"
    assert int(dut.m_axis_tvalid.value) == 1
    tb.sink.pause = False
    await tb.check_outputs(a)  # old weights
    await tb.loader.wait()
    await tb.check_outputs(b2, w2)  # new weights
    m_a_last = tb.m_log.cycles[m0 + tb.no - 1]
    load = tb.l_log.cycles[k0:]
    b_first = tb.s_log.cycles[s0 + p["IN_BEATS"]]
    assert m_a_last < load[0], f"load word taken at {load[0]}, frame's last output at {m_a_last}"
    assert load[-1] < b_first, "next frame started before the load was complete"
    assert not tb.err_cycles


# --- pytest: build and run per configuration ---------------------------------------------

# (IN_BEATS, C_IN, C_OUT, PE, SIMD); (4, 2, 3, 3, 2) and (5, 4, 2, 2, 2) have NO = 1 (forwarding)
CONFIGS = [
    (49, 8, 32, 1, 1),  # tiny fc1 on the UP5K: 12,544 cycles per frame
    (32, 1, 10, 1, 1),  # tiny fc2
    (3, 4, 6, 1, 1),
    (4, 2, 6, 3, 2),  # NO = 2, NI = 1: the next read of a group one edge after its write
    (6, 6, 4, 2, 3),
    (1, 32, 10, 1, 32),
    (4, 2, 3, 3, 2),
    # Narrow accumulators (SUM_W from the worst case, reached exactly: tb/fc_unit narrow_layer)
    (32, 1, 10, 1, 1, 8, 8, "narrow"),  # tiny fc2's shape
    (4, 2, 6, 3, 2, 8, 8, "narrow"),  # NO = 2: narrow groups through acc_mem
    (4, 2, 3, 3, 2, 8, 8, "narrow"),  # NO = 1: forwarding
]
# (3, 4, 2, 2, 4): NO = NI = 1, so s_axis_tready is en && start_ok alone: the only shape where
# an input beat could be taken before any weights were loaded if start_ok were missing there.
WLOAD_CONFIGS = [(32, 1, 10, 1, 1), (4, 2, 6, 3, 2), (5, 4, 2, 2, 2), (3, 4, 2, 2, 4), (4, 2, 6, 3, 2, 8, 8, "narrow")]


def serial_params(cfg, w_load: int, w_file: Path | None = None, memdir: Path | None = None) -> dict:
    memdir = memdir or BUILD / "tb" / "fc_serial" / "mem" / f"{cfg_id(cfg)}_wl{w_load}"
    if w_load:
        w_file = memdir / "not_read.mem"  # W_LOAD = 1 must not open W_FILE (it does not exist)
    p = make_params(cfg, memdir, seed=sum(cfg[:5]) * 104729, w_file=w_file)
    p.pop("W_BITS", None), p.pop("A_BITS", None)  # int8 only: fc_serial has no such parameters
    p["W_LOAD"] = w_load
    return p


def run(p: dict, **kw):
    run_cocotb(
        toplevel="fc_serial",
        sources=rtl_sources("fc_serial"),
        test_module="test_fc_serial",
        test_dir=HERE,
        parameters=p,
        **kw,
    )


@pytest.mark.parametrize("cfg", CONFIGS, ids=cfg_id)
def test_fc_serial(cfg):
    run(serial_params(cfg, 0))


@pytest.mark.parametrize("cfg", WLOAD_CONFIGS, ids=cfg_id)
def test_fc_serial_w_load(cfg):
    run(serial_params(cfg, 1))


def test_fc_serial_bad_weight_file(capfd):
    """W_LOAD = 0: a missing weight file and a short one each stop the simulation with a message
    naming the file."""
    memdir = BUILD / "tb" / "fc_serial" / "mem" / "bad_w"
    bad = memdir / "bad_w.mem"
    p = serial_params((4, 2, 6, 3, 2), 0, w_file=bad, memdir=memdir)
    good = (Path(p["_MEMDIR"]) / "w.mem").read_text().splitlines()
    expect_bad_mem_file_errors(
        "fc_serial W_FILE", bad, good, lambda: run(p, testcase="throughput_and_latency", tag="badw"), capfd, False
    )
