"""make sim: stream held-out images through cnn_engine in Verilator and compare with PyTorch.

    python -m tb.engine.sim            (NET, PIX, IMAGES, DATA, WEIGHTS, WAVES, SEED from the environment)

Builds the engine for weights/<NET> (or WEIGHTS=<dir>), streams IMAGES images (a number, or
`all` for the whole test split) back to back with random stalls on both AXI-Stream sides
through the bulk harness (tb/engine/engine_bulk.sv: no Python per clock cycle), checks every
logit bit-exactly against the integer reference and every class against the PyTorch
quantized model, prints a summary and writes build/sim/<net>/: results.json, the RTL's own
outputs rtl_outputs.npz (logits, classes, labels) and confusion.png. A mismatch re-runs the
first bad image through the cocotbext-axi testbench with a probe on every layer, which names
the first layer that departs from the reference.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from tb.common.sim import BUILD, REPO, RTL, run_cocotb, sv_string
from tb.engine.scoring import failures
from tb.engine.vectors import prepare_vectors

HERE = Path(__file__).parent
BULK_MAX_FRAMES = 10_000  # frames per batch in the harness's memories (the IDX test split)
# Stall probabilities of the bulk harness, in 1/256 per cycle: about one cycle in four.
IN_GAP = OUT_STALL = 64


def engine_sources(weights_dir: Path) -> list[Path]:
    pkg, layers = weights_dir / "cnn_cfg_pkg.sv", weights_dir / "cnn_layers.sv"
    for p in (pkg, layers):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: run `make weights` (or point WEIGHTS= at an export)")
    lib = sorted(p for p in RTL.glob("*.sv"))
    return [pkg, *lib, layers]


def _vectors(weights_dir: Path, results: Path, data_dir: Path | None, images: int | None) -> tuple[Path, int]:
    """The images (and expected answers) of a run, in one file beside `results`, which is removed
    so that a run that dies early leaves no stale summary. Returns the file and its image count."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    vectors = prepare_vectors(weights_dir, data_dir, images, results.parent / "vectors.npz")
    return vectors, len(np.load(vectors)["labels"])


def _test_env(weights_dir: Path, vectors: Path, seed: int, results: Path, ii_frames: int) -> dict[str, str]:
    """What both engine testbenches read from the environment (absolute paths: the simulator
    runs in its build directory)."""
    return {
        "WEIGHTS_DIR": str(weights_dir),
        "VECTORS": str(vectors),
        "SEED": str(seed),
        "RESULTS": str(results),
        "II_FRAMES": str(ii_frames),
    }


def run_engine(
    weights_dir: Path,
    testcase: str,
    results: Path,
    images: int = 1000,
    seed: int = 1,
    data_dir: Path | None = None,
    waves: bool = False,
    ii_frames: int = 12,
    extra_env: dict | None = None,
) -> dict | None:
    """A cocotb test (or comma-separated tests) of tb/engine/test_engine.py on the engine
    itself, driven by cocotbext-axi: the protocol tests, the layer probes, the AXI path of the
    speed benchmark."""
    weights_dir, results = weights_dir.resolve(), results.resolve()
    vectors, _ = _vectors(weights_dir, results, data_dir, images)
    env = {**_test_env(weights_dir, vectors, seed, results, ii_frames), **(extra_env or {})}
    try:
        run_cocotb(
            toplevel="cnn_engine",
            sources=engine_sources(weights_dir),
            test_module="test_engine",
            test_dir=Path(__file__).parent,
            parameters={"WEIGHTS_DIR": sv_string(weights_dir)},
            extra_env=env,
            testcase=testcase,
            waves=waves,
            build_args=[f"-I{RTL}"],
            tag=weights_dir.name,
            # Only the layer probes (probe_image, and stream_images on a mismatch) read inside the
            # engine; the protocol tests drive and watch its ports, and build without the
            # hierarchy's VPI table (a smaller model, quicker to compile and to simulate).
            internals=bool({"stream_images", "probe_image"} & set(testcase.split(","))),
        )
    finally:
        summary = json.loads(results.read_text()) if results.exists() else None
        if waves:  # the simulator writes its dump next to the test module: keep it with the results
            for dump in Path(__file__).parent.glob("dump.*"):
                target = results.parent / f"waves{dump.suffix}"
                dump.replace(target)
                print(f"waveform: {target}")
    return summary


