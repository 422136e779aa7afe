"""frame_sanitizer: every input frame becomes exactly N_BEATS beats plus one flag, in order.

TKEEP (LANES byte lanes per beat): a null lane in one of a frame's first N_BEATS beats flags the
frame and leaves as zero; null lanes of dropped surplus beats change nothing. The tests written
for one lane of whole-beat words run with LANES = 1 only (their beats are plain integers)."""

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamFrame

from tb.common.axis import HandshakeChecker, StreamTB, params
from tb.common.sim import rtl_sources, run_cocotb

PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "burst")]
ONE_LANE = params().get("LANES", 1) == 1


def expected(frame: list[int], n: int) -> tuple[list[int], int]:
    body = frame[:n] + [0] * max(0, n - len(frame))
    return body, int(len(frame) != n)


class FlagMonitor:
    """Takes flags with a random tready and records them."""

    def __init__(self, dut, seed):
        self.dut, self.flags, self.rng = dut, [], random.Random(seed)
        cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            self.dut.m_flag_tready.value = int(self.rng.random() < 0.7)
            await RisingEdge(self.dut.clk)
            if int(self.dut.m_flag_tvalid.value) and int(self.dut.m_flag_tready.value):
                self.flags.append(int(self.dut.m_flag_tdata.value))


@cocotb.test(skip=not ONE_LANE)
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def malformed_frames(dut, pauses):
    n = params()["N_BEATS"]
    tb = StreamTB(dut, *pauses, seed=11)
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast)
    flags = FlagMonitor(dut, 5)
    await tb.reset()
    rng = random.Random(2)
    # exact, short by one, one beat, long by one, double length (a frame with no TLAST
    # followed by a good one arrives as one long frame), then random lengths.
    lengths = [n, max(1, n - 1), 1, n + 1, 2 * n, n] + [rng.choice([n, n, rng.randint(1, 2 * n)]) for _ in range(20)]
    frames = [[rng.randrange(1, 256) for _ in range(length)] for length in lengths]
    for f in frames:
        await tb.send_beats(f)
    for i, f in enumerate(frames):
        body, _ = expected(f, n)
        got = await tb.recv_beats()
        assert got == body, f"frame {i} (length {len(f)}): wrong beats"
    for _ in range(20):
        await RisingEdge(dut.clk)
    assert flags.flags == [expected(f, n)[1] for f in frames]
    assert tb.sink.empty()


