"""Requantization arithmetic, multipliers and the quantizer (model/arith.py, model/quant.py)."""

import math
import random

import numpy as np
import pytest
import torch

from model import arith, quant
from model.arith import compute_multiplier, pow2_multiplier, requantize
from model.nets import TINY, Conv, Dense, Net, Pool


def rq(acc, m, r, lo=-(2**40), hi=2**40):
    return int(requantize(np.array([acc]), np.array([m]), np.array([r]), lo, hi)[0])


@pytest.mark.parametrize(
    "acc,m,r,want",
    [
        (3, 1, 1, 2),  # +1.5 -> 2 (ties go up)
        (-3, 1, 1, -1),  # -1.5 -> -1 (ties go up, not away from zero)
        (1, 1, 1, 1),  # +0.5 -> 1
        (-1, 1, 1, 0),  # -0.5 -> 0
        (5, 3, 2, 4),  # 3.75 -> 4
        (-5, 3, 2, -4),  # -3.75 -> -4
        (-13, 1, 3, -2),  # -1.625 -> -2
        (-12, 1, 3, -1),  # -1.5 -> -1 (pow2 mode: shift only)
        (12, 1, 3, 2),  # 1.5 -> 2
        (0, 16384, 20, 0),
        (-(2**31), 2**15 - 1, 62, 0),  # -0.0000149 -> 0
    ],
)
def test_requantize_hand_cases(acc, m, r, want):
    exact = math.floor(acc * m / 2**r + 0.5)
    assert exact == want
    assert rq(acc, m, r) == exact


def test_requantize_clamps():
    assert rq(1000, 1, 1, 0, 255) == 255
    assert rq(-10, 1, 1, 0, 255) == 0  # fused ReLU
    assert rq(1000, 1, 1, -128, 127) == 127
    assert rq(-1000, 1, 1, -128, 127) == -128
    assert rq(-255, 1, 1, -128, 127) == -127  # -127.5 -> -127
    assert rq(-257, 1, 1, -128, 127) == -128  # -128.5 -> -128
    assert rq(509, 1, 1, 0, 255) == 255  # 254.5 -> 255
    assert rq(511, 1, 1, 0, 255) == 255  # 255.5 -> 256 -> clamp


def test_requantize_per_channel_broadcast():
    acc = np.array([[10, 10, -10], [7, -7, 0]], dtype=np.int64)
    y = requantize(acc, np.array([1, 3, 1]), np.array([1, 2, 2]), -128, 127)
    assert y.tolist() == [[5, 8, -2], [4, -5, 0]]


def test_requantize_matches_python_ints():
    rng = random.Random(0)
    accs, ms, rs = [], [], []
    for _ in range(3000):
        accs.append(rng.randint(-(2**31), 2**31 - 1))
        ms.append(rng.randint(2**14, 2**15 - 1))
        rs.append(rng.randint(1, 62))
    y = requantize(np.array(accs), np.array(ms), np.array(rs), -(2**62), 2**62)
    want = [(a * m + (1 << (r - 1))) >> r for a, m, r in zip(accs, ms, rs, strict=True)]
    assert y.tolist() == want


def test_requantize_rejects_bad_shift():
    with pytest.raises(ValueError):
        requantize(np.array([1]), np.array([1]), np.array([0]), 0, 255)


def test_compute_multiplier_accuracy():
    rng = random.Random(1)
    for _ in range(2000):
        M = 10 ** rng.uniform(-9, 3)
        m, r = compute_multiplier(M)
        assert 2**14 <= m < 2**15 and 1 <= r <= 62
        assert abs(m / 2**r - M) <= M * 2**-15


def test_compute_multiplier_edges():
    assert compute_multiplier(0.5) == (2**14, 15)
    # rounds up to 2**15: renormalised to m = 2**14, one less shift
    m, r = compute_multiplier(1 - 2**-20)
    assert (m, r) == (2**14, 14)
    with pytest.raises(ValueError):
        compute_multiplier(2.0**14)  # needs r < 1
    with pytest.raises(ValueError):
        compute_multiplier(0.0)
    m, r = compute_multiplier(2.0**-70)  # beyond r = 62: smaller m
    assert r == 62 and m == 0


