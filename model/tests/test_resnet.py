"""Networks as graphs (issue #13): the description's checks, batch-norm folding, the integer
arithmetic of Add / global average pooling / stride (reference == PyTorch quantized model),
the skip-FIFO depth rule and the planner's netlist for resnet8."""

import numpy as np
import pytest
import torch

from model import arith, quant
from model.cycles import predict, skip_depth
from model.graph import from_net
from model.nets import RESNET8, Add, Conv, Dense, GlobalAvgPool, Net, Pool, layer_inputs
from model.plan import plan
from model.reference import classify, run_reference
from model.torch_quant import FakeQuantNet, QuantizedNet


def _net(*layers, name="t"):
    return Net(name, (*layers, Dense(10, act="none")))


def test_chain_needs_no_extra_syntax():
    net = _net(Conv(4, 3, pad=1), Pool())
    assert net.is_chain and layer_inputs(net) == [("input",), ("conv1",), ("pool1",)]
    assert not RESNET8.is_chain
    assert layer_inputs(RESNET8)[3] == ("s1_conv2", "stem")  # s1_add: branch, then skip


@pytest.mark.parametrize(
    "layers,message",
    [
        (
            (Conv(4, 3, pad=1, name="a", inputs=("b",)), Conv(4, 3, pad=1, name="b", inputs=("a",))),
            r"t\.a: cycle a -> b -> a",
        ),
        (
            (Conv(4, 3, pad=1, name="a"), Conv(8, 3, pad=1, name="b"), Add(("a", "b"))),
            r"t\.add1: Add of mismatched shapes",
        ),
        (
            (Conv(4, 3, pad=1), Pool(), Pool(), Conv(4, 3, pad=1, stride=2)),
            r"t\.conv2: stride 2 does not divide the input 7x7",
        ),
        (
            (Conv(4, 3, pad=1, name="a"), Conv(4, 3, pad=1, inputs=("nowhere",))),
            r"t\.conv2: reads 'nowhere', which no layer produces",
        ),
        ((Conv(4, 3, pad=1, name="a"), Conv(4, 3, pad=1, inputs=("input",))), r"t\.a: its output is never used"),
        ((Conv(4, 3, pad=1, name="x"), Conv(4, 3, pad=1, name="x")), r"layer name 'x' used twice"),
    ],
)
def test_description_errors_name_the_layer(layers, message):
    with pytest.raises(ValueError, match=message):
        _net(*layers)


def test_shapes_of_resnet8():
    g = from_net(RESNET8)
    assert g["s2_conv1"].out_shape == (32, 14, 14) and g["s2_short"].out_shape == (32, 14, 14)
    assert g["s3_add"].out_shape == (64, 7, 7) and g["gap"].out_shape == (64, 1, 1)
    assert g["s2_short"].k == 1 and g["s2_short"].stride == 2 and g["s2_conv2"].act == "none"


def _model(seed=0):
    from model.train import build_torch_model

    torch.manual_seed(seed)
    m = build_torch_model(RESNET8)
    with torch.no_grad():  # non-trivial batch-norm statistics, as after training
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.1, 0.1)
    return m.eval()


def test_batch_norm_folds_exactly():
    m = _model()
    x = torch.rand(8, 1, 28, 28)
    params = quant.float_params(RESNET8, m)
    assert torch.allclose(m(x), quant.float_forward(RESNET8, params, x), atol=1e-4)
    m2 = _model(seed=1)
    quant.load_params(m2, params)  # folded weights back in: batch norm becomes the identity
    assert torch.allclose(m(x), m2(x), atol=1e-4)


@pytest.mark.parametrize("scale", ["pow2", "float"])
def test_reference_equals_torch_quant(scale):
    from model.data import load_dataset

    ds = load_dataset(None)
    m = _model()
    g = quant.quantize(RESNET8, m, ds.train_x[:200], "maxmin", scale)
    x = ds.test_x[:40]
    logits = run_reference(g, x)
    assert np.array_equal(logits, QuantizedNet(g.nodes)(x).numpy())
    if scale == "pow2":  # every alignment is a shift: power-of-two multipliers
        for node in g:
            if node.kind == "add":
                assert all(v & (v - 1) == 0 for v in node.m.tolist())
    fq = FakeQuantNet(RESNET8, quant.float_params(RESNET8, m), quant.act_scales_of(g.nodes), scale).eval()
    with torch.no_grad():
        agree = np.mean(fq(quant.images_to_float(x)).argmax(1).numpy() == classify(logits))
    assert agree >= 0.9


