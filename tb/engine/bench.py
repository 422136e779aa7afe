"""make bench-sim: how fast the engine simulates, three ways, in one run.

    python -m tb.engine.bench [--nets tiny,lenet5] [--images N] [--axi-images N]

For each network, on the same Verilator build flags:
  bulk    the bulk harness (tb/engine/engine_bulk.sv) under cocotb, as `make sim` runs it:
          random stalls on both sides, every logit compared;
  axi     the cocotbext-axi testbench (tb/engine/test_engine.py stream_images), Python on every
          clock edge, the same stall probability;
  native  a plain C++ loop (tb/engine/native/engine_native.cpp): a pixel every cycle, output
          always ready, every logit compared.
Writes build/bench/sim_speed.json ({"tiny": {"bulk": .., "axi": .., "native": ..}, ...}) and
prints a table for docs/results.md. The headline figures are images per second of the
simulator's own CPU time (the process's user + system time while it streams, builds excluded):
on an idle core that is the wall-clock rate, and on a shared machine it still measures the
simulation rather than the other jobs. The wall-clock rates are beside them (`*_wall`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tb.common.sim import BUILD, FAST_ARGS, REPO, RTL, setup_verilator_env
from tb.engine.sim import IN_GAP, OUT_STALL, engine_sources, run_bulk, run_engine

HERE = Path(__file__).parent
OUT = BUILD / "bench"


def build_native(weights: Path) -> Path:
    """The engine with the C++ driver, built with the bulk path's flags (minus the timing
    support only the harness's clock needs)."""
    setup_verilator_env()
    mdir = OUT / "native" / weights.name
    mdir.mkdir(parents=True, exist_ok=True)
    args = [a for a in FAST_ARGS if a != "--timing"]
    cmd = [
        "verilator",
        "--cc",
        "--exe",
        "--build",
        "-j",
        "2",
        "-Wall",
        "-Wno-fatal",
        f"-I{RTL}",
        *args,
        "--top-module",
        "cnn_engine",
        f'-GWEIGHTS_DIR="{weights.resolve()}"',
        "-Mdir",
        str(mdir),
        "-o",
        "engine_native",
        *map(str, engine_sources(weights.resolve())),
        str(HERE / "native" / "engine_native.cpp"),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return mdir / "engine_native"


def run_native(weights: Path, n: int) -> dict:
    exe = build_native(weights)
    vec = weights / "vectors"
    images = np.load(vec / "images.npy")[:n]
    logits = np.load(vec / "logits.npy")[:n]
    work = OUT / "native" / weights.name
    (work / "images.bin").write_bytes(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    (work / "logits.bin").write_bytes(np.ascontiguousarray(logits, dtype="<i4").tobytes())
    pixels = int(np.prod(images.shape[1:]))
    out = subprocess.run(
        [str(exe), str(work / "images.bin"), str(work / "logits.bin"), str(n), str(logits.shape[1]), str(pixels)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"native harness failed on {weights.name}: {out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def bench_net(net: str, images: int, axi_images: int) -> dict:
    weights = REPO / "weights" / net
    row: dict = {"images": images, "axi_images": axi_images, "in_gap": IN_GAP / 256, "out_stall": OUT_STALL / 256}
    s = run_bulk(weights, OUT / net / "bulk" / "results.json", images=images, seed=1)
    row["bulk"], row["bulk_wall"] = s["sim_images_per_cpu_s"], s["sim_images_per_s"]
    row["bulk_ii_cycles"] = s["ii_cycles"]
    s = run_bulk(weights, OUT / net / "bulk0" / "results.json", images=images, seed=1, in_gap=0, out_stall=0)
    row["bulk_no_stalls"], row["bulk_no_stalls_wall"] = s["sim_images_per_cpu_s"], s["sim_images_per_s"]
    t = time.perf_counter()
    s = run_engine(weights, "stream_images", OUT / net / "axi" / "results.json", images=axi_images, seed=1)
    row["axi"], row["axi_wall"] = s["sim_images_per_cpu_s"], s["sim_images_per_s"]
    row["axi_wall_s_with_build"] = time.perf_counter() - t
    native = run_native(weights, images)
    row["native"], row["native_wall"] = native["images_per_cpu_s"], native["images_per_s"]
    row["native_cycles_per_s"] = native["cycles_per_s"]
    row["bulk_over_native"] = row["bulk"] / row["native"]
    return row


def table(data: dict) -> str:
    lines = [
        "| network | bulk (make sim) | bulk, no stalls | cocotbext-axi | native C++ | bulk / native | load average |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for net, r in data.items():
        lines.append(
            f"| {net} | {r['bulk']:.0f} | {r['bulk_no_stalls']:.0f} | {r['axi']:.1f} | {r['native']:.0f} "
            f"| {r['bulk_over_native']:.2f} | {r.get('load_avg_1min_at_end', float('nan')):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default="tiny,lenet5")
    ap.add_argument("--images", type=int, default=1000, help="images for the bulk and native runs")
    ap.add_argument("--axi-images", type=int, default=100, help="images for the (slow) cocotbext-axi run")
    args = ap.parse_args(argv)
    data = {}
    for net in args.nets.split(","):
        print(f"bench-sim: {net}", file=sys.stderr, flush=True)
        data[net] = bench_net(net, args.images, args.axi_images)
        # how busy the machine was: CPU-time rates barely depend on it, wall-clock rates do
        data[net]["cores"], data[net]["load_avg_1min_at_end"] = os.cpu_count(), os.getloadavg()[0]
    OUT.mkdir(parents=True, exist_ok=True)

    (OUT / "sim_speed.json").write_text(json.dumps(data, indent=2) + "\n")
    print("\nimages per CPU-second of the simulator (build/bench/sim_speed.json):\n")
    print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
