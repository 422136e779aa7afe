"""The manifest: manifest.json of an export, and reading an export back.

Input:  the quantized graph (model/graph.py), its hardware plan (model/plan.py), the memory
        files written (model/emit_mem.py), the dataset, the accuracies and the quantization
        settings.
Output: manifest.json (shapes, scales, m, r, folds, stream formats, accuracies, SHA-256 of every
        file; every key is documented in docs/architecture.md "The manifest"). `load_graph` is the
        inverse: the integer graph from manifest.json and the memory files alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from model import arith
from model.emit_mem import _word_to_lanes, read_mem, unpack_conv_weights, unpack_fc_weights
from model.graph import INPUT, Graph, QuantLayer
from model.nets import Fold
from model.plan import Plan

MANIFEST_FORMAT = 2  # 2: inputs, stream, in_stream, c_in, in_beats, taps
MANIFEST = "manifest.json"


VECTORS_DIR = "vectors"  # the export's test vectors (model/emit_vectors.py)
N_DUMP = 8  # images whose every layer activation goes to vectors/acts/


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _f(x) -> float | None:
    """Fixed float formatting for the manifest (shortest round-trip repr of a double)."""
    return None if x is None else float(x)


def dataset_description(ds) -> dict:
    d = ds.describe()
    for p in getattr(ds, "files", {}).values():  # no absolute paths in the manifest
        d["source"] = d["source"].replace(str(Path(p).parent), Path(p).parent.name)
    h = hashlib.sha256(np.ascontiguousarray(ds.test_x).tobytes() + np.ascontiguousarray(ds.test_y).tobytes())
    d["test_sha256"] = h.hexdigest()
    return d


def meta(info: dict, settings: dict, acc: dict, seed, calib_images: int) -> dict:
    """The checkpoint's part of the manifest: seed, training, quantization, accuracy so far."""
    if settings["method"] == "qat-ste":  # a low-bit network (model/lowbit.py)
        return {
            "seed": seed,
            "training": {k: info.get(k) for k in ("epoch", "val_acc", "steps") if k in info},
            "quantization": {
                "method": "qat-ste",
                "scale": settings["scale"],
                "qat_epochs": int(info.get("epoch") or 0),
                "calibration": "none: trained through its quantizers (straight-through estimator)",
                "m_bits": None,
                "r_range": None,
                "weights": "per layer w_bits: 1 = bipolar +-1 (bit 1 = +1), k = symmetric -(2**(k-1)-1)..2**(k-1)-1",
                "requant": "hidden layers: y = #{j : acc >= t[j]} (thresholds, batch norm folded; bipolar 2y-1); "
                "last layer: int32 logits",
            },
            "accuracy": acc,
        }
    return {
        "seed": seed,
        "training": {k: info.get(k) for k in ("epoch", "val_acc", "steps") if k in info},
        "quantization": {
            "method": settings["method"],
            "scale": settings["scale"],
            "qat_epochs": int(settings.get("qat_epochs") or 0),
            "calibration": f"first {calib_images} training images",
            "m_bits": None if settings["scale"] == "pow2" else arith.M_BITS,
            "r_range": [arith.R_MIN, arith.R_MAX],
            "weights": "int8 symmetric per output channel (last layer: one shared scale), -127..127",
            "requant": "y = clamp((acc*m + 2**(r-1)) >>> r, lo, hi)",
        },
        "accuracy": acc,
    }


def layer_entry(ql: QuantLayer, plan: Plan, files: dict[str, dict] | None) -> dict:
    """One element of manifest["layers"]; `files`: the node's memory files (compute nodes)."""
    entry = {
        "name": ql.name,
        "kind": ql.kind,
        "act": ql.act,
        "pool": ql.pool,
        "in_shape": list(ql.in_shape),
        "out_shape": list(ql.out_shape),
        "s_in": _f(ql.s_in),
        "s_out": _f(ql.s_out),
        "inputs": list(ql.inputs),
        "stream": plan.streams[ql.name].as_dict(),
    }
    if ql.stride != 1:
        entry["stride"] = ql.stride
    if ql.is_lowbit:  # precision (docs/rtl-library.md "Low-bit arithmetic contract")
        entry.update({"w_bits": ql.w_bits, "a_in": ql.a_in, "a_bits": ql.a_bits})
    if ql.kind in ("add", "gap"):  # constants in the generated package, no memory files
        entry.update({"m": [int(v) for v in ql.m], "r": [int(v) for v in ql.r], "lo": ql.lo, "hi": ql.hi})
    if ql.is_compute:
        fold = plan.folds[ql.name]
        in_beats, c_in = plan.formats[ql.name]
        # the dimensions of the weight memory table (docs/architecture.md "Memory files")
        if ql.kind == "dense":
            entry.update({"in_beats": in_beats, "c_in": c_in})
        else:
            entry.update({"c_in": c_in, "taps": fold.taps or ql.k * ql.k})
        entry.update(
            {
                "k": ql.k,
                "pad": ql.pad,
                "fold": fold.as_dict(),
                "weight_shape": list(ql.weight.shape),
                "s_w": [_f(v) for v in ql.s_w],
                "s_pre": _f(ql.s_pre),
                "m": None if ql.m is None else [int(v) for v in ql.m],
                "r": None if ql.r is None else [int(v) for v in ql.r],
                "lo": ql.lo,
                "hi": ql.hi,
                "acc_bound": ql.acc_bound,
                "files": files,
            }
        )
    return entry


