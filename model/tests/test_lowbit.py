"""Low-bit networks: precision in the description, the threshold arithmetic (model/arith.py),
the integer reference against the PyTorch quantized model, the export's files."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from model import arith, lowbit
from model.emit_mem import layer_mem_files, read_mem
from model.graph import from_net
from model.nets import Conv, Dense, Fold, Net, Pool, layer_bits
from model.plan import plan, stream_formats
from model.reference import run_layer, run_reference
from model.torch_quant import QuantizedNet

LAST = Dense(10, act="none")


def _bin(out, **kw):
    return Dense(out, act="sign", w_bits=1, a_bits=1, **kw)


@pytest.mark.parametrize(
    ("layers", "msg"),
    [
        ((Dense(8, w_bits=3, a_bits=2), LAST), r"t\.fc1: 3-bit weights are not supported"),
        ((Dense(8, a_bits=3), LAST), r"t\.fc1: 3-bit activations are not supported"),
        ((_bin(8), Dense(10, act="none", w_bits=1, a_bits=1)), r"t\.fc2: a 1-bit last layer is not supported"),
        ((_bin(8), Dense(8), LAST), r"t\.fc2: 8-bit activations inside a low-bit network"),
        ((Dense(8, w_bits=1, a_bits=1), LAST), r"t\.fc1: 1-bit \(bipolar\) activations go with act='sign'"),
        ((Dense(8, act="sign"), LAST), r"t\.fc1: 1-bit \(bipolar\) activations go with act='sign'"),
        ((Dense(8, act="sigmoid", a_bits=2), LAST), r"t\.fc1: 2-bit activations need act 'relu' or 'sign'"),
        (
            (Conv(4, 3, act="sign", w_bits=1, a_bits=1), Pool("avg"), Dense(10, act="none", w_bits=1)),
            r"t\.pool1: avg pooling of bipolar activations",
        ),
        ((Dense(8, bn=True), LAST), r"t\.fc1: batch norm on a Dense layer needs a low-bit network"),
    ],
)
def test_unsupported_precision_is_refused_naming_the_layer(layers, msg):
    with pytest.raises(ValueError, match=msg):
        Net("t", layers)


def test_layer_bits_follow_the_stream():
    net = Net("t", (Conv(4, 3, act="sign", w_bits=2, a_bits=1), Pool(), _bin(16), Dense(10, act="none", w_bits=1)))
    assert layer_bits(net) == [(2, 8, 1), (8, 1, 1), (1, 1, 1), (1, 1, 32)]
    assert net.is_lowbit and not net.is_chain


# --------------------------------------------------------------------------------------------
# The threshold arithmetic


def _exact_count(acc: int, g: float, h: float, levels) -> int:
    """#{j : g*acc + h >= t_j} in exact rational arithmetic (the float values as given)."""
    z = Fraction(g) * acc + Fraction(h)
    return sum(z >= Fraction(t) for t in levels)


@pytest.mark.parametrize("a_bits", [1, 2, 4])
def test_thresholds_equal_the_float_staircase_exactly(a_bits):
    """For every accumulator in range, counting the integer thresholds reached (after the sign
    flip of negative-slope channels) equals the float activation's step, computed exactly."""
    rng = np.random.default_rng(a_bits)
    n = 24
    g = rng.normal(0, 0.05, n)
    g[:3] = [0.0, -0.0371, 1 / 3]  # constant channel, negative slope, inexact slope
    h = rng.normal(0, 1.0, n)
    h[0] = 0.3
    s_act = 0.37
    levels = arith.act_levels(a_bits, s_act)
    bound = 60
    thr, flip = arith.compute_thresholds(g, h, levels, bound)
    assert thr.shape == (n, 2**a_bits - 1)
    assert np.all(np.diff(thr, axis=1) >= 0)
    assert np.array_equal(flip, g < 0)
    accs = np.arange(-bound, bound + 1)
    for o in range(n):
        sign = -1 if flip[o] else 1
        got = arith.threshold_int(sign * accs[:, None], thr[o : o + 1], a_bits)[:, 0]
        want = np.array([_exact_count(int(a), g[o], h[o], levels) for a in accs])
        if a_bits == 1:
            want = 2 * want - 1
        assert np.array_equal(got, want), o


