"""Cycle model of the engine: predicts the initiation interval and the latency of a folding.

A max-plus model over the stage chain that model/plan.py makes of the graph: for every beat of every
stream it computes the cycle at which the beat is produced, from the beats it depends on and
the stage's service time (the figures each module's header comment states). Buffers are
assumed deep enough (the rate-matching FIFOs), so back-pressure is not modelled, with one
exception: a convolution still busy at a frame's end stalls its window generator, which then
takes the next frame's pixels before its first window only as the unit frees it; beyond what
the FIFO holds, that refill adds to the unit's cycles per frame, with RESTART (lenet5 conv2 at 8 cycles a
window: 1,008 predicted, 1,007 measured; without the refill 800). The engine test checks the measured
II and latency against this prediction.

    python -m model.cycles --net tiny [--fold small | auto | auto:ii=2000 | auto:device=up5k]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from model.graph import from_net
from model.nets import Net, get_net, parse_fold
from model.plan import FIFO_DEPTH, plan

# Cycles from a stage's input handshake to its output valid (module header comments).
LATENCY = {
    "frame_sanitizer": 1,
    "axis_fifo": 1,
    "window_gen": 1,
    "requant": 2,
    "act_lut": 1,
    "pool2x2": 1,
    "result_formatter": 1,
    "fc_serial": 3,  # from a group's last fold issued to its output beat
    "axis_gather": 1,
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
    n = h * w
    ho, wo = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    d = k - 1 - pad
    oy, ox = np.divmod(np.arange(ho * wo), wo)
    shift = (oy + d) * w + (ox + d)  # the shift that completes each window
    # Shifts past the frame's end are bubbles, one per cycle after the last pixel.
    shift_time = np.where(shift < n, t_in[np.minimum(shift, n - 1)], t_in[-1] + (shift - n + 1))
    out = shift_time + LATENCY["window_gen"]
    return np.maximum.accumulate(out + np.arange(len(out))) - np.arange(len(out))  # one per cycle


def _serve(t_in: np.ndarray, service: int, latency: int) -> np.ndarray:
    """A unit that takes `service` cycles per item, in order: finish_j = max(t_j, finish_{j-1}) + service."""
    finish = np.empty_like(t_in)
    prev = -(1 << 40)
    for j, t in enumerate(t_in):
        prev = max(int(t), prev) + service
        finish[j] = prev
    return finish + (latency - service)


def frame_times(net: Net, folds, t_pixels: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Time of every beat of the final logits stream, and busy cycles per stage."""
    t = _serve(t_pixels, 1, LATENCY["frame_sanitizer"])
    c, h, w = net.in_shape
    busy: dict[str, int] = {"input": int(h * w)}
    for hw in plan(from_net(net), folds).layers:
        cs = hw.consts
        buffered = 0  # pixels a rate FIFO holds in front of the window generator
        for st in hw.stages:
            m = st.module
            if m == "axis_fifo":
                buffered = FIFO_DEPTH
            if m == "window_gen":
                win = _window_times(t, cs["H"], cs["W"], cs["K"], cs["PAD"])
                # Refill: a window_gen stalled on a frame's last window takes no pixel of the next
                # frame, so beyond what the FIFO holds, the pixels before that frame's first window
                # (k-1-pad rows: many for an unpadded kernel) arrive while the unit waits.
                refill = max(0, int(win[0] - t[min(buffered, len(t) - 1)]))
                refill += RESTART if refill else 0
                t = win
                busy[st.inst] = cs["H"] * cs["W"]
            elif m == "conv_unit":
                kk = cs["K"] ** 2
                f = (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"]) * (kk // cs.get("TAPS", kk))
                busy[st.inst] = f * len(t)
                if _serve(t, f, f)[-1] - f > t[-1]:  # still behind at the frame's end: it waits for the refill
                    busy[st.inst] += refill
                if "OUT_BEATS" in cs:  # SERIAL: group og of a window leaves (og+1)*f/OUT_BEATS + 2 after its start
                    nb = cs["OUT_BEATS"]
                    start = _serve(t, f, f) - f
                    t = (start[:, None] + (f // nb) * (np.arange(nb) + 1) + 2).ravel()
                else:
                    t = _serve(t, f, f + 2)
            elif m == "fc_unit":
                f = (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"])
                done = _serve(t, f, f)
                t = np.array([done[-1] + 3])
                busy[st.inst] = f * cs["IN_BEATS"]
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
    return t, busy


def predict(net: Net, folds, frames: int = 4) -> Prediction:
    """II and latency with the input streaming one pixel per cycle, the output never stalled."""
    n = net.in_shape[1] * net.in_shape[2]
    n_classes = net.n_classes
    _, busy = frame_times(net, folds, np.arange(n))
    busy["result_formatter"] = n_classes + 2
    bottleneck = max(busy, key=busy.get)
    ii = float(max(busy.values()))
    # Latency of an isolated frame: first pixel in to the last result beat out.
    t_logits, _ = frame_times(net, folds, np.arange(n))
    latency = int(t_logits[-1]) + LATENCY["result_formatter"] + n_classes
    return Prediction(ii, latency, bottleneck, busy)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="tiny")
    ap.add_argument("--fold", default=None)
    args = ap.parse_args(argv)
    net = get_net(args.net)
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
