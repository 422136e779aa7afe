"""The short engine runs of a mutant (run by the mutation runner, not collected by `make test`).

MUTATE_ENGINES (JSON, set by verif/mutate/runner.py) lists the runs: an export's `weights`
folder, `images` through the bulk harness with random stalls, bit-exact, with the II and latency
the cycle model predicts (as tb/engine/test_engine_run.py's test_stream_images, on fewer
images), then the `protocol` tests of tb/engine/test_engine.py on that export. The RTL comes
from RTL_DIR, the builds go to BUILD_DIR (tb/common/sim.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from model.cycles import predict
from model.nets import Fold, net_of
from tb.common.sim import BUILD
from tb.engine.sim import run_bulk, run_engine

RUNS = json.loads(os.environ.get("MUTATE_ENGINES", "[]"))
if not RUNS and os.environ.get("MUTATE_WEIGHTS"):  # one run in separate variables
    RUNS = [
        {
            "weights": os.environ["MUTATE_WEIGHTS"],
            "images": os.environ.get("MUTATE_IMAGES", "20"),
            "protocol": os.environ.get("MUTATE_PROTOCOL", ""),
        }
    ]
IDS = [Path(r["weights"]).name for r in RUNS]
PROTOCOL_RUNS = [r for r in RUNS if r["protocol"]]


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_engine_short(run):
    weights = Path(run["weights"])
    images = int(run["images"])
    manifest = json.loads((weights / "manifest.json").read_text())
    s = run_bulk(weights, BUILD / "test" / weights.name / "results.json", images=images, seed=5, ii_frames=4)
    assert s["logits_bit_exact"] == s["images"] == images
    assert s["lost_frames"] == 0 and s["error_frames"] == 0
    pred = predict(net_of(manifest), {k: Fold.from_dict(v) for k, v in manifest["folds"].items()})
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)


@pytest.mark.parametrize("run", PROTOCOL_RUNS, ids=[Path(r["weights"]).name for r in PROTOCOL_RUNS])
def test_engine_protocol(run):
    """Tests of tb/engine/test_engine.py on the export: the protocol tests for the engine top,
    the run-time weight load for a folding that has one."""
    weights = Path(run["weights"])
    run_engine(weights, run["protocol"], BUILD / "test" / weights.name / "protocol.json", seed=2)
