"""act_lut: y = lut[x + 128] on every lane, for a random table and a sigmoid table; random
stalls; one beat per cycle, latency 1."""

import math
import random
from pathlib import Path

import cocotb
import pytest

from tb.common.axis import HandshakeChecker, StreamTB, pack, params, unpack
from tb.common.memfiles import write_memh
from tb.common.sim import mem_dir, rtl_sources, run_cocotb, sv_string

HERE = Path(__file__).parent
LATENCY = 1
PAUSE_PAIRS = [("none", "none"), ("random", "random"), ("burst", "none"), ("none", "burst")]


def tables() -> dict[str, list[int]]:
    rng = random.Random(77)
    return {
        "random": [rng.randrange(256) for _ in range(256)],
        # sigmoid of int8 x at scale 1/16, as uint8 at scale 1/255
        "sigmoid": [min(255, round(255 / (1 + math.exp(-x / 16)))) for x in range(-128, 128)],
    }


def beats(c: int, n: int, rng: random.Random) -> list[list[int]]:
    """Every int8 value appears on every lane (a sweep), then random lanes."""
    sweep = [[((x + 37 * lane) % 256) - 128 for lane in range(c)] for x in range(256)]
    return (sweep + [[rng.randint(-128, 127) for _ in range(c)] for _ in range(n)])[: max(n, 256)]


@cocotb.test()
@cocotb.parametrize(pauses=PAUSE_PAIRS)
async def matches_table(dut, pauses):
    p = params()
    lut = p["_LUT"]
    tb = StreamTB(dut, *pauses, seed=5)
    hs = HandshakeChecker(dut.clk, dut.m_axis_tvalid, dut.m_axis_tready, dut.m_axis_tdata, dut.m_axis_tlast, "m_axis")
    await tb.reset()
    rng = random.Random(PAUSE_PAIRS.index(pauses))
    all_beats = beats(p["C"], 300, rng)
    frames, i = [], 0
    while i < len(all_beats):
        k = rng.randint(1, 40)
        frames.append(all_beats[i : i + k])
        i += k
    for f in frames:
        await tb.send_beats([pack(b, 8) for b in f])
    for f in frames:
        got = await tb.recv_beats()
        assert [unpack(w, p["C"], 8, signed=False) for w in got] == [[lut[x + 128] for x in b] for b in f]
    assert tb.sink.empty()
    assert hs.beats == len(all_beats)


@cocotb.test()
async def throughput(dut):
    p = params()
    tb = StreamTB(dut)
    await tb.reset()
    bs = beats(p["C"], 300, random.Random(1))
    await tb.send_beats([pack(b, 8) for b in bs])
    start = tb.cycle
    got = await tb.recv_beats()
    cycles = tb.cycle - start
    assert [unpack(w, p["C"], 8, signed=False) for w in got] == [[p["_LUT"][x + 128] for x in b] for b in bs]
    # Header: 1 beat per cycle, latency 1 (+1 for the source's own register).
    assert cycles <= len(bs) + LATENCY + 2, f"{len(bs)} beats took {cycles} cycles"


@pytest.mark.parametrize("c,table", [(1, "random"), (4, "random"), (16, "random"), (4, "sigmoid"), (3, "sigmoid")])
def test_act_lut(c, table):
    lut = tables()[table]
    path = write_memh(mem_dir("act_lut") / f"{table}_{c}.mem", lut, 8)
    run_cocotb(
        toplevel="act_lut",
        sources=rtl_sources("act_lut", "rom"),
        test_module="test_act_lut",
        test_dir=HERE,
        parameters={"C": c, "LUT_FILE": sv_string(path), "_LUT": lut},
    )