def test_add_and_gap_arithmetic():
    ma, mb, r = arith.add_multipliers(2**-3 / 255, 2**-1 / 255, 2**-2 / 255, "pow2")
    assert (ma, mb, r) == (1, 4, 1)  # a/2 + 2b, rounded half up: (a + 4b + 1) >> 1
    assert arith.add_int(np.array([-3, 5]), np.array([1, 200]), (ma, mb), (r,), 0, 255).tolist() == [1, 255]
    with pytest.raises(ValueError, match="not powers of two"):
        arith.add_multipliers(0.3, 0.5, 0.25, "pow2")
    for n in (1, 7, 49, 196):
        m, r = arith.gap_multiplier(n)
        s = np.arange(255 * n + 1)
        assert np.array_equal((s * m + (1 << (r - 1))) >> r, np.floor(s / n + 0.5).astype(np.int64))
    x = np.arange(49 * 2).reshape(1, 7, 7, 2)
    assert arith.gap_int(x, *(np.array([v]) for v in arith.gap_multiplier(49))).ravel().tolist() == [48, 49]


def test_skip_depth_rule():
    """Identity skip around two 3x3 'same' convolutions on 28 columns: branch a needs W+1 = 29
    beats of look-ahead per convolution, so the skip holds 58; the downsampling blocks' 1x1
    shortcuts need less (they share the stride grid)."""
    g = from_net(RESNET8)
    assert [skip_depth(g, g[n]) for n in ("s1_add", "s2_add", "s3_add")] == [(1, 58), (1, 29), (1, 15)]
    one = from_net(
        _net(Conv(4, 3, pad=1, name="c0"), Conv(4, 3, pad=1, act="none", name="c1"), Add(("c1", "c0")), GlobalAvgPool())
    )
    assert skip_depth(one, one["add1"]) == (1, 29)


def test_planner_composes_the_residual_units():
    p = plan(from_net(RESNET8), RESNET8.folds, pow2=True)
    stages = {s.inst: s for hw in p.layers for s in hw.stages}
    assert stages["stem_fork"].module == "axis_fork" and stages["stem_fork"].n_out == 2
    assert stages["s1_add_skip"].module == "skip_fifo" and stages["s1_add_skip"].srcs == ("stem_fork#1",)
    assert stages["s1_add"].srcs == ("s1_conv2_rq", "s1_add_skip")
    assert stages["s2_conv1_stride"].module == "stride_sel" and stages["s2_short_fifo"].srcs == ("s1_add_fork#1",)
    assert stages["gap"].module == "gap_unit"
    # skip FIFOs: the line-buffering bound, or the cycle model's occupancy at full rate (the
    # long branch's latency on top), plus a margin
    depths = {hw.name: (hw.consts["SKIP_LB"], hw.consts["SKIP_DEPTH"]) for hw in p.layers if "SKIP_LB" in hw.consts}
    # s1: 62 + 4 since conv_unit registers its products (one cycle more in the long branch;
    # the committed weights/resnet8 export, made before, has 65: still above the occupancy)
    assert depths == {"s1_add": (58, 66), "s2_add": (29, 33), "s3_add": (15, 19)}
    pred = predict(RESNET8, RESNET8.folds)
    assert pred.ii_cycles == 784 * 16  # every stage balanced at 16 cycles per 28x28 pixel


def test_results_page_states_the_committed_skip_fifo_memory():
    """docs/results.md's skip-FIFO memory (tb/engine/results.py) is the generated package's."""
    import json
    import re
    from pathlib import Path

    from model.nets import Fold
    from tb.engine.results import skip_fifos

    weights = Path(__file__).resolve().parents[2] / "weights" / "resnet8"
    folds = {k: Fold.from_dict(v) for k, v in json.loads((weights / "manifest.json").read_text())["folds"].items()}
    pkg = (weights / "cnn_cfg_pkg.sv").read_text()
    committed = {m[0].lower(): int(m[1]) for m in re.findall(r"localparam int (\w+)_SKIP_DEPTH\s*=\s*(\d+);", pkg)}
    skips = skip_fifos(RESNET8, folds)
    assert {name: depth for name, depth, _ in skips} == committed and len(committed) == 3
    assert [bits for *_, bits in skips] == [committed[a] * c * 8 for a, c in zip(committed, (16, 32, 64), strict=True)]
