"""Hardware configuration: walks a network description and writes the generated RTL.

Two files per network, both generated, readable and committed in weights/<net>/:
  cnn_cfg_pkg.sv   package cnn_cfg_pkg: every shape, folding and constant the RTL needs
  cnn_layers.sv    module cnn_layers: the layer chain, a plain netlist of rtl/ library
                   instances wired stage to stage (pixel stream in, logits beat out)

rtl/cnn_engine.sv (hand-written) wraps cnn_layers with the frame sanitizer and the result
formatter, so a new network of the same layer kinds needs no new RTL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from model.nets import Conv, Dense, Fold, Net, Pool, layer_names, shapes

ACC_W = 32  # accumulator and logit width (int32), see docs/architecture.md
M_W = 16  # requantization multiplier width (model/quant.py keeps m below 2**15)
FIFO_DEPTH = 16  # rate-matching FIFO in front of folded compute units (bursts from pooling)


@dataclass
class Stage:
    """One library instance in the chain."""

    module: str
    inst: str
    params: dict[str, str]  # name -> SystemVerilog expression
    out_w: str  # output tdata width expression
    comment: str = ""
    wload: bool = False  # fc_serial: connect the weight-load stream (else tied off)


@dataclass
class LayerHW:
    name: str
    kind: str
    consts: dict[str, int] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)


def _act_bounds(act: str) -> tuple[int, int]:
    # ReLU output is uint8 (the lower clamp is the ReLU); a LUT activation takes int8.
    return (0, 255) if act == "relu" else (-128, 127)


def _rate_fifo(name: str) -> Stage:
    """A FIFO in front of a folded unit, so the bursts pooling makes don't stall the input."""
    up = name.upper()
    return Stage(
        "axis_fifo",
        f"{name}_fifo",
        {"DATA_W": f"{up}_C_IN*8", "DEPTH": str(FIFO_DEPTH)},
        f"{up}_C_IN*8",
        "absorbs the bursts of the stage before",
    )


def _mac_params(name: str, shape: str, taps: bool = False) -> dict[str, str]:
    """Parameters of a conv_unit (shape K) or fc_unit (shape IN_BEATS): same folding, widths
    and memory files; `taps`: pass TAPS (conv_unit's default is all K*K taps)."""
    up = name.upper()
    params = {shape: f"{up}_{shape}"}
    params.update({k: f"{up}_{k}" for k in ("C_IN", "C_OUT", "PE", "SIMD") + (("TAPS",) if taps else ())})
    params.update(
        {"ACC_W": "ACC_W", "W_FILE": f'{{WEIGHTS_DIR, "/{name}_w.mem"}}', "B_FILE": f'{{WEIGHTS_DIR, "/{name}_b.mem"}}'}
    )
    return params


