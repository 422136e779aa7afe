"""threshold: bit-exact against the Python-int reference y = #{j : acc >= T[k][j]} (FINN's
MultiThreshold) for A_OUT 1 (bipolar sign), 2 and 4, on random accumulators and on every
threshold and its neighbours (ties count), equal neighbouring thresholds and the extremes of
ACC_W; random stalls; one beat per cycle, latency 1. Lane-serial (BEATS > 1): lane c of beat j
uses channel j*C + c; the beat counter restarts at tlast (short frames resynchronise).
A threshold file with a channel not sorted ascending stops the simulation naming the file and
the channel; a missing, short or too wide file as rtl/mem_check.svh does for every memory.
Narrow inputs (IN_W < ACC_W): accumulators in the IN_W range, sign-extended to ACC_W lanes, and
thresholds on both sides of that range and at its edges (2**(IN_W-1) is never reached,
2**(IN_W-1) - 1 only by the largest input, -2**(IN_W-1) always), so a wrong clamp or a
comparison without the extra bit fails."""

import random
from pathlib import Path

import cocotb
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import write_mem
from tb.common.sim import expect_bad_mem_file_errors, mem_dir, rtl_sources, run_cocotb, sv_string

HERE = Path(__file__).parent
LATENCY = 1
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


def reference(acc: int, thresholds: list[int]) -> int:
    """The contract: how many thresholds acc reaches (acc >= T counts)."""
    return sum(1 for t in thresholds if acc >= t)


def channel(p, i: int, c: int) -> int:
    """Channel of lane c in beat i of a frame (the counter restarts at tlast and after beat
    BEATS-1, so beat i is beat i % BEATS of its group)."""
    return (i % p["BEATS"]) * p["C"] + c


class Stim:
    """Accumulators per channel: random, each threshold and its neighbours, extremes."""

    def __init__(self, p, seed):
        self.p = p
        self.rng = random.Random(seed)
        self.ts = p["_T"]
        w = p.get("IN_W", p["ACC_W"])  # the values a narrow producer sends
        self.amin, self.amax = -(1 << (w - 1)), (1 << (w - 1)) - 1

    def acc(self, k):
        rng, ts = self.rng, self.ts[k]
        kind = rng.random()
        if kind < 0.15:
            return rng.randint(self.amin, self.amax)
        if kind < 0.25:
            return rng.choice([self.amin, self.amax, self.amin + 1, self.amax - 1, 0, -1])
        t = rng.choice(ts)
        return min(max(t + rng.choice([-1, 0, 0, 1, rng.randint(-50, 50)]), self.amin), self.amax)

    def frame(self, n: int):
        return [[self.acc(channel(self.p, i, c)) for c in range(self.p["C"])] for i in range(n)]

    def chans(self, i: int):
        return [channel(self.p, i, c) for c in range(self.p["C"])]

    def expected(self, frame):
        return [
            [reference(a, self.ts[k]) for k, a in zip(self.chans(i), accs, strict=True)] for i, accs in enumerate(frame)
        ]


async def send_frames(tb, p, frames):
    for f in frames:
        await tb.send_beats([pack(b, p["ACC_W"]) for b in f])


