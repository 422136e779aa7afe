"""Test-vector emission: the expected answers of an export, for the testbenches.

Input:  a quantized graph (model/graph.py), the float model it came from and a dataset's
        held-out images.
Output: vectors/*.npy in the export (plain .npy, byte-deterministic):
    images.npy uint8 (N, H, W)      held-out images (all of them, or the first n_images; dataset order)
    labels.npy int64 (N,)
    logits.npy int64 (N, n_classes) expected integer logits (model/reference.py)
    classes.npy int64 (N,)          expected class (argmax, lowest index on ties)
    float_classes.npy int64 (N,)    the float model's class
    torch_quant_classes.npy int64   the PyTorch quantized model's class (== classes)
    acts/<layer>.npy                first N_DUMP images, stream layout (n, H, W, C):
                                    <layer>_acc int32 accumulators incl. bias,
                                    <layer>_pre int8 before the LUT (sigmoid layers),
                                    <layer> the layer output (uint8; int32 logits)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from model import quant
from model.graph import Graph
from model.manifest import N_DUMP, VECTORS_DIR
from model.reference import classify, run_reference


def float_classes(float_model, images) -> np.ndarray:
    with torch.no_grad():
        x = quant.images_to_float(images)
        return torch.cat([float_model(x[i : i + 1000]) for i in range(0, len(x), 1000)]).argmax(1).numpy()


def _save_npy(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)


def write_vectors(
    graph: Graph, float_model, ds, out_dir: Path, n_images: int | None = None
) -> tuple[list[Path], dict[str, np.ndarray]]:
    """Write out_dir/vectors/ (replacing it) for the first `n_images` held-out images (None:
    all); return the files written and the arrays by name, computed (and checked) on every
    held-out image. Raises when the PyTorch quantized model and the integer reference disagree."""
    from model.torch_quant import QuantizedNet

    vec = Path(out_dir) / VECTORS_DIR
    if vec.exists():
        shutil.rmtree(vec)
    x, y = np.asarray(ds.test_x, dtype=np.uint8), np.asarray(ds.test_y, dtype=np.int64)
    logits = run_reference(graph, x)
    tq = QuantizedNet(graph)(x).numpy()
    if not np.array_equal(tq, logits):
        raise RuntimeError(f"{graph.name}: PyTorch quantized model and integer reference disagree")
    arrays = {
        "images": x,
        "labels": y,
        "logits": logits.astype(np.int64),
        "classes": classify(logits).astype(np.int64),
        "float_classes": float_classes(float_model, x).astype(np.int64),
        "torch_quant_classes": classify(tq).astype(np.int64),
    }
    _, acts = run_reference(graph, x[:N_DUMP], dump=True)
    for name, a in acts.items():
        if name.endswith("_acc") or name == graph[-1].name:
            dt = np.int32
        elif name.endswith("_pre") or graph[name].signed_out or graph[name].a_bits == 1:  # int8, bipolar -1/+1
            dt = np.int8
        else:
            dt = np.uint8
        if a.min() < np.iinfo(dt).min or a.max() > np.iinfo(dt).max:
            raise RuntimeError(f"{name}: activations outside {dt.__name__}")
        arrays[f"acts/{name}"] = a.astype(dt)
    paths = []
    for name, a in arrays.items():
        paths.append(vec / f"{name}.npy")
        _save_npy(paths[-1], a if name.startswith("acts/") or n_images is None else a[:n_images])
    return paths, arrays
