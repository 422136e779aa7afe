"""pytest entry for the engine: the image regression and the protocol tests, per network.

Both networks' exports are committed, so this runs on a fresh clone with no training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.cycles import predict
from model.nets import Fold, get_net
from tb.common.sim import BUILD, REPO
from tb.engine.sim import run_engine

PROTOCOL_TESTS = [
    "short_and_long_frames",
    "missing_tlast_then_good_frames",
    "reset_mid_frame",
    "output_stalled_10000_cycles",
    "long_input_gaps",
    "back_to_back_no_idle",
]
NETS = [n for n in ("tiny", "lenet5", "lenet5_sigmoid") if (REPO / "weights" / n / "manifest.json").exists()]


def _folds(weights: Path) -> dict[str, Fold]:
    manifest = json.loads((weights / "manifest.json").read_text())
    return {k: Fold(v["pe"], v["simd"]) for k, v in manifest["folds"].items()}


@pytest.mark.xdist_group("engine")
@pytest.mark.parametrize("net", NETS)
def test_stream_images(net):
    """All 1,000 held-out images, random stalls on both sides, bit-exact; II and latency as
    the cycle model predicts."""
    weights = REPO / "weights" / net
    results = BUILD / "test" / net / "results.json"
    s = run_engine(weights, "stream_images", results, images=1000, seed=1)
    assert s["logits_bit_exact"] == s["images"] == 1000
    assert s["class_equal_torch_quant"] == 1000
    assert s["lost_frames"] == 0 and s["error_frames"] == 0
    pred = predict(get_net(net), _folds(weights))
    assert s["ii_cycles"] <= 1.05 * 784, f"II {s['ii_cycles']} above 1.05 x 784"
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)


@pytest.mark.xdist_group("engine")
@pytest.mark.parametrize("net", NETS[:1])
def test_protocol(net):
    run_engine(REPO / "weights" / net, ",".join(PROTOCOL_TESTS), BUILD / "test" / net / "protocol.json")