async def check_frames(tb, p, stim, frames):
    for n, f in enumerate(frames):
        got = await tb.recv_beats()
        assert len(got) == len(f), f"frame {n}: {len(got)} beats, expected {len(f)}"
        out = [unpack(w, p["C"], p["A_OUT"], signed=False) for w in got]
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
    b = p["BEATS"]
    frames = [stim.frame(b * stim.rng.randint(1, max(1, 24 // b))) for _ in range(25)]
    await send_frames(tb, p, frames)
    await check_frames(tb, p, stim, frames)
    assert tb.sink.empty()
    assert hs.beats == sum(len(f) for f in frames)
    # The stimulus reached every output level and exact ties (acc == a threshold).
    levels, ties = set(), 0
    for f in frames:
        for i, accs in enumerate(f):
            for k, a in zip(stim.chans(i), accs, strict=True):
                levels.add(reference(a, stim.ts[k]))
                ties += a in stim.ts[k]
    assert levels == set(range(1 << p["A_OUT"])), levels
    assert ties, "no accumulator equal to a threshold"


@cocotb.test()
async def throughput(dut):
    p = params()
    tb = StreamTB(dut)
    await tb.reset()
    stim = Stim(p, seed=9)
    b = p["BEATS"]
    frames = [stim.frame(200)] if b == 1 else [stim.frame(b) for _ in range(-(-200 // b))]
    n = sum(len(f) for f in frames)
    await send_frames(tb, p, frames)
    start = tb.cycle
    await check_frames(tb, p, stim, frames)
    cycles = tb.cycle - start
    # Header: 1 beat per cycle, latency 1 (+1 for the source's own register).
    assert cycles <= n + LATENCY + 2, f"{n} beats took {cycles} cycles"


@cocotb.test()
async def resync(dut):
    """Frames cut short and one too long among good frames: each good frame starts at
    channel 0 again (the counter restarts at every tlast)."""
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


def channel_thresholds(n: int, a_out: int, acc_w: int, seed: int, in_w: int | None = None) -> list[list[int]]:
    """Sorted thresholds per channel: mostly a spread staircase around 0; some channels with
    equal neighbours (an empty level), one reaching the ACC_W extremes. Narrow inputs (in_w):
    the staircase spans 1.5 times the input range, and channels put a threshold on each edge of
    it (+-2**(in_w-1), 2**(in_w-1) - 1, -2**(in_w-1) - 1)."""
    rng = random.Random(seed)
    nt = (1 << a_out) - 1
    lo, hi = -(1 << (acc_w - 1)), (1 << (acc_w - 1)) - 1
    span = min(1 << 12, hi) if in_w is None else 3 << (in_w - 2)
    edges = [] if in_w is None else [1 << (in_w - 1), (1 << (in_w - 1)) - 1, -(1 << (in_w - 1)), -(1 << (in_w - 1)) - 1]
    out = []
    for k in range(n):
        ts = sorted(rng.randint(-span, span) for _ in range(nt))
        if edges and k % 3 == 0:
            ts[rng.randrange(nt)] = edges[(k // 3) % len(edges)]
        if k % 5 == 1 and nt > 1:
            ts[nt // 2] = ts[nt // 2 - 1]  # equal neighbours
        if k % 7 == 3:
            ts[0] = lo  # acc >= min always holds
            if nt > 1:
                ts[-1] = hi  # reached only by the largest accumulator
        out.append(sorted(ts))
    return out


def write_thresholds(path: Path, ts: list[list[int]], acc_w: int) -> Path:
    """T_FILE: one word per channel, threshold j at bits [j*ACC_W +: ACC_W]."""
    return write_mem(path, ts, width=acc_w, signed=True)


CONFIGS = [
    # C, BEATS, ACC_W, A_OUT
    (4, 1, 32, 1),
    (3, 1, 32, 2),
    (2, 1, 32, 4),
    (5, 1, 16, 2),
    # lane-serial: C*BEATS channels per frame
    (1, 16, 32, 1),
    (1, 8, 32, 4),
    (2, 3, 32, 2),
]
# Narrow inputs: C, BEATS, ACC_W, A_OUT, IN_W (after fc_unit's SUM_W)
NARROW_CONFIGS = [
    (8, 1, 32, 1, 9),
    (2, 3, 32, 2, 6),
]


def make_params(c, beats, acc_w, a_out, t_file: Path | None = None, seed: int = 0, in_w: int | None = None) -> dict:
    ts = channel_thresholds(c * beats, a_out, acc_w, seed=seed or c * 31 + beats * 7 + a_out, in_w=in_w)
    name = f"{c}x{beats}_{acc_w}_a{a_out}" + (f"_in{in_w}" if in_w else "")
    good = write_thresholds(mem_dir("threshold") / f"t_{name}.mem", ts, acc_w)
    return {
        "C": c,
        "BEATS": beats,
        "ACC_W": acc_w,
        "A_OUT": a_out,
        **({"IN_W": in_w} if in_w else {}),
        "T_FILE": sv_string(t_file or good),
        "_T": ts,
        "_GOOD": str(good),
    }


@pytest.mark.parametrize("c,beats,acc_w,a_out", CONFIGS)
def test_threshold(c, beats, acc_w, a_out):
    run_cocotb(
        toplevel="threshold",
        sources=rtl_sources("threshold"),
        test_module="test_threshold",
        test_dir=HERE,
        parameters=make_params(c, beats, acc_w, a_out),
    )


@pytest.mark.parametrize("c,beats,acc_w,a_out,in_w", NARROW_CONFIGS)
def test_threshold_narrow(c, beats, acc_w, a_out, in_w):
    run_cocotb(
        toplevel="threshold",
        sources=rtl_sources("threshold"),
        test_module="test_threshold",
        test_dir=HERE,
        parameters=make_params(c, beats, acc_w, a_out, in_w=in_w),
    )


def _run_bad(p):
    run_cocotb(
        toplevel="threshold",
        sources=rtl_sources("threshold"),
        test_module="test_threshold",
        test_dir=HERE,
        testcase="throughput",
        tag="bad",
        parameters=p,
    )


def test_threshold_bad_files(capfd):
    """mem_check's errors (missing, short, too wide) and unsorted channels (the first channel
    whose thresholds decrease is named, with the two values)."""
    bad = mem_dir("threshold") / "bad_t.mem"
    p = make_params(2, 3, 32, 2, t_file=bad)
    good = Path(p["_GOOD"]).read_text().splitlines()
    expect_bad_mem_file_errors("threshold T_FILE", bad, good, lambda: _run_bad(p), capfd)
    ts = [list(t) for t in p["_T"]]
    cases = []
    # channel 4: T[2] < T[1]
    t4 = [list(t) for t in ts]
    t4[4] = [-5, 10, 9]
    cases.append((t4, f"threshold: {bad} channel 4: thresholds not sorted ascending (T[2] = 9 < T[1] = 10)"))
    # channel 0: negative after positive, signed comparison (0x80000000 is the smallest)
    t0 = [list(t) for t in ts]
    t0[0] = [7, -(1 << 31), 8]
    cases.append((t0, f"threshold: {bad} channel 0: thresholds not sorted ascending (T[1] = -2147483648 < T[0] = 7)"))
    try:
        for table, message in cases:
            write_thresholds(bad, table, 32)
            with pytest.raises((SystemExit, RuntimeError, AssertionError)):
                _run_bad(p)
            out = capfd.readouterr()
            assert message in out.out + out.err, f"{message!r} not in:\n{(out.out + out.err)[-3000:]}"
        # equal neighbours are sorted: the same file with T[2] == T[1] runs
        t_eq = [list(t) for t in ts]
        t_eq[4] = [-5, 10, 10]
        write_thresholds(bad, t_eq, 32)
        _run_bad({**p, "_T": t_eq})
    finally:
        bad.unlink(missing_ok=True)
