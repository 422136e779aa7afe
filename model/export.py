"""Quantize and export: `python -m model quantize | export | weights`.

* `quantize`: float / int8 PTQ (every calibration method) / int8 QAT accuracy of a checkpoint.
* `export`:   weights/<net>/ from a checkpoint (no training).
* `weights`:  `make weights`: train (or reuse a checkpoint), calibrate, optionally fine-tune
              (QAT), export. Default: every network on the embedded set.

weights/<net>/ (docs/architecture.md "Memory files", docs/quantization.md):
    <layer>_w.mem, <layer>_b.mem, <layer>_m.mem, <layer>_r.mem, <layer>_lut.mem  ($readmemh)
    cnn_cfg_pkg.sv, cnn_layers.sv      generated RTL configuration (model/hw.py)
    checkpoint.pt, model.ts            float model (+ quantization settings, QAT weights)
    manifest.json                      shapes, scales, m, r, folds, accuracies, SHA-256 of every file
    vectors/                           test vectors, plain .npy (byte-deterministic):
        images.npy uint8 (N, H, W)      held-out images (all of them, dataset order)
        labels.npy int64 (N,)
        logits.npy int64 (N, n_classes) expected integer logits (model/reference.py)
        classes.npy int64 (N,)          expected class (argmax, lowest index on ties)
        float_classes.npy int64 (N,)    the float model's class
        torch_quant_classes.npy int64   the PyTorch quantized model's class (== classes)
        acts/<layer>.npy                first N_DUMP images, stream layout (n, H, W, C):
                                        <layer>_acc int32 accumulators incl. bias,
                                        <layer>_pre int8 before the LUT (sigmoid layers),
                                        <layer> the layer output (uint8; int32 logits)
Re-exporting from the same checkpoint gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from model import hw, quant
from model.nets import NETS, Fold, Net, get_net, parse_fold
from model.quant import QuantLayer
from model.reference import classify, run_reference

N_DUMP = 8  # images whose every layer activation goes to vectors/acts/
CALIB_IMAGES = 2000  # training images used for calibration (the first ones; the split is shuffled)
MANIFEST_FORMAT = 1
DEFAULT_NETS = ("tiny", "lenet5", "lenet5_sigmoid")
# QAT epochs per network for `make weights` (0: PTQ only). QAT is kept only when it does
# not lower the validation accuracy.
DEFAULT_QAT_EPOCHS = {"tiny": 3, "lenet5": 3, "lenet5_sigmoid": 3}
QAT_LR = 1e-4

# ----------------------------------------------------------------------------------------------
# Memory files


def fold_of(folds: dict[str, Fold], ql: QuantLayer) -> Fold:
    try:
        f = folds[ql.name]
    except KeyError:
        raise ValueError(f"no folding given for {ql.name}") from None
    c_out, c_in = ql.out_shape[0], ql.in_shape[0]
    if f.pe < 1 or f.simd < 1 or c_out % f.pe or c_in % f.simd:
        raise ValueError(
            f"{ql.name}: PE={f.pe} must divide {c_out} output channels and "
            f"SIMD={f.simd} must divide {c_in} input channels"
        )
    if f.taps is not None:
        k = ql.k
        if ql.kind != "conv":
            raise ValueError(f"{ql.name}: TAPS applies to convolutions only")
        if f.taps < 1 or (k * k) % f.taps:
            raise ValueError(f"{ql.name}: TAPS={f.taps} must divide the {k * k} kernel taps")
    return f


def check_folds(net: Net, folds: dict[str, Fold]) -> None:
    """Every compute layer has a folding whose PE divides C_OUT, SIMD divides C_IN and TAPS
    (convolutions) divides k*k: checked before any training or export starts."""
    hw.check_folds(net, folds)


def _lanes_to_word(lanes: np.ndarray, bits: int) -> int:
    word = 0
    mask = (1 << bits) - 1
    for i, v in enumerate(lanes.tolist()):
        word |= (int(v) & mask) << (bits * i)
    return word


def _word_to_lanes(word: int, n: int, bits: int) -> np.ndarray:
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    vals = [(word >> (bits * i)) & mask for i in range(n)]
    return np.array([v - (1 << bits) if v >= half else v for v in vals], dtype=np.int64)


def pack_conv_weights(w: np.ndarray, fold: Fold) -> list[int]:
    """Conv weights (O, I, K, K) -> words: address (og*(I/SIMD) + ig)*(K*K/TAPS) + tg,
    lane (pe*SIMD + s)*TAPS + u = w[og*PE+pe][ig*SIMD+s][i][j], tap i*K + j = tg*TAPS + u
    (rtl/conv_unit.sv; TAPS = K*K when the fold gives none)."""
    o, c, k, _ = w.shape
    pe, simd = fold.pe, fold.simd
    taps = fold.taps or k * k
    words = []
    for og in range(o // pe):
        for ig in range(c // simd):
            block = w[og * pe : (og + 1) * pe, ig * simd : (ig + 1) * simd].reshape(pe, simd, k * k)
            for tg in range(k * k // taps):
                words.append(_lanes_to_word(block[:, :, tg * taps : (tg + 1) * taps].reshape(-1), 8))
    return words


def unpack_conv_weights(words: list[int], shape, fold: Fold) -> np.ndarray:
    o, c, k, _ = shape
    pe, simd = fold.pe, fold.simd
    taps = fold.taps or k * k
    nt = k * k // taps
    w = np.zeros((o, c, k * k), dtype=np.int64)
    for addr, word in enumerate(words):
        og, rest = divmod(addr, (c // simd) * nt)
        ig, tg = divmod(rest, nt)
        lanes = _word_to_lanes(word, pe * simd * taps, 8)
        w[og * pe : (og + 1) * pe, ig * simd : (ig + 1) * simd, tg * taps : (tg + 1) * taps] = lanes.reshape(
            pe, simd, taps
        )
    return w.reshape(shape)


def pack_fc_weights(w_stream: np.ndarray, in_beats: int, c_in: int, fold: Fold) -> list[int]:
    """Dense weights (O, IN_BEATS*C_IN) in stream order -> words: address
    (b*(O/PE) + og)*(C_IN/SIMD) + ig, lane pe*SIMD + s = w[og*PE+pe][b*C_IN + ig*SIMD + s]."""
    o = w_stream.shape[0]
    pe, simd = fold.pe, fold.simd
    w4 = w_stream.reshape(o // pe, pe, in_beats, c_in // simd, simd)  # og, pe, b, ig, s
    w4 = w4.transpose(2, 0, 3, 1, 4)  # b, og, ig, pe, s
    return [_lanes_to_word(block.reshape(-1), 8) for block in w4.reshape(-1, pe * simd)]


def unpack_fc_weights(words: list[int], o: int, in_beats: int, c_in: int, fold: Fold) -> np.ndarray:
    pe, simd = fold.pe, fold.simd
    lanes = np.stack([_word_to_lanes(wd, pe * simd, 8) for wd in words])
    w4 = lanes.reshape(in_beats, o // pe, c_in // simd, pe, simd).transpose(1, 3, 0, 2, 4)
    return w4.reshape(o, in_beats * c_in)


def format_mem(words, bits: int) -> str:
    """$readmemh text: one lower-case hex word per line, two's complement, no comments."""
    digits = (bits + 3) // 4
    mask = (1 << bits) - 1
    return "".join(f"{int(v) & mask:0{digits}x}\n" for v in words)


