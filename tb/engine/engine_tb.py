"""Engine testbench pieces shared by the image regression and the protocol tests."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from tb.common.axis import StreamTB, unpack
from tb.engine import func_cov


def wload_mem_file(weights_dir: str | Path) -> Path | None:
    """The .mem file of the layer whose weights an export loads at run time (`+wload`), whose
    words in file order make the weight-load frame; None when every weight is in a file."""
    weights_dir = Path(weights_dir)
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    for name, fold in manifest["folds"].items():
        if fold.get("wload"):
            return weights_dir / f"{name}_w.mem"
    return None


def wload_words(weights_dir: str | Path) -> list[int] | None:
    """The weight-load frame's words (see wload_mem_file)."""
    mem = wload_mem_file(weights_dir)
    return [int(w, 16) for w in mem.read_text().split()] if mem else None


class EngineTB(StreamTB):
    """cnn_engine with an 8-bit pixel source and a 32-bit result sink (TUSER = error).

    Cycles are counted only by the timing monitor (start_monitor), not on every run."""

    def __init__(self, dut, n_classes: int, in_pause="none", out_pause="none", seed: int = 1):
        super().__init__(dut, in_pause, out_pause, seed, count_cycles=False)
        self.n_classes = n_classes
        # Functional coverage labels of the frames sent (tb/engine/func_cov.py): a test that
        # holds the output or resets mid-frame says so; the stall label follows set_pauses.
        self.reset_point = "none"
        weights_dir = os.environ.get("WEIGHTS_DIR")
        self.fold = func_cov.fold_label(weights_dir) if weights_dir else "default"
        shape = json.loads((Path(weights_dir) / "manifest.json").read_text())["in_shape"] if weights_dir else [0]
        self.pixels = int(np.prod(shape))  # a well-formed input frame's length
        self.in_pix = len(dut.s_axis_tkeep)  # pixels per input beat (PIX=)
        self.beats = self.pixels // self.in_pix  # beats of a well-formed frame
        self.frame_starts: list[int] = []  # cycle of each input frame's first accepted beat
        self.result_ends: list[int] = []  # cycle of each result frame's last beat
        self._in_frame = False
        self._monitor_task = None
        self.wload_words = wload_words(weights_dir) if weights_dir else None
        if self.wload_words:
            self.wload = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_wload_axis"), dut.clk, dut.rst, byte_lanes=1)
            self.wload.log.setLevel(logging.WARNING)
        else:
            self.wload = None
            dut.s_wload_axis_tvalid.value = 0

    def set_pauses(self, in_pause: str, out_pause: str, seed: int):
        super().set_pauses(in_pause, out_pause, seed)
        pauses = {in_pause, out_pause}
        self.stall = "burst" if "burst" in pauses else "random" if "random" in pauses else "none"

    def start_monitor(self):
        """Record frame start / result end cycles. A per-cycle Python coroutine costs
        simulation speed, so it runs only where timing is measured."""
        if self._monitor_task is None:
            self._monitor_task = cocotb.start_soon(self._monitor())

    async def _monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            if int(dut.rst.value):
                self._in_frame = False
                continue
            if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
                if not self._in_frame:
                    self.frame_starts.append(self.cycle)
                self._in_frame = not int(dut.s_axis_tlast.value)
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value) and int(dut.m_axis_tlast.value):
                self.result_ends.append(self.cycle)

    async def reset(self, cycles: int = 5, load: bool = True):
        """Reset; a configuration with run-time weights then loads them (reset clears them)
        unless `load` is False."""
        await super().reset(cycles)
        if self.wload_words and load:
            await self.load_weights(self.wload_words)

    async def load_weights(self, words: list[int], expect_valid: bool = True):
        """Send one weight-load frame and wait until the engine has taken all of it."""
        await self.wload.send(AxiStreamFrame(words))
        await self.wload.wait()
        for _ in range(8):
            await RisingEdge(self.dut.clk)
        assert int(self.dut.weights_valid.value) == int(expect_valid), "weights_valid after a weight-load frame"

    async def send_image(self, pixels, kind: str | None = None):
        """One input frame, TLAST on its last beat. A frame without TLAST followed by another
        looks on the wire exactly like one long frame: send their concatenation, with
        kind='missing-tlast' (else the kind follows from the length)."""
        data = bytes(np.asarray(pixels, dtype=np.uint8).ravel())
        func_cov.sample(kind or func_cov.frame_kind(len(data), self.pixels), self.stall, self.reset_point, self.fold)
        await self.source.send(AxiStreamFrame(data))

    async def recv_result(self, timeout_us: float | None = 5000) -> tuple[list[int], int, int]:
        """(logits, class, error flag) of the next result frame; asserts its shape. No timeout
        with timeout_us=None (the caller has one)."""
        recv = self.sink.recv(compact=False)
        frame = await (recv if timeout_us is None else with_timeout(recv, timeout_us, "us"))
        words = [int(x) for x in frame.tdata]
        users = [int(x) for x in frame.tuser] if isinstance(frame.tuser, list) else [int(frame.tuser or 0)]
        assert len(words) == self.n_classes + 1, f"result frame has {len(words)} beats, expected {self.n_classes + 1}"
        assert len(set(users)) == 1, f"TUSER changes inside a result frame: {users}"
        logits = [unpack(w, 1, 32, signed=True)[0] for w in words[: self.n_classes]]
        return logits, words[-1], users[0]
