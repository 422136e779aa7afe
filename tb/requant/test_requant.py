"""requant: bit-exact against the Python-int reference y = clamp((acc*m + 2**(r-1)) >> r, LO, HI)
on random and edge accumulators (ties of both signs, both clamps, extremes), pow2 mode,
random stalls; one beat per cycle, latency 4. Lane-serial (BEATS > 1): lane c of beat j uses
channel j*C + c; the beat counter restarts at tlast (short frames resynchronise). PIX pixels
per beat: C*PIX lanes, lane p*C + c uses channel c (same checks, every pixel)."""

import random
import subprocess
from pathlib import Path

import cocotb
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import write_memh
from tb.common.sim import RTL, mem_dir, rtl_sources, run_cocotb, setup_verilator_env, sv_string

HERE = Path(__file__).parent
LATENCY = 4
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


def reference(acc: int, m: int, r: int, lo: int, hi: int) -> int:
    return min(max((acc * m + (1 << (r - 1))) >> r, lo), hi)


def tz(x: int) -> int:
    return (x & -x).bit_length() - 1 if x else 0


def lanes(p) -> int:
    """Lanes per beat: C channels of each of PIX pixels."""
    return p["C"] * p.get("PIX", 1)


def channel(p, i: int, c: int) -> int:
    """Channel of lane c in beat i of a frame: the header's counter restarts at tlast and
    after beat BEATS-1, so beat i is beat i % BEATS of its group of BEATS; with PIX pixels per
    beat lane c belongs to pixel c // C and carries channel c % C."""
    return (i % p["BEATS"]) * p["C"] + c % p["C"]