def write_manifest(
    graph: Graph,
    plan: Plan,
    mem_files: dict[str, dict[str, dict]],
    ds,
    meta: dict,
    accuracy: dict,
    files: list[Path],
    out_dir: Path,
    n_vectors: int | None = None,
) -> Path:
    """Write out_dir/manifest.json; `files`: every file of the export (hashed), `meta`: see
    `meta()`, `accuracy`: the accuracies measured on the whole held-out set, `n_vectors`: the
    held-out images in vectors/ (None: all)."""
    out_dir = Path(out_dir)
    n_vec = len(ds.test_x) if n_vectors is None else min(n_vectors, len(ds.test_x))
    manifest = {
        **meta,
        "format": MANIFEST_FORMAT,
        "net": graph.name,
        "in_shape": list(graph.in_shape),
        "in_stream": plan.streams[INPUT].as_dict(),
        **({"in_bits": graph.in_bits} if graph.in_bits != 8 else {}),
        **({"pix": graph.pix} if graph.pix != 1 else {}),
        "n_classes": graph.n_classes,
        "folds": {k: v.as_dict() for k, v in sorted(plan.folds.items())},
        "dataset": dataset_description(ds),
        "accuracy": {**meta.get("accuracy", {}), **accuracy},
        "layers": [layer_entry(ql, plan, mem_files.get(ql.name)) for ql in graph],
        "vectors": {
            "dir": VECTORS_DIR,
            "n_images": int(n_vec),
            "n_dump": int(min(N_DUMP, len(ds.test_x))),
            "layout": "acts/*.npy: stream layout (n, H, W, C); images (N, H, W) uint8",
        },
    }
    paths = sorted({p.resolve() for p in files if p.exists()})
    manifest["files"] = {p.relative_to(out_dir.resolve()).as_posix(): sha256(p) for p in paths}
    mpath = out_dir / MANIFEST
    mpath.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return mpath


def load_graph(out_dir: str | Path) -> Graph:
    """Rebuild the integer graph from <out_dir>/manifest.json and its .mem files (what the RTL
    reads), so a testbench's reference is the exported files, not a Python object."""
    out_dir = Path(out_dir)
    mpath = out_dir / MANIFEST
    if not mpath.exists():
        raise FileNotFoundError(f"{mpath} is missing: not an export (run `make weights`)")
    manifest = json.loads(mpath.read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{mpath}: format {manifest.get('format')}, expected {MANIFEST_FORMAT} (run `make weights`)")
    nodes = []
    for e in manifest["layers"]:
        shape = {k: tuple(e[k]) for k in ("in_shape", "out_shape")}
        ql = QuantLayer(e["name"], e["kind"], e["act"], **shape, pool=e["pool"], inputs=tuple(e["inputs"]))
        ql.stride = e.get("stride", 1)
        ql.w_bits, ql.a_in, ql.a_bits = e.get("w_bits", 8), e.get("a_in", 8), e.get("a_bits", 8)
        if ql.kind in ("add", "gap"):
            ql.m, ql.r = np.array(e["m"], dtype=np.int64), np.array(e["r"], dtype=np.int64)
            ql.lo, ql.hi = e["lo"], e["hi"]
        nodes.append(ql)
    graph = Graph(
        manifest["net"],
        tuple(manifest["in_shape"]),
        manifest["n_classes"],
        nodes,
        manifest.get("in_bits", 8),
        manifest.get("pix", 1),
    )
    for ql, e in zip(graph, manifest["layers"], strict=True):
        if not ql.is_compute:
            continue
        fold = Fold.from_dict(e["fold"])
        files = e["files"]

        def mem(suffix, signed, files=files):
            f = files[suffix]
            vals = read_mem(out_dir / f["file"], f["width"], signed)
            if len(vals) != f["depth"]:
                raise ValueError(f"{out_dir / f['file']}: {len(vals)} words, manifest says {f['depth']}")
            return vals

        ql.k, ql.pad = e["k"], e["pad"]
        shape = tuple(e["weight_shape"])
        if ql.kind == "conv":
            ql.weight = unpack_conv_weights(mem("w", False), shape, fold, ql.w_bits).astype(np.int64)
        else:
            c, h, w = ql.in_shape
            stream = unpack_fc_weights(mem("w", False), shape[0], e["in_beats"], e["c_in"], fold, ql.w_bits)
            # stream order (y, x, c) back to PyTorch's (c, y, x) columns
            ql.weight = stream.reshape(shape[0], h, w, c).transpose(0, 3, 1, 2).reshape(shape).astype(np.int64)
        ql.bias = np.array(mem("b", True), dtype=np.int64)
        if "m" in files:
            ql.m = np.array(mem("m", False), dtype=np.int64)
            ql.r = np.array(mem("r", False), dtype=np.int64)
            ql.lo, ql.hi = e["lo"], e["hi"]
        if "t" in files:  # thresholds: one word per channel, threshold j at [j*32 +: 32]
            n_t = (1 << ql.a_bits) - 1
            ql.thr = np.array([_word_to_lanes(v, n_t, arith.ACC_W) for v in mem("t", False)], dtype=np.int64).reshape(
                -1, n_t
            )
        if "lut" in files:
            ql.lut = np.array(mem("lut", False), dtype=np.int64)
    return graph
