"""Folding solver (`FOLD=auto`): PE, SIMD and TAPS per compute layer from the cycle model.

In the spirit of FINN's SetFolding, on this engine's cycle model: model/cycles.py predicts
the II as the busiest stage's cycles per frame, and a compute layer's busy cycles depend on
its own folding (items per frame x cycles per item, an item being a window or an input
beat) and, for a convolution still busy at a frame's end, on its window generator's refill,
which depends on how fast the layers before it deliver (where that refill is what the II waits
for, the plan lets the windows run ahead through a window FIFO: model/plan.py `_prefetch`, and
the unit then works its own cycles). So for a target II every layer
takes the valid folding with the fewest multipliers (PE*SIMD*TAPS) whose busy cycles meet
it; the convolutions are re-timed against the layers chosen before them until the whole
folding meets the target (exact, against exhaustive search, when no refill moves: tiny).
Under a multiplier budget the solver takes the smallest II among the per-layer busy figures
whose folding fits.

Input:  a `Net` and one of
          - nothing: the best MAC utilisation with the II within SLACK (5 %) of the input
            bound (the fold-independent stages: one pixel per clock at the input),
          - target_ii: the fewest multipliers with an II <= target_ii,
          - device: a name in DEVICES: the smallest II whose multipliers fit its DSPs
            (with target_ii too: that target; the products the DSPs cannot take are built
            in logic cells, `+dspN` on the layers concerned, `assign_dsp`).
Output: a `Solution`: the folding (non-serial `Fold`s that model/plan.py `check_folds`
        accepts), the predicted II, multipliers and MAC utilisation per layer; `folds()`
        gives the folding as `parse_fold` does, carrying the record the manifest stores.

    python -m model.cycles --net tiny --fold auto             (or auto:ii=1600, auto:device=up5k)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from model.graph import from_net
from model.nets import Conv, Fold, Net, layer_names, shapes
from model.plan import pix_rates, stream_formats

SLACK = 1.05  # no budget: the II may exceed the input bound by this much for better utilisation

# Device budgets: hard multipliers (the solver's budget: the engine's 8x8 products map one
# per DSP block in Yosys, docs/synthesis.md), block RAM in Kbit (a weight-storage check) and
# LUTs (recorded, not modelled). Figures from the vendors' family datasheets:
#   iCE40 UltraPlus (Lattice FPGA-DS-02008, table 1.1): UP5K 5,280 LUT4, 8 SB_MAC16,
#     30 x 4 Kbit EBR + 4 x 256 Kbit SPRAM (syn/report.py UP5K);
#   ECP5 (Lattice FPGA-DS-02012, table 1.1): LFE5U-25F 24K LUT4, 28 18x18 multipliers,
#     56 x 18 Kbit EBR (1,008 Kbit); LFE5U-85F 84K LUT4, 156 multipliers, 208 EBR (3,744 Kbit);
#   7 series (Xilinx DS180, tables 3 and 5): XC7A100T 63,400 LUT6, 240 DSP48E1, 135 x 36 Kbit
#     BRAM (4,860 Kbit); XC7Z020 (DS190) 53,200 LUT6, 220 DSP48E1, 140 x 36 Kbit (5,040 Kbit).
DEVICES = {
    "up5k": {"dsp": 8, "bram_kbit": 30 * 4 + 4 * 256, "lut": 5280},
    "ecp5-25k": {"dsp": 28, "bram_kbit": 1008, "lut": 24000},
    "ecp5-85k": {"dsp": 156, "bram_kbit": 3744, "lut": 84000},
    "xc7a100t": {"dsp": 240, "bram_kbit": 4860, "lut": 63400},
    "xc7z020": {"dsp": 220, "bram_kbit": 5040, "lut": 53200},
}


@dataclass(frozen=True)
class LayerSolution:
    name: str
    fold: Fold
    items: int  # windows (conv) or input beats (dense) per frame
    macs: int  # per frame
    busy: int  # cycles per frame
    kk: int  # k*k taps (1 for Dense): the multipliers of a fold without TAPS
    pix: int = 1  # windows per item (a convolution at PIX=)
    conv: bool = False

    @property
    def mults(self) -> int:
        return self.fold.products(self.kk, self.pix)

    @property
    def weight_words(self) -> int:
        """Depth of the weight memory: a convolution's weights serve every window, a Dense
        layer's every input beat has its own."""
        return self.macs // (self.items if self.conv else 1) // self.mults