class Stim:
    """Accumulators per channel: random, near the output range, exact ties, extremes."""

    def __init__(self, p, seed):
        self.p = p
        self.rng = random.Random(seed)
        self.ms = [1] * (p["C"] * p["BEATS"]) if p["POW2"] else p["_M"]
        self.rs = p["_R"]
        w = p["ACC_W"]
        self.amin, self.amax = -(1 << (w - 1)), (1 << (w - 1)) - 1

    def clip(self, a):
        return min(max(a, self.amin), self.amax)

    def acc(self, c):
        rng, m, r = self.rng, self.ms[c], self.rs[c]
        kind = rng.random()
        if kind < 0.15:
            return rng.randint(self.amin, self.amax)
        if kind < 0.25:
            return rng.choice([self.amin, self.amax, self.amin + 1, 0, 1, -1])
        if kind < 0.55 and m and tz(m) <= r - 1:
            # exact tie: acc * m = odd * 2**(r-1)
            odd_m = m >> tz(m)
            # odd t with |t * odd_m| / 2 mostly inside the output range
            t = rng.randrange(1, max(3, 600 // odd_m), 2) * rng.choice([1, -1])
            return self.clip(t << (r - 1 - tz(m)))
        # near the interesting output range (about LO-20 .. HI+20)
        if not m:
            return rng.randint(self.amin, self.amax)
        y = rng.randint(self.p["LO"] - 20, self.p["HI"] + 20)
        return self.clip(((y << r) // m) + rng.randint(-3, 3))

    def frame(self, n: int):
        """n beats, each lane's accumulator drawn for the channel it carries."""
        return [[self.acc(channel(self.p, i, c)) for c in range(lanes(self.p))] for i in range(n)]

    def expected(self, frame):
        p = self.p
        return [
            [reference(a, self.ms[k], self.rs[k], p["LO"], p["HI"]) for k, a in zip(self.chans(i), accs, strict=True)]
            for i, accs in enumerate(frame)
        ]

    def chans(self, i: int):
        return [channel(self.p, i, c) for c in range(lanes(self.p))]


async def send_frames(tb, p, frames):
    for f in frames:
        await tb.send_beats([pack(b, p["ACC_W"]) for b in f])


async def check_frames(tb, p, stim, frames):
    for n, f in enumerate(frames):
        got = await tb.recv_beats()
        assert len(got) == len(f), f"frame {n}: {len(got)} beats, expected {len(f)}"
        out = [unpack(w, lanes(p), 8, signed=p["LO"] < 0) for w in got]
        for i, (o, e) in enumerate(zip(out, stim.expected(f), strict=True)):
            assert o == e, f"frame {n} beat {i} (channels {stim.chans(i)}): acc {f[i]} -> {o}, expected {e}"


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def matches_reference(dut, pauses):
    p = params()
    tb = StreamTB(dut, *pauses, seed=21)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    stim = Stim(p, seed=PAUSE_PAIRS.index(pauses))
    # Whole groups of BEATS beats, tlast on the last; with BEATS = 1 any length (1..24 beats),
    # with BEATS = 3 several groups per frame (the counter wraps inside a frame).
    b = p["BEATS"]
    frames = [stim.frame(b * stim.rng.randint(1, max(1, 24 // b))) for _ in range(25)]
    await send_frames(tb, p, frames)
    await check_frames(tb, p, stim, frames)
    ties = {1: 0, -1: 0}
    clamps = {"lo": 0, "hi": 0}
    for f in frames:
        for i, accs in enumerate(f):
            for k, a in zip(stim.chans(i), accs, strict=True):
                prod, r = a * stim.ms[k], stim.rs[k]
                y = (prod + (1 << (r - 1))) >> r
                if prod % (1 << r) == 1 << (r - 1) and p["LO"] <= y <= p["HI"]:
                    ties[1 if prod > 0 else -1] += 1
                clamps["lo"] += y < p["LO"]
                clamps["hi"] += y > p["HI"]
    assert tb.sink.empty()
    assert hs.beats == sum(len(f) for f in frames)
    # The stimulus did reach the interesting cases.
    assert ties[1] and clamps["lo"] and clamps["hi"], (ties, clamps)
    if p["LO"] < 0:
        assert ties[-1], ties


@cocotb.test()
async def throughput(dut):
    p = params()
    tb = StreamTB(dut)
    await tb.reset()
    stim = Stim(p, seed=9)
    # One 200-beat frame (BEATS = 1), else back-to-back frames of BEATS beats.
    b = p["BEATS"]
    frames = [stim.frame(200)] if b == 1 else [stim.frame(b) for _ in range(-(-200 // b))]
    n = sum(len(f) for f in frames)
    await send_frames(tb, p, frames)
    start = tb.cycle
    await check_frames(tb, p, stim, frames)
    cycles = tb.cycle - start
    # Header: 1 beat per cycle, latency 4 (+1 for the source's own register).
    assert cycles <= n + LATENCY + 2, f"{n} beats took {cycles} cycles"


@cocotb.test()
async def resync(dut):
    """Frames cut short (tlast early, also first after reset) and one too long, among good
    frames: the counter restarts at every tlast, so each good frame uses channels 0.. again."""
    p = params()
    b = p["BEATS"]
    tb = StreamTB(dut, "random", "random", seed=5)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    stim = Stim(p, seed=17)
    lengths = [max(1, b - 1), b, 1, b, b, max(1, b // 2), b, b + 2, b, b]
    frames = [stim.frame(n) for n in lengths]
    await send_frames(tb, p, frames)
    await check_frames(tb, p, stim, frames)
    assert tb.sink.empty()
    assert hs.beats == sum(lengths)
    if b > 1:
        # The check can fail: a counter that ignored tlast would give other outputs.
        # (the whole stream as one frame: the counter only wraps after BEATS beats)
        naive = stim.expected([beat for f in frames for beat in f])
        assert naive != [e for f in frames for e in stim.expected(f)]


def channel_params(c: int, m_w: int, acc_w: int, seed: int):
    """A mix of channel kinds: realistic (m ~ 2**(M_W-1), large r), small odd m with small r
    (ties reachable), m with trailing zeros, m = 0 / 1 / max, r = 1 and r = 62."""
    rng = random.Random(seed)
    ms, rs = [], []
    for i in range(c):
        kind = i % 6
        if kind == 0:
            m = rng.randrange(1 << (m_w - 1), 1 << m_w) if m_w > 1 else 1
            r = min(62, max(1, m_w + rng.randint(-2, 8)))
        elif kind == 1:
            m = rng.randrange(1, min(256, 1 << m_w), 2)
            r = rng.randint(1, 10)
        elif kind == 2:
            m = (rng.randrange(1, 16, 2) << min(m_w - 4, 12)) if m_w > 4 else 1
            r = min(62, tz(m) + rng.randint(1, 6))
        elif kind == 3:
            m, r = (1 << m_w) - 1, 62 if i % 12 == 3 else min(62, m_w + 1)
        elif kind == 4:
            m, r = 1, 1 if i % 12 == 4 else rng.randint(1, acc_w)
        else:
            m, r = (0 if i % 12 == 5 else rng.randrange(1 << m_w)), rng.randint(1, 62)
        ms.append(m)
        rs.append(r)
    return ms, rs


CONFIGS = [
    # C, BEATS, ACC_W, M_W, LO, HI, POW2
    (6, 1, 32, 32, 0, 255, 0),
    (16, 1, 32, 32, -128, 127, 0),
    (1, 1, 32, 16, 0, 255, 0),
    (12, 1, 32, 8, -128, 127, 0),
    (2, 1, 64, 32, 0, 255, 0),
    (3, 1, 32, 32, 0, 255, 1),
    (8, 1, 24, 32, -128, 127, 1),
    # narrow accumulators (a rounding sum narrower than the 9-bit clamp in the second)
    (4, 1, 12, 3, -128, 127, 0),
    (3, 1, 6, 32, 0, 10, 1),
    # lane-serial: C*BEATS channels per frame, BEATS beats of C lanes
    (1, 32, 32, 16, 0, 255, 0),
    (1, 32, 32, 32, 0, 255, 1),
    (2, 3, 32, 16, -128, 127, 0),
]


@pytest.mark.parametrize("c,beats,acc_w,m_w,lo,hi,pow2", CONFIGS)
def test_requant(c, beats, acc_w, m_w, lo, hi, pow2):
    n = c * beats  # channels per frame
    ms, rs = channel_params(n, m_w, acc_w, seed=c * 31 + m_w + 7 * (beats - 1))
    if pow2:
        # shift only: keep shifts where outputs are not all clamped
        rs = [random.Random(c + i).randint(1, 12) if i % 4 else [1, 30, 62][i % 3] for i in range(n)]
    if n == 1:
        ms, rs = [5], [3]  # small odd m: ties reachable in a single lane
    name = f"{c}x{beats}_{acc_w}_{m_w}_{lo}_{hi}_{pow2}"
    m_file = write_memh(mem_dir("requant") / f"m_{name}.mem", ms, 32)
    r_file = write_memh(mem_dir("requant") / f"r_{name}.mem", rs, 8)
    run_cocotb(
        toplevel="requant",
        sources=rtl_sources("requant"),
        test_module="test_requant",
        test_dir=HERE,
        parameters={
            "C": c,
            "BEATS": beats,
            "ACC_W": acc_w,
            "M_W": m_w,
            "LO": lo,
            "HI": hi,
            "POW2": pow2,
            "M_FILE": sv_string(m_file if not pow2 else ""),
            "R_FILE": sv_string(r_file),
            "_M": ms,
            "_R": rs,
        },
    )


# PIX pixels per beat (BEATS = 1): C, PIX, ACC_W, M_W, LO, HI, POW2
PIX_CONFIGS = [
    (4, 8, 32, 32, 0, 255, 0),
    (6, 2, 32, 16, -128, 127, 0),
    (3, 2, 32, 32, 0, 255, 1),
    (4, 8, 24, 32, -128, 127, 1),
]


@pytest.mark.parametrize("c,pix,acc_w,m_w,lo,hi,pow2", PIX_CONFIGS)
def test_requant_pix(c, pix, acc_w, m_w, lo, hi, pow2):
    ms, rs = channel_params(c, m_w, acc_w, seed=c * 31 + m_w + 101 * pix)
    if pow2:
        rs = [random.Random(c + i).randint(1, 12) if i % 4 else [1, 30, 62][i % 3] for i in range(c)]
    name = f"{c}_pix{pix}_{acc_w}_{m_w}_{lo}_{hi}_{pow2}"
    m_file = write_memh(mem_dir("requant") / f"m_{name}.mem", ms, 32)
    r_file = write_memh(mem_dir("requant") / f"r_{name}.mem", rs, 8)
    run_cocotb(
        toplevel="requant",
        sources=rtl_sources("requant"),
        test_module="test_requant",
        test_dir=HERE,
        parameters={
            "C": c,
            "BEATS": 1,
            "PIX": pix,
            "ACC_W": acc_w,
            "M_W": m_w,
            "LO": lo,
            "HI": hi,
            "POW2": pow2,
            "M_FILE": sv_string(m_file if not pow2 else ""),
            "R_FILE": sv_string(r_file),
            "_M": ms,
            "_R": rs,
        },
    )


def test_requant_beats_pix_refused():
    """BEATS > 1 with PIX > 1 is not supported: elaboration stops with $fatal (Verilator's lint
    elaborates; the cocotb build runs with -Wno-fatal)."""
    setup_verilator_env()
    cmd = ["verilator", "--lint-only", "-Wall", f"-I{RTL}", "--top-module", "requant", str(RTL / "requant.sv")]
    res = subprocess.run([*cmd, "-GPIX=2", "-GBEATS=2"], capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert "requant: BEATS (2) > 1 with PIX (2) > 1 is not supported" in res.stdout + res.stderr


def test_requant_bad_files(capfd):
    """Checked like rom: missing file, wrong count, too wide m, r out of range; with BEATS > 1
    the files hold C*BEATS words and every one is checked."""
    m_file = mem_dir("requant") / "bad_m.mem"
    r_file = mem_dir("requant") / "bad_r.mem"
    cases = [
        (2, 1, None, "3\n3\n", f"requant: cannot open init file {m_file}"),
        (2, 1, "1\n2\n3\n", "3\n3\n", f"requant: {m_file} holds 3 words, expected 2"),
        (2, 1, "1\n10000\n", "3\n3\n", f"requant: {m_file} word 1 '10000' is wider than 16 bits"),
        (2, 1, "1\n2\n", "3\n", f"requant: {r_file} holds 1 words, expected 2"),
        (2, 1, "1\n2\n", "3\n3f\n", f"requant: {r_file} word 1: shift 63 outside 1..62"),
        (2, 1, "1\n2\n", "0\n3\n", f"requant: {r_file} word 0: shift 0 outside 1..62"),
        (2, 3, "1\n2\n", "3\n" * 6, f"requant: {m_file} holds 2 words, expected 6"),
        (2, 3, "1\n" * 6, "3\n" * 5 + "40\n", f"requant: {r_file} word 5: shift 64 outside 1..62"),
    ]
    for c, beats, m_text, r_text, message in cases:
        m_file.unlink(missing_ok=True)
        if m_text is not None:
            m_file.write_text(m_text)
        r_file.write_text(r_text)
        with pytest.raises((SystemExit, RuntimeError)):  # the simulator exits non-zero
            run_cocotb(
                toplevel="requant",
                sources=rtl_sources("requant"),
                test_module="test_requant",
                test_dir=HERE,
                testcase="throughput",
                tag="bad",
                parameters={
                    "C": c,
                    "BEATS": beats,
                    "ACC_W": 32,
                    "M_W": 16,
                    "LO": 0,
                    "HI": 255,
                    "POW2": 0,
                    "M_FILE": sv_string(m_file),
                    "R_FILE": sv_string(r_file),
                },
            )
        out = capfd.readouterr()
        assert message in out.out + out.err, f"{message!r} not in:\n{(out.out + out.err)[-3000:]}"
