"""cocotb tests of cnn_engine: the image regression (make sim) and the protocol tests.

Run through tb/engine/sim.py (make sim) or tb/engine/test_engine_run.py (make test); the
environment carries WEIGHTS_DIR, VECTORS (the images to stream), SEED and RESULTS (the JSON
written here).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge, with_timeout
from cocotb_bus.monitors import Monitor
from cocotb_bus.scoreboard import Scoreboard
from cocotbext.axi import AxiStreamFrame

from tb.engine import func_cov
from tb.engine.engine_tb import EngineTB
from tb.engine.layer_probe import first_bad_layer
from tb.engine.scoring import failures, score
from tb.engine.vectors import load_vectors

II_FRAMES = 12  # frames streamed with no stalls to measure the initiation interval


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@cocotb.test()
async def stream_images(dut):
    """Stream the VECTORS images back to back with random stalls on both sides; every
    logit bit-exact with the integer reference, every class equal to the PyTorch quantized
    model. Then measure II and latency with no stalls."""
    weights = Path(os.environ["WEIGHTS_DIR"])
    vec = load_vectors(weights)
    n = len(vec.images)
    seed = env_int("SEED", 1)
    tb = EngineTB(dut, vec.n_classes, "random", "random", seed=seed)
    await tb.reset()

    t0, cpu0 = time.perf_counter(), time.process_time()
    for img in vec.images[:n]:
        await tb.send_image(img)
    results = []
    progress = _progress(n, f"{vec.net}: images through the RTL")
    for _ in range(n):
        results.append(await tb.recv_result(timeout_us=20000))
        progress.update(1)
    progress.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0

    logits = np.array([r[0] for r in results], dtype=np.int64)
    classes = np.array([r[1] for r in results], dtype=np.int64)
    errors = np.array([r[2] for r in results], dtype=np.int64)

    # Initiation interval and latency with the output never stalled.
    tb.set_pauses("none", "none", seed)
    tb.start_monitor()
    k = min(env_int("II_FRAMES", II_FRAMES), n)
    start = len(tb.frame_starts)
    end0 = len(tb.result_ends)
    for img in vec.images[:k]:
        await tb.send_image(img)
    ii_results = [await tb.recv_result() for _ in range(k)]
    starts = tb.frame_starts[start : start + k]
    ends = tb.result_ends[end0 : end0 + k]
    # II: cycles between consecutive results once the pipeline is full. Measured at the output:
    # a folded engine takes its first images in faster than it can finish them (its FIFOs and
    # line buffers fill), so input intervals over a few frames would flatter it.
    ii = (ends[-1] - ends[1]) / (k - 2) if k > 2 else float("nan")
    latency = ends[0] - starts[0]
    ii_exact = [r[0] for r in ii_results] == vec.logits[:k].tolist()
    for _ in range(2):  # the status counters update on the edge that takes the last beat
        await RisingEdge(dut.clk)

    summary = score(vec, n, logits, classes, errors, ii=ii, latency=latency, wall=wall, cpu=cpu, received=len(results))
    summary.update(
        {
            "weights": str(weights),
            "path": "axi",
            "frames_in": int(dut.frames_in.value),  # both runs: the stream and the II run
            "frames_out": int(dut.frames_out.value),
        }
    )
    if summary["mismatched_images"]:
        # Re-run the first failing image alone with probes on every layer's output stream.
        await tb.reset()
        summary["first_mismatch"] = await first_bad_layer(tb, vec, summary["mismatched_images"][0])
    Path(os.environ["RESULTS"]).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    summary["ii_run_bit_exact"] = ii_exact
    problems = failures(summary)
    assert not problems, "; ".join(problems)


@cocotb.test()
async def probe_image(dut):
    """Layer-dump mode for the bulk path: image PROBE_IMAGE alone, a probe on every layer's
    output stream; writes where the RTL first departs from the reference to PROBE_RESULTS."""
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes)
    await tb.reset()
    report = await first_bad_layer(tb, vec, env_int("PROBE_IMAGE", 0))
    Path(os.environ["PROBE_RESULTS"]).write_text(json.dumps(report, indent=2) + "\n")


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, mininterval=1.0)


# --- protocol tests ------------------------------------------------------------------------


class ResultMonitor(Monitor):
    """cocotb-bus monitor of the engine's result stream, read through the cocotbext-axi sink:
    one transaction per result frame, (logits, class, error flag)."""

    def __init__(self, tb):
        self.tb, self.name = tb, "results"
        super().__init__()

    async def _monitor_recv(self):
        while True:
            # No timeout here (_expect has it): with_timeout would run the receive as a task of
            # its own, which kill() leaves running, and which would then take the next frame.
            logits, cls, err = await self.tb.recv_result(timeout_us=None)
            self._recv((tuple(logits), cls, err))


async def _expect(tb, vec, images, flags):
    """The next result frames must be those of `images` with error flags `flags`, in order:
    cocotb-bus's Scoreboard compares each frame the monitor sees with the head of the queue of
    expected results (logits from the integer reference, class = their argmax)."""
    expected = []
    for img, flag in zip(images, flags, strict=True):
        want = vec.reference_logits(img)
        expected.append((tuple(want.tolist()), int(np.argmax(want)), flag))
    monitor = ResultMonitor(tb)
    scoreboard = Scoreboard(tb.dut, fail_immediately=True)
    scoreboard.add_interface(monitor, expected)
    while expected:
        await with_timeout(monitor.wait_for_recv(), 20000, "us")
    monitor.kill()
    assert scoreboard.errors == 0


def _sanitized(pixels: np.ndarray, n: int) -> np.ndarray:
    """What the engine computes on for a malformed frame: truncated or zero-padded to n."""
    out = np.zeros(n, dtype=np.uint8)
    out[: min(n, len(pixels))] = pixels[:n]
    return out


@cocotb.test()
async def short_and_long_frames(dut):
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    n = vec.pixels
    tb = EngineTB(dut, vec.n_classes, "random", "random", seed=3)
    await tb.reset()
    imgs = [vec.images[i].ravel() for i in range(6)]
    # 4 good frames, 3 malformed: unequal, so a counter that counts the wrong kind is seen
    frames = [imgs[0], imgs[1][:300], imgs[2], np.concatenate([imgs[3], imgs[4][:50]]), imgs[5][:1], imgs[0], imgs[1]]
    for f in frames:
        await tb.send_image(f)
    flags = [int(len(f) != n) for f in frames]
    await _expect(tb, vec, [_sanitized(f, n) for f in frames], flags)
    for _ in range(2):  # the counters update on the edge that takes the last beat
        await RisingEdge(dut.clk)
    assert int(dut.error_frames.value) == 3 and int(dut.error_sticky.value) == 1
    assert int(dut.frames_in.value) == len(frames) and int(dut.frames_out.value) == len(frames)


@cocotb.test()
async def pix_null_bytes(dut):
    """Several pixels per beat (PIX=): frames whose byte count is not a multiple of the beat
    (783 and 785 bytes: TKEEP low on the last beat's top byte) and a frame with a null byte in
    the middle (TKEEP low there) are malformed: each gives one flagged result computed on the
    pixels with the null bytes and the missing ones zero, the surplus dropped; the good frames
    around them are untouched."""
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    n = vec.pixels
    tb = EngineTB(dut, vec.n_classes, "random", "random", seed=5)
    await tb.reset()
    imgs = [vec.images[i].ravel() for i in range(5)]
    holed = imgs[3].copy()
    keep = [1] * n
    keep[400] = 0  # a null byte in the middle of the frame
    frames = [imgs[0], imgs[1][: n - 1], np.concatenate([imgs[2], imgs[4][:1]]), holed, imgs[4]]
    for f in frames[:3]:
        await tb.send_image(f)
    func_cov.sample("short", tb.stall, tb.reset_point, tb.fold)
    await tb.source.send(AxiStreamFrame(bytes(holed), tkeep=keep))
    await tb.send_image(frames[4])
    holed_want = holed.copy()
    holed_want[400] = 0
    want = [imgs[0], _sanitized(frames[1], n), imgs[2], holed_want, imgs[4]]
    await _expect(tb, vec, want, [0, 1, 1, 1, 0])
    for _ in range(2):
        await RisingEdge(dut.clk)
    assert int(dut.error_frames.value) == 3


@cocotb.test()
async def missing_tlast_then_good_frames(dut):
    """A frame sent without TLAST merges with the next one into one long frame: one error
    result for both, then the engine is back in step."""
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, seed=5)
    await tb.reset()
    imgs = [vec.images[i].ravel() for i in range(4)]
    await tb.send_image(np.concatenate([imgs[0], imgs[1]]), kind="missing-tlast")  # imgs[0] had no TLAST
    await tb.send_image(imgs[2])
    await tb.send_image(imgs[3])
    await _expect(tb, vec, [imgs[0], imgs[2], imgs[3]], [1, 0, 0])


@cocotb.test()
async def reset_mid_frame(dut):
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, seed=7)
    tb.reset_point = "mid-input-frame"
    tb.start_monitor()
    await tb.reset()
    await tb.send_image(vec.images[0])
    await tb.send_image(vec.images[1])
    # Reset while the second frame is half in (and the first still in the layers).
    while len(tb.frame_starts) < 2:
        await RisingEdge(dut.clk)
    for _ in range(300):
        await RisingEdge(dut.clk)
    await tb.reset()
    await tb.sink.clear() if hasattr(tb.sink.clear, "__await__") else tb.sink.clear()
    for _ in range(5):
        await RisingEdge(dut.clk)
    assert int(dut.frames_in.value) == 0 and int(dut.error_sticky.value) == 0
    await tb.send_image(vec.images[2])
    await tb.send_image(vec.images[3])
    await _expect(tb, vec, [vec.images[2].ravel(), vec.images[3].ravel()], [0, 0])
    assert tb.sink.empty()


@cocotb.test()
async def output_stalled_10000_cycles(dut):
    """The output is held for 10,000 cycles while 16 images (16 x PIX) wait at the input: the engine
    fills up and holds its input back (nothing dropped), then every result comes out in order."""
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, seed=9)
    tb.stall = "output-held"
    await tb.reset()
    tb.sink.clear_pause_generator()  # else the idle generator lifts the pause every cycle
    tb.sink.pause = True
    k = 16 * tb.in_pix  # more frames than the engine holds (10 was not: fc_unit takes a beat ahead)
    for i in range(k):
        await tb.send_image(vec.images[i])
    for _ in range(10_000):
        await RisingEdge(dut.clk)
    assert tb.sink.empty() and int(dut.m_axis_tvalid.value), "the output was not held for 10,000 cycles"
    assert not tb.source.idle(), f"the engine took all {k} images with its output stalled: it must hold back"
    tb.sink.pause = False
    await _expect(tb, vec, [vec.images[i].ravel() for i in range(k)], [0] * k)
    assert tb.sink.empty()


@cocotb.test()
async def long_input_gaps(dut):
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, "burst", "none", seed=13)
    await tb.reset()
    for i in range(3):
        await tb.send_image(vec.images[i])
        for _ in range(3000):
            await RisingEdge(dut.clk)
    await _expect(tb, vec, [vec.images[i].ravel() for i in range(3)], [0] * 3)


@cocotb.test()
async def back_to_back_no_idle(dut):
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, seed=17)
    tb.start_monitor()
    await tb.reset()
    k = 6
    for i in range(k):
        await tb.send_image(vec.images[i])
    await _expect(tb, vec, [vec.images[i].ravel() for i in range(k)], [0] * k)
    gaps = np.diff(tb.frame_starts[-k:])
    assert all(g <= vec.pixels * 1.05 for g in gaps), f"input stalled between frames: {gaps.tolist()}"


@cocotb.test()
async def weights_load_after_images(dut):
    """Run-time weights (`+wload` foldings only): images sent before the weights wait inside
    the engine and come out right once a weight-load frame has arrived; a load frame one word
    short and one a word too long are each counted in weight_load_errors and leave the
    weights invalid (the images keep waiting) until a good frame."""
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, seed=19)
    assert tb.wload_words, "this test needs an export whose folding loads weights at run time"
    words = tb.wload_words
    await tb.reset(load=False)
    assert int(dut.weights_valid.value) == 0
    for i in range(2):
        await tb.send_image(vec.images[i])
    for _ in range(3 * vec.pixels):
        await RisingEdge(dut.clk)
    assert tb.sink.empty(), "a result left before the weights were loaded"
    await tb.load_weights(words[:-1], expect_valid=False)
    await tb.load_weights(words + words[:1], expect_valid=False)
    assert int(dut.weight_load_errors.value) == 2
    assert tb.sink.empty()
    await tb.load_weights(words)
    await _expect(tb, vec, [vec.images[i].ravel() for i in range(2)], [0, 0])
    assert int(dut.weight_load_errors.value) == 2 and tb.sink.empty()


# --- reset contract (docs/engine.md, "Reset") ----------------------------------------------


def _watch(dut, prefix: str) -> list[tuple[int, int]]:
    """Every handshake on `prefix`_* as the wire shows it, (tdata, tlast), reset or not: what a
    receiver outside the reset domain would see (the cocotbext sink forgets a partial frame)."""
    beats: list[tuple[int, int]] = []
    valid, ready = getattr(dut, f"{prefix}_tvalid"), getattr(dut, f"{prefix}_tready")
    data, last = getattr(dut, f"{prefix}_tdata"), getattr(dut, f"{prefix}_tlast")

    async def run():
        while True:
            await RisingEdge(dut.clk)
            if int(valid.value) and int(ready.value):
                beats.append((int(data.value), int(last.value)))

    cocotb.start_soon(run())
    return beats


@cocotb.test()
async def reset_input_contract(dut):
    """Reset 300 pixels into a frame, with s_axis_tvalid held high through the reset: s_axis_tready
    is low in every cycle rst is high, so nothing is taken; the beat still offered when rst falls
    is taken as pixel 0 of a new frame, and the rest of the interrupted image ending in TLAST is
    a short frame (zero-padded, flagged); the next image is correct and unflagged."""
    from cocotb.triggers import ReadOnly

    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    tb = EngineTB(dut, vec.n_classes, seed=23)
    tb.reset_point = "mid-input-frame"
    await tb.reset()
    taken = _watch(dut, "s_axis")
    img = vec.images[0].ravel()
    await tb.send_image(img)
    while len(taken) < 300:
        await RisingEdge(dut.clk)
    dut.rst.value = 1  # the source is reset with the engine: it drops TVALID and its frame
    rest = None
    for cycle in range(6):
        await RisingEdge(dut.clk)
        if cycle == 0:  # nothing can be taken once rst is high: the cut is known
            rest = img[len(taken) :]
            dut.s_axis_tdata.value = int(rest[0])
            dut.s_axis_tlast.value = 0
            dut.s_axis_tvalid.value = 1  # offered during reset, against the AXI rule
        await ReadOnly()
        assert int(dut.s_axis_tready.value) == 0, f"s_axis_tready high in reset cycle {cycle}"
        assert int(dut.m_axis_tvalid.value) == 0, f"m_axis_tvalid high in reset cycle {cycle}"
    await RisingEdge(dut.clk)
    cut = len(taken)
    assert 300 <= cut < vec.pixels and len(rest) == vec.pixels - cut
    dut.rst.value = 0
    # Still offered when rst falls: taken on the next edge (the restarted source sees that
    # handshake too and goes on with the queued rest of the frame).
    await tb.send_image(rest[1:])
    await tb.send_image(vec.images[1])
    await _expect(tb, vec, [_sanitized(rest, vec.pixels), vec.images[1].ravel()], [1, 0])
    for _ in range(2):  # the counters update on the edge that takes the last beat
        await RisingEdge(dut.clk)
    assert len(taken) == cut + len(rest) + vec.pixels, "a beat was taken twice or dropped around the reset"
    assert int(dut.frames_in.value) == 2 and int(dut.error_frames.value) == 1
    assert tb.sink.empty()


@cocotb.test()
async def reset_cuts_result_frame(dut):
    """Reset while a result frame is leaving: the wire has carried its first k beats, no TLAST,
    and the rest never comes; m_axis_tvalid is low from the first reset edge on. Every frame
    after the reset is whole (N_CLASSES + 1 beats, TLAST on the last), so a downstream sharing
    the reset (the cocotbext sink, which drops its partial frame on reset) gets only whole,
    correct frames, and one outside it finds the first whole frame in the last N_CLASSES + 1
    beats of the overlong first run."""
    from cocotb.triggers import ReadOnly

    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    beats = vec.n_classes + 1
    tb = EngineTB(dut, vec.n_classes, "none", "random", seed=29)
    tb.reset_point = "mid-result-frame"
    await tb.reset()
    out = _watch(dut, "m_axis")
    await tb.send_image(vec.images[0])
    while len(out) < 3:
        await RisingEdge(dut.clk)
    dut.rst.value = 1
    for cycle in range(5):
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert int(dut.m_axis_tvalid.value) == 0, f"m_axis_tvalid high after reset edge {cycle + 1}"
    await RisingEdge(dut.clk)
    k = len(out)
    want0 = [v & 0xFFFFFFFF for v in vec.reference_logits(vec.images[0]).tolist()]
    assert 0 < k < beats and not any(last for _, last in out), f"cut frame: {out}"
    assert [d for d, _ in out] == want0[:k], "the cut frame's beats are not its first logits"
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    assert int(dut.frames_out.value) == 0
    await tb.send_image(vec.images[1])
    await tb.send_image(vec.images[2])
    await _expect(tb, vec, [vec.images[1].ravel(), vec.images[2].ravel()], [0, 0])
    after = out[k:]
    assert len(after) == 2 * beats and [i for i, (_, last) in enumerate(after) if last] == [beats - 1, 2 * beats - 1]
    run = out[: k + beats]  # the first run ending in TLAST: cut remnant + first whole frame
    want1 = [v & 0xFFFFFFFF for v in vec.reference_logits(vec.images[1]).tolist()]
    assert [d for d, _ in run[-beats:]][: vec.n_classes] == want1
    assert tb.sink.empty()


# --- the functional coverage cross (tb/engine/func_cov.py) ---------------------------------

STALL_PAUSES = {"none": ("none", "none"), "random": ("random", "random"), "burst": ("burst", "burst")}


@cocotb.test()
async def frame_kinds_under_stalls_and_resets(dut):
    """Every frame kind (well-formed, short, long, missing TLAST, 1 pixel) under every stall
    pattern (none, random, burst, output held for 3,000 cycles), after no reset, a reset in the
    middle of an input frame and one in the middle of a result frame: each result right and
    flagged as the sanitizer must flag it, nothing lost or left over."""
    vec = load_vectors(Path(os.environ["WEIGHTS_DIR"]))
    n = vec.pixels
    imgs = [vec.images[i].ravel() for i in range(7)]
    frames = [
        ("well-formed", imgs[0], imgs[0], 0),
        ("short", imgs[1][:300], _sanitized(imgs[1][:300], n), 1),
        ("long", np.concatenate([imgs[2], imgs[3][:50]]), imgs[2], 1),
        ("missing-tlast", np.concatenate([imgs[4], imgs[5]]), imgs[4], 1),
        ("1-pixel", imgs[6][:1], _sanitized(imgs[6][:1], n), 1),
    ]
    tb = EngineTB(dut, vec.n_classes, seed=31)
    taken, out = _watch(dut, "s_axis"), _watch(dut, "m_axis")
    for stall in ("none", "random", "burst", "output-held"):
        for reset in ("none", "mid-input-frame", "mid-result-frame"):
            # output-held: random output pauses until the hold (a result must leave to be cut).
            tb.set_pauses(*STALL_PAUSES.get(stall, ("none", "random")), seed=31)
            tb.reset_point = reset
            await tb.reset()
            if reset != "none":
                # A frame cut by the reset: in the middle of its input, or of its result frame.
                watched = taken if reset == "mid-input-frame" else out
                goal = len(watched) + (tb.beats // 2 if reset == "mid-input-frame" else 3)
                await tb.send_image(imgs[6])
                while len(watched) < goal:
                    await RisingEdge(dut.clk)
                await tb.reset()
                tb.sink.clear()
            if stall == "output-held":
                tb.stall = stall
                tb.sink.clear_pause_generator()
                tb.sink.pause = True
            for kind, data, _, _ in frames:
                await tb.send_image(data, kind=kind)
            if stall == "output-held":
                for _ in range(3000):
                    await RisingEdge(dut.clk)
                assert tb.sink.empty(), "a result left while the output was held"
                tb.sink.pause = False
            await _expect(tb, vec, [want for _, _, want, _ in frames], [flag for *_, flag in frames])
            assert tb.sink.empty(), (stall, reset)
