"""One scoring of an image regression, whichever path streamed the images (the bulk harness
or the cocotbext-axi testbench): the figures of results.json and the checks that fail a run."""

from __future__ import annotations

import numpy as np


def score(
    vec, n: int, logits, classes, errors, *, ii: float, latency: int, wall: float, cpu: float, received: int
) -> dict:
    """The summary written to results.json. `logits`/`classes`/`errors` hold the `received`
    result frames in order (fewer than n when frames were lost). `wall` and `cpu` are the
    seconds the stream took and the CPU seconds the simulator process spent on it: on a shared
    machine images per CPU-second is the figure that does not depend on the other jobs."""
    logits = np.asarray(logits, dtype=np.int64).reshape(-1, vec.n_classes)
    classes = np.asarray(classes, dtype=np.int64)
    m = len(classes)
    exact = np.all(logits == vec.logits[:m], axis=1)
    bad = np.flatnonzero(~exact)
    return {
        "net": vec.net,
        "images": n,
        "logits_bit_exact": int(exact.sum()),
        "class_equal_torch_quant": int((classes == vec.class_torch_quant[:m]).sum()),
        "class_equal_argmax": int((classes == np.argmax(logits, axis=1)).sum()) if m else 0,
        "accuracy_rtl": float((classes == vec.labels[:m]).mean()) if m else 0.0,
        "agreement_float": float((classes == vec.class_float[:m]).mean()) if m else 0.0,
        "ii_cycles": float(ii),
        "latency_cycles": int(latency),
        "sim_images_per_s": float(n / wall) if wall > 0 else 0.0,
        "wall_s": float(wall),
        "sim_images_per_cpu_s": float(n / cpu) if cpu > 0 else 0.0,
        "cpu_s": float(cpu),
        "lost_frames": int(n - received),
        "error_frames": int(np.sum(errors)),
        "mismatched_images": [int(i) for i in bad[:20]],
    }


def failures(s: dict) -> list[str]:
    """Why a run fails; empty when every image is right."""
    n = s["images"]
    out = []
    if s["lost_frames"]:
        out.append(f"{s['lost_frames']} result frames missing")
    if s["logits_bit_exact"] != n - s["lost_frames"] or s["mismatched_images"]:
        out.append(f"{len(s['mismatched_images'])}+ images with wrong logits; first: {s.get('first_mismatch')}")
    if s["error_frames"]:
        out.append(f"{s['error_frames']} result frames flagged as malformed")
    if s["class_equal_torch_quant"] != n:
        out.append(f"class differs from the PyTorch quantized model on {n - s['class_equal_torch_quant']} images")
    if s["class_equal_argmax"] != n - s["lost_frames"]:
        out.append("the class beat is not the argmax of the logits")
    if s.get("ii_run_bit_exact") is False:
        out.append("logits differ in the II run (no stalls)")
    return out
