"""Quantization: from a trained float model to the quantized graph.

Input:  a float model (model/train.py; a checkpoint, with or without stored quantization
        settings) and the dataset's training images for calibration.
Output: the quantized graph (model/graph.py, integers only, built by model/quant.py
        `quantize`), the settings to store with the checkpoint (method, scale, activation
        scales, QAT weights) and the accuracy of every candidate (PTQ per calibration method,
        QAT), all checked against the integer reference (model/reference.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from model import quant
from model.graph import Graph
from model.nets import Net
from model.reference import classify, run_reference

CALIB_IMAGES = 2000  # training images used for calibration (the first ones; the split is shuffled)
# QAT epochs per network for `make weights` (0: PTQ only). QAT is kept only when it does
# not lower the validation accuracy.
DEFAULT_QAT_EPOCHS = {"tiny": 3, "lenet5": 3, "lenet5_sigmoid": 3, "resnet8": 3}
# Scale mode per network when SCALE= is not given (else "float"): resnet8 follows the Vitis AI
# int8 flow, power-of-two scales (every requantization and the Add's alignment are shifts).
DEFAULT_SCALE = {"resnet8": "pow2"}
QAT_LR = 1e-4


def round_acc(x) -> float | None:
    """An accuracy as the manifest and the checkpoint record it: 6 decimals."""
    return None if x is None else round(float(x), 6)


def int_accuracy(graph: Graph, x, y) -> float:
    return float(np.mean(classify(run_reference(graph, x)) == np.asarray(y)))


def _build(net: Net, state_dict) -> torch.nn.Module:
    from model.train import build_torch_model

    model = build_torch_model(net)
    model.load_state_dict(state_dict)
    return model.eval()


def ptq_all(net, float_model, ds, scale: str, methods=quant.METHODS) -> dict:
    """method -> (graph, val accuracy, test accuracy)."""
    calib = ds.train_x[:CALIB_IMAGES]
    out = {}
    for method in methods:
        ql = quant.quantize(net, float_model, calib, method, scale)
        out[method] = (ql, int_accuracy(ql, ds.val_x, ds.val_y), int_accuracy(ql, ds.test_x, ds.test_y))
    return out


def fake_quant_agreement(net, qmodel, graph, scale, x) -> float:
    """How often the fake-quant float model picks the integer reference's class."""
    from model.torch_quant import FakeQuantNet

    fq = FakeQuantNet(net, quant.float_params(net, qmodel), quant.act_scales_of(graph), scale).eval()
    with torch.no_grad():
        xf = quant.images_to_float(x)
        f_cls = torch.cat([fq(xf[i : i + 1000]) for i in range(0, len(xf), 1000)]).argmax(1).numpy()
    return float(np.mean(f_cls == classify(run_reference(graph, x))))


def quantize_flow(net, float_model, ds, scale: str, method: str | None, qat_epochs: int, seed: int, log=print):
    """PTQ with every calibration method; `method` (None: best on validation); then QAT
    when qat_epochs > 0, kept when it does not lower the validation accuracy.
    Returns (graph, quant settings for the checkpoint, accuracy dict, model quantized).
    A low-bit network was trained quantization-aware: its graph is `lowbit_flow`'s."""
    if net.is_lowbit:
        return lowbit_flow(net, float_model, ds, log)
    ptq = ptq_all(net, float_model, ds, scale, (method,) if method else quant.METHODS)
    for m, (_, va, ta) in ptq.items():
        log(f"  PTQ {scale:5s} {m:10s} val {100 * va:6.2f}%  held-out {100 * ta:6.2f}%")
    if method is None:
        method = max(ptq, key=lambda m: (ptq[m][1], -quant.METHODS.index(m)))
    graph, val_ptq, test_ptq = ptq[method]
    act_scales = quant.act_scales_of(graph)
    acc = {
        "int8_ptq": round_acc(test_ptq),
        "int8_ptq_val": round_acc(val_ptq),
        "int8_ptq_methods": {m: round_acc(v[2]) for m, v in ptq.items()},
        "int8_qat": None,
        "int8_qat_val": None,
    }
    settings = {"method": method, "scale": scale, "act_scales": act_scales, "qat_state_dict": None, "qat_epochs": 0}
    qmodel = float_model
    if qat_epochs > 0:
        qat_model = quant.finetune_qat(net, float_model, ds, act_scales, scale, qat_epochs, QAT_LR, seed)
        graph_qat = quant.quantize(net, qat_model, scale=scale, act_scales=act_scales)
        val_qat = int_accuracy(graph_qat, ds.val_x, ds.val_y)
        test_qat = int_accuracy(graph_qat, ds.test_x, ds.test_y)
        acc.update({"int8_qat": round_acc(test_qat), "int8_qat_val": round_acc(val_qat)})
        log(f"  QAT {scale:5s} {method:10s} val {100 * val_qat:6.2f}%  held-out {100 * test_qat:6.2f}%")
        if val_qat >= val_ptq:
            graph, qmodel = graph_qat, qat_model
            settings["qat_state_dict"] = {k: v.detach().clone() for k, v in qat_model.state_dict().items()}
            settings["qat_epochs"] = qat_epochs
    acc["fake_quant_agreement"] = round_acc(fake_quant_agreement(net, qmodel, graph, scale, ds.test_x))
    log(
        f"  fake-quant model agrees with the integer reference on {100 * acc['fake_quant_agreement']:.2f}% "
        f"of the held-out images ({method}, {scale}{', QAT' if settings['qat_epochs'] else ''})"
    )
    return graph, settings, acc, qmodel