class SolvedFolds(dict):
    """A folding (layer -> Fold) that remembers the solver's `Solution` (printed by the command
    lines, recorded in the manifest by model/flow.py)."""

    solution: Solution


@dataclass
class Solution:
    net: str
    target: dict  # what was asked: {"ii": ...} / {"device": ..., "dsp": ...} / {"slack": ...}
    floor: int  # the fold-independent II bound (input, windows, pooling)
    layers: list[LayerSolution]

    @property
    def ii(self) -> int:
        return max([self.floor] + [ly.busy for ly in self.layers])

    @property
    def multipliers(self) -> int:
        return sum(ly.mults for ly in self.layers)

    @property
    def macs(self) -> int:
        return sum(ly.macs for ly in self.layers)

    @property
    def utilisation(self) -> float:
        return self.macs / (self.multipliers * self.ii)

    def folds(self) -> SolvedFolds:
        out = SolvedFolds({ly.name: ly.fold for ly in self.layers})
        out.solution = self
        return out

    def record(self) -> dict:
        """What the manifest stores (`fold_solver`)."""
        return {
            "target": self.target,
            "ii_pred": self.ii,
            "multipliers": self.multipliers,
            "mac_utilisation": round(self.utilisation, 4),
            "layers": {
                ly.name: {
                    "fold": str(ly.fold),
                    "mults": ly.mults,
                    "busy": ly.busy,
                    "util": round(ly.macs / (ly.mults * self.ii), 4),
                }
                for ly in self.layers
            },
        }

    def report(self) -> str:
        lines = [
            f"{self.net}: FOLD=auto ({', '.join(f'{k}={v}' for k, v in self.target.items())}): "
            f"II {self.ii} cycles predicted (input bound {self.floor}), {self.multipliers} multipliers, "
            f"MAC utilisation {100 * self.utilisation:.1f} %",
            f"  {'layer':<6} {'fold':<10} {'mults':>6} {'busy':>7} {'MACs':>8} {'util':>6}",
        ]
        for ly in self.layers:
            util = ly.macs / (ly.mults * self.ii)
            lines.append(
                f"  {ly.name:<6} {str(ly.fold):<10} {ly.mults:6d} {ly.busy:7d} {ly.macs:8d} {100 * util:5.1f}%"
            )
        lines.append("  FOLD=" + ",".join(f"{ly.name}={ly.fold}" for ly in self.layers))
        return "\n".join(lines)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class _Layer:
    """One compute layer's shape, as the solver needs it."""

    name: str
    c_out: int
    lanes: int  # input channels of one item
    kk: int  # k*k taps (1 for Dense)
    items: int
    conv: bool
    pix: int = 1  # windows per item (PIX=): every product is instantiated pix times

    @property
    def work(self) -> int:  # MACs per item
        return self.c_out * self.lanes * self.kk * self.pix

    def folds(self) -> list[Fold]:
        """Every valid non-serial folding; TAPS = k*k is conv_unit's default, left out as the
        hand-written foldings do."""
        taps = _divisors(self.kk) if self.conv else [self.kk]
        return [
            Fold(pe, simd, None if t == self.kk else t)
            for pe in _divisors(self.c_out)
            for simd in _divisors(self.lanes)
            for t in taps
        ]


_CANDIDATES: dict = {}  # (layers, input shape) -> _candidates against fully parallel layers