def read_mem(path: str | Path, bits: int, signed: bool = False) -> list[int]:
    vals = []
    for line in Path(path).read_text().splitlines():
        v = int(line, 16)
        if signed and v >= 1 << (bits - 1):
            v -= 1 << bits
        vals.append(v)
    return vals


def layer_mem_files(ql: QuantLayer, fold: Fold, beats_lanes: tuple[int, int]) -> dict[str, tuple[str, int, int]]:
    """suffix -> (text, depth, word bits) of every memory file of one compute layer;
    `beats_lanes`: how its input arrives (model/hw.py stream_formats), which a Dense layer's
    weight words follow."""
    if ql.kind == "conv":
        fold_of({ql.name: fold}, ql)
        words = pack_conv_weights(ql.weight, fold)
        wbits = fold.pe * fold.simd * (fold.taps or ql.k * ql.k) * 8
    else:
        words = pack_fc_weights(quant.dense_weight_stream(ql), *beats_lanes, fold)
        wbits = fold.pe * fold.simd * 8
    out = {"w": (format_mem(words, wbits), len(words), wbits), "b": (format_mem(ql.bias, 32), len(ql.bias), 32)}
    if ql.m is not None:
        if np.any(ql.m < 0) or np.any(ql.m >= 2**32) or np.any(ql.r > 255):
            raise ValueError(f"{ql.name}: m or r do not fit their memory words")
        out["m"] = (format_mem(ql.m, 32), len(ql.m), 32)
        out["r"] = (format_mem(ql.r, 8), len(ql.r), 8)
    if ql.lut is not None:
        out["lut"] = (format_mem(ql.lut, 8), 256, 8)
    return out


