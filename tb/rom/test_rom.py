"""rom: contents read back exactly (1-cycle latency, one read per port per cycle, hold when
en = 0); a missing, short, non-hex or too-wide init file stops the simulation naming the file."""

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from tb.common.axis import params
from tb.common.memfiles import write_memh
from tb.common.sim import mem_dir, rtl_sources, run_cocotb, sv_string

HERE = Path(__file__).parent


def read_memh(path: str) -> list[int]:
    return [int(t, 16) for t in Path(path).read_text().split()]


@cocotb.test()
async def reads_back_exactly(dut):
    p = params()
    depth, width, ports = p["DEPTH"], p["WIDTH"], p["PORTS"]
    aw = max(1, (depth - 1).bit_length())
    mem = read_memh(p["_FILE"])
    assert len(mem) == depth
    # The documented port layout (addr[p*AW +: AW]) is what an instantiating module wires up.
    assert len(dut.addr) == ports * aw and len(dut.rd_data) == ports * width
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rng = random.Random(5)
    dut.en.value = 0
    dut.addr.value = 0
    await RisingEdge(dut.clk)
    expected = None  # per port, the word the last enabled edge read
    # Every address at least once on port 0, then random traffic with random enables.
    seq = [[a] + [rng.randrange(depth) for _ in range(ports - 1)] for a in range(depth)]
    seq += [[rng.randrange(depth) for _ in range(ports)] for _ in range(300)]
    for i, addrs in enumerate(seq):
        en = 1 if i < depth else rng.random() < 0.7
        await FallingEdge(dut.clk)
        if expected is not None:
            got = int(dut.rd_data.value)
            words = [(got >> (q * width)) & ((1 << width) - 1) for q in range(ports)]
            assert words == expected, f"step {i}: read {words}, expected {expected}"
        dut.en.value = int(en)
        word = 0
        for q, a in enumerate(addrs):
            word |= a << (q * aw)
        dut.addr.value = word
        if en:
            expected = [mem[a] for a in addrs]
    await FallingEdge(dut.clk)
    got = int(dut.rd_data.value)
    assert [(got >> (q * width)) & ((1 << width) - 1) for q in range(ports)] == expected


@cocotb.test()
async def idles(dut):
    """Used by the bad-file runs: passes if the simulation gets this far."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.en.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)


@pytest.mark.parametrize(
    "depth,width,ports",
    [(1, 1, 1), (16, 8, 1), (100, 200, 1), (256, 8, 4), (37, 64, 2), (8, 65, 1), (5, 3, 3)],
)
def test_rom(depth, width, ports):
    rng = random.Random(depth * 1000 + width)
    words = [rng.getrandbits(width) for _ in range(depth)]
    words[0] = (1 << width) - 1  # all ones: every digit used, top digit narrowed
    path = write_memh(mem_dir("rom") / f"good_{depth}_{width}_{ports}.mem", words, width)
    run_cocotb(
        toplevel="rom",
        sources=rtl_sources("rom"),
        test_module="test_rom",
        test_dir=HERE,
        testcase="reads_back_exactly",
        parameters={"DEPTH": depth, "WIDTH": width, "PORTS": ports, "INIT_FILE": sv_string(path), "_FILE": str(path)},
    )


BAD_FILES = {
    # name: (file text or None for missing, message the simulation must print)
    "missing": (None, "rom: cannot open init file {path}"),
    "short": ("0a\n1b\n2c\n", "rom: {path} holds 3 words, expected 4"),
    "long": ("0a\n1b\n2c\n3d\n4e\n", "rom: {path} holds 5 words, expected 4"),
    "empty": ("", "rom: {path} holds 0 words, expected 4"),
    "not_hex": ("0a\n1b\n@2\n3d\n", "rom: {path} word 2 '@2' is not a hex number"),
    "too_wide": ("0a\n1b\n1ff\n3d\n", "rom: {path} word 2 '1ff' is wider than 8 bits"),
}


def test_rom_bad_files(capfd):
    """One build with a fixed file path; the file is rewritten (or removed) between runs."""
    path = mem_dir("rom") / "bad.mem"
    for name, (text, message) in BAD_FILES.items():
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text)
        with pytest.raises((SystemExit, RuntimeError)):  # the simulator exits non-zero
            run_cocotb(
                toplevel="rom",
                sources=rtl_sources("rom"),
                test_module="test_rom",
                test_dir=HERE,
                testcase="idles",
                tag="bad",
                parameters={"DEPTH": 4, "WIDTH": 8, "PORTS": 1, "INIT_FILE": sv_string(path)},
            )
        out = capfd.readouterr()
        log = out.out + out.err
        assert message.format(path=path) in log, f"{name}: message not found in:\n{log[-3000:]}"
    # Leading zeros are fine; and the same build passes with a good file.
    path.write_text("000a\n1b\n2c\nff\n")
    run_cocotb(
        toplevel="rom",
        sources=rtl_sources("rom"),
        test_module="test_rom",
        test_dir=HERE,
        testcase="idles",
        tag="bad",
        parameters={"DEPTH": 4, "WIDTH": 8, "PORTS": 1, "INIT_FILE": sv_string(path)},
    )
