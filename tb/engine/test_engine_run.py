"""pytest entry for the engine: the image regression and the protocol tests, per network.

Both networks' exports are committed, so this runs on a fresh clone with no training.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from model.cycles import predict
from model.nets import Fold, get_net, net_of
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


def _own_build(values, prefix):
    """Parameters whose tests each use their own Verilator build: one xdist group each, so
    the two workers build and stream different networks side by side (a group never splits:
    tests sharing a build directory must not build it at the same time)."""
    return [pytest.param(v, marks=pytest.mark.xdist_group(f"{prefix}{v}")) for v in values]


@pytest.mark.parametrize("net", _own_build(NETS, "engine_"))
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


# Several pixels per beat (PIX=8): every protocol test that drives whole frames, and the null
# bytes of a beat (reset_input_contract pokes one pixel per beat by hand: PIX=1 only).
PIX_PROTOCOL_TESTS = [t for t in PROTOCOL_TESTS if t != "reset_input_contract"] + ["pix_null_bytes"]


@pytest.mark.xdist_group("engine_tiny_pix8")
def test_stream_images_pix8():
    """tiny at 8 pixels per beat with the solver's folding (the committed export
    weights/tiny_pix8, `make weights NET=tiny PIX=8 FOLD=auto`): all 1,000 held-out images
    bit-exact under random stalls, II <= 103 cycles (issue target; 784/8 = 98 is the input
    bound) and as the cycle model predicts; malformed frames, null bytes, resets."""
    weights = REPO / "weights" / "tiny_pix8"
    man = json.loads((weights / "manifest.json").read_text())
    s = run_bulk(weights, BUILD / "test" / "tiny_pix8" / "results.json", images=1000, seed=1)
    assert s["logits_bit_exact"] == s["images"] == s["class_equal_torch_quant"] == 1000
    assert s["lost_frames"] == 0 and s["error_frames"] == 0
    pred = predict(net_of(man), _folds(weights))
    assert s["ii_cycles"] <= 103, f"II {s['ii_cycles']} above 103"
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)
    run_engine(weights, ",".join(PIX_PROTOCOL_TESTS), BUILD / "test" / "tiny_pix8" / "protocol.json")


# Low-bit networks (docs/quantization.md "Low-bit layers"): the committed exports, a share of the
# held-out images in make test (all 1,000 in make sim), bit-exact, II and latency as the cycle model says.
LOWBIT_NETS = {"sfc_w1a1": 300, "cnv_w2a2": 200, "lfc_w1a1": 50, "tfc_w1a1": 100}


@pytest.mark.parametrize("net", _own_build(list(LOWBIT_NETS), "engine_"))
def test_stream_lowbit(net):
    weights = REPO / "weights" / net
    n = LOWBIT_NETS[net]
    s = run_bulk(weights, BUILD / "test" / net / "results.json", images=n, seed=1)
    assert s["logits_bit_exact"] == s["class_equal_torch_quant"] == s["images"] == n
    assert s["lost_frames"] == 0 and s["error_frames"] == 0
    pred = predict(get_net(net), _folds(weights))
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)
    if net.endswith("w1a1"):  # binarized: not one multiplying lane
        assert s["multipliers"] == 0 < s["mac_lanes"]


@pytest.mark.parametrize("net", _own_build(NETS[:1], "engine_axi_"))
def test_protocol(net):
    run_engine(REPO / "weights" / net, ",".join(PROTOCOL_TESTS), BUILD / "test" / net / "protocol.json")


# Foldings exported from the committed tiny checkpoint: 'small' (PE = SIMD = 1 everywhere) and
# 'up5k' (also one kernel row per cycle in the convolutions, shift-only requantization: the
# configuration docs/synthesis.md sizes for the iCE40 UP5K).
# The pow2 exports calibrate with maxmin and skip QAT: what the default search picks for this
# checkpoint anyway (PTQ maxmin, QAT not kept), without its 5 s of trying the others.
POW2 = ["--scale", "pow2", "--method", "maxmin", "--qat-epochs", "0"]
FOLDED = {"small": [], "up5k": POW2}
# short_and_long_frames: malformed frames on a folded export too (functional coverage,
# docs/coverage.md), here where the protocol build exists anyway.
WLOAD_TESTS = ["weights_load_after_images", "reset_mid_frame", "short_and_long_frames"]


@pytest.mark.parametrize("fold", _own_build(FOLDED, "engine_tiny_"))
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


@pytest.mark.xdist_group("engine_small")
@pytest.mark.parametrize(("net", "hand", "util"), [("tiny", 220, 0.9), ("lenet5", 1082, 0.9)])
def test_auto_fold(net, hand, util):
    """FOLD=auto (model/fold_solver.py): the committed checkpoint exported with the solver's
    folding is bit-exact, measures the II the solver predicted (recorded in the manifest;
    lenet5's conv2 runs through a window FIFO and a deeper rate FIFO, which the model sizes
    and times), and needs fewer multipliers than the hand-written folding."""
    from model.__main__ import main as model_main

    out = BUILD / "weights" / f"{net}_auto"
    ckpt = REPO / "weights" / net / "checkpoint.pt"
    argv = ["weights", "--net", net, "--fold", "auto", "--from-checkpoint", str(ckpt), "--out", str(out), "--quiet"]
    assert model_main(argv) == 0
    s = run_bulk(out, BUILD / "test" / f"{net}_auto" / "results.json", images=12, seed=2, ii_frames=4)
    assert s["logits_bit_exact"] == s["images"] == 12
    solver = json.loads((out / "manifest.json").read_text())["fold_solver"]
    pred = predict(get_net(net), _folds(out))
    assert solver["ii_pred"] == pred.ii_cycles and solver["multipliers"] == s["multipliers"] < hand
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.02 * pred.ii_cycles, (s["ii_cycles"], pred)
    assert abs(s["latency_cycles"] - pred.latency_cycles) <= 0.05 * pred.latency_cycles, (s["latency_cycles"], pred)
    assert s["mac_utilisation"] >= util


@pytest.mark.xdist_group("engine_bug")
def test_mismatch_names_first_bad_layer():
    """The layer-dump mode finds a hardware bug: a tiny export whose generated package clamps
    conv2's outputs at 100 instead of 255 (the RTL departs from the reference there, the memory
    files are unchanged). make sim must fail and name conv2. The export has the `small` folding
    (one lane per layer): the layer-dump build reads every signal of the engine, and with the
    default folding's 220 lanes it took 23 s of CPU to compile, here about 3."""
    from model.__main__ import main as model_main

    bug = BUILD / "test" / "tiny_bug" / "weights"
    ckpt = REPO / "weights" / "tiny" / "checkpoint.pt"
    argv = ["weights", "--net", "tiny", "--fold", "small", "--from-checkpoint", str(ckpt), "--out", str(bug)]
    shutil.rmtree(bug, ignore_errors=True)
    assert model_main(argv + ["--vectors", "4", "--quiet"]) == 0
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


