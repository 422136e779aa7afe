"""Float training and evaluation: `python -m model train` and `python -m model eval`.

The PyTorch model is built from the `Net` description (model/nets.py) by
`build_torch_model`: an nn.Sequential whose modules are named after `layer_names(net)`
(conv1, pool1, ..., fc1, ...), activations as `<layer>_relu` / `<layer>_sigmoid`, and a
`flatten` before the first Dense layer. Its input is raw pixels scaled by INPUT_SCALE = 1/255
(no mean/std normalisation): the hardware gets raw pixels and the quantizer uses input scale
1/255, zero point 0. `images_to_tensor` does that scaling.

Python API (quantization fine-tuning, tests):
    build_torch_model(net) -> nn.Sequential
    train_model(net, dataset, epochs=None, seed=1, ..., progress=True) -> (model, info)
    evaluate(model, x, y) -> (accuracy, confusion)
    load_checkpoint(path, net=None) -> (model, info)
    save_checkpoint(model, info, out_dir) -> (checkpoint.pt, model.ts)
    save_confusion_png(confusion, path, class_names)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import sys
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.data import Dataset, dataset_for_net
from model.nets import Add, Conv, Dense, GlobalAvgPool, Net, Pool, get_net, layer_inputs, layer_names, shapes

INPUT_SCALE = 1.0 / 255.0
DEFAULT_SEED = 1
DEFAULT_THREADS = 1  # fixed, so that a run repeats bit for bit; 2 threads are slower for these small nets
EVAL_BATCH = 1000
SCHEDULES = ("step", "cosine")


# ----------------------------------------------------------------------------------------------
# Model


class GraphModel(nn.Module):
    """The float model of a network that is not a plain chain: modules named after
    `layer_names(net)` (Conv2d / Linear, plus `<name>_bn` BatchNorm2d for `bn` layers), the
    forward pass walks the layers by their `inputs`."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net
        self.names = layer_names(net)
        self.inputs = layer_inputs(net)
        self.mods = nn.ModuleDict()
        for name, layer, (ins, _outs) in zip(self.names, net.layers, shapes(net), strict=True):
            if isinstance(layer, Conv):
                self.mods[name] = nn.Conv2d(ins[0], layer.out_ch, layer.k, layer.stride, layer.pad, bias=not layer.bn)
                if layer.bn:
                    self.mods[f"{name}_bn"] = nn.BatchNorm2d(layer.out_ch)
            elif isinstance(layer, Dense):
                self.mods[name] = nn.Linear(ins[0] * ins[1] * ins[2], layer.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env = {"input": x}
        for name, layer, ins in zip(self.names, self.net.layers, self.inputs, strict=True):
            a = env[ins[0]]
            if isinstance(layer, Conv):
                y = self.mods[name](a)
                if layer.bn:
                    y = self.mods[f"{name}_bn"](y)
            elif isinstance(layer, Dense):
                y = self.mods[name](a.flatten(1))
            elif isinstance(layer, Pool):
                y = F.max_pool2d(a, 2) if layer.kind == "max" else F.avg_pool2d(a, 2)
            elif isinstance(layer, Add):
                y = a + env[ins[1]]
            elif isinstance(layer, GlobalAvgPool):
                y = a.mean(dim=(2, 3), keepdim=True)
            act = getattr(layer, "act", "none")
            env[name] = F.relu(y) if act == "relu" else torch.sigmoid(y) if act == "sigmoid" else y
        return env[self.names[-1]].flatten(1)

    def folded_params(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight, bias) of every Conv/Dense layer in description order, batch norm folded in
        (eval-mode statistics): what quantization sees."""
        out = []
        for name, layer in zip(self.names, self.net.layers, strict=True):
            if not isinstance(layer, Conv | Dense):
                continue
            mod = self.mods[name]
            w = mod.weight.detach().clone().float()
            b = mod.bias.detach().clone().float() if mod.bias is not None else torch.zeros(w.shape[0])
            if getattr(layer, "bn", False):
                bn = self.mods[f"{name}_bn"]
                g = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
                w = w * g.view(-1, 1, 1, 1)
                b = (b - bn.running_mean) * g + bn.bias.detach()
            out.append((w, b))
        return out

    def load_folded(self, params) -> None:
        """The inverse of folded_params: weights into the convolutions, each batch norm set to
        the identity plus the folded bias (exact in eval mode)."""
        it = iter(params)
        with torch.no_grad():
            for name, layer in zip(self.names, self.net.layers, strict=True):
                if not isinstance(layer, Conv | Dense):
                    continue
                w, b = next(it)
                mod = self.mods[name]
                mod.weight.copy_(w)
                if getattr(layer, "bn", False):
                    bn = self.mods[f"{name}_bn"]
                    bn.weight.fill_(1.0)
                    bn.running_mean.zero_()
                    bn.running_var.fill_(1.0 - bn.eps)
                    bn.bias.copy_(b)
                else:
                    mod.bias.copy_(b)


def build_torch_model(net: Net) -> nn.Module:
    """The float model of `net`. A plain chain is an nn.Sequential, layers in description
    order. Module names: the compute and pool layers as named by `layer_names(net)`,
    `<name>_relu` / `<name>_sigmoid` after them, `flatten` before the first Dense layer. The
    last Dense layer has no activation. Any other graph is a `GraphModel`; a low-bit network
    is a `model.lowbit.LowBitModel` (quantization-aware from the start)."""
    if net.is_lowbit:
        from model.lowbit import LowBitModel

        return LowBitModel(net)
    if not net.is_chain:
        return GraphModel(net)
    mods: OrderedDict[str, nn.Module] = OrderedDict()
    flat = False
    for name, layer, (ins, _outs) in zip(layer_names(net), net.layers, shapes(net), strict=True):
        if isinstance(layer, Conv):
            if flat:
                raise ValueError(f"{net.name}: {name} follows a Dense layer")
            mods[name] = nn.Conv2d(ins[0], layer.out_ch, layer.k, padding=layer.pad)
        elif isinstance(layer, Pool):
            if flat:
                raise ValueError(f"{net.name}: {name} follows a Dense layer")
            mods[name] = nn.MaxPool2d(2) if layer.kind == "max" else nn.AvgPool2d(2)
        elif isinstance(layer, Dense):
            if not flat:
                mods["flatten"] = nn.Flatten()
                flat = True
            mods[name] = nn.Linear(ins[0] * ins[1] * ins[2], layer.out)
        act = getattr(layer, "act", "none")
        if act == "relu":
            mods[f"{name}_relu"] = nn.ReLU()
        elif act == "sigmoid":
            mods[f"{name}_sigmoid"] = nn.Sigmoid()
    return nn.Sequential(mods)


def images_to_tensor(x) -> torch.Tensor:
    """Raw pixels (N, H, W) or (N, C, H, W), uint8 or float 0..255, numpy or torch, to the
    model input: float32 (N, C, H, W) scaled by INPUT_SCALE."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 3:
        t = t.unsqueeze(1)
    if t.ndim != 4:
        raise ValueError(f"expected images (N, H, W) or (N, C, H, W), got shape {tuple(t.shape)}")
    return t.to(torch.float32) * INPUT_SCALE


# ----------------------------------------------------------------------------------------------
# Hyperparameters


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    optimizer: str = "adam"  # adam | sgd (momentum 0.9)
    lr: float = 2e-3
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    schedule: str = "step"  # step: StepLR (below); cosine: cosine annealing to 0 over the epochs
    lr_step: int = 10  # StepLR: multiply the learning rate by lr_gamma every lr_step epochs
    lr_gamma: float = 0.5
    augment: bool = True  # random shifts +-max_shift px, rotations +-max_rot degrees, zoom 1+-max_scale
    max_shift: float = 2.0
    max_rot: float = 10.0
    max_scale: float = 0.0


# Defaults per network, tuned on the embedded set (see docs/model-training.md). A network not
# listed here trains with TrainConfig().
NET_DEFAULTS: dict[str, TrainConfig] = {
    "tiny": TrainConfig(epochs=40, lr=3e-3, lr_step=10, lr_gamma=0.5),
    "lenet5": TrainConfig(
        epochs=80, lr=2e-3, lr_step=20, lr_gamma=0.5, label_smoothing=0.1, max_shift=2.5, max_rot=15.0
    ),
    "lenet5_sigmoid": TrainConfig(epochs=60, lr=3e-3, lr_step=15, lr_gamma=0.5),
    "resnet8": TrainConfig(epochs=50, lr=3e-3, schedule="cosine", weight_decay=1e-4, label_smoothing=0.1),
    # binarized: straight-through training from scratch (model/lowbit.py), small shifts
    "sfc_w1a1": TrainConfig(epochs=60, lr=3e-3, lr_step=15, lr_gamma=0.5, max_rot=5.0, max_shift=1.5),
    "cnv_w2a2": TrainConfig(epochs=40, lr=3e-3, lr_step=10, lr_gamma=0.5),
    "lfc_w1a1": TrainConfig(epochs=30, lr=3e-3, lr_step=8, lr_gamma=0.5, max_rot=5.0, max_shift=1.5),
    "tfc_w1a1": TrainConfig(epochs=100, lr=3e-3, schedule="cosine", max_rot=8.0, max_shift=2.0),
}


def default_config(net: Net | str) -> TrainConfig:
    return NET_DEFAULTS.get(net if isinstance(net, str) else net.name, TrainConfig())


# ----------------------------------------------------------------------------------------------
# Training


def augment_batch(
    x: torch.Tensor, gen: torch.Generator, max_shift: float = 2.0, max_rot: float = 10.0, max_scale: float = 0.0
) -> torch.Tensor:
    """Random affine per image: rotation uniform in +-max_rot degrees about the centre, shift
    uniform in +-max_shift pixels on each axis, zoom uniform in 1 +- max_scale; bilinear,
    zero fill. Seeded by `gen`."""
    n, _, h, w = x.shape
    u = torch.rand(n, 4, generator=gen) * 2 - 1
    ang = u[:, 0] * math.radians(max_rot)
    # affine_grid maps output to input coordinates in [-1, 1] units (2/W per pixel).
    tx, ty = u[:, 1] * max_shift * 2 / w, u[:, 2] * max_shift * 2 / h
    zoom = 1 / (1 + u[:, 3] * max_scale)
    cos, sin = torch.cos(ang) * zoom, torch.sin(ang) * zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@contextlib.contextmanager
def deterministic(seed: int, threads: int = DEFAULT_THREADS):
    """Seed every generator, fix the thread count, deterministic kernels; restores the global
    torch settings afterwards."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


@torch.no_grad()
def _predict_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i : i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, x, y) -> tuple[float, np.ndarray]:
    """Accuracy and confusion matrix (rows: true class, columns: predicted) of `model` on raw
    pixel images x (see images_to_tensor) with labels y."""
    y = np.asarray(y, dtype=np.int64)
    logits = _predict_logits(model, images_to_tensor(x))
    pred = logits.argmax(1).numpy()
    n_classes = max(logits.shape[1], int(y.max()) + 1 if len(y) else 0)
    conf = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    acc = float(np.trace(conf) / max(1, len(y)))
    return acc, conf


def train_model(
    net: Net,
    dataset: Dataset,
    epochs: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    config: TrainConfig | None = None,
    optimizer: str | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    augment: bool | None = None,
    model: nn.Module | None = None,
    max_steps: int | None = None,
    loss_fn=None,
    threads: int = DEFAULT_THREADS,
    progress: bool = True,
) -> tuple[nn.Module, dict]:
    """Train `net` (or continue training `model`, e.g. a fake-quantized copy) on
    dataset.train_x/train_y; evaluate on dataset.val_x/val_y after every epoch and return the
    model with the weights of the best epoch (highest validation accuracy, ties: lower
    validation loss), in eval mode, and an info dict (net, epoch, val_acc, seed, dataset,
    hparams, history, steps, seconds). The held-out set is not touched.

    Hyperparameters: `config` (default: NET_DEFAULTS[net.name]), overridden by the explicit
    arguments that are not None. `max_steps` stops after that many optimizer steps (the
    partial epoch is evaluated like a full one). `progress` shows a tqdm bar and prints one
    line per epoch."""
    cfg = config or default_config(net)
    overrides = {"epochs": epochs, "optimizer": optimizer, "lr": lr, "batch_size": batch_size, "augment": augment}
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    if cfg.optimizer not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adam or sgd")
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {cfg.schedule!r}; choose {' or '.join(SCHEDULES)}")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ValueError("epochs and batch size must be at least 1")
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    t0 = time.monotonic()
    with deterministic(seed, threads):
        if model is None:
            model = build_torch_model(net)
        gen = torch.Generator().manual_seed(seed)
        x_train, y_train = images_to_tensor(dataset.train_x), torch.as_tensor(dataset.train_y, dtype=torch.int64)
        x_val, y_val = images_to_tensor(dataset.val_x), torch.as_tensor(dataset.val_y, dtype=torch.int64)
        if cfg.optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
        n = len(y_train)
        per_epoch = math.ceil(n / cfg.batch_size)
        total = cfg.epochs * per_epoch if max_steps is None else min(max_steps, cfg.epochs * per_epoch)
        if cfg.schedule == "cosine":  # per optimizer step, from lr down to 0 at the last step
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / total)))
        else:
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=f"train {net.name}", unit="step", leave=False, file=sys.stderr)
        best = None
        history = []
        steps = 0
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            perm = torch.randperm(n, generator=gen)
            loss_sum, seen = 0.0, 0
            for i in range(0, n, cfg.batch_size):
                if steps >= total:
                    break
                idx = perm[i : i + cfg.batch_size]
                xb, yb = x_train[idx], y_train[idx]
                if cfg.augment:
                    xb = augment_batch(xb, gen, cfg.max_shift, cfg.max_rot, cfg.max_scale)
                loss = loss_fn(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if cfg.schedule == "cosine":
                    sched.step()
                steps += 1
                loss_sum += float(loss.detach()) * len(idx)
                seen += len(idx)
                if bar is not None:
                    bar.update(1)
            if cfg.schedule == "step":
                sched.step()
            logits = _predict_logits(model, x_val)
            val_loss = float(F.cross_entropy(logits, y_val))
            val_acc = float((logits.argmax(1) == y_val).float().mean())
            rec = {"epoch": epoch, "loss": loss_sum / max(1, seen), "val_loss": val_loss, "val_acc": val_acc}
            history.append(rec)
            if best is None or (val_acc, -val_loss) > (best[0]["val_acc"], -best[0]["val_loss"]):
                best = (rec, {k: v.detach().clone() for k, v in model.state_dict().items()})
            if progress:
                line = (
                    f"epoch {epoch:3d}/{cfg.epochs}  loss {rec['loss']:.4f}  val loss {val_loss:.4f}  "
                    f"val acc {100 * val_acc:6.2f}%" + ("  *" if best[0] is rec else "")
                )
                if bar is not None:
                    bar.set_postfix(loss=f"{rec['loss']:.3f}", val=f"{100 * val_acc:.1f}%")
                    bar.write(line, file=sys.stdout)
                else:
                    print(line)
            if steps >= total:
                break
        if bar is not None:
            bar.close()
        model.load_state_dict(best[1])
        model.eval()
    info = {
        "net": net.name,
        "epoch": best[0]["epoch"],
        "val_acc": best[0]["val_acc"],
        "seed": seed,
        "dataset": dataset.describe(),
        "hparams": {**asdict(cfg), "threads": threads, "max_steps": max_steps},
        "history": history,
        "steps": steps,
        "seconds": time.monotonic() - t0,
    }
    return model, info


# ----------------------------------------------------------------------------------------------
# Checkpoints


def save_checkpoint(model: nn.Module, info: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write out_dir/checkpoint.pt (state dict + info: net, epoch, val_acc, seed, dataset, ...)
    and out_dir/model.ts (TorchScript trace; input float (N, 1, H, W) = pixels / 255)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "checkpoint.pt"
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({**info, "input_scale": INPUT_SCALE, "state_dict": state}, ckpt)
    net = get_net(info["net"])
    model.eval()
    example = torch.zeros(1, *net.in_shape)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    ts = out_dir / "model.ts"
    traced.save(str(ts))
    return ckpt, ts


def load_checkpoint(path: str | Path, net: Net | str | None = None) -> tuple[nn.Module, dict]:
    """The float model (eval mode) and info dict of a checkpoint.pt written by `train`.
    When `net` is given it must match the network the checkpoint was trained for."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist (train one with `python -m model train`)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling problem is a bad file
        raise ValueError(f"{path}: not a readable checkpoint ({err})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "net" not in ckpt:
        raise ValueError(f"{path}: not a checkpoint written by `python -m model train`")
    name = net if isinstance(net, str) or net is None else net.name
    if name is not None and name != ckpt["net"]:
        raise ValueError(f"{path}: checkpoint of network {ckpt['net']!r}, not {name!r}")
    the_net = get_net(ckpt["net"]) if not isinstance(net, Net) else net
    model = build_torch_model(the_net)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit network {the_net.name}: {err}") from None
    model.eval()
    info = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model, info


# ----------------------------------------------------------------------------------------------
# Confusion matrix


def format_confusion(conf: np.ndarray, class_names=None) -> str:
    names = [str(c) for c in (class_names or range(len(conf)))]
    short = [n if len(n) <= 6 else n[:6] for n in names]
    w = max(5, max(len(s) for s in short), len(str(conf.max())) + 1)
    lines = ["true \\ pred".ljust(12) + "".join(s.rjust(w) for s in short)]
    for s, row in zip(short, conf, strict=True):
        lines.append(s.ljust(12) + "".join(str(v).rjust(w) for v in row))
    return "\n".join(lines)


def save_confusion_png(conf: np.ndarray, path: str | Path, class_names=None, title: str | None = None) -> Path:
    """Confusion matrix as a PNG (matplotlib, Agg canvas; no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conf = np.asarray(conf)
    k = len(conf)
    names = [str(c) for c in (class_names or range(k))]
    fig = Figure(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(conf, cmap="Blues")
    thresh = conf.max() / 2 if conf.size else 0
    for i in range(k):
        for j in range(k):
            if conf[i, j]:
                color = "white" if conf[i, j] > thresh else "black"
                ax.text(j, i, str(conf[i, j]), ha="center", va="center", color=color, fontsize=8)
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(conf) / max(1, conf.sum())
    ax.set_title(title or f"accuracy {100 * acc:.2f}% ({int(np.trace(conf))}/{int(conf.sum())})")
    fig.tight_layout()
    fig.savefig(path)
    return path


# ----------------------------------------------------------------------------------------------
# Commands


def cmd_train(args: argparse.Namespace) -> int:
    net = get_net(args.net)
    ds = dataset_for_net(net, args.data_dir)
    cfg = default_config(net)
    cfg = replace(
        cfg,
        **{
            k: v
            for k, v in {
                "epochs": args.epochs,
                "optimizer": args.optimizer,
                "lr": args.lr,
                "batch_size": args.batch_size,
                "augment": args.augment,
                "schedule": args.schedule,
            }.items()
            if v is not None
        },
    )
    out = Path(args.out) if args.out else Path("weights") / net.name
    print(ds.summary())
    print(f"  {ds.source}")
    print(f"network {net.name}, seed {args.seed}, {cfg}")
    model, info = train_model(net, ds, seed=args.seed, config=cfg, threads=args.threads, progress=not args.quiet)
    test_acc, conf = evaluate(model, ds.test_x, ds.test_y)
    info["test_acc"] = test_acc
    ckpt, ts = save_checkpoint(model, info, out)
    print(
        f"best epoch {info['epoch']}: val acc {100 * info['val_acc']:.2f}%; "
        f"held-out acc {100 * test_acc:.2f}% ({int(np.trace(conf))}/{len(ds.test_y)}); "
        f"{info['seconds']:.1f} s"
    )
    print(f"wrote {ckpt} and {ts}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.checkpoint:
        ckpt = Path(args.checkpoint)
    else:
        ckpt = Path("weights") / (args.net or "tiny") / "checkpoint.pt"
    if args.net:
        get_net(args.net)  # a clear error for an unknown name
    model, info = load_checkpoint(ckpt, args.net)
    net = get_net(info["net"])
    ds = dataset_for_net(net, args.data_dir)
    trained_on = info.get("dataset", {}).get("name")
    if trained_on and trained_on != ds.name:
        print(f"note: {ckpt} was trained on {trained_on}, evaluating on {ds.name}")
    acc, conf = evaluate(model, ds.test_x, ds.test_y)
    print(f"{net.name} ({ckpt}, epoch {info.get('epoch')}) on {ds.name} held-out set:")
    print(f"float accuracy {100 * acc:.2f}% ({int(np.trace(conf))}/{len(ds.test_y)})")
    print(format_confusion(conf, ds.class_names))
    if args.out:
        png = Path(args.out)
        if png.suffix.lower() != ".png":
            png = png / "confusion.png"
    else:
        png = ckpt.parent / "confusion.png"
    save_confusion_png(conf, png, ds.class_names, title=f"{net.name} on {ds.name}: {100 * acc:.2f}%")
    print(f"wrote {png}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the float model of a network")
    p.add_argument("--net", default="tiny", help="network name from model/nets.py (default tiny)")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded 5k set)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: per network)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"training seed (default {DEFAULT_SEED})")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=None, help="adam (default) or sgd (momentum 0.9)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per network)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default 64)")
    p.add_argument(
        "--schedule", choices=SCHEDULES, default=None, help="learning rate: step (StepLR) or cosine (default: per net)"
    )
    p.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=None, help="random shifts/rotations (default on)"
    )
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=f"torch threads (default {DEFAULT_THREADS})")
    p.add_argument("--out", type=Path, default=None, help="output directory (default weights/<net>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("eval", help="float accuracy of a checkpoint on the held-out set")
    p.add_argument("--net", default=None, help="network (default: the checkpoint's)")
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint.pt (default weights/<net>/checkpoint.pt)")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded 5k set)")
    p.add_argument("--out", type=Path, default=None, help="confusion PNG file or directory (default: checkpoint's)")
    p.set_defaults(func=cmd_eval)
