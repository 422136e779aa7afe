"""Cycle model of the engine: predicts the initiation interval and the latency of a folding.

A max-plus model over the stage netlist that model/plan.py makes of the graph: for every beat of
every stream it computes the cycle at which the beat is produced, from the beats it depends on
and the stage's service time (the figures each module's header comment states). Buffers are
assumed deep enough (the rate-matching FIFOs, the skip FIFOs), so back-pressure is not
modelled, with two exceptions. A convolution still busy at a frame's end stalls its window
generator, which then takes the next frame's pixels before its first window only as the unit
frees it; beyond what the FIFO holds, that refill adds to the unit's cycles per frame, with
RESTART (lenet5 conv2 at 8 cycles a window with a 16-deep rate FIFO: 1,008 predicted, 1,007
measured; without the refill 800). Where the plan puts a window FIFO behind the generator
(model/plan.py `_prefetch`), `prefetch` times the rate FIFO, generator, window FIFO and unit
handshake by handshake with their depths instead (the same conv2: 800 predicted and measured
with the plan's FIFOs of 64 pixels and 8 windows; 896 and 896 with 128 pixels and no window
FIFO). The engine test checks the measured II and latency against this prediction.

`skip_depth` sizes the skip FIFO of a residual Add from the same dependencies: how many beats
one branch produces while the other still fills its line buffers.

    python -m model.cycles --net tiny [--fold small | auto | auto:ii=2000 | auto:device=up5k] [--pix 8]
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass

import numpy as np

from model.graph import INPUT, Graph, QuantLayer, from_net
from model.nets import Net, get_net, parse_fold, with_pix
from model.plan import FIFO_DEPTH, plan, window_folds

# Cycles from a stage's input handshake to its output valid (module header comments).
LATENCY = {
    "frame_sanitizer": 1,
    "axis_fifo": 1,
    "window_gen": 1,
    "window_gen_pix": 1,
    "pool2x2_pix": 1,
    "pix_repack": 1,
    "requant": 4,
    "threshold": 1,
    "act_lut": 1,
    "pool2x2": 1,
    "result_formatter": 1,
    "fc_serial": 3,  # from a group's last fold issued to its output beat
    "axis_gather": 1,
    "skip_fifo": 1,
    "add_unit": 1,
    "gap_unit": 1,
}
# Cycles a stalled chain takes to restart when a convolution that waited for its window
# generator's refill frees it: not derived, measured (lenet5 conv2 at 6 and 8 cycles a window:
# 815 and 1,007 measured, 808 and 1,008 predicted with it; 773 and 973 without).
RESTART = 35


@dataclass
class Prediction:
    ii_cycles: float
    latency_cycles: int
    bottleneck: str
    stage_cycles: dict[str, int]  # busy cycles per frame of every stage


def _window_times(t_in: np.ndarray, h: int, w: int, k: int, pad: int) -> np.ndarray:
    """Output times of window_gen for one frame whose pixels arrive at t_in (raster order)."""
    ho, wo = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    d = k - 1 - pad
    oy, ox = np.divmod(np.arange(ho * wo), wo)
    return _shift_times(t_in, (oy + d) * w + (ox + d), LATENCY["window_gen"])  # the shift completing each window


def _window_times_pix(t_in: np.ndarray, tb: int) -> np.ndarray:
    """Output beat times of window_gen_pix ("same" padding: a beat of windows per input beat):
    beat B is complete with the shift of input beat B + TB."""
    return _shift_times(t_in, np.arange(len(t_in)) + tb, LATENCY["window_gen_pix"])


def _shift_times(t_in: np.ndarray, shift: np.ndarray, latency: int) -> np.ndarray:
    """Times of the outputs that input beat `shift[j]` (numbered from the frame's first) completes,
    `latency` cycles after it, at most one per cycle. Shifts past the frame's end are bubbles, one
    per cycle after its last beat."""
    n = len(t_in)
    shift_time = np.where(shift < n, t_in[np.minimum(shift, n - 1)], t_in[-1] + (shift - n + 1))
    out = shift_time + latency
    return np.maximum.accumulate(out + np.arange(len(out))) - np.arange(len(out))


PREFETCH_FRAMES = 8  # frames `prefetch` runs: the unit's lag behind the pixels settles within them


@dataclass
class Prefetch:
    """A convolution's window generator and unit fed through a rate FIFO and a window FIFO,
    modelled handshake by handshake over PREFETCH_FRAMES frames offered every `period` cycles."""

    handshakes: np.ndarray  # cycle of the unit's input handshake of every window, frame after frame
    period: int  # cycles between the last windows of the last two frames
    stall: int  # the most cycles a pixel waited for room in the rate FIFO (0: the stage before never waits)


def prefetch(t_in, period, h, w, k, pad, folds, depth_px, depth_win, frames=PREFETCH_FRAMES) -> Prefetch:
    """`_prefetch_sim`, remembered: the planner sizes the FIFOs and the cycle model then times
    the same layer, and the folding solver plans many foldings whose first layers are alike:
    most calls repeat one (model/tests/test_fold_solver.py: 5 of 6). The result is shared, and
    its arrays are read-only."""
    t_in = np.asarray(t_in, dtype=np.int64)
    return _prefetch_cached(t_in.tobytes(), period, h, w, k, pad, folds, depth_px, depth_win, frames)


@functools.lru_cache(maxsize=1024)
def _prefetch_cached(t_bytes: bytes, *args) -> Prefetch:
    r = _prefetch_sim(np.frombuffer(t_bytes, dtype=np.int64), *args)
    r.handshakes.flags.writeable = False
    return r


def _prefetch_sim(t_in, period, h, w, k, pad, folds, depth_px, depth_win, frames) -> Prefetch:
    """window_gen holds its output register until the unit takes the window, and conv_unit
    takes a window with its last fold, so without a window FIFO the generator shifts only
    between windows: (folds - 1) * windows + H*W cycles a frame (the K-1-PAD rows of shifts
    before a frame's first window included), more than folds * windows. A window FIFO lets it
    run ahead; the rate FIFO (capacity depth_px + 1, axis_fifo) holds the pixels that arrive
    meanwhile. t_in: offer times of one frame's pixels at the rate FIFO (frame f: + f*period);
    depth_win = 0: the unit reads window_gen directly."""
    n = h * w
    ho, wo = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    d = k - 1 - pad
    oy, ox = np.divmod(np.arange(ho * wo), wo)
    sigma = (oy + d) * w + ox + d  # the shift (raster index from the frame's first pixel) completing each window
    offer = (np.asarray(t_in)[None, :] + period * np.arange(frames + 1)[:, None]).ravel().tolist()
    done_at = (sigma[None, :] + n * np.arange(frames)[:, None]).ravel().tolist()
    cap_px, cap_win = depth_px + 1, depth_win + 1 if depth_win else 0
    shift: list[int] = []  # cycle of every shift of window_gen
    hs: list[int] = []  # the unit's input handshake per window
    free = -(1 << 40)  # the next shift waits for the pending window's handshake
    stall, j = 0, 0
    for g in range(len(offer)):
        if j == len(done_at):
            break
        enter = offer[g] if g < cap_px else max(offer[g], shift[g - cap_px] + 1)  # room in the rate FIFO
        stall = max(stall, enter - offer[g])
        tg = max(enter + 1, free, shift[-1] + 1 if shift else 0)
        shift.append(tg)
        while j < len(done_at) and done_at[j] == g:
            valid = tg + 1
            prev = hs[-1] + 1 if hs else valid
            if cap_win:  # into the window FIFO when it has room, to the unit one cycle later
                into = max(valid, hs[j - cap_win] + 1) if j >= cap_win else valid
                hs.append(max(into + 1, prev) + folds - 1)
            else:
                into = max(valid, prev) + folds - 1
                hs.append(into)
            free, j = into, j + 1
    last = np.asarray(hs).reshape(frames, -1)[:, -1]
    return Prefetch(np.asarray(hs), int(last[-1] - last[-2]), int(stall))


def _serve(t_in: np.ndarray, service: int, latency: int) -> np.ndarray:
    """A unit that takes `service` cycles per item, in order: finish_j = max(t_j, finish_{j-1}) + service."""
    # The recurrence unrolled (max-plus): finish_j = (j+1)*service + max over i <= j of (t_i - i*service).
    t = np.asarray(t_in)
    j = np.arange(len(t), dtype=np.int64)
    finish = np.maximum.accumulate(t.astype(np.int64) - service * j) + service * (j + 1)
    return (finish + (latency - service)).astype(t.dtype, copy=False)


def frame_times(net: Net, folds, t_pixels: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Time of every beat of the final logits stream, and busy cycles per stage."""
    times, busy = stage_times(plan(from_net(net), folds), t_pixels)
    return times["_out"], busy


def stage_times(hw_plan, t_pixels: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Time of every beat of every stage's output stream (by instance; "_out": the last
    stage's) for one frame whose pixels arrive at t_pixels, and busy cycles per stage."""
    t = _serve(t_pixels, 1, LATENCY["frame_sanitizer"])
    busy: dict[str, int] = {"input": hw_plan.in_beats}
    times = {"pix": t}
    # The refill term (module docstring) is fitted and checked on chains (lenet5's conv2); a
    # residual graph's balanced blocks are measured within 5 % of the model without it
    # (resnet8: 13,132 against 12,544), so it applies to chains only.
    chain = not any(st.module == "add_unit" for hw in hw_plan.layers for st in hw.stages)
    for hw in hw_plan.layers:
        cs = hw.consts
        buffered = 0  # pixels a rate FIFO holds in front of the window generator
        refill = 0  # cycles a convolution waits for its window generator's refill
        # a window FIFO (model/plan.py `_prefetch`): the layer's pixels, as they reach its rate FIFO
        ahead = {st.inst: st for st in hw.stages}.get(f"{hw.name}_wfifo")
        before = max(busy.values())  # the slowest stage before the layer: its pixels come at that pace
        t_px = None
        for st in hw.stages:
            m = st.module
            srcs = [times[x.split("#")[0]] for x in st.srcs]
            if srcs:
                t = srcs[0]
            if m == "axis_fork":
                times[st.inst] = t
                continue
            if m == "axis_fifo" and ahead is not None:  # timed with the unit, below
                t_px = t if st is not ahead and t_px is None else t_px
                times[st.inst] = t
                busy[st.inst] = len(t)
                continue
            if m == "axis_fifo":
                depth = st.params.get("DEPTH", str(FIFO_DEPTH))
                buffered = int(depth) if depth.isdigit() else FIFO_DEPTH
            if m == "add_unit":
                t = _serve(np.maximum(srcs[0], srcs[1]), 1, LATENCY[m])
                busy[st.inst] = len(t)
            elif m == "stride_sel":
                oy, ox = np.divmod(np.arange(cs["WIN_H"] * cs["WIN_W"]), cs["WIN_W"])
                t = t[(oy % cs["STRIDE"] == 0) & (ox % cs["STRIDE"] == 0)]
                busy[st.inst] = cs["WIN_H"] * cs["WIN_W"]
            elif m == "gap_unit":
                t = np.array([t[-1] + LATENCY[m]])
                busy[st.inst] = cs["N"]
            elif m == "window_gen_pix":
                tb = -(-cs["PAD"] * (cs["W"] + 1) // cs["PIX"])  # ceil: input beats before the first window beat
                t = _window_times_pix(t, tb)
                busy[st.inst] = len(t)
            elif m == "pool2x2_pix":
                hh, ww, p = cs["H"], cs["W"], cs["PIX"]
                py, px = np.divmod(np.arange((hh // 2) * (ww // 2)), ww // 2)
                busy[st.inst] = beats_in = len(t)
                t = t[((2 * py + 1) * ww + 2 * px + 1) // p] + LATENCY[m]  # per pooled pixel, into its repack
            elif m == "pix_repack" and st.inst == f"{hw.name}_unpack":  # full beats of N_IN pixels to one
                t = _serve(np.repeat(t, int(st.params["N_IN"])), 1, LATENCY[m])
                busy[st.inst] = len(t)
            elif m == "pix_repack":  # behind pool2x2_pix: t holds one time per pooled pixel
                n_out = cs["OUT_PIX"]
                t = _serve(t[n_out - 1 :: n_out], 1, LATENCY[m] + (cs["PACK_FIFO"] > 0))
                busy[st.inst] = max(len(t), beats_in)
            elif m == "window_gen":
                win = _window_times(t, cs["H"], cs["W"], cs["K"], cs["PAD"])
                # Refill: a window_gen stalled on a frame's last window takes no pixel of the next
                # frame, so beyond what the FIFO holds, the pixels before that frame's first window
                # (k-1-pad rows: many for an unpadded kernel) arrive while the unit waits.
                refill = max(0, int(win[0] - t[min(buffered, len(t) - 1)]))
                refill += RESTART if refill else 0
                t = win
                busy[st.inst] = cs["H"] * cs["W"]
            elif m == "conv_unit" and ahead is not None:
                f = window_folds(cs)
                fifos = [int(x.params["DEPTH"]) for x in hw.stages if x.module == "axis_fifo"]
                period = max(before, f * len(t))
                r = prefetch(t_px, period, cs["H"], cs["W"], cs["K"], cs["PAD"], f, fifos[0], fifos[1])
                # keeping up, the unit works f cycles a window; else what the model's frames took
                busy[st.inst] = f * len(t) if r.period <= period and not r.stall else r.period + r.stall
                # the output handshake, 3 + DOT_PIPE cycles after the input's
                t = r.handshakes[: len(t)] + 3 + cs.get("DOT_PIPE", 1)
            elif m == "conv_unit":
                f = window_folds(cs)
                busy[st.inst] = f * len(t)
                if chain and _serve(t, f, f)[-1] - f > t[-1]:  # behind at the frame's end: waits for the refill
                    busy[st.inst] += refill
                # output handshake FOLDS + 2 + DOT_PIPE after the window's start (issue, S1, P,
                # [Q,] S2, out)
                lat = 2 + cs.get("DOT_PIPE", 1)
                if "OUT_BEATS" in cs:  # SERIAL: group og of a window leaves (og+1)*f/OUT_BEATS + lat after its start
                    nb = cs["OUT_BEATS"]
                    start = _serve(t, f, f) - f
                    t = (start[:, None] + (f // nb) * (np.arange(nb) + 1) + lat).ravel()
                else:
                    t = _serve(t, f, f + lat)
            elif m == "fc_unit":
                f = (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"])
                done = _serve(t, f, f)
                t = np.array([done[-1] + 3 + cs.get("DOT_PIPE", 1)])  # FOLDS + 3 + DOT_PIPE after the last beat
                # OUT_REG = 0: the unit holds one cycle a frame while its result is taken
                busy[st.inst] = f * cs["IN_BEATS"] + (cs.get("OUT_REG", 1) == 0)
            elif m == "fc_serial":
                no, ni = cs["C_OUT"] // cs["PE"], cs["C_IN"] // cs["SIMD"]
                done = _serve(t, no * ni, no * ni)
                # output group og completes during the last input beat, NI cycles apart
                t = done[-1] - no * ni + ni * (np.arange(no) + 1) + LATENCY[m]
                busy[st.inst] = no * ni * cs["IN_BEATS"]
            elif m == "axis_gather":
                n = int(cs["OUT_BEATS"])
                t = t[n - 1 :: n] + LATENCY[m]
                busy[st.inst] = len(t) * n
            elif m == "pool2x2":
                hh, ww = cs["H"], cs["W"]
                py, px = np.divmod(np.arange((hh // 2) * (ww // 2)), ww // 2)
                t = t[(2 * py + 1) * ww + 2 * px + 1] + LATENCY[m]
                busy[st.inst] = hh * ww
            else:
                t = _serve(t, 1, LATENCY[m])
                busy[st.inst] = len(t)
            times[st.inst] = t
    times["_out"] = t
    return times, busy


def skip_occupancy(hw_plan) -> dict[str, int]:
    """Skip FIFO -> the most beats it holds when nothing waits on it (buffers as deep as
    needed, pixels at full rate): the line buffering of the other branch plus the beats that
    arrive during its latency. Fewer slows the block down (the fork then waits for the long
    branch's pipeline beat by beat); fewer than `skip_depth` deadlocks it."""
    times, _ = stage_times(hw_plan, np.arange(hw_plan.in_beats))
    out = {}
    for hw in hw_plan.layers:
        for st in hw.stages:
            if st.module != "add_unit":
                continue
            skip = next(x for x in st.srcs if x.endswith("_skip"))
            other = next(x for x in st.srcs if not x.endswith("_skip"))
            fifo = next(s for s in hw.stages if s.inst == skip)
            t_in = times[fifo.srcs[0].split("#")[0]]  # beats entering the skip FIFO
            t_other = times[other.split("#")[0]]
            ready = np.searchsorted(t_in, t_other, side="right")  # skip beats in by the time beat j of the other is
            out[skip] = int(np.max(ready - np.arange(len(t_other))))
    return out


def predict(net: Net, folds, frames: int = 4) -> Prediction:
    """II and latency with the input streaming one pixel per cycle, the output never stalled."""
    n = net.in_shape[1] * net.in_shape[2] // net.pix  # input beats
    n_classes = net.n_classes
    _, busy = frame_times(net, folds, np.arange(n))
    busy["result_formatter"] = n_classes + 2
    bottleneck = max(busy, key=busy.get)
    ii = float(max(busy.values()))
    # Latency of an isolated frame: first pixel in to the last result beat out.
    t_logits, _ = frame_times(net, folds, np.arange(n))
    latency = int(t_logits[-1]) + LATENCY["result_formatter"] + n_classes
    return Prediction(ii, latency, bottleneck, busy)


# --------------------------------------------------------------------------------------------
# Skip FIFO depth: beat dependencies between the two branches of a residual block


def _needs(node: QuantLayer, n_in: int, frames: int) -> np.ndarray:
    """For every output beat of `node` over `frames` back-to-back frames: the index of the last
    input beat it depends on (input beats numbered across the frames, n_in per frame)."""
    c, h, w = node.in_shape
    _, ho, wo = node.out_shape
    if node.kind == "conv":
        s, d = node.stride, node.k - 1 - node.pad
        oy, ox = np.divmod(np.arange(ho * wo), wo)
        # window (oy*s, ox*s) of stride 1 completes at shift (y+d)*W + x+d (model window_gen);
        # shifts past the frame are the next frame's first pixels
        one = (oy * s + d) * w + ox * s + d
    elif node.kind == "pool":
        py, px = np.divmod(np.arange(ho * wo), wo)
        one = (2 * py + 1) * w + 2 * px + 1
    elif node.kind in ("gap", "dense"):
        one = np.full(ho * wo if node.kind == "gap" else 1, n_in - 1)
    else:
        raise ValueError(f"{node.name}: a {node.kind!r} node inside a residual branch is not supported")
    return (np.arange(frames)[:, None] * n_in + one[None, :]).ravel()


def _branch(graph: Graph, name: str) -> list[QuantLayer]:
    """The nodes from `name` back through single inputs: name, its input, its input's input..."""
    out = []
    while name != INPUT:
        node = graph[name]
        out.append(node)
        if len(node.inputs) != 1:
            break
        name = node.inputs[0]
    return out


def skip_depth(graph: Graph, add: QuantLayer, frames: int = 3) -> tuple[int, int]:
    """(input of `add` that needs the skip FIFO, its depth in beats).

    Both inputs come from one stream X, broadcast by an axis_fork, which hands a beat to one
    branch while the other is full. When the Add waits for beat j of branch a, branch a needs
    X's beats up to need_a(j); the fork gives it the last of them only after branch b took all
    earlier ones, so b holds #{k : need_b(k) < need_a(j)} - j beats that the Add cannot take
    yet. The depth is the largest such count (one fewer deadlocks the block); the other input
    must never need one. Beat dependencies come from each node's geometry (window completion
    in window_gen, the stride grid, pooling), over `frames` frames (the line buffers of the
    last rows complete with the next frame's pixels)."""
    chains = [_branch(graph, i) for i in add.inputs]
    names_b = {n.name for n in chains[1]} | {INPUT}
    fork = next((n.name for n in chains[0] if n.name in names_b and n.name != add.inputs[0]), None)
    if fork is None:
        fork = INPUT if add.inputs[0] != add.inputs[1] else None
    if fork is None:
        raise ValueError(f"{graph.name}.{add.name}: its inputs have no common source")
    needs = []
    for chain in chains:
        path = []
        for node in chain:
            if node.name == fork:
                break
            path.append(node)
        need = None  # beat index of X each beat depends on, branch output first
        for node in reversed(path):  # from the fork to the Add
            n_in = node.in_shape[1] * node.in_shape[2]
            idx = _needs(node, n_in, frames + 1)
            idx = np.minimum(idx, (frames + 1) * n_in - 1)
            need = idx if need is None else need[idx]
        if need is None:  # the fork's stream itself
            c, h, w = graph[fork].out_shape if fork != INPUT else graph.in_shape
            need = np.arange((frames + 1) * h * w)
        needs.append(need)
    n_out = add.out_shape[1] * add.out_shape[2]
    j = np.arange(n_out, 2 * n_out)  # a middle frame: both neighbours exist
    req = []
    for side in (1, 0):
        waiting, held = needs[1 - side], needs[side]
        ready = np.searchsorted(np.sort(held), waiting[j], side="left")  # beats with need < need_other
        req.append(int(np.max(ready - j)))
    depth_b, depth_a = req
    side = 1 if depth_b >= depth_a else 0
    other = depth_a if side == 1 else depth_b
    if other > 0:
        raise ValueError(f"{graph.name}.{add.name}: both branches would need a skip FIFO ({depth_a}, {depth_b})")
    return side, max(1, req[0] if side == 1 else req[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="tiny")
    ap.add_argument("--fold", default=None)
    ap.add_argument("--pix", type=int, default=1, help="pixels per input beat (PIX=)")
    args = ap.parse_args(argv)
    net = with_pix(get_net(args.net), args.pix)
    folds = parse_fold(net, args.fold)
    if getattr(folds, "solution", None) is not None:  # FOLD=auto: what the solver chose
        print(folds.solution.report())
    p = predict(net, folds)
    print(f"{net.name}: II {p.ii_cycles:.0f} cycles (bottleneck {p.bottleneck}), latency {p.latency_cycles} cycles")
    for k, v in p.stage_cycles.items():
        print(f"  {k:<16} {v:6d} busy cycles/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