# ----------------------------------------------------------------------------------------------
# Export


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _f(x) -> float | None:
    """Fixed float formatting for the manifest (shortest round-trip repr of a double)."""
    return None if x is None else float(x)


def _acc(x) -> float | None:
    return None if x is None else round(float(x), 6)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)


def write_rtl(net: Net, folds: dict[str, Fold], out_dir: Path, pow2: bool) -> list[Path]:
    """model/hw.py's generated package and layer netlist."""
    return [Path(p) for p in hw.write_rtl_config(net, folds, out_dir, pow2=pow2)]


def float_classes(net: Net, float_model, images) -> np.ndarray:
    with torch.no_grad():
        x = quant.images_to_float(images)
        return torch.cat([float_model(x[i : i + 1000]) for i in range(0, len(x), 1000)]).argmax(1).numpy()


def int_accuracy(qlayers, x, y) -> float:
    return float(np.mean(classify(run_reference(qlayers, x)) == np.asarray(y)))


def dataset_description(ds) -> dict:
    d = ds.describe()
    for p in getattr(ds, "files", {}).values():  # no absolute paths in the manifest
        d["source"] = d["source"].replace(str(Path(p).parent), Path(p).parent.name)
    h = hashlib.sha256(np.ascontiguousarray(ds.test_x).tobytes() + np.ascontiguousarray(ds.test_y).tobytes())
    d["test_sha256"] = h.hexdigest()
    return d


def export_dir(
    net: Net,
    qlayers: list[QuantLayer],
    folds: dict[str, Fold],
    ds,
    float_model,
    out_dir: Path,
    meta: dict,
    extra_files: list[Path] = (),
) -> Path:
    """Write every file of weights/<net>/ except the checkpoint (given in extra_files when it
    is already in out_dir) and return the manifest path."""
    from model.torch_quant import QuantizedNet

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    layers_json = []
    formats = hw.stream_formats(net, folds)
    for ql in qlayers:
        entry = {
            "name": ql.name,
            "kind": ql.kind,
            "act": ql.act,
            "pool": ql.pool,
            "in_shape": list(ql.in_shape),
            "out_shape": list(ql.out_shape),
            "s_in": _f(ql.s_in),
            "s_out": _f(ql.s_out),
        }
        if ql.is_compute:
            fold = fold_of(folds, ql)
            mems = layer_mem_files(ql, fold, formats[ql.name])
            files = {}
            for suffix, (text, depth, bits) in mems.items():
                p = out_dir / f"{ql.name}_{suffix}.mem"
                p.write_text(text)
                written.append(p)
                files[suffix] = {"file": p.name, "depth": depth, "width": bits}
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
        layers_json.append(entry)
    pow2 = meta["quantization"]["scale"] == "pow2"
    written += write_rtl(net, folds, out_dir, pow2)

    # Test vectors
    vec = out_dir / "vectors"
    if vec.exists():
        shutil.rmtree(vec)
    x, y = np.asarray(ds.test_x, dtype=np.uint8), np.asarray(ds.test_y, dtype=np.int64)
    logits = run_reference(qlayers, x)
    cls = classify(logits)
    tq = QuantizedNet(qlayers)(x).numpy()
    if not np.array_equal(tq, logits):
        raise RuntimeError(f"{net.name}: PyTorch quantized model and integer reference disagree")
    fcls = float_classes(net, float_model, x)
    arrays = {
        "images": x,
        "labels": y,
        "logits": logits.astype(np.int64),
        "classes": cls.astype(np.int64),
        "float_classes": fcls.astype(np.int64),
        "torch_quant_classes": classify(tq).astype(np.int64),
    }
    _, acts = run_reference(qlayers, x[:N_DUMP], dump=True)
    for name, a in acts.items():
        if name.endswith("_acc") or name == qlayers[-1].name:
            dt = np.int32
        elif name.endswith("_pre"):
            dt = np.int8
        else:
            dt = np.uint8
        if a.min() < np.iinfo(dt).min or a.max() > np.iinfo(dt).max:
            raise RuntimeError(f"{name}: activations outside {dt.__name__}")
        arrays[f"acts/{name}"] = a.astype(dt)
    for name, a in arrays.items():
        p = vec / f"{name}.npy"
        _save_npy(p, a)
        written.append(p)

    acc = dict(meta.get("accuracy", {}))
    acc["int8"] = _acc(np.mean(cls == y))
    acc["float"] = _acc(np.mean(fcls == y))
    acc["torch_quant_equals_reference"] = True
    manifest = {
        **meta,
        "format": MANIFEST_FORMAT,
        "net": net.name,
        "in_shape": list(net.in_shape),
        "n_classes": net.n_classes,
        "folds": {k: v.as_dict() for k, v in sorted(folds.items())},
        "dataset": dataset_description(ds),
        "accuracy": acc,
        "layers": layers_json,
        "vectors": {
            "dir": "vectors",
            "n_images": int(len(x)),
            "n_dump": int(min(N_DUMP, len(x))),
            "layout": "acts/*.npy: stream layout (n, H, W, C); images (N, H, W) uint8",
        },
    }
    files = sorted({p.resolve() for p in [*written, *extra_files] if p.exists()})
    manifest["files"] = {p.relative_to(out_dir.resolve()).as_posix(): sha256(p) for p in files}
    mpath = out_dir / "manifest.json"
    mpath.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return mpath