@pytest.mark.xdist_group("engine_tiny")  # the bulk build of test_stream_images[tiny]
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
    """make sim with a network that has no export, a bad PIX (or one with no export), a bad
    IMAGES, or more IMAGES than the test split holds, fails with one clear line."""
    from tb.engine import sim

    monkeypatch.setenv("NET", "no_such_net")
    monkeypatch.delenv("WEIGHTS", raising=False)
    monkeypatch.delenv("DATA", raising=False)
    assert sim.main() == 2
    assert "holds no export" in capsys.readouterr().err
    monkeypatch.setenv("NET", "tiny")
    monkeypatch.setenv("PIX", "3")
    assert sim.main() == 2
    assert "PIX=3: pixels per input beat must be 1, 2, 4 or 8" in capsys.readouterr().err
    monkeypatch.setenv("PIX", "2")  # no committed export at 2 pixels per beat
    assert sim.main() == 2
    assert "tiny_pix2 holds no export" in capsys.readouterr().err
    monkeypatch.setenv("PIX", "1")
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


def test_sim_missing_fashion_data_names_the_package(monkeypatch, capsys, tmp_path):
    """make sim DATA=<a Fashion-MNIST folder that is not there> fails with one clear line that
    says where the data comes from (the Debian package), before anything is built: CI and a
    fresh clone run without the package."""
    from tb.engine import sim

    export = tmp_path / "no_fashion_data"  # only the manifest: the data is looked for first
    export.mkdir()
    shutil.copyfile(REPO / "weights" / "tiny_fashion" / "manifest.json", export / "manifest.json")
    monkeypatch.setenv("WEIGHTS", str(export))
    monkeypatch.setenv("DATA", str(tmp_path / "fashion-mnist"))
    monkeypatch.setenv("IMAGES", "all")
    assert sim.main() == 2
    err = capsys.readouterr().err
    assert "error: data directory" in err and "apt-get install -y dataset-fashion-mnist" in err