@cocotb.test(skip=not ONE_LANE)
async def reset_mid_frame(dut):
    n = params()["N_BEATS"]
    tb = StreamTB(dut)
    flags = FlagMonitor(dut, 3)
    await tb.reset()
    await tb.send_beats(list(range(1, n + 1)))
    for _ in range(n // 2):
        await RisingEdge(dut.clk)
    await tb.reset()  # the source drops its frame; the sanitizer must forget the half frame
    while not tb.sink.empty():
        await tb.sink.recv()
    flags.flags.clear()
    good = [(i % 255) + 1 for i in range(n)]
    await tb.send_beats(good)
    assert await tb.recv_beats() == good
    for _ in range(5):
        await RisingEdge(dut.clk)
    assert flags.flags == [0]


@cocotb.test(skip=not ONE_LANE)
async def one_beat_per_cycle(dut):
    """Header: latency 1 cycle, one beat per cycle, frames back to back."""
    n = params()["N_BEATS"]
    tb = StreamTB(dut)
    dut.m_flag_tready.value = 1
    await tb.reset()
    frames = 4
    for _ in range(frames):
        await tb.send_beats([7] * n)
    await tb.recv_beats()
    start = tb.cycle
    for _ in range(frames - 1):
        await tb.recv_beats()
    assert tb.cycle - start == (frames - 1) * n, f"{(frames - 1) * n} beats took {tb.cycle - start} cycles"


# --- TKEEP: null byte lanes -----------------------------------------------------------------
# A beat is a list of LANES (value, keep) pairs; a frame a list of beats.


def lane_geometry() -> tuple[int, int, int]:
    p = params()
    lanes = p.get("LANES", 1)
    return p["N_BEATS"], lanes, p["DATA_W"] // lanes


def keep_expected(frame: list[list[tuple[int, int]]], n: int, lane_w: int) -> tuple[list[int], int]:
    """Output words (null lanes zero, short frames padded) and the flag."""
    body = []
    for beat in frame[:n]:
        body.append(sum((v if k else 0) << (i * lane_w) for i, (v, k) in enumerate(beat)))
    body += [0] * (n - len(body))
    null = any(not k for beat in frame[:n] for _, k in beat)
    return body, int(len(frame) != n or null)


def random_beat(rng: random.Random, lanes: int, lane_w: int, keep: int | None = None) -> list[tuple[int, int]]:
    """Nonzero values everywhere (null lanes too: they must come out as zero); keep: a TKEEP
    mask, all ones when None."""
    keep = (1 << lanes) - 1 if keep is None else keep
    return [(rng.randrange(1, 1 << lane_w), (keep >> i) & 1) for i in range(lanes)]


async def send_keep_frame(tb: StreamTB, frame: list[list[tuple[int, int]]]):
    await tb.source.send(AxiStreamFrame(tdata=[v for b in frame for v, _ in b], tkeep=[k for b in frame for _, k in b]))


def null_byte_frames(n: int, lanes: int, lane_w: int, rng: random.Random) -> list[list[list[tuple[int, int]]]]:
    full = (1 << lanes) - 1
    last_partial = full >> 1 if lanes > 1 else 0  # 0x7f for 8 lanes: a frame one pixel short

    def frame(length: int, nulls: dict[int, int] | None = None):
        nulls = nulls or {}
        return [random_beat(rng, lanes, lane_w, nulls.get(i)) for i in range(length)]

    frames = [
        frame(n),  # good
        frame(n, {n - 1: last_partial}),  # right length, last beat partial (783 of 784 pixels)
        frame(n),  # good again: the null flag does not leak into the next frame
        frame(n, {n // 2: rng.randrange(1, full) if lanes > 1 else 0}),  # a middle beat partial
        frame(n, {0: 0}),  # one beat all null
        frame(n, dict.fromkeys(range(n), 0)),  # every beat all null
        frame(max(1, n - 1), {max(1, n - 1) - 1: last_partial}),  # short, partial last beat
        frame(n + 2, {n: 0, n + 1: last_partial}),  # long, nulls only in the dropped surplus
        frame(n),
        frame(n + 1, {n - 1: last_partial, n: 0}),  # long, a null in the kept part
        frame(2 * n, {0: 0}),  # long: null in beat 0
        frame(n),
    ]
    for _ in range(10):
        length = rng.choice([n, n, n, rng.randint(1, 2 * n)])
        nulls = {rng.randrange(length): rng.randrange(full + 1) for _ in range(rng.randint(0, 2))}
        frames.append(frame(length, nulls))
    return frames


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def null_bytes(dut, pauses):
    """Partial and all-null TKEEP on the last, a middle and the first beat, with right, short
    and long frames, random stalls: null lanes leave as zeros, flag 1 exactly for the frames
    with a null lane in their first N_BEATS beats or the wrong length."""
    n, lanes, lane_w = lane_geometry()
    tb = StreamTB(dut, *pauses, seed=23)
    HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast)
    flags = FlagMonitor(dut, 8)
    await tb.reset()
    rng = random.Random(4)
    frames = null_byte_frames(n, lanes, lane_w, rng)
    for f in frames:
        await send_keep_frame(tb, f)
    for i, f in enumerate(frames):
        body, _ = keep_expected(f, n, lane_w)
        got = await tb.recv_beats()
        assert got == body, f"frame {i} (length {len(f)}): wrong beats"
    for _ in range(20):
        await RisingEdge(dut.clk)
    exp = [keep_expected(f, n, lane_w)[1] for f in frames]
    assert flags.flags == exp
    assert exp[:3] == [0, 1, 0] and sum(exp) < len(exp)  # the stimulus reached the cases above
    assert tb.sink.empty()


@cocotb.test(skip=ONE_LANE)
async def one_pixel_short(dut):
    """A frame one lane short of N_BEATS*LANES (784-pixel frames sent 8 per beat: 783 pixels,
    TLAST on beat 98 with TKEEP 0x7f, as cocotbext-axi sends it): one flagged frame, its last
    lane zero; the next, complete frame passes unflagged."""
    n, lanes, lane_w = lane_geometry()
    tb = StreamTB(dut, "random", "random", seed=31)
    flags = FlagMonitor(dut, 9)
    await tb.reset()
    rng = random.Random(6)
    short = [rng.randrange(1, 1 << lane_w) for _ in range(n * lanes - 1)]
    good = [rng.randrange(1, 1 << lane_w) for _ in range(n * lanes)]
    await tb.source.send(AxiStreamFrame(short))  # cocotbext-axi: TKEEP of the missing lane 0
    await tb.source.send(AxiStreamFrame(good))
    for frame in (short + [0], good):
        exp = [sum(v << (i * lane_w) for i, v in enumerate(frame[b * lanes : (b + 1) * lanes])) for b in range(n)]
        assert await tb.recv_beats() == exp
    for _ in range(10):
        await RisingEdge(dut.clk)
    assert flags.flags == [1, 0]


@pytest.mark.parametrize("n_beats", [1, 16, 784])
def test_frame_sanitizer(n_beats):
    run_cocotb(
        toplevel="frame_sanitizer",
        sources=rtl_sources("frame_sanitizer"),
        test_module="test_frame_sanitizer",
        test_dir=Path(__file__).parent,
        parameters={"N_BEATS": n_beats, "DATA_W": 8},
    )


# (N_BEATS, DATA_W, LANES): 98 beats of 8 pixels (784-pixel frames), a small one, 4-bit lanes
LANE_CONFIGS = [(98, 64, 8), (5, 64, 8), (6, 16, 4)]


@pytest.mark.parametrize("n_beats,data_w,lanes", LANE_CONFIGS)
def test_frame_sanitizer_lanes(n_beats, data_w, lanes):
    run_cocotb(
        toplevel="frame_sanitizer",
        sources=rtl_sources("frame_sanitizer"),
        test_module="test_frame_sanitizer",
        test_dir=Path(__file__).parent,
        parameters={"N_BEATS": n_beats, "DATA_W": data_w, "LANES": lanes},
    )