# ----------------------------------------------------------------------------------------------
# Checkpoints and the quantization flow


def _load_data(net: Net, data_dir):
    from model.data import dataset_for_net

    return dataset_for_net(net, data_dir)


def _build(net: Net, state_dict) -> torch.nn.Module:
    from model.train import build_torch_model

    model = build_torch_model(net)
    model.load_state_dict(state_dict)
    return model.eval()


def ptq_all(net, float_model, ds, scale: str, methods=quant.METHODS) -> dict:
    """method -> (qlayers, val accuracy, test accuracy)."""
    calib = ds.train_x[:CALIB_IMAGES]
    out = {}
    for method in methods:
        ql = quant.quantize(net, float_model, calib, method, scale)
        out[method] = (ql, int_accuracy(ql, ds.val_x, ds.val_y), int_accuracy(ql, ds.test_x, ds.test_y))
    return out


def fake_quant_agreement(net, qmodel, qlayers, scale, x) -> float:
    """How often the fake-quant float model picks the integer reference's class."""
    from model.torch_quant import FakeQuantNet

    fq = FakeQuantNet(net, quant.float_params(net, qmodel), quant.act_scales_of(qlayers), scale).eval()
    with torch.no_grad():
        xf = quant.images_to_float(x)
        f_cls = torch.cat([fq(xf[i : i + 1000]) for i in range(0, len(xf), 1000)]).argmax(1).numpy()
    return float(np.mean(f_cls == classify(run_reference(qlayers, x))))


def quantize_flow(net, float_model, ds, scale: str, method: str | None, qat_epochs: int, seed: int, log=print):
    """PTQ with every calibration method; `method` (None: best on validation); then QAT
    when qat_epochs > 0, kept when it does not lower the validation accuracy.
    Returns (qlayers, quant settings for the checkpoint, accuracy dict, model quantized)."""
    ptq = ptq_all(net, float_model, ds, scale)
    for m, (_, va, ta) in ptq.items():
        log(f"  PTQ {scale:5s} {m:10s} val {100 * va:6.2f}%  held-out {100 * ta:6.2f}%")
    if method is None:
        method = max(quant.METHODS, key=lambda m: (ptq[m][1], -quant.METHODS.index(m)))
    qlayers, val_ptq, test_ptq = ptq[method]
    act_scales = quant.act_scales_of(qlayers)
    acc = {
        "int8_ptq": _acc(test_ptq),
        "int8_ptq_val": _acc(val_ptq),
        "int8_ptq_methods": {m: _acc(v[2]) for m, v in ptq.items()},
        "int8_qat": None,
        "int8_qat_val": None,
    }
    settings = {"method": method, "scale": scale, "act_scales": act_scales, "qat_state_dict": None, "qat_epochs": 0}
    qmodel = float_model
    if qat_epochs > 0:
        qat_model = quant.finetune_qat(net, float_model, ds, act_scales, scale, qat_epochs, QAT_LR, seed)
        ql_qat = quant.quantize(net, qat_model, scale=scale, act_scales=act_scales)
        val_qat = int_accuracy(ql_qat, ds.val_x, ds.val_y)
        test_qat = int_accuracy(ql_qat, ds.test_x, ds.test_y)
        acc.update({"int8_qat": _acc(test_qat), "int8_qat_val": _acc(val_qat)})
        log(f"  QAT {scale:5s} {method:10s} val {100 * val_qat:6.2f}%  held-out {100 * test_qat:6.2f}%")
        if val_qat >= val_ptq:
            qlayers, qmodel = ql_qat, qat_model
            settings["qat_state_dict"] = {k: v.detach().clone() for k, v in qat_model.state_dict().items()}
            settings["qat_epochs"] = qat_epochs
    acc["fake_quant_agreement"] = _acc(fake_quant_agreement(net, qmodel, qlayers, scale, ds.test_x))
    log(
        f"  fake-quant model agrees with the integer reference on {100 * acc['fake_quant_agreement']:.2f}% "
        f"of the held-out images ({method}, {scale}{', QAT' if settings['qat_epochs'] else ''})"
    )
    return qlayers, settings, acc, qmodel


