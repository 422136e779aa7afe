"""make sim: stream held-out images through cnn_engine in Verilator and compare with PyTorch.

    python -m tb.engine.sim            (NET, IMAGES, DATA, WEIGHTS, WAVES, SEED from the environment)

Builds the engine for weights/<NET> (or WEIGHTS=<dir>), streams IMAGES images back to back
with random stalls on both AXI-Stream sides, checks every logit bit-exactly against the
integer reference and every class against the PyTorch quantized model, prints a summary and
writes build/sim/<net>/results.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tb.common.sim import BUILD, REPO, RTL, run_cocotb, sv_string
from tb.engine.vectors import prepare_vectors


def engine_sources(weights_dir: Path) -> list[Path]:
    pkg, layers = weights_dir / "cnn_cfg_pkg.sv", weights_dir / "cnn_layers.sv"
    for p in (pkg, layers):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: run `make weights` (or point WEIGHTS= at an export)")
    lib = sorted(p for p in RTL.glob("*.sv"))
    return [pkg, *lib, layers]


def run_engine(
    weights_dir: Path,
    testcase: str,
    results: Path,
    images: int = 1000,
    seed: int = 1,
    data_dir: Path | None = None,
    waves: bool = False,
    ii_frames: int = 12,
) -> dict | None:
    # absolute: the simulator runs in its build directory, where a relative path points elsewhere
    weights_dir, results = weights_dir.resolve(), results.resolve()
    results.parent.mkdir(parents=True, exist_ok=True)
    vectors = prepare_vectors(weights_dir, data_dir, images, results.parent / "vectors.npz")
    env = {
        "WEIGHTS_DIR": str(weights_dir),
        "VECTORS": str(vectors),
        "IMAGES": str(images),
        "SEED": str(seed),
        "RESULTS": str(results),
        "II_FRAMES": str(ii_frames),
    }
    if results.exists():
        results.unlink()
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
        )
    finally:
        summary = json.loads(results.read_text()) if results.exists() else None
        if waves:  # the simulator writes its dump next to the test module: keep it with the results
            for dump in Path(__file__).parent.glob("dump.*"):
                target = results.parent / f"waves{dump.suffix}"
                dump.replace(target)
                print(f"waveform: {target}")
    return summary


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
        ("latency", f"{s['latency_cycles']} cycles"),
        ("simulation speed", f"{s['sim_images_per_s']:.1f} images/s"),
        ("wall time (stream)", f"{s['wall_s']:.1f} s"),
        ("lost frames / error frames", f"{s['lost_frames']} / {s['error_frames']}"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    if s.get("first_mismatch"):
        print(f"\n  FIRST MISMATCH: {s['first_mismatch']}")
    print()


def main() -> int:
    net = os.environ.get("NET", "tiny")
    weights = Path(os.environ.get("WEIGHTS") or REPO / "weights" / net)
    data = os.environ.get("DATA") or None
    if data and not os.environ.get("WEIGHTS"):
        print("error: DATA= needs WEIGHTS=<dir> made for it: make weights NET=... DATA=... OUT=<dir>", file=sys.stderr)
        return 2
    try:
        images = int(os.environ.get("IMAGES", "1000"))
        seed = int(os.environ.get("SEED", "1"))
        ii_frames = int(os.environ.get("II_FRAMES", "12"))
        if images < 1 or ii_frames < 3:
            raise ValueError
    except ValueError:
        print("error: IMAGES and SEED must be positive integers (II_FRAMES >= 3)", file=sys.stderr)
        return 2
    if not (weights / "manifest.json").exists():
        exports = sorted(p.parent.name for p in (REPO / "weights").glob("*/manifest.json"))
        print(
            f"error: {weights} holds no export (manifest.json): NET= one of {', '.join(exports)}, "
            "or WEIGHTS=<dir> made by `make weights ... OUT=<dir>`",
            file=sys.stderr,
        )
        return 2
    results = BUILD / "sim" / weights.name / "results.json"
    try:
        summary = run_engine(
            weights,
            "stream_images",
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
    print(f"  results: {results.relative_to(REPO) if results.is_relative_to(REPO) else results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
