"""The short engine run of a mutant (run by the mutation runner, not collected by `make test`):
MUTATE_IMAGES images of the export MUTATE_WEIGHTS through the bulk harness with random stalls,
bit-exact, and the II and latency the cycle model predicts (as tb/engine/test_engine_run.py's
test_stream_images, on fewer images). The RTL comes from RTL_DIR, the build goes to BUILD_DIR."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from model.cycles import predict
from model.nets import Fold, get_net
from tb.common.sim import BUILD
from tb.engine.sim import run_bulk, run_engine


def test_engine_short():
    weights = Path(os.environ["MUTATE_WEIGHTS"])
    images = int(os.environ.get("MUTATE_IMAGES", "20"))
    manifest = json.loads((weights / "manifest.json").read_text())
    s = run_bulk(weights, BUILD / "test" / weights.name / "results.json", images=images, seed=5, ii_frames=4)
    assert s["logits_bit_exact"] == s["images"] == images
    assert s["lost_frames"] == 0 and s["error_frames"] == 0
    pred = predict(get_net(manifest["net"]), {k: Fold.from_dict(v) for k, v in manifest["folds"].items()})
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)


def test_engine_protocol():
    """MUTATE_PROTOCOL: tests of tb/engine/test_engine.py on the same export (the protocol tests
    for the engine top, the run-time weight load for a folding that has one)."""
    tests = os.environ.get("MUTATE_PROTOCOL", "")
    if not tests:
        pytest.skip("no protocol tests for this module")
    weights = Path(os.environ["MUTATE_WEIGHTS"])
    run_engine(weights, tests, BUILD / "test" / weights.name / "protocol.json", seed=2)