def from_checkpoint(net: Net, ckpt_path: Path, ds, method=None, scale=None):
    """(float model, info, qlayers, accuracy dict) of a checkpoint: its stored quantization
    settings (scales, QAT weights) when present and not overridden, else fresh calibration."""
    from model.train import load_checkpoint

    model, info = load_checkpoint(ckpt_path, net)
    q = info.get("quant")
    acc = {}
    if q and (method in (None, q["method"])) and (scale in (None, q["scale"])):
        scale = q["scale"]
        qmodel = _build(net, q["qat_state_dict"]) if q.get("qat_state_dict") is not None else model
        qlayers = quant.quantize(net, qmodel, scale=scale, act_scales=q["act_scales"])
        acc = dict(q.get("accuracy", {}))
        settings = q
    else:
        scale = scale or "float"
        method = method or "maxmin"
        qlayers = quant.quantize(net, model, ds.train_x[:CALIB_IMAGES], method, scale)
        settings = {"method": method, "scale": scale, "act_scales": quant.act_scales_of(qlayers), "qat_epochs": 0}
        acc = {"int8_ptq": _acc(int_accuracy(qlayers, ds.test_x, ds.test_y))}
    return model, info, qlayers, settings, acc


def _meta(info: dict, settings: dict, acc: dict, seed) -> dict:
    return {
        "seed": seed,
        "training": {k: info.get(k) for k in ("epoch", "val_acc", "steps") if k in info},
        "quantization": {
            "method": settings["method"],
            "scale": settings["scale"],
            "qat_epochs": int(settings.get("qat_epochs") or 0),
            "calibration": f"first {CALIB_IMAGES} training images",
            "m_bits": None if settings["scale"] == "pow2" else quant.M_BITS,
            "r_range": [quant.R_MIN, quant.R_MAX],
            "weights": "int8 symmetric per output channel (last layer: one shared scale), -127..127",
            "requant": "y = clamp((acc*m + 2**(r-1)) >>> r, lo, hi)",
        },
        "accuracy": acc,
    }


def export_checkpoint(net: Net, ckpt_path: Path, out_dir: Path, folds, ds, method=None, scale=None) -> Path:
    model, info, qlayers, settings, acc = from_checkpoint(net, ckpt_path, ds, method, scale)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = []
    for fname in ("checkpoint.pt", "model.ts"):
        src = Path(ckpt_path).parent / fname
        dst = out_dir / fname
        if src.is_file():
            if src.resolve() != dst.resolve():
                shutil.copyfile(src, dst)
            extra.append(dst)
    seed = info.get("seed")
    return export_dir(net, qlayers, folds, ds, model, out_dir, _meta(info, settings, acc, seed), extra)


# ----------------------------------------------------------------------------------------------
# Commands


def _nets(arg) -> list[Net]:
    return [get_net(arg)] if arg else [get_net(n) for n in DEFAULT_NETS]