def test_threshold_ties_go_up_and_levels():
    assert arith.threshold_int([[4], [5], [6]], np.array([[5]]), 1).tolist() == [[-1], [1], [1]]
    assert arith.threshold_int([[-9, 0, 3]], np.array([[-1, 0, 3]] * 3), 2).tolist() == [[0, 2, 3]]
    assert arith.act_levels(2, 2.0).tolist() == [1.0, 3.0, 5.0]
    assert arith.lane_code([-1, 1, 1], 1).tolist() == [0, 1, 1]
    assert arith.pad_value(1) == -1 and arith.pad_value(2) == 0


# --------------------------------------------------------------------------------------------
# Reference == PyTorch quantized model; the float model agrees


NET = Net(
    "lowbit_t",
    (
        Conv(8, 3, pad=1, act="relu", w_bits=2, a_bits=2, bn=True),
        Pool("max"),
        Conv(8, 3, pad=1, act="sign", w_bits=1, a_bits=1, bn=True),  # bipolar padding: -1
        Conv(8, 3, pad=1, act="relu", w_bits=4, a_bits=4, bn=True),
        Pool("max"),
        Dense(16, act="sign", w_bits=1, a_bits=1, bn=True),
        Dense(10, act="none", w_bits=2),
    ),
    in_shape=(1, 12, 12),
    folds={"conv1": Fold(2, 1), "conv2": Fold(4, 2), "conv3": Fold(2, 4, 3), "fc1": Fold(4, 8), "fc2": Fold(2, 4)},
)


def _random_model(seed: int = 0) -> lowbit.LowBitModel:
    """Random weights and batch-norm statistics (some negative scales: flipped channels)."""
    torch.manual_seed(seed)
    model = lowbit.LowBitModel(NET)
    with torch.no_grad():
        for mod in model.mods.values():
            if mod.bn is not None:
                n = mod.bn.num_features
                mod.bn.weight.copy_(torch.randn(n))
                mod.bn.bias.copy_(torch.randn(n) * 0.3)
                mod.bn.running_mean.copy_(torch.randn(n) * 0.1)
                mod.bn.running_var.copy_(torch.rand(n) * 0.05 + 0.01)
            mod.bias.copy_(torch.randn_like(mod.bias) * 0.1)
    return model.eval()


def test_reference_equals_torch_quantized_bit_for_bit():
    model = _random_model()
    graph = lowbit.quantize(NET, model)
    assert [n.thr is not None for n in graph if n.is_compute] == [True, True, True, True, False]
    assert any(np.any(n.weight < 0) for n in graph if n.is_compute)
    x = np.random.default_rng(1).integers(0, 256, (64, 12, 12), dtype=np.uint8)
    logits, acts = run_reference(graph, x, dump=True)
    assert np.array_equal(QuantizedNet(graph)(x).numpy(), logits)
    # activations are in their ranges: bipolar -1/+1, 2-bit 0..3, 4-bit 0..15
    assert set(np.unique(acts["conv2"])) <= {-1, 1} and set(np.unique(acts["fc1"])) <= {-1, 1}
    assert acts["conv1"].max() <= 3 and acts["conv3"].max() <= 15 and acts["conv1"].min() >= 0
    # the float model computes the same network up to float rounding at the thresholds
    with torch.no_grad():
        f_logits = model.double()(torch.as_tensor(x, dtype=torch.float64).unsqueeze(1) / 255)
    # (up to the last layer's bias, rounded to the accumulator scale: half a step)
    s_last = graph[-1].s_in * graph[-1].s_w[0]
    err = np.abs(f_logits.numpy() - logits * s_last).max(axis=1)
    assert np.mean(err <= 0.5 * s_last * (1 + 1e-9)) >= 0.9, err / s_last


def test_bipolar_padding_is_minus_one():
    """A padded bipolar convolution counts the padding as -1 (window_gen's lane code 0)."""
    graph = lowbit.quantize(NET, _random_model())
    conv = graph["conv3"]  # reads conv2's bipolar output
    assert conv.a_in == 1 and graph["conv2"].a_in == 2
    x = np.ones((1, 6, 6, 8), dtype=np.int64)  # all +1
    acc = {}
    run_layer(conv, x, acc)
    w = conv.weight.sum(axis=1)  # (O, 3, 3): the sum over input channels per tap
    corner = w[:, 1:, 1:].sum(axis=(1, 2)) - w[:, 0, :].sum(axis=1) - w[:, 1:, 0].sum(axis=1)
    assert np.array_equal(acc["conv3_acc"][0, 0, 0], corner + conv.bias)
    assert np.any(corner != w[:, 1:, 1:].sum(axis=(1, 2)))


