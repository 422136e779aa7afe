"""The compile flow: runs the stages, from a network description to an export (`make weights`).

    nets.py description ─train─> float model ─quantize─> quantized graph ─plan─> hardware plan
        ─emit_mem / emit_rtl / emit_vectors / manifest─> weights/<net>/

Input:  a network (model/nets.py), its folding, a dataset, and either a checkpoint (with or
        without stored quantization settings) or nothing (then it trains).
Output: the export directory weights/<net>/ (docs/architecture.md "Memory files", "The manifest"):
    <layer>_w.mem, <layer>_b.mem, <layer>_m.mem, <layer>_r.mem, <layer>_lut.mem  ($readmemh)
    cnn_cfg_pkg.sv, cnn_layers.sv      generated RTL configuration (model/emit_rtl.py)
    checkpoint.pt, model.ts            float model (+ quantization settings, QAT weights)
    manifest.json                      model/manifest.py
    vectors/                           test vectors (model/emit_vectors.py): every held-out image, or
                                       the first n_vectors (the accuracies cover them all)
Re-exporting from the same checkpoint gives byte-identical files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from model import emit_mem, emit_rtl, emit_vectors, manifest
from model.graph import Graph, from_net
from model.nets import Fold, Net
from model.plan import plan
from model.quantize import CALIB_IMAGES, DEFAULT_QAT_EPOCHS, DEFAULT_SCALE, from_checkpoint, quantize_flow, round_acc

DEFAULT_NETS = ("tiny", "lenet5", "lenet5_sigmoid")
CHECKPOINT_FILES = ("checkpoint.pt", "model.ts")  # copied into the export with it


def export_dir(
    graph: Graph,
    folds: dict[str, Fold],
    ds,
    float_model,
    out_dir: Path,
    meta: dict,
    extra_files: list[Path] = (),
    n_vectors: int | None = None,
) -> Path:
    """Plan `graph` and write every file of the export except the checkpoint (given in
    extra_files when it is already in out_dir); return the manifest path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    solved = getattr(folds, "solution", None)  # FOLD=auto: what was asked, the predicted II
    if solved is not None:
        meta = {**meta, "fold_solver": solved.record()}
    hw_plan = plan(graph, folds, pow2=meta["quantization"]["scale"] == "pow2")
    mem_files = emit_mem.write_mem_files(graph, hw_plan, out_dir)
    written = [out_dir / f["file"] for files in mem_files.values() for f in files.values()]
    written += emit_rtl.write_rtl(hw_plan, out_dir)
    vec_paths, arrays = emit_vectors.write_vectors(graph, float_model, ds, out_dir, n_vectors)
    written += vec_paths
    labels = arrays["labels"]
    accuracy = {
        "int8": round_acc(np.mean(arrays["classes"] == labels)),
        "float": round_acc(np.mean(arrays["float_classes"] == labels)),
        "torch_quant_equals_reference": True,  # write_vectors raises otherwise
    }
    files = [*written, *extra_files]
    return manifest.write_manifest(graph, hw_plan, mem_files, ds, meta, accuracy, files, out_dir, n_vectors)


# Stages that multiply by a per-channel scale unless the scales are powers of two (POW2=0).
SCALE_MULTIPLIERS = ("requant", "add_unit")


def scale_mode(net: Net, scale: str | None) -> str:
    """The requantization scale mode an export from a float model gets: `scale`, or the net's default."""
    return scale or DEFAULT_SCALE.get(net.name, "float")


