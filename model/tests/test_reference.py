"""Integer reference (model/reference.py) vs the PyTorch quantized model (model/torch_quant.py)."""

import numpy as np
import pytest
import torch

from model import quant
from model.nets import LENET5, LENET5_SIGMOID, TINY, Conv, Dense, Net, Pool
from model.reference import classify, conv_acc, run_reference
from model.torch_quant import FakeQuantNet, QuantizedNet

ODD = Net(
    "odd",
    (Conv(3, 3), Pool("avg"), Conv(4, 2, pad=1, act="sigmoid"), Pool("max"), Dense(7), Dense(10, act="none")),
    in_shape=(1, 13, 13),
)


def _model(net, seed):
    from model.train import build_torch_model

    torch.manual_seed(seed)
    model = build_torch_model(net).eval()
    with torch.no_grad():  # larger biases exercise negative accumulators and both clamps
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                mod.bias.normal_(0, 0.3)
    return model


def _images(net, n, seed):
    rng = np.random.default_rng(seed)
    _, h, w = net.in_shape
    x = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    x[: n // 2] = np.where(rng.random((n // 2, h, w)) < 0.7, 0, x[: n // 2])  # sparse, MNIST-like
    return x


@pytest.mark.parametrize("net", [TINY, LENET5, LENET5_SIGMOID, ODD], ids=lambda n: n.name)
@pytest.mark.parametrize("scale", quant.SCALES)
def test_reference_equals_torch_quant(net, scale):
    for seed in range(2):
        model = _model(net, seed)
        qls = quant.quantize(net, model, _images(net, 64, seed), "percentile", scale)
        x = _images(net, 48, seed + 10)
        ref = run_reference(qls, x)
        tq = QuantizedNet(qls)(x).numpy()
        assert ref.shape == (48, 10) and ref.dtype == np.int64
        assert np.array_equal(ref, tq)


def test_conv_acc_against_loops():
    rng = np.random.default_rng(3)
    ql = quant.QuantLayer(
        "conv1",
        "conv",
        "relu",
        (2, 5, 4),
        (3, 5, 4),
        k=3,
        pad=1,
        weight=rng.integers(-127, 128, (3, 2, 3, 3)),
        bias=rng.integers(-1000, 1000, 3),
    )
    x = rng.integers(0, 256, (2, 5, 4, 2))
    acc = conv_acc(x, ql)
    for n in range(2):
        for y in range(5):
            for xx in range(4):
                for o in range(3):
                    s = int(ql.bias[o])
                    for c in range(2):
                        for i in range(3):
                            for j in range(3):
                                yy, xj = y + i - 1, xx + j - 1
                                if 0 <= yy < 5 and 0 <= xj < 4:
                                    s += int(x[n, yy, xj, c]) * int(ql.weight[o, c, i, j])
                    assert acc[n, y, xx, o] == s


def test_dump_stream_layout():
    model = _model(ODD, 0)
    qls = quant.quantize(ODD, model, _images(ODD, 16, 0))
    x = _images(ODD, 3, 5)
    logits, acts = run_reference(qls, x, dump=True)
    for ql in qls:
        c, h, w = ql.out_shape
        assert acts[ql.name].shape == (3, h, w, c)
    assert acts["pool1"].shape == (3, 5, 5, 3)  # 11 // 2: floor mode drops the last row/column
    assert "conv2_pre" in acts and acts["conv2_pre"].min() >= -128 and acts["conv2_pre"].max() <= 127
    assert np.array_equal(acts["conv2"], qls[2].lut[acts["conv2_pre"] + 128])
    assert np.array_equal(acts["fc2"].reshape(3, 10), logits)
    assert np.array_equal(acts["fc2_acc"].reshape(3, 10), logits)
    assert acts["fc1"].min() >= 0 and acts["fc1"].max() <= 255


def test_reference_rejects_non_uint8():
    qls = quant.quantize(TINY, _model(TINY, 0), _images(TINY, 4, 0))
    with pytest.raises(ValueError, match="uint8"):
        run_reference(qls, np.zeros((1, 28, 28), dtype=np.int32))


@pytest.mark.parametrize("net", [TINY, LENET5_SIGMOID], ids=lambda n: n.name)
def test_fake_quant_tracks_integer_model(net):
    """The fake-quant float model computes (approximately) s_acc * integer logits."""
    model = _model(net, 1)
    qls = quant.quantize(net, model, _images(net, 64, 1), "maxmin")
    fq = FakeQuantNet(net, quant.float_params(net, model), quant.act_scales_of(qls)).eval()
    x = _images(net, 64, 2)
    with torch.no_grad():
        f_logits = fq(quant.images_to_float(x)).double().numpy()
    ref = run_reference(qls, x) * qls[-1].s_out
    spread = np.abs(ref).max()
    assert np.abs(f_logits - ref).max() < 0.02 * spread
    assert np.mean(classify(ref) == f_logits.argmax(1)) >= 0.9