def test_export_files_round_trip(tmp_path):
    """Weight lanes of W_BITS bits, bipolar as one bit (1 = +1); thresholds one word per
    channel, sorted; the manifest reader rebuilds the same graph."""
    graph = lowbit.quantize(NET, _random_model())
    hw = plan(graph, NET.folds)
    fmt = stream_formats(graph, NET.folds)
    files = layer_mem_files(graph["fc1"], NET.folds["fc1"], fmt["fc1"])
    text, depth, bits = files["w"]
    assert bits == 4 * 8 * 1 and depth == 16 // 4 * (8 * 3 * 3) // 8
    assert set(files) == {"w", "b", "t"}
    assert files["t"][1:] == (16, 32)
    assert hw.streams["conv2"].width == 1 and hw.streams["pool2"].width == 4 and hw.streams["fc2"].width == 32
    mods = [st.module for layer in hw.layers for st in layer.stages]
    assert "requant" not in mods and mods.count("threshold") == 4
    from model.emit_mem import write_mem_files

    mem = write_mem_files(graph, hw, tmp_path)
    words = read_mem(tmp_path / mem["conv1"]["t"]["file"], 3 * 32)
    assert len(words) == 8
    bad = graph["conv1"]
    bad.thr = bad.thr[:, ::-1].copy()
    if np.any(np.diff(bad.thr, axis=1) < 0):
        with pytest.raises(ValueError, match="conv1: thresholds not sorted"):
            layer_mem_files(bad, NET.folds["conv1"], fmt["conv1"])


def test_manifest_load_graph(tmp_path):
    from types import SimpleNamespace

    from model import emit_mem, manifest

    graph = lowbit.quantize(NET, _random_model())
    hw = plan(graph, NET.folds)
    mem = emit_mem.write_mem_files(graph, hw, tmp_path)
    ds = SimpleNamespace(
        test_x=np.zeros((2, 12, 12), np.uint8),
        test_y=np.zeros(2, np.int64),
        describe=lambda: {"name": "t", "source": "t"},
    )
    settings = {"method": "qat-ste", "scale": "float"}
    manifest.write_manifest(graph, hw, mem, ds, manifest.meta({}, settings, {}, 1, 0), {}, [], tmp_path)
    back = manifest.load_graph(tmp_path)
    for a, b in zip(graph, back, strict=True):
        assert (a.w_bits, a.a_in, a.a_bits) == (b.w_bits, b.a_in, b.a_bits)
        if a.is_compute:
            assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
            assert (a.thr is None and b.thr is None) or np.array_equal(a.thr, b.thr)
    x = np.random.default_rng(2).integers(0, 256, (8, 12, 12), dtype=np.uint8)
    assert np.array_equal(run_reference(back, x), run_reference(graph, x))


def test_structure_plan_of_sfc():
    from model.nets import get_net

    net = get_net("sfc_w1a1")
    hw = plan(from_net(net), net.folds)
    fc2 = next(layer for layer in hw.layers if layer.name == "fc2")
    assert fc2.consts["W_BITS"] == fc2.consts["A_BITS"] == fc2.consts["A_OUT"] == 1
    assert [st.module for st in fc2.stages] == ["fc_unit", "threshold"]
    fc1 = hw.layers[0]
    assert (fc1.consts["W_BITS"], fc1.consts["A_BITS"]) == (1, 8)