def run_bulk(
    weights_dir: Path,
    results: Path,
    images: int | None = 1000,
    seed: int = 1,
    data_dir: Path | None = None,
    waves: bool = False,
    ii_frames: int = 12,
    in_gap: int = IN_GAP,
    out_stall: int = OUT_STALL,
) -> dict:
    """The image regression through the bulk harness; `images=None` streams the whole test split.

    Returns the summary (also in `results`); raises AssertionError naming what failed: a batch
    that stopped (with the last frame seen and the cycle), or wrong logits (with the first layer
    that departs from the reference, found by the cocotbext-axi testbench's layer probes)."""
    from model.cycles import predict
    from model.nets import Fold, net_of
    from tb.engine.engine_tb import wload_mem_file

    weights_dir, results = weights_dir.resolve(), results.resolve()
    vectors, n = _vectors(weights_dir, results, data_dir, images)
    if images is not None and n < images:
        raise ValueError(f"IMAGES={images}, but the test split holds {n} images (IMAGES=all streams every one)")
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    net, folds = net_of(manifest), {k: Fold.from_dict(v) for k, v in manifest["folds"].items()}
    pred = predict(net, folds)
    # No handshake on either side for this long means the engine is stuck (a folded engine
    # may legitimately hold its input for most of an II while its last layers work).
    watchdog = int(4 * (pred.ii_cycles + pred.latency_cycles) + 10_000)
    work = results.parent / "bulk"
    work.mkdir(exist_ok=True)
    plusargs = [f"+BULK_IN={work / 'batch.bin'}", f"+BULK_OUT={work / 'out'}"]
    wload = wload_mem_file(weights_dir)
    if wload:
        plusargs.append(f"+BULK_WLOAD={wload}")
    env = {
        **_test_env(weights_dir, vectors, seed, results, ii_frames),
        "BULK_IN": str(work / "batch.bin"),
        "BULK_OUT": str(work / "out"),
        "WATCHDOG": str(watchdog),
        "IN_GAP": str(in_gap),
        "OUT_STALL": str(out_stall),
    }
    try:
        run_cocotb(
            toplevel="engine_bulk",
            sources=[*engine_sources(weights_dir), HERE / "engine_bulk.sv"],
            test_module="bulk",
            test_dir=HERE,
            parameters={"WEIGHTS_DIR": sv_string(weights_dir), "MAX_FRAMES": BULK_MAX_FRAMES},
            extra_env=env,
            testcase="bulk_images",
            waves=waves,
            build_args=[f"-I{RTL}"],
            tag=weights_dir.name,
            fast=True,
            plusargs=plusargs,
        )
    except (AssertionError, SystemExit):  # the runner exits when the simulator does; the summary says why
        if not results.exists():
            raise
    summary = json.loads(results.read_text())
    # Hardware efficiency beside the measured II: multipliers instantiated by the folding and
    # the share of them doing useful work.
    from tb.engine.results import macs_and_multipliers, multiplier_lanes

    macs, mults = macs_and_multipliers(net, folds)
    # multipliers: the MAC lanes that multiply (a 1-bit side is an XNOR or a sign select)
    summary["macs_per_image"], summary["multipliers"], summary["mac_lanes"] = macs, multiplier_lanes(net, folds), mults
    summary["mac_utilisation"] = macs / (mults * summary["ii_cycles"]) if mults and summary["ii_cycles"] else 0.0
    if summary["mismatched_images"]:
        probe = results.parent / "probe.json"
        env_probe = {"PROBE_IMAGE": str(summary["mismatched_images"][0]), "PROBE_RESULTS": str(probe)}
        try:
            run_engine(
                weights_dir, "probe_image", results.parent / "probe_run.json", n, seed, data_dir, extra_env=env_probe
            )
        finally:
            if probe.exists():
                summary["first_mismatch"] = json.loads(probe.read_text())
    results.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_confusion(results.parent / "rtl_outputs.npz", results.parent / "confusion.png", manifest)
    problems = ([summary["batch_error"]] if "batch_error" in summary else []) + failures(summary)
    if problems:
        raise AssertionError(f"{manifest['net']}: " + "; ".join(problems))
    return summary