@pytest.mark.xdist_group("engine_ties")
def test_rounding_ties_through_the_rtl():
    """Round half up, end to end: a power-of-two export of tiny whose biases are nudged (by
    less than one output step) so that every requantization stage meets exact ties of both
    signs (tb/engine/ties.py); every logit bit-exact through the RTL."""
    from model.__main__ import main as model_main
    from tb.engine.ties import tie_export

    pow2 = BUILD / "weights" / "tiny_pow2"
    ckpt = REPO / "weights" / "tiny" / "checkpoint.pt"
    argv = ["weights", "--net", "tiny", *POW2, "--from-checkpoint", str(ckpt), "--out", str(pow2)]
    assert model_main(argv + ["--quiet"]) == 0
    counts = tie_export(pow2, BUILD / "weights" / "tiny_ties", n_images=8)
    assert set(counts) == {"conv1", "conv2", "fc1"}
    assert all(pos > 0 and neg > 0 for pos, neg in counts.values()), counts
    s = run_bulk(BUILD / "weights" / "tiny_ties", BUILD / "test" / "tiny_ties" / "results.json", images=8, ii_frames=3)
    assert s["logits_bit_exact"] == s["images"] == 8 and s["class_equal_torch_quant"] == 8


# resnet8 simulates 13,132 cycles an image (16 per pixel in every stage) through 753 MAC lanes:
# about 6 images per CPU-second. make test streams a share, as for the low-bit networks; all
# 1,000 run in `make sim NET=resnet8` (docs/results.md).
RESNET8_IMAGES = 100


@pytest.mark.xdist_group("engine_resnet")
def test_stream_images_resnet8():
    """resnet8 (residual blocks: fork, skip FIFO, add, stride, global average pooling): held-out
    images through the bulk harness with random stalls, bit-exact; the II is the cycle model's."""
    weights = REPO / "weights" / "resnet8"
    n = RESNET8_IMAGES
    s = run_bulk(weights, BUILD / "test" / "resnet8" / "results.json", images=n, seed=1)
    assert s["logits_bit_exact"] == s["images"] == n
    assert s["class_equal_torch_quant"] == n
    assert s["lost_frames"] == 0 and s["error_frames"] == 0
    classes, labels = (np.load(weights / "vectors" / f"{k}.npy")[:n] for k in ("classes", "labels"))
    assert s["accuracy_rtl"] == pytest.approx(float(np.mean(classes == labels)))  # the integer reference's
    pred = predict(get_net("resnet8"), _folds(weights))
    assert abs(s["ii_cycles"] - pred.ii_cycles) <= 0.05 * pred.ii_cycles, (s["ii_cycles"], pred)


def _res_block_export(out: Path) -> Path:
    """model/nets.py's res_block (resnet8's first stage, 4 channels) from random weights,
    exported through the normal flow with 3 test vectors."""
    import torch

    from model.data import load_dataset
    from model.flow import quantize_export
    from model.nets import get_net
    from model.train import build_torch_model

    net = get_net("res_block")
    torch.manual_seed(1)
    model = build_torch_model(net).eval()
    shutil.rmtree(out, ignore_errors=True)
    quantize_export(net, model, {"net": net.name}, dict(net.folds), load_dataset(None), out, 0, "maxmin", "pow2", 1, 3)
    return out


@pytest.mark.xdist_group("engine_res_block")
def test_skip_fifo_one_short_deadlocks(capfd):
    """The planner's line-buffering bound is the least skip depth that works: a copy of the
    res_block export (resnet8's first residual block with 4 channels instead of 16: the same 28
    columns, the same bound of 58 beats, an engine that builds in a third of resnet8's time)
    whose skip FIFO holds one beat fewer than that bound (SKIP_LB - 1; the planner gives
    SKIP_DEPTH = bound or the cycle model's occupancy, plus a margin) deadlocks on the first
    image: branch a waits for a pixel the fork cannot hand out while the skip path is full.
    The bulk harness's watchdog stops the run and says where it stopped (stuck, at cycle N),
    and the skip FIFO names itself."""
    root = BUILD / "test" / "res_block"
    short = root / "res_block_short"
    shutil.copytree(_res_block_export(root / "export"), short, dirs_exist_ok=True)
    pkg = short / "cnn_cfg_pkg.sv"
    text = pkg.read_text()
    lb = int(re.search(r"S1_ADD_SKIP_LB\s*= (\d+);", text).group(1))
    text, n = re.subn(r"(S1_ADD_SKIP_DEPTH\s*=) \d+;", rf"\1 {lb - 1};", text)
    assert n == 1 and lb == 58
    pkg.write_text(text)
    with pytest.raises(AssertionError, match=r"stuck: no handshake for WATCHDOG cycles.*at cycle \d+"):
        run_bulk(short, root / "short_run" / "results.json", images=3, seed=1, ii_frames=3)
    out = capfd.readouterr().out
    assert f"u_s1_add_skip: full ({lb - 1} beats) and not read" in out, out[-2000:]