LOWBIT_METHOD = "qat-ste"  # low-bit networks: trained quantization-aware from the start


def lowbit_flow(net, model, ds, log=print):
    """The quantized graph of a low-bit model (model/lowbit.py: integer weights, thresholds),
    its settings and accuracies: no calibration, no PTQ (the model was trained through its
    quantizers)."""
    from model import lowbit
    from model.train import evaluate

    graph = lowbit.quantize(net, model)
    val, test = int_accuracy(graph, ds.val_x, ds.val_y), int_accuracy(graph, ds.test_x, ds.test_y)
    with torch.no_grad():
        f_cls = model(quant.images_to_float(ds.test_x)).argmax(1).numpy()
    agree = float(np.mean(f_cls == classify(run_reference(graph, ds.test_x))))
    acc = {
        "int8_ptq": None,
        "int8_ptq_val": None,
        "int8_ptq_methods": {},
        "int8_qat": round_acc(test),
        "int8_qat_val": round_acc(val),
        "fake_quant_agreement": round_acc(agree),
    }
    log(
        f"  low-bit (thresholds) val {100 * val:6.2f}%  held-out {100 * test:6.2f}% "
        f"(float model {100 * evaluate(model, ds.test_x, ds.test_y)[0]:.2f}%, agreement {100 * agree:.2f}%)"
    )
    settings = {"method": LOWBIT_METHOD, "scale": "float", "act_scales": None, "qat_state_dict": None, "qat_epochs": 0}
    return graph, settings, acc, model


def from_checkpoint(net: Net, ckpt_path: Path, ds, method=None, scale=None):
    """(float model, info, graph, settings, accuracy dict) of a checkpoint: its stored quantization
    settings (scales, QAT weights) when present and not overridden, else fresh calibration."""
    from model.train import load_checkpoint

    model, info = load_checkpoint(ckpt_path, net)
    q = info.get("quant")
    acc = {}
    if net.is_lowbit:
        from model import lowbit

        settings = q or {"method": LOWBIT_METHOD, "scale": "float", "act_scales": None, "qat_epochs": 0}
        return model, info, lowbit.quantize(net, model), settings, dict((q or {}).get("accuracy", {}))
    if q and (method in (None, q["method"])) and (scale in (None, q["scale"])):
        scale = q["scale"]
        qmodel = _build(net, q["qat_state_dict"]) if q.get("qat_state_dict") is not None else model
        graph = quant.quantize(net, qmodel, scale=scale, act_scales=q["act_scales"])
        acc = dict(q.get("accuracy", {}))
        settings = q
    else:
        scale = scale or "float"
        method = method or "maxmin"
        graph = quant.quantize(net, model, ds.train_x[:CALIB_IMAGES], method, scale)
        settings = {"method": method, "scale": scale, "act_scales": quant.act_scales_of(graph), "qat_epochs": 0}
        acc = {"int8_ptq": round_acc(int_accuracy(graph, ds.test_x, ds.test_y))}
    return model, info, graph, settings, acc
