"""pytest entry for the engine: the image regression and the protocol tests, per network.

Both networks' exports are committed, so this runs on a fresh clone with no training.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model.cycles import predict
from model.nets import Fold, get_net
from tb.common.sim import BUILD, REPO
from tb.engine.sim import run_bulk, run_engine

PROTOCOL_TESTS = [
    "short_and_long_frames",
    "missing_tlast_then_good_frames",
    "reset_mid_frame",
    "output_stalled_10000_cycles",
    "long_input_gaps",
    "back_to_back_no_idle",
    "reset_input_contract",
    "reset_cuts_result_frame",
    "frame_kinds_under_stalls_and_resets",
]
NETS = [n for n in ("tiny", "lenet5", "lenet5_sigmoid") if (REPO / "weights" / n / "manifest.json").exists()]


def _folds(weights: Path) -> dict[str, Fold]:
    manifest = json.loads((weights / "manifest.json").read_text())
    return {k: Fold.from_dict(v) for k, v in manifest["folds"].items()}


@pytest.mark.xdist_group("engine")
@pytest.mark.parametrize("net", NETS)
def test_stream_images(net):
    """All 1,000 held-out images through the bulk harness, random stalls on both sides,
    bit-exact; II and latency as the cycle model predicts."""
    weights = REPO / "weights" / net
    results = BUILD / "test" / net / "results.json"
    s = run_bulk(weights, results, images=1000, seed=1)
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


# Foldings exported from the committed tiny checkpoint: 'small' (PE = SIMD = 1 everywhere) and
# 'up5k' (also one kernel row per cycle in the convolutions, shift-only requantization: the
# configuration docs/synthesis.md sizes for the iCE40 UP5K).
FOLDED = {"small": [], "up5k": ["--scale", "pow2"]}
# short_and_long_frames: malformed frames on a folded export too (functional coverage,
# docs/coverage.md), here where the protocol build exists anyway.
WLOAD_TESTS = ["weights_load_after_images", "reset_mid_frame", "short_and_long_frames"]


@pytest.mark.xdist_group("engine_small")
@pytest.mark.parametrize("fold", FOLDED)
def test_folded_tiny(fold):
    """FOLD is a parameter: the committed tiny checkpoint exported with a heavily folded
    configuration is still bit-exact, and its II is what the cycle model says."""
    from model.__main__ import main as model_main

    out = BUILD / "weights" / f"tiny_{fold}"
    ckpt = REPO / "weights" / "tiny" / "checkpoint.pt"
    argv = ["weights", "--net", "tiny", "--fold", fold, "--from-checkpoint", str(ckpt), "--out", str(out), "--quiet"]
    assert model_main(argv + FOLDED[fold]) == 0
    results = BUILD / "test" / f"tiny_{fold}" / "results.json"
    s = run_bulk(out, results, images=12, seed=2, ii_frames=4)
    assert s["logits_bit_exact"] == s["images"] == 12
    if any(f.wload for f in _folds(out).values()):  # run-time weights: the load protocol
        run_engine(out, ",".join(WLOAD_TESTS), BUILD / "test" / f"tiny_{fold}" / "protocol.json", seed=2)
    pred = predict(get_net("tiny"), _folds(out))
    assert pred.ii_cycles > 10 * 784  # heavily folded
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)


@pytest.mark.xdist_group("engine_bug")
def test_mismatch_names_first_bad_layer():
    """The layer-dump mode finds a hardware bug: a copy of the tiny export whose generated
    package clamps conv2's outputs at 100 instead of 255 (the RTL departs from the
    reference there, the memory files are unchanged). make sim must fail and name conv2."""
    src, bug = REPO / "weights" / "tiny", BUILD / "test" / "tiny_bug" / "weights"
    shutil.rmtree(bug, ignore_errors=True)
    shutil.copytree(src, bug)
    pkg = bug / "cnn_cfg_pkg.sv"
    text = pkg.read_text()
    assert "CONV2_HI       = 255;" in text
    pkg.write_text(text.replace("CONV2_HI       = 255;", "CONV2_HI       = 100;"))
    results = BUILD / "test" / "tiny_bug" / "results.json"
    with pytest.raises(AssertionError, match="conv2"):
        run_bulk(bug, results, images=4, seed=3, ii_frames=3)
    s = json.loads(results.read_text())
    assert s["logits_bit_exact"] < 4
    assert s["first_mismatch"]["layer"] == "conv2", s["first_mismatch"]
    assert s["first_mismatch"]["image"] == s["mismatched_images"][0]


@pytest.mark.xdist_group("engine")
def test_sim_on_idx_files():
    """make sim DATA=<dir> IMAGES=all: every image of the user's IDX test split (here written
    from the embedded set) through the RTL, the expected answers computed from the export at
    run time; the RTL's own outputs and the confusion matrix are written beside results.json."""
    import numpy as np

    from model.data import load_dataset, write_idx

    ds = load_dataset(None)
    idx = BUILD / "test" / "idx"
    write_idx(idx / "train-images-idx3-ubyte.gz", ds.train_x[:200])
    write_idx(idx / "train-labels-idx1-ubyte.gz", ds.train_y[:200].astype(np.uint8))
    write_idx(idx / "t10k-images-idx3-ubyte", ds.test_x[500:520])
    write_idx(idx / "t10k-labels-idx1-ubyte", ds.test_y[500:520].astype(np.uint8))
    s = run_bulk(REPO / "weights" / "tiny", BUILD / "test" / "idx_run" / "results.json", None, 4, idx, ii_frames=3)
    assert s["images"] == 20 and s["logits_bit_exact"] == 20 and s["class_equal_torch_quant"] == 20
    out = np.load(BUILD / "test" / "idx_run" / "rtl_outputs.npz")
    assert out["logits"].shape == (20, 10) and out["classes"].shape == out["labels"].shape == (20,)
    assert (out["labels"] == ds.test_y[500:520]).all()
    assert (BUILD / "test" / "idx_run" / "confusion.png").stat().st_size > 0


