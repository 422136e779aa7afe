"""Fine-tuning (transfer learning): `python -m model finetune --from <checkpoint> --freeze <layers>`.

Loads a trained checkpoint, freezes the named layers (their weights and batch-norm
statistics stay as they are), retrains the others on another dataset (`--data-dir`, IDX
files), then quantizes and exports as `make weights` does (model/flow.py): the export is an
ordinary weights/<net>/ folder, simulated with `make sim WEIGHTS=...`.

`--freeze` takes layer names (model/nets.py layer_names) or prefixes: `stem,s1,s2` freezes
the stem and every layer of the first two residual stages of resnet8; `all-but-last` every
layer but the last (the classic "retrain the classifier" case).
"""

from __future__ import annotations

import time
from pathlib import Path

from torch import nn

from model.nets import Net, get_net, layer_names, parse_fold


def frozen_layers(net: Net, spec: str) -> list[str]:
    """The layer names `spec` selects: comma-separated names or prefixes, or all-but-last."""
    names = layer_names(net)
    if spec.strip() in ("", "none"):
        return []
    if spec.strip() == "all-but-last":
        return names[:-1]
    out = []
    for item in (x.strip() for x in spec.split(",")):
        hit = [n for n in names if n == item or n.startswith(item + "_")]
        if not hit:
            raise ValueError(f"--freeze: {item!r} names no layer of {net.name} ({', '.join(names)})")
        out += [n for n in hit if n not in out]
    return out


def _always_eval(self, mode: bool = True):
    return nn.Module.train(self, False)


def freeze(model: nn.Module, net: Net, names: list[str]) -> int:
    """Stop gradients into the named layers and keep their batch norms in eval mode (stored
    statistics used and kept). Returns the number of trainable parameters left."""
    mods = dict(model.named_modules())
    for name in names:
        for key in (f"mods.{name}", f"mods.{name}_bn", name):
            mod = mods.get(key)
            if mod is None:
                continue
            for p in mod.parameters():
                p.requires_grad_(False)
            if isinstance(mod, nn.BatchNorm2d):
                # normalise with the stored statistics in training too: batch statistics of
                # the new data would shift every layer after it away from what eval sees
                mod.train = _always_eval.__get__(mod)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def cmd_finetune(args) -> int:
    from model.data import dataset_for_net
    from model.flow import check_device_budget, quantize_export
    from model.graph import from_net
    from model.plan import check_folds
    from model.train import evaluate, load_checkpoint, train_model

    model, info = load_checkpoint(Path(args.from_ckpt))
    net = get_net(info["net"])
    folds = parse_fold(net, args.fold)
    check_folds(from_net(net), folds)
    check_device_budget(net, folds, args.scale)  # before fine-tuning
    names = frozen_layers(net, args.freeze)
    ds = dataset_for_net(net, args.data_dir)
    print(f"== fine-tune {net.name} from {args.from_ckpt} on {ds.summary()}")
    before, _ = evaluate(model, ds.test_x, ds.test_y)
    n_train = freeze(model, net, names)
    frozen = ", ".join(names) or "nothing"
    print(f"  frozen: {frozen}; {n_train} trainable parameters; held-out before {100 * before:.2f}%")
    t0 = time.monotonic()
    model, tinfo = train_model(
        net, ds, epochs=args.epochs, seed=args.seed, model=model, lr=args.lr, progress=not args.quiet
    )
    acc, _ = evaluate(model, ds.test_x, ds.test_y)
    seconds = time.monotonic() - t0
    print(f"  fine-tuned, best epoch {tinfo['epoch']}: held-out float {100 * acc:.2f}% in {seconds:.0f} s")
    for p in model.parameters():  # the export saves a plain model
        p.requires_grad_(True)
    tinfo["finetune"] = {"from": str(args.from_ckpt), "frozen": names, "seconds": round(seconds, 1)}
    out = Path(args.out) if args.out else Path("weights") / f"{net.name}_finetuned"
    qat = 0 if args.qat_epochs is None else args.qat_epochs
    m = quantize_export(net, model, tinfo, folds, ds, out, qat, args.method, args.scale, args.seed, args.vectors)
    print(f"  wrote {m.parent}")
    return 0


def register(subparsers) -> None:
    from model import quant
    from model.cli import VECTORS_HELP, positive_int

    p = subparsers.add_parser("finetune", help="retrain some layers of a checkpoint on another dataset, then export")
    p.add_argument("--from", dest="from_ckpt", required=True, metavar="CKPT", help="checkpoint.pt to start from")
    p.add_argument("--freeze", default="none", help="layers kept as they are: names or prefixes, or all-but-last")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the network's training default)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the network's)")
    p.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    p.add_argument("--out", type=Path, default=None, help="export directory (default weights/<net>_finetuned)")
    p.add_argument("--fold", default=None, help="folding (default: the network's)")
    p.add_argument("--qat-epochs", type=int, default=None, help="QAT epochs after fine-tuning (default 0)")
    p.add_argument("--method", choices=quant.METHODS, default=None, help="calibration (default: best on val)")
    p.add_argument("--scale", choices=quant.SCALES, default=None, help="scale mode (default: the network's)")
    p.add_argument("--vectors", type=positive_int, default=None, metavar="N", help=VECTORS_HELP)
    p.add_argument("--quiet", action="store_true", help="no training progress")
    p.set_defaults(func=cmd_finetune)
