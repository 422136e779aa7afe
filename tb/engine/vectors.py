"""Test vectors for the engine: images, labels and every expected answer.

`prepare_vectors` runs before the simulation (make sim / pytest side) and writes one .npz for
the cocotb process; `load_vectors` reads it back there together with the integer network
rebuilt from the exported memory files (for the protocol tests and the layer-dump mode).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.graph import Graph
from model.manifest import load_graph
from model.nets import Fold
from model.reference import run_reference


@dataclass
class Vectors:
    net: str
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray
    logits: np.ndarray  # (N, n_classes) int64, integer reference
    class_torch_quant: np.ndarray
    class_float: np.ndarray
    graph: Graph  # the integer graph rebuilt from the export's files
    folds: dict[str, Fold]

    @property
    def n_classes(self) -> int:
        return self.logits.shape[1]

    @property
    def pixels(self) -> int:
        return int(np.prod(self.images.shape[1:]))

    def reference_logits(self, pixels) -> np.ndarray:
        img = np.asarray(pixels, dtype=np.uint8).reshape(1, *self.images.shape[1:])
        return run_reference(self.graph, img)[0]


def prepare_vectors(weights_dir: Path, data_dir: Path | None, n: int, out: Path) -> Path:
    """Held-out images and expected answers. From the export's vectors/ by default; with a
    data dir, from its t10k set, with the expected answers computed here from the export."""
    vec = weights_dir / "vectors"
    if data_dir is None:
        arrays = {
            k: np.load(vec / f"{k}.npy")[:n]
            for k in ("images", "labels", "logits", "torch_quant_classes", "float_classes")
        }
    else:
        import torch

        from model.data import load_dataset
        from model.nets import get_net
        from model.torch_quant import QuantizedNet
        from model.train import images_to_tensor, load_checkpoint

        manifest = json.loads((weights_dir / "manifest.json").read_text())
        net = get_net(manifest["net"])
        ds = load_dataset(data_dir)
        x, y = np.asarray(ds.test_x[:n], dtype=np.uint8), np.asarray(ds.test_y[:n], dtype=np.int64)
        graph = load_graph(weights_dir)
        logits = run_reference(graph, x)
        tq = QuantizedNet(graph)(x).numpy()
        model, _ = load_checkpoint(weights_dir / "checkpoint.pt", net)
        with torch.no_grad():
            fcls = model(images_to_tensor(x)).argmax(1).numpy()
        arrays = {
            "images": x,
            "labels": y,
            "logits": logits,
            "torch_quant_classes": np.argmax(tq, 1),
            "float_classes": fcls,
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    return out


def load_vectors(weights_dir: Path) -> Vectors:
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    path = os.environ.get("VECTORS")
    if path:
        a = dict(np.load(path))
    else:  # protocol tests: the export's own vectors
        a = {
            k: np.load(weights_dir / "vectors" / f"{k}.npy")
            for k in ("images", "labels", "logits", "torch_quant_classes", "float_classes")
        }
    folds = {k: Fold.from_dict(v) for k, v in manifest["folds"].items()}
    return Vectors(
        manifest["net"],
        a["images"],
        a["labels"],
        a["logits"],
        a["torch_quant_classes"],
        a["float_classes"],
        load_graph(weights_dir),
        folds,
    )