def stream_formats(net: Net, folds: dict[str, Fold]) -> dict[str, tuple[int, int]]:
    """(beats, lanes) of every compute layer's input per frame item: a convolution sees pixels
    of C lanes; a Dense layer sees its input as H*W beats of C lanes, or, after a `serial` Dense
    layer (fc_serial), as that layer's C_OUT/PE beats of PE lanes. The weight files of a Dense
    layer are laid out for these beats (model/export.py)."""
    out: dict[str, tuple[int, int]] = {}
    serial_before = None  # (PE, C_OUT) of a serial Dense layer feeding this one
    for name, layer, (ins, outs) in zip(layer_names(net), net.layers, shapes(net), strict=True):
        if isinstance(layer, Pool):
            serial_before = None
            continue
        c, h, w = ins
        if isinstance(layer, Dense) and serial_before is not None:
            pe, c_out = serial_before
            out[name] = (c_out // pe, pe)
        else:
            out[name] = (h * w, c)
        f = folds.get(name)
        serial_before = (f.pe, outs[0]) if isinstance(layer, Dense) and f is not None and f.serial else None
    return out


def folds_per_item(layer, lanes: int, fold: Fold) -> int:
    """Cycles a compute unit spends on one window (conv) or one input beat (dense) of `lanes`
    input channels."""
    if isinstance(layer, Conv):
        kk = layer.k * layer.k
        return (layer.out_ch // fold.pe) * (lanes // fold.simd) * (kk // (fold.taps or kk))
    return (layer.out // fold.pe) * (lanes // fold.simd)


def check_folds(net: Net, folds: dict[str, Fold]) -> None:
    missing = [n for n, layer in zip(layer_names(net), net.layers, strict=True) if not isinstance(layer, Pool)]
    for name in missing:
        if name not in folds:
            raise ValueError(f"{net.name}: no folding given for {name}")
    fmt = stream_formats(net, folds)
    n_wload = 0
    for name, layer in zip(layer_names(net), net.layers, strict=True):
        if isinstance(layer, Pool):
            continue
        f = folds[name]
        lanes = fmt[name][1]
        c_out = layer.out_ch if isinstance(layer, Conv) else layer.out
        if f.pe < 1 or f.simd < 1 or c_out % f.pe or lanes % f.simd:
            raise ValueError(
                f"{net.name}.{name}: PE={f.pe} must divide {c_out} output channels and "
                f"SIMD={f.simd} must divide {lanes} input channels"
            )
        if f.taps is not None and not (isinstance(layer, Conv) and f.taps >= 1 and layer.k**2 % f.taps == 0):
            raise ValueError(f"{net.name}.{name}: TAPS={f.taps} must divide the k*k taps of a convolution")
        if f.wload and not isinstance(layer, Dense):
            raise ValueError(f"{net.name}.{name}: wload applies to Dense layers only")
        if f.wload and not f.serial:
            raise ValueError(f"{net.name}.{name}: wload needs serial (fc_serial holds run-time weights)")
        n_wload += f.wload
    if n_wload > 1:
        raise ValueError(f"{net.name}: one layer at most can load its weights at run time (the engine has one port)")


def plan(net: Net, folds: dict[str, Fold], pow2: bool = False) -> list[LayerHW]:
    """The stage chain of a network: which library modules, with which constants."""
    check_folds(net, folds)
    fmt = stream_formats(net, folds)
    layers = []
    n_layers = len(net.layers)
    for idx, (name, layer, (ins, outs)) in enumerate(zip(layer_names(net), net.layers, shapes(net), strict=True)):
        up = name.upper()
        c_in, h, w = ins
        hw = LayerHW(name, type(layer).__name__.lower())
        if isinstance(layer, Pool):
            hw.consts = {"H": h, "W": w, "C": c_in, "MODE": 0 if layer.kind == "max" else 1}
            hw.stages.append(
                Stage(
                    "pool2x2",
                    name,
                    {k: f"{up}_{k}" for k in ("H", "W", "C", "MODE")},
                    f"{up}_C*8",
                    f"{layer.kind} pool 2x2",
                )
            )
            layers.append(hw)
            continue
        f = folds[name]
        c_out = outs[0]
        last = idx == n_layers - 1
        # A FIFO where pooling's bursts (a row of outputs, then none) meet a folded unit: without
        # it the unit waits for the next burst at image boundaries (measured: up5k II +12 %).
        # Not after a Dense layer: its beats come evenly spaced.
        rate_fifo = folds_per_item(layer, fmt[name][1], f) > 1 and idx > 0 and isinstance(net.layers[idx - 1], Pool)
        if isinstance(layer, Conv):
            hw.consts = {
                "H": h,
                "W": w,
                "C_IN": c_in,
                "C_OUT": c_out,
                "K": layer.k,
                "PAD": layer.pad,
                "PE": f.pe,
                "SIMD": f.simd,
            }
            if f.taps is not None:  # else conv_unit computes all K*K taps per cycle
                hw.consts["TAPS"] = f.taps
            if f.serial:  # one output beat per group of PE channels
                hw.consts["OUT_BEATS"] = c_out // f.pe
            if rate_fifo:
                hw.stages.append(_rate_fifo(name))
            hw.stages.append(
                Stage(
                    "window_gen",
                    f"{name}_win",
                    {"H": f"{up}_H", "W": f"{up}_W", "C": f"{up}_C_IN", "DW": "8", "K": f"{up}_K", "PAD": f"{up}_PAD"},
                    f"{up}_K*{up}_K*{up}_C_IN*8",
                    f"{layer.k}x{layer.k} windows, padding {layer.pad}",
                )
            )
            hw.stages.append(
                Stage(
                    "conv_unit",
                    f"{name}_mac",
                    {**_mac_params(name, "K", taps=f.taps is not None), **({"SERIAL": "1"} if f.serial else {})},
                    f"{up}_PE*ACC_W" if f.serial else f"{up}_C_OUT*ACC_W",
                    f"PE={f.pe} x SIMD={f.simd} x {f.taps or layer.k * layer.k} taps"
                    + (f", {c_out // f.pe} beats of {f.pe} channels per pixel" if f.serial else ""),
                )
            )
        else:
            beats, lanes = fmt[name]
            hw.consts = {"IN_BEATS": beats, "C_IN": lanes, "C_OUT": c_out, "PE": f.pe, "SIMD": f.simd}
            if rate_fifo:
                hw.stages.append(_rate_fifo(name))
            if f.serial:
                hw.consts["OUT_BEATS"] = c_out // f.pe
                hw.consts["W_LOAD"] = int(f.wload)
                hw.stages.append(
                    Stage(
                        "fc_serial",
                        f"{name}_mac",
                        {**_mac_params(name, "IN_BEATS"), "W_LOAD": f"{up}_W_LOAD"},
                        f"{up}_PE*ACC_W",
                        f"{beats} beats x {lanes} -> {c_out} in {c_out // f.pe} beats, PE={f.pe} x SIMD={f.simd}"
                        + (", weights loaded at run time" if f.wload else ""),
                        wload=f.wload,
                    )
                )
            else:
                hw.stages.append(
                    Stage(
                        "fc_unit",
                        f"{name}_mac",
                        _mac_params(name, "IN_BEATS"),
                        f"{up}_C_OUT*ACC_W",
                        f"{beats} beats x {lanes} -> {c_out}, PE={f.pe} x SIMD={f.simd}",
                    )
                )
        act = layer.act
        if last:
            if act != "none":
                raise ValueError(f"{net.name}: the last layer must have no activation (its accumulators are logits)")
        else:
            if act == "none":
                raise ValueError(f"{net.name}.{name}: only the last layer may have no activation")
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
                        "ACC_W": "ACC_W",
                        "M_W": "M_W",
                        "LO": f"{up}_LO",
                        "HI": f"{up}_HI",
                        "POW2": "POW2",
                        "M_FILE": f'{{WEIGHTS_DIR, "/{name}_m.mem"}}',
                        "R_FILE": f'{{WEIGHTS_DIR, "/{name}_r.mem"}}',
                    },
                    f"{lanes_out}*8",
                    "per-channel multiply, round, shift, clamp" + (" (fused ReLU)" if act == "relu" else ""),
                )
            )
            if act == "sigmoid":
                hw.stages.append(
                    Stage(
                        "act_lut",
                        f"{name}_act",
                        {"C": lanes_out, "LUT_FILE": f'{{WEIGHTS_DIR, "/{name}_lut.mem"}}'},
                        f"{lanes_out}*8",
                        "sigmoid lookup table",
                    )
                )
            if serial and isinstance(layer, Conv):  # pooling and windows take whole pixels
                hw.stages.append(
                    Stage(
                        "axis_gather",
                        f"{name}_gather",
                        {"DATA_W": f"{up}_PE*8", "N": f"{up}_OUT_BEATS"},
                        f"{up}_C_OUT*8",
                        "the channel groups of a pixel back into one beat",
                    )
                )
        layers.append(hw)
    return layers


