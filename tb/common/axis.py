"""Shared cocotb helpers: clock/reset, AXI-Stream source/sink with random pauses, lane packing."""

from __future__ import annotations

import itertools
import json
import logging
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from tb.common.memfiles import pack_word, unpack_word


def params() -> dict:
    """The parameter set the testbench was built with (see tb/common/sim.py)."""
    return json.loads(os.environ.get("PARAMS", "{}"))


# --- pause generators (cocotbext-axi style): each yields True for a stalled cycle -----------


def no_pause():
    return itertools.repeat(False)


def random_pause(prob: float, seed: int):
    rng = random.Random(seed)
    while True:
        yield rng.random() < prob


def burst_pause(seed: int, max_run: int = 20):
    """Long runs of stall/no-stall: exercises full FIFOs and long gaps."""
    rng = random.Random(seed)
    while True:
        stall = rng.random() < 0.5
        for _ in range(rng.randint(1, max_run)):
            yield stall


def valid_first_pause(tvalid, seed: int, prob: float = 0.3):
    """A sink whose TREADY waits for TVALID (legal AXI-Stream, and common: a downstream that
    readies itself only once it sees a beat): stalled while `tvalid` is low, then random stalls
    with probability `prob`. A source that waits for TREADY before raising TVALID deadlocks
    against it; sinks that hold TREADY high regardless never show that."""
    rng = random.Random(seed)
    while True:
        yield not int(tvalid.value) or rng.random() < prob


PAUSES = {
    "none": lambda seed: no_pause(),
    "random": lambda seed: random_pause(0.3, seed),
    "burst": lambda seed: burst_pause(seed),
}
# Sink modes that watch the stream they receive: (dut, seed) -> pause generator on m_axis.
SINK_PAUSES = {
    "valid_first": lambda dut, seed: valid_first_pause(dut.m_axis_tvalid, seed),
}


# --- lane packing: one definition, shared with the memory files ---------------------------

pack = pack_word  # pack(values, width): lane 0 in the least significant bits
unpack = unpack_word  # unpack(word, lanes, width, signed)


class StreamTB:
    """Clock, reset, an AXI-Stream source on `s_axis_*` and a sink on `m_axis_*`.

    The DUT must have clk, rst (active high, synchronous) and AXI-Stream ports named
    s_axis_tdata/tvalid/tready[/tlast] and m_axis_tdata/tvalid/tready[/tlast].
    """

    def __init__(
        self,
        dut,
        in_pause: str = "none",
        out_pause: str = "none",
        seed: int = 1,
        period_ns: int = 10,
        count_cycles: bool = True,
        s_lanes: int | None = 1,
        m_lanes: int | None = 1,
    ):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        cocotb.start_soon(Clock(dut.clk, period_ns, unit="ns").start())

        # One lane spanning the whole tdata by default: beats are plain integers (see
        # pack/unpack). s_lanes / m_lanes split tdata into that many lanes instead; None for a
        # port with tkeep (cocotbext-axi then takes one lane per tkeep bit, and refuses
        # byte_lanes: a DUT with s_axis_tkeep gets its lanes by default).
        def lanes(n):
            return {} if n is None else {"byte_lanes": n}

        s_bus = AxiStreamBus.from_prefix(dut, "s_axis")
        if s_lanes == 1 and hasattr(s_bus, "tkeep"):
            s_lanes = None
        self.source = AxiStreamSource(s_bus, dut.clk, dut.rst, **lanes(s_lanes))
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, **lanes(m_lanes))
        for obj in (self.source, self.sink):
            obj.log.setLevel(logging.WARNING)  # cocotbext-axi logs every frame at INFO
        self.set_pauses(in_pause, out_pause, seed)
        self.cycle = 0
        # A per-cycle Python coroutine costs simulation speed: long runs may leave it out.
        if count_cycles:
            cocotb.start_soon(self._count_cycles())

    def set_pauses(self, in_pause: str, out_pause: str, seed: int):
        self.source.set_pause_generator(PAUSES[in_pause](seed))
        if out_pause in SINK_PAUSES:
            self.sink.set_pause_generator(SINK_PAUSES[out_pause](self.dut, seed + 1))
        else:
            self.sink.set_pause_generator(PAUSES[out_pause](seed + 1))

    async def _count_cycles(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    async def release_reset(self, cycles: int = 4):
        """rst high for `cycles` clock edges, then low: the registers hold their reset values
        until the next edge (what the first cycle out of reset sees)."""
        self.dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def reset(self, cycles: int = 4):
        await self.release_reset(cycles)
        await RisingEdge(self.dut.clk)

    async def send_beats(self, words: list[int]):
        """One frame; tlast on the last beat."""
        await self.source.send(AxiStreamFrame(words))

    async def recv_beats(self, timeout_us: float = 2000) -> list[int]:
        frame = await with_timeout(self.sink.recv(compact=True), timeout_us, "us")
        return [int(x) for x in frame.tdata]


class HandshakeChecker:
    """Asserts the AXI-Stream rule on a stream: once tvalid is high without tready,
    tvalid stays high and tdata/tlast stay stable until the beat moves."""

    def __init__(self, clk, tvalid, tready, tdata, tlast=None, name: str = "stream"):
        self.clk, self.tvalid, self.tready, self.tdata, self.tlast = clk, tvalid, tready, tdata, tlast
        self.name = name
        self.beats = 0
        cocotb.start_soon(self._run())

    async def _run(self):
        pending = None
        while True:
            await RisingEdge(self.clk)
            valid = int(self.tvalid.value)
            if pending is not None:
                assert valid, f"{self.name}: tvalid dropped before the beat was taken"
                now = (int(self.tdata.value), int(self.tlast.value) if self.tlast is not None else 0)
                assert now == pending, f"{self.name}: data changed while valid and not ready"
            if valid and int(self.tready.value):
                self.beats += 1
                pending = None
            elif valid:
                pending = (int(self.tdata.value), int(self.tlast.value) if self.tlast is not None else 0)
            else:
                pending = None


class HandshakeLog:
    """Cycle numbers (own clock count) of every s_axis and m_axis handshake, and m_axis tlasts."""

    def __init__(self, dut):
        self.dut = dut
        self.cycle = 0
        self.s_cycles: list[int] = []
        self.m_cycles: list[int] = []
        self.m_lasts = 0
        cocotb.start_soon(self._run())

    async def _run(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            self.cycle += 1
            if int(d.rst.value):
                continue
            if int(d.s_axis_tvalid.value) and int(d.s_axis_tready.value):
                self.s_cycles.append(self.cycle)
            if int(d.m_axis_tvalid.value) and int(d.m_axis_tready.value):
                self.m_cycles.append(self.cycle)
                self.m_lasts += int(d.m_axis_tlast.value)


async def record_handshakes(tb: StreamTB, valid, ready, cycles: list[int]):
    """Append tb.cycle at every handshake of (valid, ready), forever (start it with start_soon)."""
    while True:
        await RisingEdge(tb.dut.clk)
        if int(valid.value) and int(ready.value):
            cycles.append(tb.cycle)
