"""Figures of docs/rtl-library.md and docs/engine.md, drawn from the model package.

    .venv/bin/python docs/figures.py

Writes docs/img/engine_<net>.png (block diagram of cnn_engine, from model.plan.plan) for the
networks below, docs/img/graph_resnet8.png (the residual network's dataflow graph, from its
description and plan) and docs/img/engine_timing.png (AXI-Stream ports for one frame, II and
latency from model.cycles.predict). Output is deterministic (no timestamp or software tag).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.cycles import predict  # noqa: E402
from model.graph import from_net  # noqa: E402
from model.nets import get_net  # noqa: E402
from model.plan import FIFO_DEPTH, plan  # noqa: E402

OUT = REPO / "docs" / "img"
NETS = ("tiny", "lenet5")
PNG_META = {"Software": None}
FLAG_FIFO_DEPTH = 8  # rtl/cnn_engine.sv parameter default

COLORS = {
    "frame_sanitizer": "#f4cccc",
    "result_formatter": "#f4cccc",
    "window_gen": "#cfe2f3",
    "conv_unit": "#9fc5e8",
    "fc_unit": "#9fc5e8",
    "requant": "#d9ead3",
    "act_lut": "#d9ead3",
    "pool2x2": "#fff2cc",
    "axis_fifo": "#eeeeee",
}

plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "cnn"})


# --- block diagram --------------------------------------------------------------------------

BOX_W, BOX_H, GAP_X, ROW_H = 3.4, 1.3, 0.6, 2.05


def _box(ax, x, y, module, lines, color=None, dashed=False):
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            BOX_W,
            BOX_H,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            fc=color or COLORS.get(module, "white"),
            ec="black",
            lw=1.0,
            ls="--" if dashed else "-",
        )
    )
    ax.text(x + BOX_W / 2, y + BOX_H - 0.2, module, ha="center", va="center", fontsize=9.5, weight="bold")
    ax.text(x + BOX_W / 2, y + BOX_H - 0.4, "\n".join(lines), ha="center", va="top", fontsize=7.5, linespacing=1.3)


def _arrow(ax, pts, label=None, dashed=False, label_at=0, label_off=(0.08, 0.0)):
    xs, ys = zip(*pts, strict=True)
    ax.plot(xs[:-1] + (xs[-1],), ys, color="black", lw=1.0, ls="--" if dashed else "-")
    ax.annotate(
        "",
        xy=pts[-1],
        xytext=pts[-2],
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.0, "shrinkA": 0, "shrinkB": 0},
    )
    if label:
        (x0, y0), (x1, y1) = pts[label_at], pts[label_at + 1]
        ax.text(
            (x0 + x1) / 2 + label_off[0],
            (y0 + y1) / 2 + label_off[1],
            label,
            fontsize=7,
            color="#333333",
            ha="left" if x0 == x1 else "center",
            va="center" if x0 == x1 else "bottom",
        )


def _stage_lines(st, cs) -> list[str]:
    """Instance name and the figures that matter for that stage."""
    m = st.module
    if m == "window_gen":
        return [f"u_{st.inst}", f"{cs['H']}x{cs['W']}x{cs['C_IN']}, K={cs['K']} PAD={cs['PAD']}"]
    if m == "conv_unit":
        f = (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"])
        return [
            f"u_{st.inst}",
            f"{cs['C_IN']}->{cs['C_OUT']} ch, PE={cs['PE']} SIMD={cs['SIMD']}",
            f"{f} cycle{'s' if f > 1 else ''}/window",
        ]
    if m == "fc_unit":
        f = (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"])
        return [
            f"u_{st.inst}",
            f"{cs['IN_BEATS']} beats x {cs['C_IN']} -> {cs['C_OUT']}",
            f"PE={cs['PE']} SIMD={cs['SIMD']}, {f} cyc/beat",
        ]
    if m == "requant":
        return [f"u_{st.inst}", f"clamp {cs['LO']}..{cs['HI']}" + (" (ReLU)" if cs["LO"] == 0 else "")]
    if m == "pool2x2":
        return [f"u_{st.inst}", f"{cs['H']}x{cs['W']}x{cs['C']}, " + ("max" if cs["MODE"] == 0 else "avg")]
    if m == "axis_fifo":
        return [f"u_{st.inst}", f"DEPTH={FIFO_DEPTH}, rate matching"]
    if m == "act_lut":
        return [f"u_{st.inst}", "sigmoid, 256 entries"]
    return [f"u_{st.inst}"]


def _layer_label(hw) -> str:
    cs = hw.consts
    if hw.kind == "conv":
        return f"{hw.name}: conv {cs['K']}x{cs['K']}"
    if hw.kind == "pool":
        return f"{hw.name}: pool 2x2"
    return f"{hw.name}: dense"


def block_diagram(net_name: str) -> Path:
    net = get_net(net_name)
    layers = plan(from_net(net), net.folds).layers
    # Pool layers share the row of the conv before them.
    rows: list[tuple[str, list]] = []
    for hw in layers:
        if hw.kind == "pool" and rows:
            label, stages = rows[-1]
            rows[-1] = (label + "\n+ " + _layer_label(hw), stages + [(s, hw.consts) for s in hw.stages])
        else:
            rows.append((_layer_label(hw), [(s, hw.consts) for s in hw.stages]))
    n_cols = max(len(s) for _, s in rows)
    x0 = 2.3  # room for the row labels
    width = x0 + n_cols * (BOX_W + GAP_X) + BOX_W + 0.8
    n_rows = len(rows) + 2
    height = n_rows * ROW_H + 0.9
    fig, ax = plt.subplots(figsize=(width * 0.62, height * 0.62))
    ax.set_xlim(0, width)
    ax.set_ylim(-0.2, height)
    ax.axis("off")

    def row_y(r):  # bottom of the boxes of row r (0 = top row)
        return height - 1.1 - (r + 1) * ROW_H + (ROW_H - BOX_H) / 2

    c, h, w = net.in_shape
    # Row 0: input and sanitizer.
    y = row_y(0)
    san_x = x0
    _box(ax, san_x, y, "frame_sanitizer", ["u_sanitizer", f"N_BEATS={h * w}", "1 flag per frame"])
    _arrow(ax, [(0.1, y + BOX_H / 2), (san_x, y + BOX_H / 2)])
    ax.text(0.1, y + BOX_H / 2 + 0.12, "s_axis\n8-bit pixels", fontsize=7.5, va="bottom")
    prev_out = (san_x + BOX_W / 2, y)  # bottom centre of the previous box
    # cnn_layers: one row per layer (pool folded into the conv row).
    layer_top = row_y(1) + BOX_H + 0.22
    last_row = 0
    for r, (label, stages) in enumerate(rows, start=1):
        y = row_y(r)
        ax.text(0.1, y + BOX_H / 2, label, fontsize=7.5, va="center", ha="left", style="italic")
        for i, (st, cs) in enumerate(stages):
            x = x0 + i * (BOX_W + GAP_X)
            _box(ax, x, y, st.module, _stage_lines(st, cs))
            if i == 0:
                px, py = prev_out
                mid = py - (py - (y + BOX_H)) / 2
                _arrow(ax, [(px, py), (px, mid), (x + BOX_W / 2, mid), (x + BOX_W / 2, y + BOX_H)])
            else:
                _arrow(ax, [(x - GAP_X, y + BOX_H / 2), (x, y + BOX_H / 2)])
        last_x = x0 + (len(stages) - 1) * (BOX_W + GAP_X)
        prev_out = (last_x + BOX_W / 2, y)
        last_row = r
    layer_bot = row_y(last_row) - 0.22
    ax.add_patch(
        FancyBboxPatch(
            (0.02, layer_bot),
            x0 - 0.02 + n_cols * (BOX_W + GAP_X) - 0.25,
            layer_top - layer_bot,
            boxstyle="round,pad=0.02,rounding_size=0.15",
            fc="none",
            ec="#777777",
            ls=":",
        )
    )
    ax.text(
        x0 + n_cols * (BOX_W + GAP_X) - 0.35,
        layer_bot + 0.1,
        f"cnn_layers (generated: weights/{net.name}/cnn_layers.sv)",
        ha="right",
        va="bottom",
        fontsize=8,
        color="#555555",
        style="italic",
    )
    # Last row: formatter and output.
    y = row_y(last_row + 1)
    fx = x0
    _box(ax, fx, y, "result_formatter", ["u_formatter", f"{net.n_classes} logits + class", "TLAST, TUSER[0]=flag"])
    px, py = prev_out
    mid = py - (py - (y + BOX_H)) / 2
    _arrow(
        ax,
        [(px, py), (px, mid), (fx + BOX_W / 2, mid), (fx + BOX_W / 2, y + BOX_H)],
        label=f"{net.n_classes} x int32 logits, 1 beat/frame",
        label_at=2,
        label_off=(0.1, -0.05),
    )
    _arrow(ax, [(fx + BOX_W, y + BOX_H / 2), (fx + BOX_W + 1.2, y + BOX_H / 2)])
    ax.text(fx + BOX_W + 0.1, y + BOX_H / 2 - 0.12, "m_axis\n32-bit beats", fontsize=7.5, va="top")
    # Flag FIFO side path on the right.
    qx = x0 + n_cols * (BOX_W + GAP_X) + 0.4
    qy = (row_y(0) + row_y(last_row + 1)) / 2
    _box(ax, qx, qy, "axis_fifo", ["u_flag_fifo, DATA_W=1", f"DEPTH={FLAG_FIFO_DEPTH}"], color="#f9e0c7", dashed=True)
    sy = row_y(0) + BOX_H / 2
    _arrow(
        ax,
        [(san_x + BOX_W, sy), (qx + BOX_W / 2, sy), (qx + BOX_W / 2, qy + BOX_H)],
        dashed=True,
        label="m_flag (malformed)",
        label_at=0,
        label_off=(0.0, 0.05),
    )
    fy = row_y(last_row + 1) + BOX_H * 0.75
    _arrow(
        ax,
        [(qx + BOX_W / 2, qy), (qx + BOX_W / 2, fy), (fx + BOX_W, fy)],
        dashed=True,
        label="s_flag",
        label_at=0,
        label_off=(0.08, 0.0),
    )
    ax.text(
        width / 2,
        height - 0.25,
        f"cnn_engine, network '{net.name}' (default folding, model.plan.plan)",
        ha="center",
        va="top",
        fontsize=11,
        weight="bold",
    )
    out = OUT / f"engine_{net.name}.png"
    fig.savefig(out, dpi=130, bbox_inches="tight", metadata=PNG_META)
    plt.close(fig)
    return out


# --- timing diagram -------------------------------------------------------------------------


def _bit(ax, t0, t1, level_at, y, amp=0.6):
    """A 1-bit waveform from t0 to t1; level_at(cycle) in {0, 1}. Cycle n spans [n, n+1)."""
    xs, ys = [], []
    for n in range(t0, t1):
        v = level_at(n)
        xs += [n, n + 1]
        ys += [y + v * amp, y + v * amp]
    ax.plot(xs, ys, color="black", lw=1.2, drawstyle="default")


def _bus(ax, t0, t1, label_at, y, amp=0.6):
    """A bus: hexagon per cycle with a label; label_at(cycle) -> str or None (idle)."""
    for n in range(t0, t1):
        lab = label_at(n)
        if lab is None:
            ax.plot([n, n + 1], [y + amp / 2] * 2, color="#888888", lw=1.0)
            continue
        e = 0.12
        ax.fill(
            [n, n + e, n + 1 - e, n + 1, n + 1 - e, n + e],
            [y + amp / 2, y + amp, y + amp, y + amp / 2, y, y],
            fc="#dde8f5",
            ec="black",
            lw=0.9,
        )
        ax.text(n + 0.5, y + amp / 2, lab, ha="center", va="center", fontsize=6.5)


def timing_diagram(net_name: str = "tiny") -> Path:
    net = get_net(net_name)
    p = predict(net, net.folds)
    n_pix = net.in_shape[1] * net.in_shape[2]
    n_cls = net.n_classes
    ii = int(round(p.ii_cycles))
    lat = p.latency_cycles  # first input beat at cycle 0 -> last result beat at cycle lat
    out0 = lat - n_cls  # first result beat
    windows = [(-2, 7), (n_pix - 5, n_pix + 4), (out0 - 3, lat + 3)]
    titles = [
        "frame start: pixel 0 in cycle 0",
        f"frame end: pixel {n_pix - 1} in cycle {n_pix - 1}",
        f"result frame: class beat in cycle {lat}",
    ]

    def s_valid(n):
        return int(0 <= n < n_pix)

    def s_data(n):
        return f"p{n}" if s_valid(n) else None

    def s_last(n):
        return int(n == n_pix - 1)

    def m_valid(n):
        return int(out0 <= n <= lat)

    def m_data(n):
        if not m_valid(n):
            return None
        k = n - out0
        return f"L{k}" if k < n_cls else "class"

    def m_last(n):
        return int(n == lat)

    def m_user(n):
        return 0

    sigs = [
        ("clk", None),
        ("s_axis_tvalid", ("bit", s_valid)),
        ("s_axis_tready", ("bit", lambda n: 1)),
        ("s_axis_tdata[7:0]", ("bus", s_data)),
        ("s_axis_tlast", ("bit", s_last)),
        ("m_axis_tvalid", ("bit", m_valid)),
        ("m_axis_tready", ("bit", lambda n: 1)),
        ("m_axis_tdata[31:0]", ("bus", m_data)),
        ("m_axis_tlast", ("bit", m_last)),
        ("m_axis_tuser[0]", ("bit", m_user)),
    ]
    ratios = [w[1] - w[0] for w in windows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6), sharey=True, gridspec_kw={"width_ratios": ratios, "wspace": 0.06})
    ys = {name: (len(sigs) - 1 - i) * 1.0 for i, (name, _) in enumerate(sigs)}
    for ax, (t0, t1), title in zip(axes, windows, titles, strict=True):
        for name, spec in sigs:
            y = ys[name]
            if name == "clk":
                xs, yy = [], []
                for n in range(t0, t1):
                    xs += [n, n, n + 0.5, n + 0.5]
                    yy += [y, y + 0.6, y + 0.6, y]
                ax.plot(xs, yy, color="#555555", lw=0.8)
            elif spec[0] == "bit":
                _bit(ax, t0, t1, spec[1], y)
            else:
                _bus(ax, t0, t1, spec[1], y)
        ax.set_xlim(t0, t1)
        ax.set_xticks(range(t0, t1 + 1))
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", color="#dddddd", lw=0.5)
        for s in ("top", "right", "left"):
            ax.spines[s].set_visible(False)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks([ys[n] + 0.3 for n, _ in sigs])
    axes[0].set_yticklabels([n for n, _ in sigs], fontsize=8.5)
    axes[1].set_xlabel(
        "clock cycle (pixel 0 accepted in cycle 0, input at one pixel per cycle, output never stalled)", fontsize=8.5
    )
    # Markers: II on the middle panel, latency on the right panel.
    ys["s_axis_tdata[7:0]"] + 0.3
    axes[1].text(
        ii + 2.0,
        ys["s_axis_tdata[7:0]"] + 0.3,
        f"II = {ii}: the next\nframe's p0 may\nenter in cycle {ii}",
        ha="center",
        va="center",
        fontsize=7,
        color="#1f4e79",
    )
    axes[1].text(
        n_pix - 1.5, ys["s_axis_tlast"] + 0.72, f"TLAST on pixel {n_pix} (p{n_pix - 1})", ha="center", fontsize=7.5
    )
    axes[2].text(
        lat - 1.5,
        ys["m_axis_tlast"] + 0.72,
        f"TLAST on the class beat (cycle {lat} = latency)",
        ha="center",
        fontsize=7.5,
    )
    axes[2].text(
        out0 - 2.9,
        ys["m_axis_tuser[0]"] + 0.3,
        "TUSER[0] = frame's malformed flag,\nsame on all beats (0 here)",
        fontsize=7,
        va="center",
    )
    axes[2].text(
        (out0 + lat + 1) / 2,
        ys["m_axis_tdata[31:0]"] + 0.9,
        f"{n_cls} logits L0..L{n_cls - 1} (int32), then the class",
        ha="center",
        fontsize=7.5,
    )
    # Axis breaks.
    for ax in axes[1:]:
        ax.text(ax.get_xlim()[0], -0.45, "//", ha="center", va="center", fontsize=10)
    fig.suptitle(
        f"cnn_engine AXI4-Stream ports, one frame, network '{net.name}': model.cycles.predict gives "
        f"II = {ii} cycles (bottleneck: {p.bottleneck}), latency = {lat} cycles "
        f"(pixel 0 in -> class beat out)",
        fontsize=10,
    )
    out = OUT / "engine_timing.png"
    fig.savefig(out, dpi=130, bbox_inches="tight", metadata=PNG_META)
    plt.close(fig)
    return out


def graph_diagram(net_name: str = "resnet8") -> Path:
    """The dataflow graph of a network with branches: one box per node (kind, output shape,
    folding), the main path down the left column, shortcut convolutions in the right column,
    identity skips as arcs; every skip FIFO labelled with the depth the planner gave it."""
    net = get_net(net_name)
    graph = from_net(net)
    hw = {h.name: h for h in plan(graph, net.folds).layers}
    side = {n.name: 1 if n.name.endswith("_short") else 0 for n in graph}
    rows, r = {"input": 0}, 0
    for n in graph:
        if side[n.name] == 0:
            r += 1
        rows[n.name] = r if side[n.name] == 0 else r + 0.5
    bw, bh = 3.3, 0.62
    fig, ax = plt.subplots(figsize=(7.2, 0.78 * (r + 1.5)))
    pos = {"input": (0.0, 0.0)}
    for n in graph:
        pos[n.name] = (side[n.name] * 4.3, -rows[n.name])
    names = {"conv": "conv", "dense": "dense", "add": "add + ReLU", "gap": "global avg pool", "pool": "pool"}
    for n in graph:
        x, y = pos[n.name]
        c, h, w = n.out_shape
        what = names[n.kind]
        if n.kind == "conv":
            what = (
                f"conv {n.k}x{n.k}"
                + (f" /{n.stride}" if n.stride > 1 else "")
                + ("" if n.act == "relu" else ", int8 out")
            )
        fold = net.folds.get(n.name)
        lines = [f"{n.name}: {what}", f"{c}x{h}x{w}" + (f"   PE {fold.pe} x SIMD {fold.simd}" if fold else "")]
        color = {"add": "#d9ead3", "gap": "#fff2cc"}.get(n.kind, "#cfe2f3" if side[n.name] == 0 else "#9fc5e8")
        ax.add_patch(
            FancyBboxPatch((x, y - bh / 2), bw, bh, boxstyle="round,pad=0.02,rounding_size=0.08", fc=color, ec="#333")
        )
        ax.text(x + bw / 2, y, "\n".join(lines), ha="center", va="center", fontsize=7.5)
    ax.text(bw / 2, 0, "pixels 1x28x28", ha="center", va="center", fontsize=8)
    for n in graph:
        x1, y1 = pos[n.name]
        for k, src in enumerate(n.inputs):
            x0, y0 = pos[src]
            skip = n.kind == "add" and k == 1
            if skip and side.get(src, 0) == 0:  # identity: an arc down the right of the main column
                ax.annotate(
                    "",
                    (x1 + bw, y1),
                    (x0 + bw, y0),
                    arrowprops={"arrowstyle": "->", "connectionstyle": "arc3,rad=-0.35", "color": "#a33"},
                )
            else:
                start = (x0 + bw / 2, y0 - bh / 2) if side[n.name] == side.get(src, 0) else (x0 + bw, y0)
                end = (x1 + bw / 2, y1 + bh / 2) if side[n.name] == side.get(src, 0) else (x1 + bw, y1)
                if side[n.name] == 1:
                    end = (x1, y1)
                if side.get(src, 0) == 1:
                    start = (x0, y0)
                ax.annotate("", end, start, arrowprops={"arrowstyle": "->", "color": "#a33" if skip else "#333"})
            if skip:
                depth = hw[n.name].consts["SKIP_DEPTH"]
                ax.text(x1 + bw + 0.15, y1 - 0.3, f"skip FIFO {depth} beats", fontsize=7, color="#a33")
    ax.set_xlim(-0.3, 8.0)
    ax.set_ylim(-r - 0.8, 0.6)
    ax.axis("off")
    p = predict(net, net.folds)
    ax.set_title(
        f"{net_name}: dataflow graph (model.nets description, model.plan skip depths); "
        f"II {p.ii_cycles:.0f} cycles (cycle model)",
        fontsize=9,
    )
    out = OUT / f"graph_{net_name}.png"
    fig.savefig(out, dpi=120, bbox_inches="tight", metadata=PNG_META)
    plt.close(fig)
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in NETS:
        print(block_diagram(name).relative_to(REPO))
    print(graph_diagram("resnet8").relative_to(REPO))
    print(timing_diagram("tiny").relative_to(REPO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
