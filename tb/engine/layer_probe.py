"""Layer-dump mode: find the first layer whose RTL activations differ from the reference.

Probes watch the output stream of every layer inside the generated cnn_layers netlist
(signals <stage>_tdata/_tvalid/_tready, visible through Verilator's public signals) while
one image runs alone, and compare beat by beat with model.reference's layer dump.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from model.arith import lane_code
from model.plan import plan
from model.reference import run_reference
from tb.common.axis import unpack


class StreamProbe:
    def __init__(self, clk, scope, inst: str, lanes: int, width: int, signed: bool):
        self.tdata = getattr(scope, f"{inst}_tdata")
        self.tvalid = getattr(scope, f"{inst}_tvalid")
        self.tready = getattr(scope, f"{inst}_tready")
        self.clk, self.lanes, self.width, self.signed = clk, lanes, width, signed
        self.beats: list[list[int]] = []
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            await RisingEdge(self.clk)
            if int(self.tvalid.value) and int(self.tready.value):
                self.beats.append(unpack(int(self.tdata.value), self.lanes, self.width, self.signed))

    def stop(self):
        self._task.cancel()


async def first_bad_layer(tb, vec, index: int) -> dict:
    """Runs image `index` alone and returns where the RTL first departs from the reference."""
    hw_plan = plan(vec.graph, vec.folds)
    img = vec.images[index]
    _, ref = run_reference(vec.graph, img[None], dump=True)
    probes = []
    for hw in hw_plan.layers:
        last = hw.stages[-1]
        is_logits = last.module in ("conv_unit", "fc_unit")
        c = ref[hw.name].shape[-1]
        width = 32 if is_logits else hw_plan.streams[hw.name].width  # low-bit lanes: 1, 2, 4 bits
        probes.append((hw.name, StreamProbe(tb.dut.clk, tb.dut.u_layers, last.inst, c, width, is_logits)))
        if width < 8:  # the stream carries lane codes (bipolar -1/+1 as 0/1)
            ref[hw.name] = lane_code(ref[hw.name], width)
    await tb.send_image(img)
    await tb.recv_result(timeout_us=20000)
    report = {"image": index}
    for name, probe in probes:
        probe.stop()
        want = ref[name][0].reshape(-1, ref[name].shape[-1])
        got = (
            np.array(probe.beats, dtype=np.int64).reshape(-1, want.shape[-1])
            if probe.beats
            else np.zeros((0, want.shape[-1]))
        )
        if got.shape != want.shape or not np.array_equal(got, want):
            report["layer"] = name
            if got.shape != want.shape:
                report["detail"] = f"{len(got)} beats from the RTL, {len(want)} expected"
            else:
                pos, ch = np.argwhere(got != want)[0]
                h, w = ref[name].shape[1:3]
                report["detail"] = (
                    f"pixel (y={pos // w}, x={pos % w}) channel {ch}: RTL {got[pos, ch]}, reference {want[pos, ch]}"
                )
            return report
    report["layer"] = None
    report["detail"] = "every layer matches when the image runs alone: look at stalls/frame overlap"
    return report
