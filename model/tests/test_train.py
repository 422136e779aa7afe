"""model/train.py: model construction, a short training run, checkpoints, eval, the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import model.__main__ as cli
from model.data import load_dataset, write_idx
from model.nets import NETS, Conv, Dense, get_net, layer_names, shapes
from model.train import (
    augment_batch,
    build_torch_model,
    evaluate,
    images_to_tensor,
    load_checkpoint,
    save_checkpoint,
    save_confusion_png,
    train_model,
)

STEPS = 300


@pytest.fixture(scope="module")
def embedded():
    return load_dataset(None)


@pytest.fixture(scope="module")
def trained(embedded):
    """tiny, a few hundred steps on the embedded set."""
    return train_model(get_net("tiny"), embedded, epochs=10, seed=3, max_steps=STEPS, progress=False)


def run_cli(argv, capsys, monkeypatch):
    # Only this module's commands: the CLI test must not depend on other modules being ready.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("model.train",))
    rc = cli.main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


# ---------------------------------------------------------------------------------------------
# Model construction


@pytest.mark.parametrize("name", sorted(n for n in NETS if NETS[n].is_chain))  # graphs: test_resnet.py
def test_build_matches_description(name):
    net = NETS[name]
    model = build_torch_model(net)
    x = torch.zeros(2, *net.in_shape)
    assert model(x).shape == (2, net.n_classes)
    # every compute/pool layer is a module named as in layer_names, in description order
    names = [n for n, _ in model.named_children()]
    assert [n for n in names if n in layer_names(net)] == layer_names(net)
    for lname, layer, (ins, _outs) in zip(layer_names(net), net.layers, shapes(net), strict=True):
        mod = getattr(model, lname)
        if isinstance(layer, Conv):
            assert isinstance(mod, torch.nn.Conv2d) and mod.padding == (layer.pad, layer.pad)
            assert mod.weight.shape == (layer.out_ch, ins[0], layer.k, layer.k)
        elif isinstance(layer, Dense):
            assert isinstance(mod, torch.nn.Linear) and mod.weight.shape == (layer.out, ins[0] * ins[1] * ins[2])
        act = getattr(layer, "act", None)
        if act in ("relu", "sigmoid"):
            assert f"{lname}_{act}" in names
    assert names[-1] == layer_names(net)[-1]  # the logits layer has no activation


def test_pool_kinds():
    assert isinstance(build_torch_model(get_net("lenet5")).pool1, torch.nn.MaxPool2d)
    assert isinstance(build_torch_model(get_net("lenet5_sigmoid")).pool1, torch.nn.AvgPool2d)


def test_input_scaling_is_pixels_over_255():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    t = images_to_tensor(x)
    assert t.shape == (1, 1, 2, 2) and t.dtype == torch.float32
    torch.testing.assert_close(t.flatten(), torch.tensor([0.0, 1.0, 0.2, 0.4]))


def test_augment_bounds_and_seed():
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    a = augment_batch(x, torch.Generator().manual_seed(0))
    b = augment_batch(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, x)
    # at most +-2 px shift and +-10 degrees: the blob's mass barely changes and stays central
    mass = a.sum((1, 2, 3))
    assert torch.all((mass - 64).abs() < 6)
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy = (a[:, 0] * ys).sum((1, 2)) / mass
    cx = (a[:, 0] * xs).sum((1, 2)) / mass
    assert torch.all((cy - 13.5).abs() <= 2.5) and torch.all((cx - 13.5).abs() <= 2.5)


# ---------------------------------------------------------------------------------------------
# Training


def test_short_training_learns(trained, embedded):
    model, info = trained
    assert info["steps"] == STEPS and info["net"] == "tiny" and info["seed"] == 3
    assert 0 < info["epoch"] <= len(info["history"])
    assert info["val_acc"] == max(h["val_acc"] for h in info["history"])
    acc, conf = evaluate(model, embedded.test_x, embedded.test_y)
    assert acc > 0.80, acc
    assert conf.shape == (10, 10) and conf.sum() == 1000 and conf.sum(1).tolist() == [100] * 10
    assert np.trace(conf) == round(acc * 1000)


def test_training_is_repeatable(embedded):
    net = get_net("tiny")
    runs = [train_model(net, embedded, epochs=1, seed=5, max_steps=20, progress=False) for _ in range(2)]
    for (k, a), b in zip(runs[0][0].state_dict().items(), runs[1][0].state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    other, _ = train_model(net, embedded, epochs=1, seed=6, max_steps=20, progress=False)
    assert not torch.equal(other.conv1.weight, runs[0][0].conv1.weight)


def test_sgd_and_no_augment_run(embedded):
    _, info = train_model(
        get_net("lenet5_sigmoid"), embedded, epochs=1, optimizer="sgd", augment=False, max_steps=5, progress=False
    )
    assert info["hparams"]["optimizer"] == "sgd" and info["hparams"]["augment"] is False


def test_cosine_schedule(embedded, monkeypatch):
    """schedule=cosine: the learning rate falls from lr towards 0 over the optimizer steps of
    the run; step (the default) keeps StepLR."""
    from model.train import TrainConfig

    seen = []

    def loss_fn(logits, y):  # records the learning rate of every step
        seen.append(opt_lr[0]())
        return F.cross_entropy(logits, y)

    opt_lr = [None]
    orig = torch.optim.Adam

    class Spy(orig):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            opt_lr[0] = lambda: self.param_groups[0]["lr"]

    monkeypatch.setattr(torch.optim, "Adam", Spy)
    cfg = TrainConfig(epochs=2, lr=1e-3, schedule="cosine")
    train_model(get_net("tiny"), embedded, config=cfg, max_steps=10, loss_fn=loss_fn, progress=False)
    assert seen[0] == pytest.approx(1e-3) and all(a > b for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] == pytest.approx(0.5e-3 * (1 + math.cos(math.pi * 9 / 10)))
    with pytest.raises(ValueError, match="schedule"):
        train_model(get_net("tiny"), embedded, config=TrainConfig(schedule="linear"), progress=False)


def test_bad_optimizer(embedded):
    with pytest.raises(ValueError, match="optimizer"):
        train_model(get_net("tiny"), embedded, epochs=1, optimizer="rmsprop", progress=False)


# ---------------------------------------------------------------------------------------------
# Checkpoints and eval


def test_checkpoint_round_trip(trained, embedded, tmp_path):
    model, info = trained
    ckpt, ts = save_checkpoint(model, info, tmp_path)
    back, binfo = load_checkpoint(ckpt, "tiny")
    assert binfo["net"] == "tiny" and binfo["epoch"] == info["epoch"] and binfo["seed"] == 3
    assert binfo["dataset"]["name"] == "mnist5k" and binfo["dataset"]["n_test"] == 1000
    x = images_to_tensor(embedded.test_x[:16])
    torch.testing.assert_close(back(x), model(x))
    torch.testing.assert_close(torch.jit.load(str(ts))(x), model(x))
    with pytest.raises(ValueError, match="lenet5"):
        load_checkpoint(ckpt, "lenet5")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nope.pt")


def test_confusion_png(tmp_path):
    conf = np.diag(np.arange(1, 11))
    conf[3, 5] = 2
    p = save_confusion_png(conf, tmp_path / "sub" / "c.png", [f"class {i}" for i in range(10)])
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_eval(trained, tmp_path, capsys, monkeypatch):
    model, info = trained
    ckpt, _ = save_checkpoint(model, info, tmp_path / "w")
    rc, out, err = run_cli(["eval", "--checkpoint", str(ckpt)], capsys, monkeypatch)
    assert rc == 0, err
    assert "float accuracy" in out and "true \\ pred" in out
    assert (tmp_path / "w" / "confusion.png").is_file()
    rc, out, err = run_cli(["eval", "--checkpoint", str(ckpt), "--out", str(tmp_path / "o.png")], capsys, monkeypatch)
    assert rc == 0 and (tmp_path / "o.png").is_file()


def test_cli_train_small_dir(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    for split, n in (("train", 120), ("t10k", 30)):
        write_idx(tmp_path / "d" / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / "d" / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    out_dir = tmp_path / "out"
    argv = ["train", "--net", "tiny", "--data-dir", str(tmp_path / "d"), "--epochs", "2", "--out", str(out_dir)]
    rc, out, err = run_cli([*argv, "--quiet"], capsys, monkeypatch)
    assert rc == 0, err
    assert (out_dir / "checkpoint.pt").is_file() and (out_dir / "model.ts").is_file()
    assert "held-out acc" in out
    _, info = load_checkpoint(out_dir / "checkpoint.pt")
    assert info["dataset"]["n_val"] == 12 and info["dataset"]["n_test"] == 30


# ---------------------------------------------------------------------------------------------
# CLI errors: non-zero exit, one clear line


@pytest.mark.parametrize("cmd", ["train", "eval"])
def test_cli_unknown_net(cmd, capsys, monkeypatch):
    rc, _, err = run_cli([cmd, "--net", "resnet50"], capsys, monkeypatch)
    assert rc != 0
    assert "unknown network 'resnet50'" in err and "tiny" in err


def test_cli_missing_data_dir(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "no_such_dir"
    rc, _, err = run_cli(["train", "--net", "tiny", "--data-dir", str(missing)], capsys, monkeypatch)
    assert rc != 0
    assert str(missing) in err and "does not exist" in err


def test_cli_data_dir_without_files(tmp_path, capsys, monkeypatch):
    rc, _, err = run_cli(["train", "--data-dir", str(tmp_path)], capsys, monkeypatch)
    assert rc != 0 and "train-images-idx3-ubyte" in err


def test_cli_missing_checkpoint(tmp_path, capsys, monkeypatch):
    rc, _, err = run_cli(["eval", "--checkpoint", str(tmp_path / "x.pt")], capsys, monkeypatch)
    assert rc != 0 and "x.pt" in err and "does not exist" in err