def test_sim_bad_arguments(monkeypatch, capsys):
    """make sim with a network that has no export, a bad IMAGES, or more IMAGES than the test
    split holds, fails with one clear line."""
    from tb.engine import sim

    monkeypatch.setenv("NET", "no_such_net")
    monkeypatch.delenv("WEIGHTS", raising=False)
    monkeypatch.delenv("DATA", raising=False)
    assert sim.main() == 2
    assert "holds no export" in capsys.readouterr().err
    monkeypatch.setenv("NET", "tiny")
    for bad in ("many", "0", "-3"):
        monkeypatch.setenv("IMAGES", bad)
        assert sim.main() == 2
        assert "IMAGES must be a positive integer or `all`" in capsys.readouterr().err
    monkeypatch.setenv("IMAGES", "1001")
    assert sim.main() == 2
    assert "IMAGES=1001, but the test split holds 1000 images" in capsys.readouterr().err
    monkeypatch.setenv("IMAGES", "5")
    monkeypatch.setenv("DATA", "/nowhere")
    assert sim.main() == 2
    assert "DATA= needs WEIGHTS=" in capsys.readouterr().err


@pytest.mark.xdist_group("engine_ties")
def test_rounding_ties_through_the_rtl():
    """Round half up, end to end: a power-of-two export of tiny whose biases are nudged (by
    less than one output step) so that every requantization stage meets exact ties of both
    signs (tb/engine/ties.py); every logit bit-exact through the RTL."""
    from model.__main__ import main as model_main
    from tb.engine.ties import tie_export

    pow2 = BUILD / "weights" / "tiny_pow2"
    ckpt = REPO / "weights" / "tiny" / "checkpoint.pt"
    argv = ["weights", "--net", "tiny", "--scale", "pow2", "--from-checkpoint", str(ckpt), "--out", str(pow2)]
    assert model_main(argv + ["--quiet"]) == 0
    counts = tie_export(pow2, BUILD / "weights" / "tiny_ties", n_images=8)
    assert set(counts) == {"conv1", "conv2", "fc1"}
    assert all(pos > 0 and neg > 0 for pos, neg in counts.values()), counts
    s = run_bulk(BUILD / "weights" / "tiny_ties", BUILD / "test" / "tiny_ties" / "results.json", images=8, ii_frames=3)
    assert s["logits_bit_exact"] == s["images"] == 8 and s["class_equal_torch_quant"] == 8