def test_binarized_pixels():
    """in_bits = 1: the first layer reads +1 for pixel >= 128, -1 below, in the float model,
    the reference and QuantizedNet alike; the hardware binarizes with a threshold unit."""
    net = Net(
        "bin_t",
        (_bin(16, bn=True), Dense(10, act="none", w_bits=1)),
        in_shape=(1, 6, 6),
        folds={"fc1": Fold(4, 1), "fc2": Fold(1, 16)},
        in_bits=1,
    )
    assert layer_bits(net)[0] == (1, 1, 1)
    torch.manual_seed(3)
    model = lowbit.LowBitModel(net).eval()
    graph = lowbit.quantize(net, model)
    assert graph.in_bits == 1 and graph["fc1"].acc_bound == 36
    x = np.random.default_rng(4).integers(0, 256, (32, 6, 6), dtype=np.uint8)
    x[0] = 127
    x[1] = 128
    logits, acts = run_reference(graph, x, dump=True)
    assert np.array_equal(QuantizedNet(graph)(x).numpy(), logits)
    w = graph["fc1"].weight
    assert np.array_equal(acts["fc1_acc"][0, 0, 0], -w.sum(axis=1)) and np.array_equal(
        acts["fc1_acc"][1, 0, 0], w.sum(axis=1)
    )
    with torch.no_grad():
        f = model.double()(torch.as_tensor(x, dtype=torch.float64).unsqueeze(1) / 255)
    assert np.mean(f.numpy().argmax(1) == logits.argmax(1)) >= 0.9
    hw = plan(graph, net.folds)
    first = hw.layers[0].stages
    assert [st.module for st in first] == ["threshold", "fc_unit", "threshold"] and first[0].inst == "input_bin"
    assert hw.layers[0].consts["A_BITS"] == 1 and hw.streams["input"].width == 8
    with pytest.raises(ValueError, match="binarized"):
        Net("t", (LAST,), in_bits=2)


def test_narrow_accumulators_from_acc_bound():
    """Low-bit fc_unit layers get SUM_W = the fewest bits holding the worst case |accumulator|
    (and at least the dot product's width), computed from the exported integer weights; int8
    layers keep the 32-bit default. A width one bit narrower is refused, naming the layer."""
    import json
    from dataclasses import replace
    from pathlib import Path

    from model.manifest import load_graph
    from model.plan import ACC_W, check_sum_width, dot_width, layer_acc_bound, sum_width

    d = Path(__file__).resolve().parents[2] / "weights" / "tfc_w1a1"
    graph = load_graph(d)
    manifest = json.loads((d / "manifest.json").read_text())
    folds = {k: Fold.from_dict(v) for k, v in manifest["folds"].items()}
    hw = {layer.name: layer for layer in plan(graph, folds).layers}
    for node in graph:
        bound = layer_acc_bound(node)
        w = hw[node.name].consts["SUM_W"]
        assert bound < 2 ** (w - 1) and (bound >= 2 ** (w - 2) or w == dot_width(1, node.a_in, folds[node.name].simd))
        check_sum_width(f"tfc_w1a1.{node.name}", bound, w)
        with pytest.raises(ValueError, match=rf"tfc_w1a1\.{node.name}: accumulator width {w - 1} bits is too narrow"):
            check_sum_width(f"tfc_w1a1.{node.name}", bound, w - 1)
    # fc1 reads binarized pixels: |acc| <= 784 (11 bits); fc2..fc4 XNOR-popcounts of 64 (8 bits)
    assert [hw[n].consts["SUM_W"] for n in ("fc1", "fc2", "fc3", "fc4")] == [11, 8, 8, 8]
    # a bias beyond int32 is refused by name; a plan of the structure alone keeps ACC_W
    node = graph["fc4"]
    big = replace(node, bias=node.bias + 2**31)
    with pytest.raises(ValueError, match=r"tfc_w1a1\.fc4: worst case \|accumulator\| \d+ does not fit int32"):
        sum_width("tfc_w1a1", big, folds["fc4"])
    from model.nets import get_net

    structural = plan(from_net(get_net("tfc_w1a1")), folds)
    assert all(layer.consts["SUM_W"] == ACC_W for layer in structural.layers)
    assert "SUM_W" not in plan(from_net(get_net("tiny")), get_net("tiny").folds).layers[-1].consts


def test_logit_width_of_an_int8_last_layer():
    """An int8 last layer keeps its 32-bit accumulators but the result formatter compares only
    LOGIT_W bits: the fewest holding its worst-case |accumulator| (tiny: 19). A last layer with
    weights loaded at run time is serial and gets SUM_W from int8's -128 instead, and a plan of
    the structure alone has no weights to bound."""
    import json
    from pathlib import Path

    from model.manifest import load_graph
    from model.nets import get_net
    from model.plan import ACC_W, layer_acc_bound

    d = Path(__file__).resolve().parents[2] / "weights" / "tiny"
    graph = load_graph(d)
    folds = {k: Fold.from_dict(v) for k, v in json.loads((d / "manifest.json").read_text())["folds"].items()}
    last = plan(graph, folds).layers[-1]
    bound = layer_acc_bound(graph[last.name])
    assert last.consts["LOGIT_W"] == 19 and 2**17 <= bound < 2**18
    wload = {**folds, last.name: Fold(folds[last.name].pe, folds[last.name].simd, serial=True, wload=True)}
    assert "LOGIT_W" not in plan(graph, wload).layers[-1].consts
    assert "LOGIT_W" not in plan(from_net(get_net("tiny")), get_net("tiny").folds).layers[-1].consts
    assert ACC_W == 32


