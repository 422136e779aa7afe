"""cocotb side of the bulk image regression (tb/engine/engine_bulk.sv does the per-cycle work).

cocotb owns the test: it writes each batch of images to a file, sets the batch ports, waits
for `done` (one wake-up per batch, none per clock), reads back every result beat and the cycle
it left, compares every logit bit-exactly in Python and writes the report. The environment
carries WEIGHTS_DIR, VECTORS (exactly the images to stream), SEED, RESULTS, II_FRAMES, BULK_IN, BULK_OUT, WATCHDOG,
IN_GAP and OUT_STALL (probabilities in 1/256, set by tb/engine/sim.py).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge, Timer

from tb.engine import func_cov
from tb.engine.scoring import score
from tb.engine.vectors import load_vectors

STATUS = {0: "finished", 1: "stuck: no handshake for WATCHDOG cycles", 2: "too many result beats"}


class BatchError(AssertionError):
    """A batch that did not finish cleanly: says where it stopped."""


@dataclass
class Batch:
    logits: np.ndarray  # (frames, n_classes) int64
    classes: np.ndarray
    errors: np.ndarray  # TUSER[0] per result frame
    starts: np.ndarray  # cycle of each input frame's first beat
    ends: np.ndarray  # cycle of each result frame's TLAST beat
    cycles: int


def _read_hex(path: Path) -> np.ndarray:
    if not path.exists():
        return np.zeros(0, dtype=np.int64)
    words = [w for w in path.read_text().split() if not w.startswith("//")]
    return np.array([int(w, 16) for w in words], dtype=np.int64)


def parse_beats(beats: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Result frames from captured {tuser, tlast, tdata} beats: (logits, classes, tuser).
    Raises BatchError on a frame of the wrong length or a TUSER that changes inside a frame."""
    per = n_classes + 1
    last = (beats >> 32) & 1
    ends = np.flatnonzero(last)
    lengths = np.diff(np.concatenate([[-1], ends]))
    if len(ends) and (lengths != per).any():
        k = int(np.flatnonzero(lengths != per)[0])
        raise BatchError(f"result frame {k} has {lengths[k]} beats, expected {per}")
    frames = beats[: len(ends) * per].reshape(-1, per)
    data = (frames & 0xFFFFFFFF).astype(np.int64)
    user = (frames >> 33) & 1
    if (user != user[:, :1]).any():
        raise BatchError(f"TUSER changes inside result frame {int(np.flatnonzero((user != user[:, :1]).any(1))[0])}")
    logits = np.where(data[:, :n_classes] >= 1 << 31, data[:, :n_classes] - (1 << 32), data[:, :n_classes])
    return logits, data[:, n_classes], user[:, 0]


async def run_batch(dut, images: np.ndarray, n_classes: int, *, in_gap: int, out_stall: int, seed: int) -> Batch:
    """One batch through the harness. Raises BatchError (index of the last frame seen and the
    cycle) when the engine stops, loses or adds frames."""
    n = len(images)
    Path(os.environ["BULK_IN"]).write_bytes(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    out = os.environ["BULK_OUT"]
    for suffix in (".beats", ".ends", ".starts"):
        Path(out + suffix).unlink(missing_ok=True)
    dut.n_frames.value = n
    dut.in_gap.value = in_gap
    dut.out_stall.value = out_stall
    dut.seed.value = seed & 0xFFFFFFFF
    dut.watchdog.value = int(os.environ.get("WATCHDOG", "200000"))
    dut.drain.value = int(os.environ.get("DRAIN", "2000"))
    # Functional coverage: the harness sends well-formed frames only, no reset inside a batch.
    stall = "random" if in_gap or out_stall else "none"
    func_cov.sample("well-formed", stall, "none", func_cov.fold_label(os.environ["WEIGHTS_DIR"]), count=n)
    errors_before = int(dut.errors_seen.value)
    dut.start.value = 1
    await RisingEdge(dut.done)
    dut.start.value = 0
    status, frames, cycle = int(dut.status.value), int(dut.frames_done.value), int(dut.cycle.value)
    await Timer(20, unit="ns")  # the harness returns to idle
    logits, classes, errors = parse_beats(_read_hex(Path(out + ".beats")), n_classes)
    batch = Batch(logits, classes, errors, _read_hex(Path(out + ".starts")), _read_hex(Path(out + ".ends")), cycle)
    if status != 0 or frames != n:
        where = f"last result frame seen: {frames - 1}" if frames else "no result frame"
        raise BatchError(
            f"batch of {n} frames {STATUS.get(status, status)}: {frames} of {n} result frames, {where}, "
            f"input frames started {len(batch.starts)}, at cycle {cycle}"
        )
    # The engine's status counter must agree with the TUSER flags its result frames carried.
    counted, flagged = int(dut.errors_seen.value) - errors_before, int(errors.sum())
    if counted != flagged:
        raise BatchError(f"error_frames counted {counted} malformed frames in a batch whose results flag {flagged}")
    return batch


@cocotb.test()
async def bulk_images(dut):
    """The VECTORS images in batches with random stalls on both sides, every logit compared with the
    integer reference; then II_FRAMES images with no stalls for the II and the latency."""
    weights = Path(os.environ["WEIGHTS_DIR"])
    vec = load_vectors(weights)
    n = len(vec.images)  # the vectors file holds exactly the images to stream
    seed = int(os.environ.get("SEED", "1"))
    in_gap, out_stall = int(os.environ.get("IN_GAP", "64")), int(os.environ.get("OUT_STALL", "64"))
    max_frames = json.loads(os.environ["PARAMS"])["MAX_FRAMES"]
    results = Path(os.environ["RESULTS"])

    t0, cpu0 = time.perf_counter(), time.process_time()
    parts: list[Batch] = []
    error = None
    try:
        for k, first in enumerate(range(0, n, max_frames)):
            imgs = vec.images[first : first + max_frames]
            parts.append(await run_batch(dut, imgs, vec.n_classes, in_gap=in_gap, out_stall=out_stall, seed=seed + k))
    except BatchError as err:
        error = str(err)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    logits = np.concatenate([p.logits for p in parts]) if parts else np.zeros((0, vec.n_classes))
    classes = np.concatenate([p.classes for p in parts]) if parts else np.zeros(0)
    errors = np.concatenate([p.errors for p in parts]) if parts else np.zeros(0)

    ii = latency = 0
    ii_exact = None
    if error is None:
        k = min(int(os.environ.get("II_FRAMES", "12")), n)
        timing = await run_batch(dut, vec.images[:k], vec.n_classes, in_gap=0, out_stall=0, seed=seed)
        ends = timing.ends
        # II at the output, once the pipeline is full (a folded engine takes its first images in
        # faster than it finishes them); latency of the first image through an empty engine.
        ii = (ends[-1] - ends[1]) / (k - 2) if k > 2 else float("nan")
        latency = int(ends[0] - timing.starts[0])
        ii_exact = bool(np.array_equal(timing.logits, vec.logits[:k]))

    summary = score(vec, n, logits, classes, errors, ii=ii, latency=latency, wall=wall, cpu=cpu, received=len(classes))
    summary.update({"weights": str(weights), "path": "bulk", "in_gap": in_gap / 256, "out_stall": out_stall / 256})
    if ii_exact is not None:
        summary["ii_run_bit_exact"] = ii_exact
    if error:
        summary["batch_error"] = error
    np.savez(
        results.parent / "rtl_outputs.npz",
        logits=logits.astype(np.int64),
        classes=classes.astype(np.int64),
        labels=vec.labels[: len(classes)].astype(np.int64),
    )
    results.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    assert error is None, error