def write_confusion(outputs: Path, png: Path, manifest: dict) -> None:
    """The confusion matrix of the RTL's classes against the labels, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    o = np.load(outputs)
    names = manifest.get("dataset", {}).get("class_names") or [str(i) for i in range(10)]
    k = len(names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (o["labels"], o["classes"].clip(0, k - 1)), 1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    ax.set_xlabel("RTL class")
    ax.set_ylabel("label")
    acc = float(np.trace(cm)) / max(1, cm.sum())
    ax.set_title(f"{manifest['net']}: RTL on {cm.sum()} test images, {100 * acc:.2f} % correct", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def print_summary(s: dict) -> None:
    n = s["images"]
    rows = [
        ("network", s["net"]),
        ("images", f"{n}"),
        ("logits bit-exact with integer reference", f"{s['logits_bit_exact']} / {n}"),
        ("class equal to PyTorch quantized model", f"{s['class_equal_torch_quant']} / {n}"),
        ("RTL accuracy vs labels", f"{100 * s['accuracy_rtl']:.2f} %"),
        ("agreement with float PyTorch", f"{100 * s['agreement_float']:.2f} %"),
        ("initiation interval", f"{s['ii_cycles']:.1f} cycles/image"),
        *(
            [
                (
                    "multipliers / MAC utilisation",
                    f"{s['multipliers']}"
                    + (
                        f" (of {s['mac_lanes']} MAC lanes)"
                        if s.get("mac_lanes", s["multipliers"]) != s["multipliers"]
                        else ""
                    )
                    + f" / {100 * s['mac_utilisation']:.0f} %",
                )
            ]
            if "multipliers" in s
            else []
        ),
        ("latency", f"{s['latency_cycles']} cycles"),
        (
            "simulation speed",
            f"{s['sim_images_per_s']:.1f} images/s"
            + (f" ({s['sim_images_per_cpu_s']:.1f} per CPU-second)" if "sim_images_per_cpu_s" in s else ""),
        ),
        ("wall time (stream)", f"{s['wall_s']:.1f} s"),
        ("lost frames / error frames", f"{s['lost_frames']} / {s['error_frames']}"),
    ]
    if "in_gap" in s:
        rows.insert(-3, ("stalls (input gaps / output stalls)", f"{s['in_gap']:.0%} / {s['out_stall']:.0%} of cycles"))
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    if s.get("batch_error"):
        print(f"\n  BATCH FAILED: {s['batch_error']}")
    if s.get("first_mismatch"):
        print(f"\n  FIRST MISMATCH: {s['first_mismatch']}")
    print()


def main() -> int:
    net = os.environ.get("NET", "tiny")
    pix = os.environ.get("PIX", "1").strip() or "1"
    if pix not in ("1", "2", "4", "8"):
        print(f"error: PIX={pix}: pixels per input beat must be 1, 2, 4 or 8", file=sys.stderr)
        return 2
    # PIX=n: the export `make weights NET=<net> PIX=n` writes (weights/<net>_pix<n>)
    weights = Path(os.environ.get("WEIGHTS") or REPO / "weights" / (net if pix == "1" else f"{net}_pix{pix}"))
    data = os.environ.get("DATA") or None
    if data and not os.environ.get("WEIGHTS"):
        print("error: DATA= needs WEIGHTS=<dir> made for it: make weights NET=... DATA=... OUT=<dir>", file=sys.stderr)
        return 2
    try:
        text = os.environ.get("IMAGES", "1000").strip().lower()
        images = None if text == "all" else int(text)
        seed = int(os.environ.get("SEED", "1"))
        ii_frames = int(os.environ.get("II_FRAMES", "12"))
        if (images is not None and images < 1) or seed < 0 or ii_frames < 3:
            raise ValueError
    except ValueError:
        print(
            "error: IMAGES must be a positive integer or `all`, SEED a non-negative integer, II_FRAMES >= 3",
            file=sys.stderr,
        )
        return 2
    if not (weights / "manifest.json").exists():
        exports = sorted(p.parent.name for p in (REPO / "weights").glob("*/manifest.json"))
        print(
            f"error: {weights} holds no export (manifest.json): NET= one of {', '.join(exports)}, "
            "or WEIGHTS=<dir> made by `make weights ... OUT=<dir>` (PIX=n: `make weights NET=<net> PIX=n "
            "FOLD=auto CHECKPOINT=weights/<net>/checkpoint.pt` first)",
            file=sys.stderr,
        )
        return 2
    results = BUILD / "sim" / weights.name / "results.json"
    try:
        summary = run_bulk(
            weights,
            results,
            images,
            seed,
            Path(data) if data else None,
            os.environ.get("WAVES", "0") == "1",
            ii_frames,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BaseException:  # noqa: BLE001 - the summary still says what failed
        summary = json.loads(results.read_text()) if results.exists() else None
        if summary:
            print_summary(summary)
        print(f"make sim: FAILED (details above; results in {results})", file=sys.stderr)
        return 1
    print_summary(summary)
    shown = results.parent.relative_to(REPO) if results.is_relative_to(REPO) else results.parent
    print(f"  results: {shown}/results.json, rtl_outputs.npz, confusion.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