def test_serial_units_get_narrow_accumulators():
    """fc_serial layers (tiny's `up5k` folding) get SUM_W from the worst case too: fc2 from its
    weights, fc1, whose weights are loaded at run time, from int8's -128 in every weight."""
    from dataclasses import replace
    from pathlib import Path

    from model.manifest import load_graph
    from model.nets import get_net
    from model.plan import layer_acc_bound

    d = Path(__file__).resolve().parents[2] / "weights" / "tiny"
    graph = load_graph(d)
    hw = {layer.name: layer for layer in plan(graph, get_net("tiny").alt_folds["up5k"]).layers}
    fc1, fc2 = graph["fc1"], graph["fc2"]
    worst_fc1 = layer_acc_bound(replace(fc1, weight=np.full_like(fc1.weight, -128)))
    assert worst_fc1 == int(np.abs(fc1.bias).max()) + fc1.weight.shape[1] * 128 * 255
    assert hw["fc1"].consts["SUM_W"] == worst_fc1.bit_length() + 1 == 25
    assert hw["fc2"].consts["SUM_W"] == layer_acc_bound(fc2).bit_length() + 1 == 19
    assert "LOGIT_W" not in hw["fc2"].consts  # the formatter takes SUM_W


def test_convolutions_get_narrow_accumulators():
    """conv_unit layers get SUM_W from the worst case as the Dense units do, int8 (tiny, in
    every folding) and low-bit alike (cnv_w2a2: its thresholds then compare SUM_W bits)."""
    from pathlib import Path

    from model.manifest import load_graph
    from model.nets import get_net
    from model.plan import dot_width, layer_acc_bound

    weights = Path(__file__).resolve().parents[2] / "weights"
    graph = load_graph(weights / "tiny")
    net = get_net("tiny")
    for folds, want in ((net.alt_folds["up5k"], {"conv1": 19, "conv2": 21}), (net.folds, {"conv1": 20, "conv2": 22})):
        hw = {layer.name: layer for layer in plan(graph, folds).layers}
        for name, sum_w in want.items():
            node, f = graph[name], folds[name]
            terms = f.simd * (f.taps or node.k**2)  # the dot of one cycle: never narrower than it
            bound_w = layer_acc_bound(node).bit_length() + 1
            assert hw[name].consts["SUM_W"] == max(bound_w, dot_width(8, 8, terms)) == sum_w
    cnv = {layer.name: layer for layer in plan(load_graph(weights / "cnv_w2a2"), get_net("cnv_w2a2").folds).layers}
    conv1 = cnv["conv1"]
    assert conv1.consts["SUM_W"] < 32
    assert any(st.module == "threshold" and st.params.get("IN_W") == "CONV1_SUM_W" for st in conv1.stages)


def test_single_buffered_fold():
    """`+single`: fc_unit without its output register (OUT_REG = 0), one cycle more a frame in
    the cycle model; refused on a convolution or a serial layer, naming it."""
    from model.cycles import predict
    from model.nets import get_net
    from model.plan import check_folds

    net = get_net("tfc_w1a1")
    assert str(net.folds["fc1"]) == "64x1+single" and Fold.parse("64x1+single") == net.folds["fc1"]
    hw = plan(from_net(net), net.folds)
    assert all(layer.consts["OUT_REG"] == 0 for layer in hw.layers)
    assert predict(net, net.folds).ii_cycles == 785
    double = {k: Fold(v.pe, v.simd) for k, v in net.folds.items()}
    assert predict(net, double).ii_cycles == 784
    assert "OUT_REG" not in plan(from_net(net), double).layers[0].consts
    tiny = get_net("tiny")
    with pytest.raises(ValueError, match=r"tiny\.conv1: single applies to Dense layers"):
        check_folds(from_net(tiny), {**tiny.folds, "conv1": Fold(4, 1, single=True)})
    with pytest.raises(ValueError, match=r"tiny\.fc2: single applies to Dense layers on fc_unit only"):
        check_folds(from_net(tiny), {**tiny.folds, "fc2": Fold(1, 8, serial=True, single=True)})