def test_pow2_multiplier():
    assert pow2_multiplier(2.0**-5) == (1, 5)
    assert pow2_multiplier(0.5) == (1, 1)
    with pytest.raises(ValueError):
        pow2_multiplier(0.3)
    with pytest.raises(ValueError):
        pow2_multiplier(1.0)  # r would be 0


def test_avg_pool_rounding():
    assert int(arith.avg_pool_int(1, 1, 1, 2)) == 1  # 1.25
    assert int(arith.avg_pool_int(1, 1, 2, 2)) == 2  # 1.5 -> up
    assert int(arith.avg_pool_int(255, 255, 255, 255)) == 255
    assert int(arith.avg_pool_int(0, 0, 0, 1)) == 0


def test_sigmoid_lut():
    lut = arith.sigmoid_lut(0.05)
    assert lut.shape == (256,) and lut.min() >= 0 and lut.max() <= 255
    assert np.all(np.diff(lut) >= 0)
    assert lut[128] == 128  # sigmoid(0) * 255 = 127.5 -> 128
    q = np.arange(-128, 128)
    assert np.array_equal(lut, np.clip(np.round(255 / (1 + np.exp(-q * 0.05))), 0, 255))


def test_dense_weight_stream_order():
    ql = quant.QuantLayer("fc1", "dense", "relu", (3, 2, 2), (5, 1, 1), weight=np.arange(5 * 12).reshape(5, 12))
    ws = arith.dense_weight_stream(ql)
    for o in range(5):
        for c in range(3):
            for y in range(2):
                for x in range(2):
                    assert ws[o, (y * 2 + x) * 3 + c] == ql.weight[o, c * 4 + y * 2 + x]


def _random_model(net, seed=0):
    from model.train import build_torch_model

    torch.manual_seed(seed)
    return build_torch_model(net).eval()


@pytest.mark.parametrize("scale", quant.SCALES)
@pytest.mark.parametrize("method", quant.METHODS)
def test_quantize_random_tiny(method, scale):
    model = _random_model(TINY)
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    qls = quant.quantize(TINY, model, images, method, scale)
    assert [q.name for q in qls] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2"]
    for q in qls:
        if not q.is_compute:
            continue
        assert q.weight.min() >= -127 and q.weight.max() <= 127
        assert q.acc_bound < 2**31
        if q.m is None:
            assert q.name == "fc2" and len(set(q.s_w.tolist())) == 1  # shared scale on the logits
        else:
            assert (q.lo, q.hi) == (0, 255)
            assert np.all(q.r >= 1) and np.all(q.r <= 62)
            if scale == "pow2":
                assert np.all(q.m == 1)
                assert all(math.frexp(s * 255)[0] == 0.5 for s in (q.s_in, q.s_out))
            else:
                assert np.all((q.m >= 2**14) & (q.m < 2**15))
            # m / 2**r approximates s_in * s_w / s_out
            M = q.s_in * q.s_w / q.s_out
            assert np.allclose(q.m / 2.0**q.r, M, rtol=2**-14)


def test_quantize_sigmoid_layers_get_lut():
    net = Net("sig", (Conv(2, 3, act="sigmoid"), Pool("avg"), Dense(10, act="none")), in_shape=(1, 8, 8))
    model = _random_model(net)
    images = np.random.default_rng(1).integers(0, 256, (32, 8, 8), dtype=np.uint8)
    qls = quant.quantize(net, model, images)
    c = qls[0]
    assert (c.lo, c.hi) == (-128, 127) and c.lut is not None and c.s_out == 1 / 255
    assert c.s_pre * 127 <= arith.SIGMOID_SAT + 1e-9


def test_accumulator_width_check():
    net = Net("wide", (Dense(10, act="none"),), in_shape=(1, 300, 300))
    model = _random_model(net)
    with torch.no_grad():
        model.fc1.weight.fill_(0.01)
    images = np.zeros((2, 300, 300), dtype=np.uint8)
    with pytest.raises(ValueError, match="does not fit int32"):
        quant.quantize(net, model, images)  # 90000 * 127 * 255 > 2**31


def test_quantize_rejects_bad_options():
    model = _random_model(TINY)
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match="calibration method"):
        quant.quantize(TINY, model, images, method="kl")
    with pytest.raises(ValueError, match="scale mode"):
        quant.quantize(TINY, model, images, scale="log")