def cmd_quantize(args) -> int:
    from model.train import evaluate, load_checkpoint

    net = get_net(args.net)
    ckpt = Path(args.checkpoint) if args.checkpoint else Path("weights") / net.name / "checkpoint.pt"
    model, _info = load_checkpoint(ckpt, net)
    ds = _load_data(net, args.data_dir)
    fa, _ = evaluate(model, ds.test_x, ds.test_y)
    fv, _ = evaluate(model, ds.val_x, ds.val_y)
    print(f"{net.name} ({ckpt}) on {ds.name}: {len(ds.val_y)} val / {len(ds.test_y)} held-out")
    print(f"  float              val {100 * fv:6.2f}%  held-out {100 * fa:6.2f}%")
    scales = quant.SCALES if args.scale == "both" else (args.scale,)
    rows = []
    for scale in scales:
        _ql, settings, acc, _m = quantize_flow(net, model, ds, scale, args.method, args.qat_epochs, args.seed)
        ptq = acc["int8_ptq_methods"]
        qat = acc["int8_qat"]
        rows.append(
            f"| {net.name} | {scale} | {100 * fa:.2f} | "
            + " | ".join(f"{100 * ptq[m]:.2f}" for m in quant.METHODS)
            + f" | {'-' if qat is None else f'{100 * qat:.2f}'} ({settings['method']}) "
            f"| {100 * acc['fake_quant_agreement']:.2f} |"
        )
    print()
    print("| net | scale | float | PTQ " + " | PTQ ".join(quant.METHODS) + " | QAT | fake-quant agreement |")
    print("|---|---|---|" + "---|" * len(quant.METHODS) + "---|---|")
    print("\n".join(rows))
    return 0


def cmd_export(args) -> int:
    net = get_net(args.net)
    ckpt = Path(args.checkpoint) if args.checkpoint else Path("weights") / net.name / "checkpoint.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt} does not exist")
    folds = parse_fold(net, args.fold)
    check_folds(net, folds)
    ds = _load_data(net, args.data_dir)
    out = Path(args.out) if args.out else Path("weights") / net.name
    m = export_checkpoint(net, ckpt, out, folds, ds, args.method, args.scale)
    print(f"wrote {m.parent} ({m.name})")
    return 0


def cmd_weights(args) -> int:
    from model.train import load_checkpoint, save_checkpoint, train_model

    nets = _nets(args.net)
    for net in nets:  # errors before any training
        check_folds(net, parse_fold(net, args.fold))
    for net in nets:
        folds = parse_fold(net, args.fold)
        if args.out:
            out = Path(args.out) if len(nets) == 1 else Path(args.out) / net.name
        else:
            out = Path("weights") / net.name
        ds = _load_data(net, args.data_dir)
        print(f"== {net.name}: {ds.summary()}")
        qat_epochs = DEFAULT_QAT_EPOCHS.get(net.name, 0) if args.qat_epochs is None else args.qat_epochs
        scale = args.scale or "float"
        if args.from_checkpoint:
            ckpt = Path(args.from_checkpoint) if args.from_checkpoint != "auto" else out / "checkpoint.pt"
            if not ckpt.is_file():
                raise FileNotFoundError(f"checkpoint {ckpt} does not exist (run without --from-checkpoint to train)")
            model, info = load_checkpoint(ckpt, net)
            q = info.get("quant")
            if q and args.method in (None, q["method"]) and args.scale in (None, q["scale"]):
                # quantization settings stored with the checkpoint: re-export, byte-identical
                m = export_checkpoint(net, ckpt, out, folds, ds)
                _report(out, m)
                continue
            print(f"  {ckpt}: no stored quantization for these options; calibrating (and QAT)")
        else:
            model, info = train_model(net, ds, epochs=args.epochs, seed=args.seed, progress=not args.quiet)
        _ql, settings, acc, _qm = quantize_flow(net, model, ds, scale, args.method, qat_epochs, args.seed)
        info = {k: v for k, v in info.items() if k not in ("seconds", "input_scale")}
        info["quant"] = {**settings, "accuracy": acc}
        save_checkpoint(model, info, out)
        m = export_checkpoint(net, out / "checkpoint.pt", out, folds, ds)
        _report(out, m)
    return 0


def _report(out: Path, m: Path) -> None:
    man = json.loads(m.read_text())
    a = man["accuracy"]
    print(
        f"  wrote {out}: float {100 * a['float']:.2f}%  int8 {100 * a['int8']:.2f}% "
        f"({man['quantization']['method']}, {man['quantization']['scale']}, QAT epochs "
        f"{man['quantization']['qat_epochs']})"
    )


FOLD_HELP = "folding: default, an alt name (small, up5k) or conv2=2x4,... (PExSIMD[xTAPS][+serial][+wload])"


