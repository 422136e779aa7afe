"""Hardware planning: which rtl/ library instances a quantized graph becomes.

Input:  a graph (model/graph.py: from `quantize`, or `from_net` for structure alone) and a
        folding per compute node (model/nets.py `Fold`), and the scale mode (pow2).
Output: a `Plan`: per node the package constants and the chain of stages (module, instance,
        parameters, output width; rate-matching FIFOs included), the stream every node sends
        (lanes, beats, width, signedness) and the (beats, lanes) each compute node reads.
        model/emit_rtl.py renders it as SystemVerilog, model/emit_mem.py packs the weights
        for it, model/manifest.py records its streams, model/cycles.py times it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from model import arith
from model.arith import gap_multiplier
from model.graph import INPUT, Graph, QuantLayer, consumers
from model.nets import Fold

ACC_W = 32  # accumulator and logit width (int32), see docs/architecture.md
M_W = 16  # requantization multiplier width (model/arith.py keeps m below 2**15)
FIFO_DEPTH = 16  # rate-matching FIFO in front of folded compute units (bursts from pooling)
# Beats a skip FIFO gets beyond the cycle model's occupancy: the model's latencies are
# figures from the module headers, not the handshakes cycle by cycle.
SKIP_MARGIN = 4


@dataclass
class Stage:
    """One library instance in the chain."""

    module: str
    inst: str
    params: dict[str, str]  # name -> SystemVerilog expression
    out_w: str  # output tdata width expression
    comment: str = ""
    wload: bool = False  # fc_serial: connect the weight-load stream (else tied off)
    # The streams it reads when not the stage before it in the netlist: "inst" or "inst#k"
    # (output k of a fork); an add_unit reads two (a, b).
    srcs: tuple[str, ...] = ()
    n_out: int = 1  # outputs (axis_fork: one per consumer)
    keep_out: bool = False  # sends m_axis_tkeep, one bit per pixel lane (pool2x2_pix -> pix_repack)


@dataclass
class LayerHW:
    name: str
    kind: str
    consts: dict[str, int] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)


@dataclass
class Plan:
    """The folded hardware plan of one graph."""

    net: str
    in_shape: tuple[int, int, int]
    n_classes: int
    folds: dict[str, Fold]
    pow2: bool  # shift-only requantization (m = 1)
    formats: dict[str, tuple[int, int]]  # compute node -> (beats, lanes) of its input, see stream_formats
    streams: dict[str, Stream]  # node (and INPUT) -> its output stream
    layers: list[LayerHW]
    in_bits: int = 8  # 1: binarized pixels (a threshold stage on the pixel stream, 9-bit lanes)
    pix: int = 1  # pixels per beat of the input stream (IN_PIX)

    @property
    def in_beats(self) -> int:
        """Beats of an input frame."""
        return self.in_shape[1] * self.in_shape[2] // self.pix


def _act_bounds(act: str) -> tuple[int, int]:
    # ReLU output is uint8 (the lower clamp is the ReLU); a LUT activation takes int8.
    return (0, 255) if act == "relu" else (-128, 127)


def _rate_fifo(name: str, depth: int = FIFO_DEPTH, lane_w: str = "8") -> Stage:
    """A FIFO in front of a folded unit, so the bursts pooling (or a stride) makes don't stall
    the input."""
    up = name.upper()
    return Stage(
        "axis_fifo",
        f"{name}_fifo",
        {"DATA_W": f"{up}_C_IN*{lane_w}", "DEPTH": str(depth)},
        f"{up}_C_IN*{lane_w}",
        "absorbs the bursts of the stage before",
    )


def _unpack_stage(name: str, pixel_w: str, pix: int) -> Stage:
    """A pix_repack from `pix` pixels per beat to one, in front of a unit that takes one."""
    return Stage(
        "pix_repack",
        f"{name}_unpack",
        {"LANE_W": pixel_w, "N_IN": str(pix), "N_OUT": "1"},
        pixel_w,
        f"{pix} pixels per beat to one (this unit takes one)",
    )


def _window_fifo(name: str, depth: int, lane_w: str = "8") -> Stage:
    """A FIFO of windows between a window generator and its convolution unit: the generator
    runs ahead while the unit works (model/cycles.py `prefetch`)."""
    up = name.upper()
    width = f"{up}_K*{up}_K*{up}_C_IN*{lane_w}"
    return Stage(
        "axis_fifo", f"{name}_wfifo", {"DATA_W": width, "DEPTH": str(depth)}, width, "lets the windows run ahead"
    )


def _mac_params(name: str, shape: str, taps: bool = False, lowbit: bool = False) -> dict[str, str]:
    """Parameters of a conv_unit (shape K) or fc_unit (shape IN_BEATS): same folding, widths
    and memory files; `taps`: pass TAPS (conv_unit's default is all K*K taps); `lowbit`: pass
    W_BITS and A_BITS (their default is 8)."""
    up = name.upper()
    params = {shape: f"{up}_{shape}"}
    params.update({k: f"{up}_{k}" for k in ("C_IN", "C_OUT", "PE", "SIMD") + (("TAPS",) if taps else ())})
    if lowbit:
        params.update({"W_BITS": f"{up}_W_BITS", "A_BITS": f"{up}_A_BITS"})
    params.update(
        {"ACC_W": "ACC_W", "W_FILE": f'{{WEIGHTS_DIR, "/{name}_w.mem"}}', "B_FILE": f'{{WEIGHTS_DIR, "/{name}_b.mem"}}'}
    )
    return params


@dataclass(frozen=True)
class Stream:
    """The AXI4-Stream a node sends per frame: `beats` beats of `lanes` lanes of `width`
    bits each (two's complement when `signed`); docs/architecture.md "Streams". `pix`: pixels
    per beat (PIX=), the lanes of a beat being pixel after pixel in raster order."""

    lanes: int
    beats: int
    width: int
    signed: bool
    pix: int = 1

    def as_dict(self) -> dict:
        d = {"lanes": self.lanes, "beats": self.beats, "width": self.width, "signed": self.signed}
        return d | ({"pix": self.pix} if self.pix != 1 else {})


@dataclass(frozen=True)
class Rate:
    """Pixels per beat around one node (PIX=, `pix_rates`): of the stream it reads (`src`),
    where its unit works (`unit`: a pix_repack to 1 goes in front when it differs), and of
    the stream it sends (`out`)."""

    src: int
    unit: int
    out: int


def pix_unfit(node: QuantLayer, p: int) -> str | None:
    """Why `node` cannot take `p` pixels per beat (None: it can). Multi-pixel units exist for
    "same" stride-1 convolutions (window_gen_pix, conv_unit PIX), pooling (pool2x2_pix) and
    Dense layers whose input beats are whole (a beat of p pixels is p*C lanes)."""
    c, h, w = node.in_shape
    if p == 1:
        return None
    if (h * w) % p:
        return f"{p} does not divide its {h}x{w} pixels"
    if node.kind == "conv":
        if 2 * node.pad != node.k - 1 or node.stride != 1:
            return "only 'same' stride-1 convolutions take several pixels per beat"
        if p > w:
            return f"a beat of {p} pixels is wider than its rows of {w}"
    elif node.kind == "pool":
        if p % 2 or h % 2 or w % 2 or p > w:
            return "pooling takes an even number of pixels per beat, at most a row, on even sizes"
    elif node.kind != "dense":
        return f"no multi-pixel {node.kind} unit"
    return None


def pix_rates(graph: Graph) -> dict[str, Rate]:
    """Pixels per beat at every node, from the input's `graph.pix`. A node takes its input's
    rate when it can (`pix_unfit`), else one pixel per beat. Pooling sends the fewest pixels
    per beat that still carry a frame within the input's beats (the II bound: tiny at PIX=8
    pools 784 pixels in 98 beats to 196 pixels in 98 beats of 2), or one where its reader
    cannot take more. Residual graphs and low-bit networks run at one pixel per beat only."""
    if graph.pix == 1:
        return {node.name: Rate(1, 1, 1) for node in graph}
    bad = [n.name for n in graph if n.kind in ("add", "gap") or n.is_lowbit]
    if bad or graph.in_bits != 8:
        raise ValueError(
            f"{graph.name}: PIX={graph.pix} has no hardware mapping for {', '.join(bad) or 'binarized pixels'} "
            "(multi-pixel beats: int8 chains of convolution, pooling and Dense layers)"
        )
    c, h, w = graph.in_shape
    bound = h * w // graph.pix  # input beats per frame
    cons = consumers(graph)
    out: dict[str, Rate] = {}
    for node in graph:
        src = graph.source(node)
        p = graph.pix if src is None else out[src.name].out
        unit = p if pix_unfit(node, p) is None else 1
        if node.kind == "conv":
            rate = unit
        elif node.kind == "pool" and unit > 1:
            _, ho, wo = node.out_shape
            reader = graph[cons[node.name][0]]
            fits = [
                d
                for d in range(1, wo + 1)
                if (ho * wo) % d == 0
                and ho * wo // d <= bound
                and pix_unfit(replace(reader, in_shape=node.out_shape), d) is None
            ]
            rate = fits[0] if fits else 1
        else:
            rate = 1
        out[node.name] = Rate(p, unit, rate)
    return out


def streams(graph: Graph, folds: dict[str, Fold]) -> dict[str, Stream]:
    """The output stream of every node (and of INPUT, the pixel stream): one beat per pixel of
    all its channels, uint8; the logits node sends int32 accumulators; a `serial` Dense node
    (fc_serial) sends its C_OUT outputs as C_OUT/PE beats of PE lanes. A serial convolution's
    channel groups are gathered back into pixels (axis_gather) inside the layer."""
    c, h, w = graph.in_shape
    p = graph.pix
    out = {INPUT: Stream(c * p, h * w // p, 8, False, p)}
    rates = pix_rates(graph)
    for node in graph:
        c, h, w = node.out_shape
        width, signed = (ACC_W, True) if node.act == "none" and not node.signed_out else (8, node.signed_out)
        if node.is_lowbit and width != ACC_W:  # 1-, 2-, 4-bit lanes (a pool keeps its input's)
            width = node.a_bits
        f = folds.get(node.name)
        p = rates[node.name].out
        if node.kind == "dense" and f is not None and f.serial:
            out[node.name] = Stream(f.pe, c // f.pe, width, signed)
        else:
            out[node.name] = Stream(c * p, h * w // p, width, signed, p)
    return out


def stream_formats(graph: Graph, folds: dict[str, Fold]) -> dict[str, tuple[int, int]]:
    """(beats, lanes) of every compute node's input per frame item, the stream of the node it
    reads: a convolution sees pixels of C lanes; a Dense node sees H*W beats of C lanes, or,
    when it reads a serial Dense node, that node's C_OUT/PE beats of PE lanes. The weight files
    of a Dense node are laid out for these beats (IN_BEATS, C_IN; model/emit_mem.py)."""
    out = streams(graph, folds)
    rates = pix_rates(graph)
    fmt = {}
    for node in graph:
        if node.is_compute:
            src = graph.source(node)
            s = out[INPUT if src is None else src.name]
            u = rates[node.name].unit  # pixels per beat at the unit (1 behind a pix_repack)
            if s.pix != u:
                s = Stream(s.lanes // s.pix, s.beats * s.pix, s.width, s.signed)
            # a convolution's SIMD folds the channels of one pixel, a Dense layer's the whole beat
            fmt[node.name] = (s.beats, s.lanes // u if node.kind == "conv" else s.lanes)
    return fmt


def folds_per_item(node: QuantLayer, lanes: int, fold: Fold) -> int:
    """Cycles a compute unit spends on one window (conv) or one input beat (dense) of `lanes`
    input channels."""
    c_out = node.out_shape[0]
    if node.kind == "conv":
        kk = node.k * node.k
        return (c_out // fold.pe) * (lanes // fold.simd) * (kk // (fold.taps or kk))
    return (c_out // fold.pe) * (lanes // fold.simd)


def window_folds(cs: dict) -> int:
    """folds_per_item of a planned convolution, from its generated constants (K, C_IN, C_OUT,
    PE, SIMD and TAPS, which defaults to all K*K taps)."""
    kk = cs["K"] ** 2
    return (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"]) * (kk // cs.get("TAPS", kk))


def check_fold(where: str, node: QuantLayer, fold: Fold, lanes: int) -> None:
    """PE divides the output channels, SIMD the `lanes` of an input beat, TAPS (convolutions
    only) the k*k taps."""
    c_out = node.out_shape[0]
    if fold.pe < 1 or fold.simd < 1 or c_out % fold.pe or lanes % fold.simd:
        raise ValueError(
            f"{where}: PE={fold.pe} must divide {c_out} output channels and "
            f"SIMD={fold.simd} must divide {lanes} input channels"
        )
    if fold.taps is not None and not (node.kind == "conv" and fold.taps >= 1 and node.k**2 % fold.taps == 0):
        raise ValueError(f"{where}: TAPS={fold.taps} must divide the k*k taps of a convolution")


def check_dsp(where: str, node: QuantLayer, fold: Fold, pix: int) -> None:
    """`+dspN`: N of the layer's products in DSP blocks, the rest in lut_mul: only where
    conv_unit / fc_unit multiply (not fc_serial, not a 1-bit side)."""
    n = fold.products(node.k**2, pix) if node.kind == "conv" else fold.products()
    if fold.serial:
        raise ValueError(f"{where}: +dsp{fold.dsp} applies to conv_unit / fc_unit, not a serial folding")
    if 1 in (node.w_bits, node.a_in):
        raise ValueError(f"{where}: +dsp{fold.dsp}: a w{node.w_bits}a{node.a_in} layer has no multipliers")
    if not 0 <= fold.dsp <= n:
        raise ValueError(f"{where}: +dsp{fold.dsp} must be 0..{n}, the layer's products per cycle")


def check_folds(graph: Graph, folds: dict[str, Fold]) -> None:
    """Every compute node has a folding that fits it: checked before any training or export."""
    compute = [node for node in graph if node.is_compute]
    for node in compute:
        if node.name not in folds:
            raise ValueError(f"{graph.name}: no folding given for {node.name}")
    fmt = stream_formats(graph, folds)
    rates = pix_rates(graph)
    n_wload = 0
    for node in compute:
        f = folds[node.name]
        where = f"{graph.name}.{node.name}"
        check_fold(where, node, f, fmt[node.name][1])
        if f.serial and rates[node.name].unit > 1:
            raise ValueError(f"{where}: a serial folding takes one pixel per beat, not PIX={rates[node.name].unit}")
        if f.wload and node.kind != "dense":
            raise ValueError(f"{where}: wload applies to Dense layers only")
        if f.wload and not f.serial:
            raise ValueError(f"{where}: wload needs serial (fc_serial holds run-time weights)")
        if f.single and (node.kind != "dense" or f.serial):
            raise ValueError(f"{where}: single applies to Dense layers on fc_unit only (not serial)")
        if f.dsp is not None:
            check_dsp(where, node, f, rates[node.name].unit)
        n_wload += f.wload
    if n_wload > 1:
        raise ValueError(f"{graph.name}: one layer at most can load its weights at run time (the engine has one port)")


def _fork(name: str, width: str, n: int) -> Stage:
    return Stage("axis_fork", f"{name}_fork", {"DATA_W": width, "N": str(n)}, width, f"to {n} consumers", n_out=n)


def _add_stages(graph: Graph, node: QuantLayer, srcs: list[str], hw: LayerHW) -> None:
    """skip_fifo on the input that must wait for the other branch, then add_unit."""
    from model.cycles import skip_depth  # the cycle model plans on top of this module

    name, up = node.name, node.name.upper()
    side, depth = skip_depth(graph, node)
    a, b = (graph[i] if i != INPUT else None for i in node.inputs)
    m = node.m if node.m is not None else (1, 1)  # structure-only graphs: any constants
    r = node.r if node.r is not None else (1,)
    hw.consts = {
        "C": node.out_shape[0],
        "SIGNED_A": int(a is not None and a.signed_out),
        "SIGNED_B": int(b is not None and b.signed_out),
        "MA": int(m[0]),
        "MB": int(m[1]),
        "R": int(r[0]),
        "LO": 0,
        "HI": 255,
        "SKIP_LB": depth,  # line buffering: the least that does not deadlock
        "SKIP_DEPTH": depth,  # raised to the cycle model's occupancy by _size_skip_fifos
    }
    skip = f"{name}_skip"
    hw.stages.append(
        Stage(
            "skip_fifo",
            skip,
            {"DATA_W": f"{up}_C*8", "DEPTH": f"{up}_SKIP_DEPTH", "STALL_REPORT": "SKIP_STALL_REPORT"},
            f"{up}_C*8",
            f"holds input {'ab'[side]} ({node.inputs[side]}) while the other branch fills its line buffers",
            srcs=(srcs[side],),
        )
    )
    ins = [skip, srcs[1]] if side == 0 else [srcs[0], skip]
    params = {k: f"{up}_{k}" for k in ("C", "SIGNED_A", "SIGNED_B", "MA", "MB", "R")}
    params.update({"POW2": "POW2", "LO": f"{up}_LO", "HI": f"{up}_HI"})
    hw.stages.append(Stage("add_unit", name, params, f"{up}_C*8", "align the scales, add, ReLU", srcs=tuple(ins)))


def plan(graph: Graph, folds: dict[str, Fold], pow2: bool = False) -> Plan:
    """The stage netlist of a graph: which library modules, with which constants. A node
    read by several nodes ends in an axis_fork; an Add's skip input goes through a skip_fifo
    sized by the cycle model."""
    check_folds(graph, folds)
    fmt = stream_formats(graph, folds)
    cons = consumers(graph)
    if len(cons[INPUT]) > 1:
        raise ValueError(f"{graph.name}: the pixel stream may feed one layer only")
    out_ref: dict[str, list[str]] = {INPUT: ["pix"]}  # node -> the stream each consumer reads
    prev_inst = "pix"
    layers = []
    for idx, node in enumerate(graph):
        name = node.name
        up = name.upper()
        c_in, h, w = node.in_shape
        hw = LayerHW(name, node.kind)
        srcs = [out_ref[i].pop(0) for i in node.inputs]
        for i in node.inputs:
            if i != INPUT and graph[i].signed_out and node.kind != "add":
                raise ValueError(f"{graph.name}.{name}: reads int8 lanes of {i}; only an Add can")
        layers.append(hw)
        if node.kind == "add":
            _add_stages(graph, node, srcs, hw)
        elif node.kind == "gap":
            m, r = gap_multiplier(h * w)
            hw.consts = {"C": c_in, "N": h * w, "M": m, "R": r}
            hw.stages.append(
                Stage("gap_unit", name, {k: f"{up}_{k}" for k in hw.consts}, f"{up}_C*8", "global average pooling")
            )
        else:
            _chain_stages(graph, node, idx, folds, fmt, hw)
        if node.kind != "add" and srcs[0] != prev_inst:
            hw.stages[0].srcs = (srcs[0],)
        if node.inputs == (INPUT,) and graph.in_bits == 1:  # binarize the pixels first
            hw.stages.insert(0, _binarize_stage())
        out = hw.stages[-1]
        n = len(cons[name])
        if n > 1:
            out = _fork(name, out.out_w, n)
            hw.stages.append(out)
        out_ref[name] = [f"{out.inst}#{k}" for k in range(n)] if n > 1 else [out.inst]
        prev_inst = out.inst
    hw_plan = Plan(
        graph.name,
        graph.in_shape,
        graph.n_classes,
        dict(folds),
        pow2,
        fmt,
        streams(graph, folds),
        layers,
        graph.in_bits,
        graph.pix,
    )
    _size_skip_fifos(hw_plan)
    _prefetch(hw_plan)
    return hw_plan


# Window FIFO depths the prefetch sizing tries (axis_fifo: powers of two) and the deepest rate
# FIFO: the pixels of a few frames.
PREFETCH_WIN = (2, 4, 8, 16, 32)
PREFETCH_PX_FRAMES = 2


def _prefetch(hw_plan: Plan) -> None:
    """A convolution that the plan's II waits for because its window generator shifts only
    between windows (an unpadded kernel: H*W shifts for fewer windows; model/cycles.py
    `prefetch`) gets a window FIFO behind its generator and a rate FIFO deep enough for the
    pixels that arrive meanwhile (the next frame's first rows), the two sized by the cycle
    model: the fewest bits with which the unit keeps up without stalling the stage before.
    Only where that lowers the predicted II: other plans keep their netlist. Chains only (the
    cycle model's refill term is fitted on chains)."""
    from model.cycles import prefetch, stage_times

    if any(st.module == "add_unit" for hw in hw_plan.layers for st in hw.stages):
        return
    pixels = list(range(hw_plan.in_beats))
    for idx, hw in enumerate(hw_plan.layers):
        cs = hw.consts
        if hw.kind != "conv" or "STRIDE" in cs or "OUT_BEATS" in cs:
            continue
        ho, wo = cs["H"] + 2 * cs["PAD"] - cs["K"] + 1, cs["W"] + 2 * cs["PAD"] - cs["K"] + 1
        kk = cs["K"] ** 2
        f = window_folds(cs)
        if f == 1 or cs["H"] * cs["W"] <= ho * wo:  # the generator keeps up: one shift per window
            continue
        times, busy = stage_times(hw_plan, pixels)
        mac = f"{hw.name}_mac"
        work = f * ho * wo
        if busy[mac] <= max([work] + [v for k, v in busy.items() if k != mac]):
            continue  # not what the II waits for
        t_in, period = prefetch_input(hw_plan, idx, times, busy, work)
        lane_bits = int(cs.get("A_BITS", 8)) * cs["C_IN"]
        best = None
        for dw in PREFETCH_WIN:
            dp = FIFO_DEPTH
            while dp <= PREFETCH_PX_FRAMES * cs["H"] * cs["W"]:
                r = prefetch(t_in, period, cs["H"], cs["W"], cs["K"], cs["PAD"], f, dp, dw)
                if r.period <= period and r.stall == 0:
                    bits = (dp + dw * kk) * lane_bits
                    if best is None or bits < best[0]:
                        best = (bits, dp, dw)
                    break
                dp *= 2
        if best is None:
            continue
        _, dp, dw = best
        a_w = f"{hw.name.upper()}_A_BITS" if "A_BITS" in cs else "8"
        fifo = _rate_fifo(hw.name, dp, a_w)
        fifo.comment = "holds the pixels that arrive while the windows run ahead"
        win = next(i for i, st in enumerate(hw.stages) if st.module == "window_gen")
        if win and hw.stages[win - 1].inst == fifo.inst:  # deepen the rate FIFO
            fifo.srcs = hw.stages[win - 1].srcs
            hw.stages[win - 1] = fifo
        else:  # the window generator's input moves to the new FIFO
            fifo.srcs, hw.stages[win].srcs = hw.stages[win].srcs, ()
            hw.stages.insert(win, fifo)
            win += 1
        hw.stages.insert(win + 1, _window_fifo(hw.name, dw, a_w))


def prefetch_input(hw_plan: Plan, idx: int, times: dict, busy: dict, work: int):
    """(times of the pixels entering the rate FIFO, or the window generator, of layer `idx`;
    the period they come at: the slowest stage of the layers before, or the unit's own work)
    from model/cycles.py `stage_times` of the plan, as it times a window FIFO's layer."""
    flat = [st for hw in hw_plan.layers for st in hw.stages]
    hw = hw_plan.layers[idx]
    stages = hw.stages
    win = next(i for i, st in enumerate(stages) if st.module == "window_gen")
    entry = stages[win - 1] if win and stages[win - 1].inst == f"{hw.name}_fifo" else stages[win]
    pos = flat.index(entry)
    src = entry.srcs[0].split("#")[0] if entry.srcs else (flat[pos - 1].inst if pos else "pix")
    before = [busy[st.inst] for st in flat[: flat.index(stages[0])] if st.inst in busy]
    return times[src], max([work, busy["input"]] + before)


def _size_skip_fifos(hw_plan: Plan) -> None:
    """Each skip FIFO: the larger of the line-buffering bound (model/cycles.py skip_depth; one
    fewer deadlocks) and what the cycle model says it holds at full rate (the other branch's
    line buffering and latency), plus SKIP_MARGIN, so that the block never waits on its skip
    path."""
    from model.cycles import skip_occupancy

    occ = skip_occupancy(hw_plan)
    for hw in hw_plan.layers:
        if "SKIP_DEPTH" in hw.consts:
            lb = hw.consts["SKIP_LB"]
            hw.consts["SKIP_DEPTH"] = max(lb, occ[f"{hw.name}_skip"]) + SKIP_MARGIN


def _chain_stages(graph: Graph, node: QuantLayer, idx: int, folds, fmt, hw: LayerHW) -> None:
    """The stages of a pool, conv or dense node."""
    name = node.name
    up = name.upper()
    c_in, h, w = node.in_shape
    src = graph.source(node)
    rate = pix_rates(graph)[name]
    if rate.src > rate.unit:  # the unit takes one pixel per beat: split the beats first
        hw.stages.append(_unpack_stage(name, f"{c_in}*8", rate.src))
    if node.kind == "pool" and rate.unit > 1:
        hw.consts = {"H": h, "W": w, "C": c_in, "MODE": 0 if node.pool == "max" else 1}
        hw.consts.update({"PIX": rate.unit, "OUT_PIX": rate.out})
        # An odd row's pooled pixels come PIX/2 a beat, the even row's none: more than the
        # repack sends per cycle is buffered for a row (0: the bursts are no faster than that)
        _, _, wo = node.out_shape
        burst = -(-wo // (rate.unit // 2)) + 1  # beats of one pooled row, and one straddling
        hw.consts["PACK_FIFO"] = 1 << (burst - 1).bit_length() if rate.unit // 2 > rate.out else 0
        hw.stages.append(
            Stage(
                "pool2x2_pix",
                f"{name}_px",
                {k: f"{up}_{k}" for k in ("H", "W", "C", "MODE", "PIX")},
                f"({up}_PIX/2)*{up}_C*8",
                f"{node.pool} pool 2x2, {rate.unit} pixels per beat in, up to {rate.unit // 2} out",
                keep_out=True,
            )
        )
        hw.stages.append(
            Stage(
                "pix_repack",
                name,
                {"LANE_W": f"{up}_C*8", "N_IN": f"{up}_PIX/2", "N_OUT": f"{up}_OUT_PIX", "IN_FIFO": f"{up}_PACK_FIFO"},
                f"{up}_OUT_PIX*{up}_C*8",
                f"the pooled pixels in beats of {rate.out}",
            )
        )
        return
    if node.kind == "pool":
        hw.consts = {"H": h, "W": w, "C": c_in, "MODE": 0 if node.pool == "max" else 1}
        keys = ("H", "W", "C", "MODE")
        if node.is_lowbit:  # DW-bit lanes (bipolar max pooling is an OR)
            hw.consts["DW"] = node.a_in
            keys += ("DW",)
        hw.stages.append(
            Stage(
                "pool2x2",
                name,
                {k: f"{up}_{k}" for k in keys},
                f"{up}_C*{up}_DW" if node.is_lowbit else f"{up}_C*8",
                f"{node.pool} pool 2x2" + (f" on {node.a_in}-bit lanes" if node.is_lowbit else ""),
            )
        )
        return
    if not node.is_compute:
        raise ValueError(f"{graph.name}.{name}: no hardware mapping for a {node.kind!r} node yet")
    f = folds[name]
    c_out = node.out_shape[0]
    last = idx == len(graph) - 1
    # A FIFO where pooling's bursts (a row of outputs, then none) meet a folded unit: without
    # it the unit waits for the next burst at image boundaries (measured: up5k II +12 %).
    # Not after a Dense layer: its beats come evenly spaced.
    rate_fifo = folds_per_item(node, fmt[name][1], f) > 1 and src is not None and src.kind == "pool"
    # A strided convolution keeps the windows of every S-th row only: the unit works through
    # them while the next rows arrive. Without a row of buffering its input stalls the whole
    # block upstream in the meantime.
    depth = FIFO_DEPTH
    if node.kind == "conv" and node.stride > 1 and folds_per_item(node, fmt[name][1], f) > 1:
        rate_fifo, depth = True, 1 << (w - 1).bit_length()
    lowbit = node.is_lowbit
    pix_w = f"{up}_PIX*" if rate.unit > 1 and node.kind == "conv" else ""  # PIX pixels per output beat
    # lane width of the input stream and of the activation's output
    a_w = f"{up}_A_BITS" if lowbit else "8"
    thresholded = lowbit and not last
    if node.kind == "conv":
        hw.consts = {
            "H": h,
            "W": w,
            "C_IN": c_in,
            "C_OUT": c_out,
            "K": node.k,
            "PAD": node.pad,
            "PE": f.pe,
            "SIMD": f.simd,
        }
        if node.stride > 1:  # windows on the stride grid only (stride_sel after window_gen)
            hw.consts["STRIDE"] = node.stride
            hw.consts["WIN_H"] = h + 2 * node.pad - node.k + 1
            hw.consts["WIN_W"] = w + 2 * node.pad - node.k + 1
        if f.taps is not None:  # else conv_unit computes all K*K taps per cycle
            hw.consts["TAPS"] = f.taps
        if rate.unit > 1:  # PIX windows per beat, every weight shared by them
            hw.consts["PIX"] = rate.unit
        if f.serial:  # one output beat per group of PE channels
            hw.consts["OUT_BEATS"] = c_out // f.pe
        if lowbit:
            _lowbit_consts(hw, node, last)
        if rate_fifo:
            hw.stages.append(_rate_fifo(name, depth, a_w if rate.unit == 1 else f"{up}_PIX*8"))
        if rate.unit > 1:
            hw.stages.append(
                Stage(
                    "window_gen_pix",
                    f"{name}_win",
                    {k: f"{up}_{k}" for k in ("H", "W")}
                    | {"C": f"{up}_C_IN", "DW": "8", "K": f"{up}_K", "PAD": f"{up}_PAD", "PIX": f"{up}_PIX"},
                    f"{up}_PIX*{up}_K*{up}_K*{up}_C_IN*8",
                    f"{node.k}x{node.k} windows, padding {node.pad}, {rate.unit} per beat",
                )
            )
        else:
            hw.stages.append(
                Stage(
                    "window_gen",
                    f"{name}_win",
                    {"H": f"{up}_H", "W": f"{up}_W", "C": f"{up}_C_IN", "DW": a_w, "K": f"{up}_K", "PAD": f"{up}_PAD"},
                    f"{up}_K*{up}_K*{up}_C_IN*{a_w}",
                    f"{node.k}x{node.k} windows, padding {node.pad}"
                    + (" (lane code 0: -1 on this bipolar stream)" if node.pad and node.a_in == 1 else ""),
                )
            )
        if node.stride > 1:
            hw.stages.append(
                Stage(
                    "stride_sel",
                    f"{name}_stride",
                    {
                        "DATA_W": f"{up}_K*{up}_K*{up}_C_IN*8",
                        "H": f"{up}_WIN_H",
                        "W": f"{up}_WIN_W",
                        "S": f"{up}_STRIDE",
                    },
                    f"{up}_K*{up}_K*{up}_C_IN*8",
                    f"the windows of stride {node.stride}",
                )
            )
        # Narrow accumulators, as for the Dense units; the threshold of a low-bit layer then
        # compares SUM_W bits too.
        hw.stages.append(
            Stage(
                "conv_unit",
                f"{name}_mac",
                {
                    **_mac_params(name, "K", f.taps is not None, lowbit),
                    **_narrow_sum_param(hw, graph, node, f, terms=f.simd * (f.taps or node.k**2)),
                    **({"SERIAL": "1"} if f.serial else {}),
                    **({"PIX": f"{up}_PIX"} if rate.unit > 1 else {}),
                    **_dsp_param(hw, name, f),
                    **_dot_pipe_param(hw, name, f.simd * (f.taps or node.k**2)),
                },
                f"{up}_PE*ACC_W" if f.serial else f"{pix_w}{up}_C_OUT*ACC_W",
                (f"{rate.unit} windows x " if rate.unit > 1 else "")
                + f"PE={f.pe} x SIMD={f.simd} x {f.taps or node.k * node.k} taps"
                + (f", {c_out // f.pe} beats of {f.pe} channels per pixel" if f.serial else "")
                + _bits_note(node)
                + _dsp_note(f),
            )
        )
    else:
        beats, lanes = fmt[name]
        hw.consts = {"IN_BEATS": beats, "C_IN": lanes, "C_OUT": c_out, "PE": f.pe, "SIMD": f.simd}
        if lowbit:
            if f.serial:
                raise ValueError(f"{graph.name}.{name}: fc_serial is int8 only; a low-bit Dense layer uses fc_unit")
            _lowbit_consts(hw, node, last)
        if rate_fifo:
            hw.stages.append(_rate_fifo(name, lane_w=a_w))
        if f.serial:
            hw.consts["OUT_BEATS"] = c_out // f.pe
            hw.consts["W_LOAD"] = int(f.wload)
            params = {**_mac_params(name, "IN_BEATS"), "W_LOAD": f"{up}_W_LOAD"}
            params.update(_narrow_sum_param(hw, graph, node, f))  # int8 serial unit too
            hw.stages.append(
                Stage(
                    "fc_serial",
                    f"{name}_mac",
                    params,
                    f"{up}_PE*ACC_W",
                    f"{beats} beats x {lanes} -> {c_out} in {c_out // f.pe} beats, PE={f.pe} x SIMD={f.simd}"
                    + (", weights loaded at run time" if f.wload else ""),
                    wload=f.wload,
                )
            )
        else:
            params = _mac_params(name, "IN_BEATS", lowbit=lowbit)
            if lowbit:  # narrow accumulators (int8 layers keep SUM_W = ACC_W, the default)
                hw.consts["SUM_W"] = sum_width(graph.name, node, f)
                params["SUM_W"] = f"{up}_SUM_W"
            if f.single:  # no output register: the result waits in the accumulators
                hw.consts["OUT_REG"] = 0
                params["OUT_REG"] = f"{up}_OUT_REG"
            params.update(_dsp_param(hw, name, f))
            params.update(_dot_pipe_param(hw, name, f.simd))
            hw.stages.append(
                Stage(
                    "fc_unit",
                    f"{name}_mac",
                    params,
                    f"{up}_C_OUT*ACC_W",
                    f"{beats} beats x {lanes} -> {c_out}, PE={f.pe} x SIMD={f.simd}" + _bits_note(node) + _dsp_note(f),
                )
            )
    act = node.act
    if last:
        if act != "none":
            raise ValueError(f"{graph.name}: the last layer must have no activation (its accumulators are logits)")
        # The result formatter compares only the bits a logit can need, the worst case of this
        # accumulator from the integer weights (the upper bits are sign copies), as FINN sizes
        # its accumulators.
        if "SUM_W" not in hw.consts and node.weight is not None and node.bias is not None:
            hw.consts["LOGIT_W"] = min(ACC_W, layer_acc_bound(_bounding_node(node, f)).bit_length() + 1)
    elif thresholded:
        serial = f.serial
        lanes_out = f"{up}_PE" if serial else f"{up}_C_OUT"
        hw.stages.append(
            Stage(
                "threshold",
                f"{name}_th",
                {
                    "C": lanes_out,
                    **({"BEATS": f"{up}_OUT_BEATS"} if serial else {}),
                    "ACC_W": "ACC_W",
                    # after narrow accumulators: compare only the bits that carry the value
                    **({"IN_W": f"{up}_SUM_W"} if "SUM_W" in hw.consts else {}),
                    "A_OUT": f"{up}_A_OUT",
                    "T_FILE": f'{{WEIGHTS_DIR, "/{name}_t.mem"}}',
                },
                f"{lanes_out}*{up}_A_OUT",
                f"{2**node.a_bits - 1} threshold(s) per channel: "
                + ("bipolar sign" if node.a_bits == 1 else f"{node.a_bits}-bit activations")
                + " (batch norm folded in)",
            )
        )
        if serial and node.kind == "conv":
            hw.stages.append(
                Stage(
                    "axis_gather",
                    f"{name}_gather",
                    {"DATA_W": f"{up}_PE*{up}_A_OUT", "N": f"{up}_OUT_BEATS"},
                    f"{up}_C_OUT*{up}_A_OUT",
                    "the channel groups of a pixel back into one beat",
                )
            )
    else:
        if act == "none" and node.kind != "conv":
            raise ValueError(f"{graph.name}.{name}: only the last layer or a convolution may have no activation")
        lo, hi = _act_bounds(act)
        hw.consts.update({"LO": lo, "HI": hi})
        # after a serial unit: PE lanes per beat, OUT_BEATS beats per pixel / frame
        serial = f.serial
        lanes_out = f"{up}_PE" if serial else f"{up}_C_OUT"
        hw.stages.append(
            Stage(
                "requant",
                f"{name}_rq",
                {
                    "C": lanes_out,
                    **({"BEATS": f"{up}_OUT_BEATS"} if serial else {}),
                    **({"PIX": f"{up}_PIX"} if pix_w else {}),
                    "ACC_W": "ACC_W",
                    "M_W": "M_W",
                    "LO": f"{up}_LO",
                    "HI": f"{up}_HI",
                    "POW2": "POW2",
                    "M_FILE": f'{{WEIGHTS_DIR, "/{name}_m.mem"}}',
                    "R_FILE": f'{{WEIGHTS_DIR, "/{name}_r.mem"}}',
                },
                f"{pix_w}{lanes_out}*8",
                "per-channel multiply, round, shift, clamp" + (" (fused ReLU)" if act == "relu" else ""),
            )
        )
        if act == "sigmoid":
            hw.stages.append(
                Stage(
                    "act_lut",
                    f"{name}_act",
                    {"C": f"{pix_w}{lanes_out}", "LUT_FILE": f'{{WEIGHTS_DIR, "/{name}_lut.mem"}}'},
                    f"{pix_w}{lanes_out}*8",
                    "sigmoid lookup table",
                )
            )
        if serial and node.kind == "conv":  # pooling and windows take whole pixels
            hw.stages.append(
                Stage(
                    "axis_gather",
                    f"{name}_gather",
                    {"DATA_W": f"{up}_PE*8", "N": f"{up}_OUT_BEATS"},
                    f"{up}_C_OUT*8",
                    "the channel groups of a pixel back into one beat",
                )
            )


def dot_width(w_bits: int, a_bits: int, simd: int) -> int:
    """rtl/lane_dot.sv's DOT_W: the exact width of one SIMD-lane dot product."""
    if w_bits == 1 and a_bits == 1:
        prod = 2
    elif w_bits == 1:
        prod = a_bits + 1
    elif a_bits == 1:
        prod = w_bits + 1
    else:
        prod = w_bits + a_bits
    return prod + (simd - 1).bit_length()


def layer_acc_bound(node: QuantLayer) -> int:
    """The worst case |accumulator| of a quantized compute node, from its integer weights (values)
    and bias: |bias| + sum|w| * max|x| over every input (arith.acc_bound). Every partial sum is
    bounded by it too (it is a sum of a subset of the same terms)."""
    return arith.acc_bound(node.weight, node.bias, arith.in_max(node.a_in))


def check_sum_width(where: str, bound: int, sum_w: int) -> None:
    """An accumulator of sum_w bits (two's complement) holds every value in +-bound, or the
    layer is refused: a narrower one would wrap and the outputs would no longer be exact."""
    if bound >= 1 << (sum_w - 1):
        raise ValueError(
            f"{where}: accumulator width {sum_w} bits is too narrow: the worst case |accumulator| "
            f"{bound} needs {bound.bit_length() + 1} bits"
        )


def _bounding_node(node: QuantLayer, fold: Fold) -> QuantLayer:
    """The node whose integer weights bound its accumulator: weights loaded at run time
    (`wload`) are unknown to the export, so every one is taken at int8's extreme, -128."""
    if fold.wload and node.weight is not None:
        return replace(node, weight=np.full_like(node.weight, -128))
    return node


def _narrow_sum_param(hw: LayerHW, graph: Graph, node: QuantLayer, f: Fold, terms: int | None = None) -> dict[str, str]:
    """SUM_W for an int8 or low-bit conv_unit or an fc_serial, when narrower than ACC_W (their
    32-bit carry chains were the UP5K's critical paths): set in the layer's constants, and the
    unit's parameter naming it (none at ACC_W, the units' default)."""
    sum_w = sum_width(graph.name, _bounding_node(node, f), f, terms)
    if sum_w >= ACC_W:
        return {}
    hw.consts["SUM_W"] = sum_w
    return {"SUM_W": f"{node.name.upper()}_SUM_W"}


def sum_width(graph_name: str, node: QuantLayer, fold: Fold, terms: int | None = None) -> int:
    """SUM_W of a conv_unit, a low-bit fc_unit or an fc_serial node, computed offline as FINN
    does: the fewest bits that hold the worst case |accumulator| (layer_acc_bound), and at least
    the dot product's width (the unit adds a DOT_W-bit dot of `terms` products, default SIMD,
    each cycle). ACC_W without integer weights (a plan of the structure alone, e.g. for the
    cycle model)."""
    if node.weight is None or node.bias is None:
        return ACC_W
    bound = layer_acc_bound(node)
    sum_w = max(bound.bit_length() + 1, dot_width(node.w_bits, node.a_in, terms or fold.simd))
    if sum_w > ACC_W:
        raise ValueError(f"{graph_name}.{node.name}: worst case |accumulator| {bound} does not fit int{ACC_W}")
    check_sum_width(f"{graph_name}.{node.name}", bound, sum_w)
    return sum_w


def _lowbit_consts(hw: LayerHW, node: QuantLayer, last: bool) -> None:
    """W_BITS, A_BITS (input lanes) and A_OUT (threshold output; not on the logits layer)."""
    hw.consts["W_BITS"] = node.w_bits
    hw.consts["A_BITS"] = node.a_in
    if not last:
        hw.consts["A_OUT"] = node.a_bits


def _dsp_param(hw: LayerHW, name: str, f: Fold) -> dict[str, str]:
    """DSP_MULS for a layer whose products are split between DSP blocks and logic cells."""
    if f.dsp is None:
        return {}
    hw.consts["DSP_MULS"] = f.dsp
    return {"DSP_MULS": f"{name.upper()}_DSP_MULS"}


# Adder levels a dot product's tree may have within one clock cycle. A deeper tree gets a
# register halfway up and each product its operands registered at the multiplier (conv_unit /
# fc_unit DOT_PIPE = 3, two cycles more latency). Measured on the ECP5-25k (docs/synthesis.md):
# tiny's conv2 tree of 36 terms (6 levels) took 15 ns, the critical path at 64.8 MHz; halved, the
# next was its DSP products, 11.4 ns of which 7 routing to the DSP column and back.
DOT_TREE_LEVELS = 3


def dot_pipe(terms: int) -> int:
    """DOT_PIPE for a lane_dot of `terms` products: 3 when its tree is deeper than DOT_TREE_LEVELS."""
    return 3 if (terms - 1).bit_length() > DOT_TREE_LEVELS else 1


def _dot_pipe_param(hw: LayerHW, name: str, terms: int) -> dict[str, str]:
    if dot_pipe(terms) == 1:
        return {}
    hw.consts["DOT_PIPE"] = 3
    return {"DOT_PIPE": f"{name.upper()}_DOT_PIPE"}


def _dsp_note(f: Fold) -> str:
    return "" if f.dsp is None else f", {f.dsp} products on DSP blocks, the others in LUTs"


def _bits_note(node: QuantLayer) -> str:
    if not node.is_lowbit:
        return ""
    kind = (
        "XNOR-popcount"
        if node.w_bits == 1 and node.a_in == 1
        else "sign select"
        if 1 in (node.w_bits, node.a_in)
        else "multiply"
    )
    return f", w{node.w_bits}a{node.a_in} ({kind})"


INPUT_T_FILE = "input_t.mem"  # the binarizing threshold (model/emit_mem.py writes it)


def _binarize_stage() -> Stage:
    """Binarized pixels (Net.in_bits = 1): a one-lane threshold unit on the pixel stream, which
    cnn_layers zero-extends to 9 bits (the unit compares signed lanes): +1 for pixel >= 128."""
    return Stage(
        "threshold",
        "input_bin",
        {"C": "1", "ACC_W": "9", "A_OUT": "1", "T_FILE": f'{{WEIGHTS_DIR, "/{INPUT_T_FILE}"}}'},
        "1",
        "binarized pixels: bit 1 (+1) for pixel >= 128",
    )