def check_device_budget(net: Net, folds, scale: str | None) -> None:
    """FOLD=auto with DEVICE= budgets the MAC products only (model/fold_solver.py): refuse an
    export whose requantization also multiplies, which the device's DSPs would not hold (lenet5
    `DEVICE=ecp5-85k`: 151 MAC multipliers, 603 MULT18X18D with float scales, docs/architecture.md
    "Budgets"). Shift-only scales (`SCALE=pow2`) and threshold layers multiply nothing there.
    `scale` None: the mode the export will get (scale_mode). Needs only the network's structure:
    it runs before any training or writing."""
    solved = getattr(folds, "solution", None)
    device = solved.target.get("device") if solved is not None else None
    if device is None or scale_mode(net, scale) == "pow2":
        return
    hw_plan = plan(from_net(net), folds)
    scaled = [st.inst for ly in hw_plan.layers for st in ly.stages if st.module in SCALE_MULTIPLIERS]
    if scaled:
        raise ValueError(
            f"{net.name}: FOLD=auto DEVICE={device} budgets the MAC multipliers only, and with float "
            f"scales {', '.join(scaled)} multiply by their scales too (DSP blocks of their own): "
            "export with SCALE=pow2 (shift-only requantization) or without DEVICE="
        )


def export_checkpoint(
    net: Net, ckpt_path: Path, out_dir: Path, folds, ds, method=None, scale=None, n_vectors: int | None = None
) -> Path:
    """Quantize a checkpoint (its stored settings unless method/scale override them) and
    export it into out_dir, with a copy of the checkpoint."""
    model, info, graph, settings, acc = from_checkpoint(net, ckpt_path, ds, method, scale)
    check_device_budget(net, folds, settings["scale"])  # before writing anything
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = []
    for fname in CHECKPOINT_FILES:
        src = Path(ckpt_path).parent / fname
        dst = out_dir / fname
        if src.is_file():
            if src.resolve() != dst.resolve():
                shutil.copyfile(src, dst)
            extra.append(dst)
    meta = manifest.meta(info, settings, acc, info.get("seed"), CALIB_IMAGES)
    return export_dir(graph, folds, ds, model, out_dir, meta, extra, n_vectors)


def make_weights(
    net: Net,
    folds: dict[str, Fold],
    ds,
    out: Path,
    checkpoint: Path | None = None,
    *,
    epochs: int | None = None,
    qat_epochs: int | None = None,
    method: str | None = None,
    scale: str | None = None,
    seed: int = 1,
    progress: bool = True,
    n_vectors: int | None = None,
) -> Path:
    """`make weights` for one network: train (or reuse `checkpoint`), calibrate, optionally
    fine-tune (QAT), export into `out`; return the manifest path. A checkpoint whose stored
    quantization settings match method/scale is re-exported as it is (byte-identical)."""
    from model.train import load_checkpoint, train_model

    qat_epochs = DEFAULT_QAT_EPOCHS.get(net.name, 0) if qat_epochs is None else qat_epochs
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise FileNotFoundError(f"checkpoint {checkpoint} does not exist (run without --from-checkpoint to train)")
        model, info = load_checkpoint(checkpoint, net)
        q = info.get("quant")
        if q and method in (None, q["method"]) and scale in (None, q["scale"]):
            return export_checkpoint(net, checkpoint, out, folds, ds, n_vectors=n_vectors)
    check_device_budget(net, folds, scale)  # before training
    if checkpoint is not None:
        print(f"  {checkpoint}: no stored quantization for these options; calibrating (and QAT)")
    else:
        model, info = train_model(net, ds, epochs=epochs, seed=seed, progress=progress)
    return quantize_export(net, model, info, folds, ds, out, qat_epochs, method, scale, seed, n_vectors)


def quantize_export(
    net: Net, model, info: dict, folds, ds, out: Path, qat_epochs: int, method, scale, seed: int, n_vectors=None
):
    """Calibrate (and QAT) a trained float model, save it with its quantization settings as
    out/checkpoint.pt, export it into out; return the manifest path."""
    from model.train import save_checkpoint

    scale = scale_mode(net, scale)
    _graph, settings, acc, _qm = quantize_flow(net, model, ds, scale, method, qat_epochs, seed)
    info = {k: v for k, v in info.items() if k not in ("seconds", "input_scale")}
    info["quant"] = {**settings, "accuracy": acc}
    save_checkpoint(model, info, out)
    return export_checkpoint(net, out / "checkpoint.pt", out, folds, ds, n_vectors=n_vectors)