def register(subparsers) -> None:
    nets = ", ".join(NETS)
    p = subparsers.add_parser("quantize", help="float / int8 PTQ (every calibration method) / int8 QAT accuracy")
    p.add_argument("--net", default="tiny", help=f"network ({nets}; default tiny)")
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint.pt (default weights/<net>/checkpoint.pt)")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--scale", choices=(*quant.SCALES, "both"), default="float", help="float (default), pow2, both")
    p.add_argument("--method", choices=quant.METHODS, default=None, help="method for QAT (default: best on val)")
    p.add_argument("--qat-epochs", type=int, default=3, help="QAT fine-tuning epochs (0: none; default 3)")
    p.add_argument("--seed", type=int, default=1, help="QAT seed (default 1)")
    p.set_defaults(func=cmd_quantize)

    p = subparsers.add_parser("export", help="write weights/<net>/ from a checkpoint (no training)")
    p.add_argument("--net", default="tiny", help=f"network ({nets}; default tiny)")
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint.pt (default weights/<net>/checkpoint.pt)")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default weights/<net>)")
    p.add_argument("--fold", default=None, help=FOLD_HELP)
    p.add_argument("--method", choices=quant.METHODS, default=None, help="calibration (default: checkpoint's)")
    p.add_argument("--scale", choices=quant.SCALES, default=None, help="scale mode (default: checkpoint's)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("weights", help="train, quantize and export weights/<net>/ (make weights)")
    p.add_argument("--net", default=None, help=f"one network ({nets}; default: {', '.join(DEFAULT_NETS)})")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default weights/<net>)")
    p.add_argument("--seed", type=int, default=1, help="training seed (default 1)")
    p.add_argument("--fold", default=None, help=FOLD_HELP)
    p.add_argument(
        "--from-checkpoint",
        nargs="?",
        const="auto",
        default=None,
        metavar="CKPT",
        help="reuse a checkpoint instead of training (default <out>/checkpoint.pt)",
    )
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: per network)")
    p.add_argument("--qat-epochs", type=int, default=None, help="QAT epochs (default: per network; 0: none)")
    p.add_argument("--method", choices=quant.METHODS, default=None, help="calibration (default: best on val)")
    p.add_argument("--scale", choices=quant.SCALES, default=None, help="scale mode (default float)")
    p.add_argument("--quiet", action="store_true", help="no training progress")
    p.set_defaults(func=cmd_weights)


# ----------------------------------------------------------------------------------------------
# Loading an export back: the integer network from the manifest and the memory files alone


def load_qlayers(out_dir: str | Path) -> list[QuantLayer]:
    """Rebuild the integer network from weights/<net>/manifest.json and its .mem files (what the
    RTL reads), so a testbench's reference is the exported files, not a Python object."""
    out_dir = Path(out_dir)
    mpath = out_dir / "manifest.json"
    if not mpath.exists():
        raise FileNotFoundError(f"{mpath} is missing: not an export (run `make weights`)")
    manifest = json.loads(mpath.read_text())
    formats = hw.stream_formats(get_net(manifest["net"]), {k: Fold.from_dict(v) for k, v in manifest["folds"].items()})
    qlayers = []
    for e in manifest["layers"]:
        ql = QuantLayer(
            name=e["name"],
            kind=e["kind"],
            act=e["act"],
            in_shape=tuple(e["in_shape"]),
            out_shape=tuple(e["out_shape"]),
            pool=e["pool"],
        )
        if e["kind"] in ("conv", "dense"):
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
            if e["kind"] == "conv":
                ql.weight = unpack_conv_weights(mem("w", False), shape, fold).astype(np.int64)
            else:
                c, h, w = ql.in_shape
                stream = unpack_fc_weights(mem("w", False), shape[0], *formats[ql.name], fold)
                # stream order (y, x, c) back to PyTorch's (c, y, x) columns
                ql.weight = stream.reshape(shape[0], h, w, c).transpose(0, 3, 1, 2).reshape(shape).astype(np.int64)
            ql.bias = np.array(mem("b", True), dtype=np.int64)
            if "m" in files:
                ql.m = np.array(mem("m", False), dtype=np.int64)
                ql.r = np.array(mem("r", False), dtype=np.int64)
                ql.lo, ql.hi = e["lo"], e["hi"]
            if "lut" in files:
                ql.lut = np.array(mem("lut", False), dtype=np.int64)
        qlayers.append(ql)
    return qlayers