def _rows(net: Net, ly: _Layer, rest: dict[str, Fold]) -> list[tuple[int, int, Fold]]:
    """(multipliers, busy cycles per frame, fold) of every valid folding of one layer, the
    busy cycles from the cycle model with the other layers folded as in `rest`. Sorted: fewest
    multipliers, then fastest, then all taps at once (no tap multiplexer), then fewer PEs."""
    from model.cycles import frame_times

    pixels = np.arange(net.in_shape[1] * net.in_shape[2] // net.pix)  # input beats
    rows = []
    for fold in ly.folds():
        busy = frame_times(net, {**rest, ly.name: fold}, pixels)[1][f"{ly.name}_mac"]
        rows.append((fold.products(ly.kk, ly.pix), int(busy), fold))
    return sorted(rows, key=lambda c: (c[0], c[1], c[2].taps is not None, c[2].pe))


def _candidates(net: Net, layers: list[_Layer], rest: dict[str, Fold] | None = None) -> dict[str, list]:
    """`_rows` of every layer, the others fully parallel, or as in `rest`: a stage's busy cycles
    depend on its own folding, and a convolution's also on when its items arrive (the refill
    of its window generator), so with `rest` the convolutions are recomputed."""
    key = (net.layers, net.in_shape, net.pix)
    if key not in _CANDIDATES:
        full = {ly.name: Fold(ly.c_out, ly.lanes) for ly in layers}
        _CANDIDATES[key] = {ly.name: _rows(net, ly, full) for ly in layers}
    if rest is None:
        return _CANDIDATES[key]
    return {ly.name: _rows(net, ly, rest) if ly.conv else _CANDIDATES[key][ly.name] for ly in layers}


def _fit(net: Net, layers: list[_Layer], ii: int) -> list[LayerSolution] | None:
    """`_at` until the whole folding meets `ii` in the cycle model: a folded layer delays the
    items of the convolutions after it, which then may need more parallelism (a few rounds)."""
    from model.cycles import predict

    cands = _candidates(net, layers)
    for _ in range(4):
        sol = _at(cands, layers, ii)
        if sol is None:
            return None
        folds = {ly.name: ly.fold for ly in sol}
        busy = predict(net, folds).stage_cycles
        sol = [
            LayerSolution(ly.name, ly.fold, ly.items, ly.macs, busy[f"{ly.name}_mac"], ly.kk, ly.pix, ly.conv)
            for ly in sol
        ]
        if max(ly.busy for ly in sol) <= ii:
            return sol
        cands = _candidates(net, layers, folds)
    return None


def _layers(net: Net) -> list[_Layer]:
    graph = from_net(net)
    fmt = stream_formats(graph, {})  # non-serial: every node sends its channels per beat
    rates = pix_rates(graph)
    out = []
    for name, layer, (ins, outs) in zip(layer_names(net), net.layers, shapes(net), strict=True):
        if isinstance(layer, Conv):
            p = rates[name].unit
            out.append(_Layer(name, outs[0], ins[0], layer.k * layer.k, outs[1] * outs[2] // p, True, p))
        elif name.startswith("fc"):
            beats, lanes = fmt[name]
            out.append(_Layer(name, outs[0], lanes, 1, beats, False))
    return out


def input_bound(net: Net) -> int:
    """The II no folding goes below: the busiest fold-independent stage (the input at one
    pixel per clock, window generators, pooling), from the cycle model itself."""
    from model.cycles import predict

    layers = _layers(net)
    one = {ly.name: Fold(ly.c_out, ly.lanes) for ly in layers}  # fully parallel: compute never the bottleneck
    busy = predict(net, one).stage_cycles
    macs = {f"{ly.name}_mac" for ly in layers}
    return max(v for k, v in busy.items() if k not in macs)


def _at(cands: dict, layers: list[_Layer], ii: int) -> list[LayerSolution] | None:
    """The fewest multipliers per layer with busy cycles <= ii (None: a layer cannot)."""
    out = []
    for ly in layers:
        best = next(((m, b, f) for m, b, f in cands[ly.name] if b <= ii), None)
        if best is None:
            return None
        out.append(LayerSolution(ly.name, best[2], ly.items, ly.items * ly.work, best[1], ly.kk, ly.pix, ly.conv))
    return out


def solve(net: Net, target_ii: int | None = None, device: str | None = None) -> Solution:
    """The folding for a target II, a device's multipliers, or (neither) the best utilisation
    within SLACK of the input bound. ValueError names what cannot be met."""
    if device is not None and device not in DEVICES:
        raise ValueError(f"unknown DEVICE {device!r}; known: {', '.join(DEVICES)}")
    layers = _layers(net)
    cands = _candidates(net, layers)
    floor = input_bound(net)
    if target_ii is not None and target_ii < floor:
        raise ValueError(
            f"{net.name}: TARGET_II={target_ii} is below the input bound of {floor} cycles "
            f"(a {net.in_shape[1]}x{net.in_shape[2]} image at {net.pix} pixel(s) per clock)"
        )
    # Every II the folding can change: the per-layer busy figures at or above the floor.
    iis = sorted({floor} | {b for rows in cands.values() for _, b, _ in rows if b >= floor})
    if target_ii is not None:
        found = _fit(net, layers, target_ii)
        if found is None:
            raise ValueError(f"{net.name}: no folding meets TARGET_II={target_ii} in the cycle model")
        sol = Solution(net.name, {"ii": target_ii}, floor, found)
        if device is not None:
            dev = DEVICES[device]
            sol.target.update(device=device, dsp=dev["dsp"])
            if sol.multipliers > dev["dsp"]:
                sol.layers = assign_dsp(net, sol.layers, device)
    elif device is not None:
        dev = DEVICES[device]
        need = len(layers)  # one multiplier per layer at the most folded
        if need > dev["dsp"]:
            raise ValueError(
                f"{net.name} cannot fit DEVICE={device}: its {need} compute layers need at least "
                f"{need} multipliers, the device has {dev['dsp']}"
            )
        sol = None
        for ii in iis:  # fewest multipliers is non-increasing in the II: the first that fits is the smallest
            if sum(ly.mults for ly in _at(cands, layers, ii)) > dev["dsp"]:
                continue  # already over with every layer's items unhurried: no need to refine
            found = _fit(net, layers, ii)
            if found is not None and sum(ly.mults for ly in found) <= dev["dsp"]:
                sol = Solution(net.name, {"device": device, "dsp": dev["dsp"]}, floor, found)
                break
        assert sol is not None  # the most folded (one multiplier each) is the last II
    else:
        sol = None
        for ii in (ii for ii in iis if ii <= SLACK * floor):
            found = _fit(net, layers, ii)
            s = found and Solution(net.name, {"slack": SLACK}, floor, found)
            if s and (sol is None or s.utilisation > sol.utilisation + 1e-12):
                sol = s
    if device is not None:
        _check_memory(net, device)
    from model.cycles import predict

    # The per-layer figures came from the model one layer at a time: the whole folding must agree.
    pred = predict(net, sol.folds()).ii_cycles
    if pred != sol.ii:
        raise RuntimeError(f"{net.name}: the cycle model predicts II {pred} for {sol.folds()}, the solver {sol.ii}")
    return sol


# lut_mul (rtl/lut_mul.sv), an 8 x 8 product in logic cells: 71 LUT4 + 32 CCU2C (two LUT4
# each) after synth_ecp5, measured in docs/synthesis.md. A product whose weight never changes
# (a layer with one weight word) keeps only the adders of its set bits, so this is the most.
LUT_MUL_LUT4 = 135


def assign_dsp(net: Net, layers: list[LayerSolution], device: str) -> list[LayerSolution]:
    """The device's DSP blocks to the layers whose weights change from cycle to cycle, in
    network order, then to the fixed-weight ones (a single weight word: its products in logic
    are constant multiplies, a few adders each); every other product goes to lut_mul (`+dspN`).
    ValueError when those alone would need more LUTs than the device has."""
    dev = DEVICES[device]
    fixed = {ly.name for ly in layers if ly.weight_words == 1}
    left, dsp = dev["dsp"], {}
    for ly in sorted(layers, key=lambda ly: ly.name in fixed):
        dsp[ly.name] = min(left, ly.mults)
        left -= dsp[ly.name]
    soft = sum(ly.mults - dsp[ly.name] for ly in layers if ly.name not in fixed)
    if soft * LUT_MUL_LUT4 > dev["lut"]:
        raise ValueError(
            f"{net.name}: {sum(ly.mults for ly in layers)} multipliers, DEVICE={device} has {dev['dsp']} DSPs, "
            f"and the other {soft} in logic cells would take ~{soft * LUT_MUL_LUT4} LUT4 of its {dev['lut']}"
        )
    return [ly if dsp[ly.name] == ly.mults else replace(ly, fold=replace(ly.fold, dsp=dsp[ly.name])) for ly in layers]


def _check_memory(net: Net, device: str) -> None:
    """The weights (8 bits each) must fit the device's block RAM: no folding changes that."""
    bits = 0
    for ly in _layers(net):
        bits += 8 * ly.c_out * ly.lanes * ly.kk * (1 if ly.conv else ly.items)
    kbit = DEVICES[device]["bram_kbit"]
    if bits > kbit * 1024:
        raise ValueError(
            f"{net.name} cannot fit DEVICE={device}: {bits / 1024:.0f} Kbit of weights, {kbit} Kbit of RAM"
        )


def parse_auto(spec: str) -> dict:
    """'auto', 'auto:ii=900', 'auto:device=up5k', 'auto:device=up5k:ii=20000' -> solve() kwargs."""
    kw: dict = {}
    for part in spec.split(":")[1:]:
        key, _, val = part.partition("=")
        if key == "ii" and val.isdigit():
            kw["target_ii"] = int(val)
        elif key == "device" and val:
            kw["device"] = val
        else:
            raise ValueError(f"bad FOLD={spec!r}: expected auto[:ii=CYCLES][:device=NAME]")
    return kw
