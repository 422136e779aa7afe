"""Memory-file packing (docs/architecture.md), export determinism, CLI errors."""

import json
import re

import numpy as np
import pytest
import torch

from model import emit_mem, emit_vectors
from model.__main__ import main
from model.manifest import load_graph
from model.nets import TINY, Fold
from model.reference import run_reference


@pytest.mark.parametrize(
    "fold", [Fold(1, 1), Fold(2, 1), Fold(4, 2), Fold(8, 6), Fold(2, 3), Fold(1, 1, 3), Fold(2, 3, 1), Fold(4, 2, 9)]
)
def test_conv_pack_round_trip(fold):
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (8, 6, 3, 3))
    words = emit_mem.pack_conv_weights(w, fold)
    taps = fold.taps or 9
    nt = 9 // taps
    assert len(words) == (8 // fold.pe) * (6 // fold.simd) * nt
    assert np.array_equal(emit_mem.unpack_conv_weights(words, w.shape, fold), w)
    # the contract (rtl/conv_unit.sv), lane by lane
    ig_n = 6 // fold.simd
    for og, ig, pe, s, i, j in [(0, 0, 0, 0, 0, 0), (8 // fold.pe - 1, ig_n - 1, fold.pe - 1, fold.simd - 1, 2, 1)]:
        tg, u = divmod(i * 3 + j, taps)
        lane = (pe * fold.simd + s) * taps + u
        v = (words[(og * ig_n + ig) * nt + tg] >> (8 * lane)) & 0xFF
        assert v == w[og * fold.pe + pe, ig * fold.simd + s, i, j] & 0xFF


def test_parse_fold_taps():
    from model.nets import parse_fold

    folds = parse_fold(TINY, "conv2=1x2x3,fc1=2x4")
    assert folds["conv2"] == Fold(1, 2, 3) and folds["fc1"] == Fold(2, 4)
    assert str(folds["conv2"]) == "1x2x3" and Fold.from_dict(folds["conv2"].as_dict()) == folds["conv2"]
    f = Fold.parse("1x1+serial+wload")
    assert f == Fold(1, 1, serial=True, wload=True) and Fold.parse(str(f)) == f == Fold.from_dict(f.as_dict())
    assert Fold(2, 4).as_dict() == {"pe": 2, "simd": 4}  # manifests of existing exports unchanged
    assert parse_fold(TINY, "up5k")["conv1"].taps == 3
    for bad in ("conv2=1x2x3x4", "conv2=1", "conv2=axb", "fc1=1x1+fast"):
        with pytest.raises(ValueError, match="expected layer=PExSIMD"):
            parse_fold(TINY, bad)
    from model.graph import from_net
    from model.plan import plan

    with pytest.raises(ValueError, match="TAPS=2 must divide"):
        plan(from_net(TINY), parse_fold(TINY, "conv2=1x1x2"))
    with pytest.raises(ValueError, match="TAPS=3 must divide"):
        plan(from_net(TINY), parse_fold(TINY, "fc1=1x1x3"))


@pytest.mark.parametrize("fold", [Fold(1, 1), Fold(2, 8), Fold(4, 4), Fold(5, 2)])
def test_fc_pack_round_trip(fold):
    rng = np.random.default_rng(1)
    beats, c_in, o = 6, 8, 20
    w = rng.integers(-127, 128, (o, beats * c_in))
    words = emit_mem.pack_fc_weights(w, beats, c_in, fold)
    assert len(words) == beats * (o // fold.pe) * (c_in // fold.simd)
    assert np.array_equal(emit_mem.unpack_fc_weights(words, o, beats, c_in, fold), w)
    og_n, ig_n = o // fold.pe, c_in // fold.simd
    last = (beats - 1, og_n - 1, ig_n - 1, fold.pe - 1, fold.simd - 1)
    for b, og, ig, pe, s in [(0, 0, 0, 0, 0), last, (2, 1, 0, 0, 1)]:
        if og >= og_n or s >= fold.simd:
            continue
        word = words[(b * og_n + og) * ig_n + ig]
        v = (word >> (8 * (pe * fold.simd + s))) & 0xFF
        assert v == w[og * fold.pe + pe, b * c_in + ig * fold.simd + s] & 0xFF


def test_mem_format():
    text = emit_mem.format_mem([-1, 0, 5, -128], 8)
    assert text == "ff\n00\n05\n80\n"
    assert emit_mem.format_mem([-2, 2**31 - 1], 32) == "fffffffe\n7fffffff\n"
    assert emit_mem.format_mem([0x1ABC], 20) == "01abc\n"


def test_bad_fold_rejected():
    from model import quant

    ql = quant.QuantLayer(
        "conv2",
        "conv",
        "relu",
        (4, 14, 14),
        (8, 14, 14),
        k=3,
        weight=np.zeros((8, 4, 3, 3), dtype=np.int64),
        bias=np.zeros(8, dtype=np.int64),
    )
    with pytest.raises(ValueError, match="must divide"):
        emit_mem.layer_mem_files(ql, Fold(3, 1), (196, 4))


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from model.train import build_torch_model, save_checkpoint

    torch.manual_seed(0)
    model = build_torch_model(TINY).eval()
    d = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(model, {"net": "tiny", "seed": 7}, d)
    return d / "checkpoint.pt"


def _tree(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_export_is_deterministic_and_follows_contract(tiny_checkpoint, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["export", "--net", "tiny", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    ta, tb = _tree(a), _tree(b)
    assert ta.keys() == tb.keys()
    assert all(ta[k] == tb[k] for k in ta), [k for k in ta if ta[k] != tb[k]]

    man = json.loads((a / "manifest.json").read_text())
    assert str(tmp_path) not in (a / "manifest.json").read_text()  # no absolute paths
    for rel, digest in man["files"].items():
        import hashlib

        assert hashlib.sha256((a / rel).read_bytes()).hexdigest() == digest
    assert man["accuracy"]["torch_quant_equals_reference"]

    # every memory file: exact depth, lower-case hex of the declared width
    for layer in man["layers"]:
        for info in layer.get("files", {}).values():
            lines = (a / info["file"]).read_text().split("\n")
            assert lines[-1] == "" and len(lines) - 1 == info["depth"]
            assert all(re.fullmatch(f"[0-9a-f]{{{(info['width'] + 3) // 4}}}", x) for x in lines[:-1])
    # the memory tables' dimensions as the manifest states them (docs/architecture.md)
    assert man["format"] == 2 and man["in_stream"] == {"lanes": 1, "beats": 784, "width": 8, "signed": False}
    for layer in man["layers"]:
        if layer["kind"] == "dense":
            f = layer["fold"]
            w_depth = layer["in_beats"] * (layer["out_shape"][0] // f["pe"]) * (layer["c_in"] // f["simd"])
            assert layer["files"]["w"]["depth"] == w_depth
    by_name = {x["name"]: x for x in man["layers"]}
    assert by_name["fc1"]["in_beats"] == by_name["pool2"]["stream"]["beats"] == 49
    assert by_name["fc2"]["stream"] == {"lanes": 10, "beats": 1, "width": 32, "signed": True}
    assert by_name["conv2"]["taps"] == 9 and by_name["conv2"]["inputs"] == ["pool1"]
    # the integer graph back from the files alone gives the exported logits
    graph = load_graph(a)
    assert np.array_equal(
        run_reference(graph, np.load(a / "vectors" / "images.npy")[:50]), np.load(a / "vectors" / "logits.npy")[:50]
    )
    conv2 = next(x for x in man["layers"] if x["name"] == "conv2")
    fold = Fold.from_dict(conv2["fold"])
    words = emit_mem.read_mem(a / "conv2_w.mem", conv2["files"]["w"]["width"])
    w = emit_mem.unpack_conv_weights(words, conv2["weight_shape"], fold)
    assert w.min() >= -127 and w.max() <= 127

    vec = a / "vectors"
    logits = np.load(vec / "logits.npy")
    assert logits.shape == (1000, 10)
    assert np.array_equal(np.load(vec / "classes.npy"), np.argmax(logits, 1))
    assert np.array_equal(np.load(vec / "torch_quant_classes.npy"), np.load(vec / "classes.npy"))
    assert np.load(vec / "images.npy").dtype == np.uint8
    assert np.array_equal(np.load(vec / "acts" / "fc2.npy").reshape(-1, 10), logits[: emit_vectors.N_DUMP])
    assert np.load(vec / "acts" / "conv1.npy").shape == (emit_vectors.N_DUMP, 28, 28, 4)


def test_export_fewer_vectors(tiny_checkpoint, tmp_path):
    """--vectors N: vectors/ holds the first N held-out images (the committed Fashion-MNIST
    export keeps 1,000 of 10,000), the accuracies still cover the whole held-out set."""
    full, few = tmp_path / "full", tmp_path / "few"
    for out, extra in ((full, []), (few, ["--vectors", "100"])):
        assert main(["export", "--net", "tiny", "--checkpoint", str(tiny_checkpoint), "--out", str(out), *extra]) == 0
    mf, mv = (json.loads((d / "manifest.json").read_text()) for d in (full, few))
    assert mf["vectors"]["n_images"] == 1000 and mv["vectors"]["n_images"] == 100
    assert mv["accuracy"] == mf["accuracy"]
    for name in ("images", "labels", "logits", "classes", "float_classes", "torch_quant_classes"):
        a, b = np.load(full / "vectors" / f"{name}.npy"), np.load(few / "vectors" / f"{name}.npy")
        assert len(b) == 100 and np.array_equal(a[:100], b), name
    for f in ("cnn_layers.sv", "conv1_w.mem", "vectors/acts/conv1.npy"):
        assert (full / f).read_bytes() == (few / f).read_bytes()


def test_export_small_fold(tiny_checkpoint, tmp_path):
    assert (
        main(
            [
                "export",
                "--net",
                "tiny",
                "--checkpoint",
                str(tiny_checkpoint),
                "--out",
                str(tmp_path),
                "--fold",
                "small",
                "--scale",
                "pow2",
            ]
        )
        == 0
    )
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["folds"]["conv2"] == {"pe": 1, "simd": 1}
    assert man["quantization"]["scale"] == "pow2"
    assert all(v == 1 for x in man["layers"] if x.get("m") for v in x["m"])
    assert len((tmp_path / "conv2_w.mem").read_text().splitlines()) == 8 * 4


def test_device_budget_with_float_scales_is_refused(tiny_checkpoint, tmp_path, capsys):
    """FOLD=auto DEVICE= budgets the MAC products only: float requant scales would take DSPs of
    their own, so the export is refused before anything is written (or trained); pow2 passes."""
    out = tmp_path / "float"
    fold = ["--fold", "auto:device=xc7a100t", "--vectors", "4"]
    assert main(["export", "--net", "tiny", "--checkpoint", str(tiny_checkpoint), "--out", str(out), *fold]) == 2
    err = capsys.readouterr().err
    assert "DEVICE=xc7a100t" in err and "conv1_rq, conv2_rq, fc1_rq" in err and "SCALE=pow2" in err
    assert not out.exists()
    # `make weights` with no checkpoint, and fine-tuning: refused before training (no --epochs
    # limit needed).
    assert main(["weights", "--net", "tiny", "--out", str(out), *fold]) == 2
    assert "SCALE=pow2" in capsys.readouterr().err and not out.exists()
    assert main(["finetune", "--from", str(tiny_checkpoint), "--out", str(out), *fold]) == 2
    said = capsys.readouterr()
    assert "SCALE=pow2" in said.err and "fine-tune" not in said.out and not out.exists()
    pow2 = tmp_path / "pow2"
    argv = ["export", "--net", "tiny", "--checkpoint", str(tiny_checkpoint), "--out", str(pow2), *fold]
    assert main([*argv, "--scale", "pow2"]) == 0
    assert json.loads((pow2 / "manifest.json").read_text())["fold_solver"]["target"]["device"] == "xc7a100t"


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["export", "--net", "nope"], "unknown network"),
        (["export", "--net", "tiny", "--checkpoint", "/nonexistent/checkpoint.pt"], "does not exist"),
        (["weights", "--net", "tiny", "--fold", "conv2=3x1"], "must divide"),
        (["weights", "--net", "tiny", "--fold", "conv9=1x1"], "not a compute layer"),
        (["weights", "--net", "tiny", "--fold", "conv2=abc"], "bad FOLD"),
        (["weights", "--net", "tiny", "--from-checkpoint", "/nonexistent.pt"], "does not exist"),
        (["quantize", "--net", "tiny", "--checkpoint", "/nonexistent.pt"], "does not exist"),
    ],
)
def test_cli_errors(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and msg in err


def test_cli_bad_choice():
    with pytest.raises(SystemExit) as e:
        main(["export", "--method", "kl"])
    assert e.value.code == 2


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
COMMITTED = sorted(p.parent.name for p in (REPO / "weights").glob("*/manifest.json"))


@pytest.mark.parametrize("net", COMMITTED)
def test_committed_export_is_current(net):
    """Every committed export is what the flow writes today: its generated RTL equals what
    model/emit_rtl.py renders from the export's own graph and folding (so a change of the
    renderer, its header included, comes with a regeneration of weights/*/), and every file
    has the hash its manifest records."""
    from model.emit_rtl import GENERATOR, render_layers, render_package
    from model.manifest import sha256
    from model.plan import plan

    d = REPO / "weights" / net
    man = json.loads((d / "manifest.json").read_text())
    folds = {k: Fold.from_dict(v) for k, v in man["folds"].items()}
    hw = plan(load_graph(d), folds, pow2=man["quantization"]["scale"] == "pow2")
    assert (d / "cnn_cfg_pkg.sv").read_text() == render_package(hw)
    assert (d / "cnn_layers.sv").read_text() == render_layers(hw)
    assert (d / "cnn_layers.sv").read_text().startswith(f"// Generated by {GENERATOR} ")
    bad = [f for f, h in man["files"].items() if sha256(d / f) != h]
    assert not bad, f"weights/{net}: files differ from manifest.json: {bad}"
    assert len(np.load(d / "vectors" / "images.npy")) == man["vectors"]["n_images"]