def render_package(net: Net, folds: dict[str, Fold], layers: list[LayerHW], pow2: bool) -> str:
    c, h, w = net.in_shape
    last = folds[layers[-1].name]
    out_lanes = last.pe if last.serial else net.n_classes
    lines = [
        f"// Generated by model/hw.py for network '{net.name}': do not edit, run `make weights`.",
        "// Every shape, folding and constant the RTL needs; the RTL never sees a float.",
        "// A table of constants: not every one is used by every configuration.",
        "/* verilator lint_off UNUSEDPARAM */",
        "package cnn_cfg_pkg;",
        f"  localparam int IMG_H      = {h};",
        f"  localparam int IMG_W      = {w};",
        f"  localparam int IMG_C      = {c};",
        f"  localparam int IN_PIXELS  = {h * w};",
        f"  localparam int N_CLASSES  = {net.n_classes};",
        f"  localparam int ACC_W      = {ACC_W};",
        f"  localparam int M_W        = {M_W};",
        f"  localparam int POW2       = {int(pow2)};  // 1: shift-only requantization (m = 1)",
        f"  localparam int OUT_LANES  = {out_lanes};  // logits per beat of the layer chain's output",
    ]
    wload = [hw for hw in layers if hw.consts.get("W_LOAD")]
    if wload:
        cs = wload[0].consts
        words = cs["IN_BEATS"] * (cs["C_OUT"] // cs["PE"]) * (cs["C_IN"] // cs["SIMD"])
        word_w = cs["PE"] * cs["SIMD"] * 8
    else:
        words, word_w = 0, 8
    what = f"{wload[0].name}'s weights" if wload else "none (every weight from a file)"
    lines += [
        f"  // run-time weight load: {what}",
        f"  localparam int WLOAD_W    = {word_w};  // bits per weight-load beat",
        f"  localparam int WLOAD_WORDS = {words};  // beats per weight-load frame (0: no port in use)",
    ]
    for hw in layers:
        lines.append(f"  // {hw.name} ({hw.kind})")
        for k, v in hw.consts.items():
            lines.append(f"  localparam int {hw.name.upper()}_{k:<9}= {v};")
    lines.append("endpackage")
    lines.append("/* verilator lint_on UNUSEDPARAM */")
    return "\n".join(lines) + "\n"


def _pkg(expr: str) -> str:
    """Package constants by their full name (cnn_cfg_pkg::X): Yosys accepts no `import` inside
    a module, and the full names say where each constant comes from."""
    return re.sub(r"\b(?!WEIGHTS_DIR\b)([A-Z][A-Z0-9_]*)\b", r"cnn_cfg_pkg::\1", expr)


def _wload_ports(s: Stage) -> list[str]:
    """fc_serial's weight-load stream: the engine's port when the layer loads its weights at
    run time, otherwise tied off (no words, weights from its W_FILE)."""
    if s.wload:
        return [
            "    .s_wload_axis_tdata(s_wload_axis_tdata), .s_wload_axis_tlast(s_wload_axis_tlast),",
            "    .s_wload_axis_tvalid(s_wload_axis_tvalid), .s_wload_axis_tready(s_wload_axis_tready),",
            "    .w_valid(w_valid), .w_load_error(w_load_error)",
        ]
    return [
        "    .s_wload_axis_tdata('0), .s_wload_axis_tlast(1'b0),",
        "    /* verilator lint_off PINCONNECTEMPTY */",
        "    .s_wload_axis_tvalid(1'b0), .s_wload_axis_tready(),",
        "    .w_valid(), .w_load_error()",
        "    /* verilator lint_on PINCONNECTEMPTY */",
    ]


def render_layers(net: Net, layers: list[LayerHW]) -> str:
    out = [
        f"// Generated by model/hw.py for network '{net.name}': do not edit, run `make weights`.",
        "//",
        "// The layer chain: a netlist of rtl/ library instances, each stage's m_axis feeding the",
        "// next stage's s_axis. Input: one 8-bit pixel per beat (exactly IN_PIXELS per frame,",
        "// guaranteed by frame_sanitizer). Output: the N_CLASSES int32 logits of a frame, OUT_LANES",
        "// per beat (N_CLASSES: one beat), TLAST on the frame's last beat.",
        "module cnn_layers #(",
        f'  parameter WEIGHTS_DIR = "weights/{net.name}"  // folder of the $readmemh files',
        ") (",
        "  input  logic                                          clk,",
        "  input  logic                                          rst,",
        "  input  logic [7:0]                                    s_axis_tdata,",
        "  input  logic                                          s_axis_tlast,",
        "  input  logic                                          s_axis_tvalid,",
        "  output logic                                          s_axis_tready,",
        "  output logic [cnn_cfg_pkg::OUT_LANES*cnn_cfg_pkg::ACC_W-1:0] m_axis_tdata,",
        "  output logic                                          m_axis_tlast,",
        "  output logic                                          m_axis_tvalid,",
        "  input  logic                                          m_axis_tready,",
        "  input  logic [cnn_cfg_pkg::WLOAD_W-1:0]               s_wload_axis_tdata,",
        "  input  logic                                          s_wload_axis_tlast,",
        "  input  logic                                          s_wload_axis_tvalid,",
        "  output logic                                          s_wload_axis_tready,",
        "  output logic                                          w_valid,",
        "  output logic                                          w_load_error",
        ");",
        "",
    ]
    stages = [s for hw in layers for s in hw.stages]
    prev = "pix"
    out.append("  // Stream 'pix': the pixel stream.")
    out.append("  logic [7:0] pix_tdata;")
    out.append("  logic pix_tlast, pix_tvalid, pix_tready;")
    out.append("  assign pix_tdata = s_axis_tdata;")
    out.append("  assign pix_tlast = s_axis_tlast;")
    out.append("  assign pix_tvalid = s_axis_tvalid;")
    out.append("  assign s_axis_tready = pix_tready;")
    out.append("")
    for s in stages:
        out.append(f"  // {s.inst}: {s.module} -- {s.comment}")
        out.append(f"  logic [{_pkg(s.out_w)}-1:0] {s.inst}_tdata;")
        out.append(f"  logic {s.inst}_tlast, {s.inst}_tvalid, {s.inst}_tready;")
        out.append(f"  {s.module} #(")
        items = list(s.params.items())
        for i, (k, v) in enumerate(items):
            out.append(f"    .{k}({_pkg(v)}){',' if i < len(items) - 1 else ''}")
        out.append(f"  ) u_{s.inst} (")
        out.append("    .clk, .rst,")
        out.append(f"    .s_axis_tdata({prev}_tdata), .s_axis_tlast({prev}_tlast),")
        out.append(f"    .s_axis_tvalid({prev}_tvalid), .s_axis_tready({prev}_tready),")
        out.append(f"    .m_axis_tdata({s.inst}_tdata), .m_axis_tlast({s.inst}_tlast),")
        if s.module == "fc_serial":
            out.append(f"    .m_axis_tvalid({s.inst}_tvalid), .m_axis_tready({s.inst}_tready),")
            out += _wload_ports(s)
        else:
            out.append(f"    .m_axis_tvalid({s.inst}_tvalid), .m_axis_tready({s.inst}_tready)")
        out.append("  );")
        out.append("")
        prev = s.inst
    if not any(s.wload for s in stages):
        out += [
            "  // No layer loads its weights at run time: the weight-load port takes nothing.",
            "  assign s_wload_axis_tready = 1'b0;",
            "  assign w_valid = 1'b1;",
            "  assign w_load_error = 1'b0;",
            "  /* verilator lint_off UNUSEDSIGNAL */",
            "  logic wload_unused;",
            "  assign wload_unused = ^{s_wload_axis_tdata, s_wload_axis_tlast, s_wload_axis_tvalid};",
            "  /* verilator lint_on UNUSEDSIGNAL */",
            "",
        ]
    out += [
        "  // The last stage's accumulators are the logits.",
        f"  assign m_axis_tdata  = {prev}_tdata;",
        f"  assign m_axis_tlast  = {prev}_tlast;",
        f"  assign m_axis_tvalid = {prev}_tvalid;",
        f"  assign {prev}_tready = m_axis_tready;",
        "endmodule",
    ]
    return "\n".join(out) + "\n"


def write_rtl_config(net: Net, folds: dict[str, Fold], out_dir: Path, pow2: bool = False) -> list[Path]:
    """Write cnn_cfg_pkg.sv and cnn_layers.sv for `net` with `folds` into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = plan(net, folds, pow2)
    files = {
        "cnn_cfg_pkg.sv": render_package(net, folds, layers, pow2),
        "cnn_layers.sv": render_layers(net, layers),
    }
    paths = []
    for fname, text in files.items():
        p = out_dir / fname
        p.write_text(text)
        paths.append(p)
    return paths
