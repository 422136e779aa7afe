"""Command line of the compile flow: `python -m model quantize | export | weights`.

* `quantize`: float / int8 PTQ (every calibration method) / int8 QAT accuracy of a checkpoint.
* `export`:   weights/<net>/ from a checkpoint (no training).
* `weights`:  `make weights`: train (or reuse a checkpoint), calibrate, optionally fine-tune
              (QAT), export. Default: every network on the embedded set.

Argument parsing and messages only: model/flow.py runs the stages.
"""

from __future__ import annotations

import json
from pathlib import Path

from model import quant
from model.flow import DEFAULT_NETS, export_checkpoint, make_weights
from model.graph import from_net
from model.nets import NETS, PIX_CHOICES, Net, get_net, parse_fold, with_pix
from model.plan import check_folds
from model.quantize import quantize_flow


def _load_data(net: Net, data_dir):
    from model.data import dataset_for_net

    return dataset_for_net(net, data_dir)


def _nets(arg, pix: int = 1) -> list[Net]:
    return [with_pix(get_net(arg), pix)] if arg else [with_pix(get_net(n), pix) for n in DEFAULT_NETS]


def default_out(net: Net) -> Path:
    """weights/<net>, or weights/<net>_pix<n> at several pixels per beat (PIX=)."""
    return Path("weights") / (net.name if net.pix == 1 else f"{net.name}_pix{net.pix}")


def cmd_quantize(args) -> int:
    from model.train import evaluate, load_checkpoint

    net = get_net(args.net)
    ckpt = Path(args.checkpoint) if args.checkpoint else Path("weights") / net.name / "checkpoint.pt"
    model, _info = load_checkpoint(ckpt, net)
    ds = _load_data(net, args.data_dir)
    fa, _ = evaluate(model, ds.test_x, ds.test_y)
    fv, _ = evaluate(model, ds.val_x, ds.val_y)
    print(f"{net.name} ({ckpt}) on {ds.name}: {len(ds.val_y)} val / {len(ds.test_y)} held-out")
    print(f"  float              val {100 * fv:6.2f}%  held-out {100 * fa:6.2f}%")
    if net.is_lowbit:  # trained through its quantizers: no calibration methods or scale modes
        quantize_flow(net, model, ds, "float", None, 0, args.seed)
        return 0
    scales = quant.SCALES if args.scale == "both" else (args.scale,)
    rows = []
    for scale in scales:
        _ql, settings, acc, _m = quantize_flow(net, model, ds, scale, args.method, args.qat_epochs, args.seed)
        ptq = acc["int8_ptq_methods"]
        qat = acc["int8_qat"]
        rows.append(
            f"| {net.name} | {scale} | {100 * fa:.2f} | "
            + " | ".join(f"{100 * ptq[m]:.2f}" for m in quant.METHODS)
            + f" | {'-' if qat is None else f'{100 * qat:.2f}'} ({settings['method']}) "
            f"| {100 * acc['fake_quant_agreement']:.2f} |"
        )
    print()
    print("| net | scale | float | PTQ " + " | PTQ ".join(quant.METHODS) + " | QAT | fake-quant agreement |")
    print("|---|---|---|" + "---|" * len(quant.METHODS) + "---|---|")
    print("\n".join(rows))
    return 0


def cmd_export(args) -> int:
    net = with_pix(get_net(args.net), args.pix)
    ckpt = Path(args.checkpoint) if args.checkpoint else Path("weights") / net.name / "checkpoint.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt} does not exist")
    folds = parse_fold(net, args.fold)
    check_folds(from_net(net), folds)
    _print_solution(folds)
    ds = _load_data(net, args.data_dir)
    out = Path(args.out) if args.out else default_out(net)
    m = export_checkpoint(net, ckpt, out, folds, ds, args.method, args.scale, args.vectors)
    print(f"wrote {m.parent} ({m.name})")
    return 0


def cmd_weights(args) -> int:
    nets = _nets(args.net, args.pix)
    for net in nets:  # errors before any training
        check_folds(from_net(net), parse_fold(net, args.fold))
    for net in nets:
        folds = parse_fold(net, args.fold)
        _print_solution(folds)
        if args.out:
            out = Path(args.out) if len(nets) == 1 else Path(args.out) / net.name
        else:
            out = default_out(net)
        ds = _load_data(net, args.data_dir)
        print(f"== {net.name}: {ds.summary()}")
        ckpt = None
        if args.from_checkpoint:
            ckpt = Path(args.from_checkpoint) if args.from_checkpoint != "auto" else out / "checkpoint.pt"
        m = make_weights(
            net,
            folds,
            ds,
            out,
            ckpt,
            epochs=args.epochs,
            qat_epochs=args.qat_epochs,
            method=args.method,
            scale=args.scale,
            seed=args.seed,
            progress=not args.quiet,
            n_vectors=args.vectors,
        )
        _report(out, m)
    return 0


def _print_solution(folds) -> None:
    """FOLD=auto: the chosen folding, predicted II and MAC utilisation per layer."""
    if getattr(folds, "solution", None) is not None:
        print(folds.solution.report())


def _report(out: Path, m: Path) -> None:
    man = json.loads(m.read_text())
    a = man["accuracy"]
    print(
        f"  wrote {out}: float {100 * a['float']:.2f}%  int8 {100 * a['int8']:.2f}% "
        f"({man['quantization']['method']}, {man['quantization']['scale']}, QAT epochs "
        f"{man['quantization']['qat_epochs']})"
    )


PIX_HELP = "pixels per input beat (default 1; the export goes to weights/<net>_pix<n>)"
VECTORS_HELP = "held-out images written to vectors/ (default: all; the accuracies always cover all)"


def positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError(text)
    return n


FOLD_HELP = (
    "folding: default, an alt name (small, up5k), auto[:ii=CYCLES][:device=NAME] (model/fold_solver.py) "
    "or conv2=2x4,... (PExSIMD[xTAPS][+serial][+wload][+single])"
)


def register(subparsers) -> None:
    nets = ", ".join(NETS)
    p = subparsers.add_parser("quantize", help="float / int8 PTQ (every calibration method) / int8 QAT accuracy")
    p.add_argument("--net", default="tiny", help=f"network ({nets}; default tiny)")
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint.pt (default weights/<net>/checkpoint.pt)")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--scale", choices=(*quant.SCALES, "both"), default="float", help="float (default), pow2, both")
    p.add_argument("--method", choices=quant.METHODS, default=None, help="method for QAT (default: best on val)")
    p.add_argument("--qat-epochs", type=int, default=3, help="QAT fine-tuning epochs (0: none; default 3)")
    p.add_argument("--seed", type=int, default=1, help="QAT seed (default 1)")
    p.set_defaults(func=cmd_quantize)

    p = subparsers.add_parser("export", help="write weights/<net>/ from a checkpoint (no training)")
    p.add_argument("--net", default="tiny", help=f"network ({nets}; default tiny)")
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint.pt (default weights/<net>/checkpoint.pt)")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default weights/<net>)")
    p.add_argument("--fold", default=None, help=FOLD_HELP)
    p.add_argument("--method", choices=quant.METHODS, default=None, help="calibration (default: checkpoint's)")
    p.add_argument("--scale", choices=quant.SCALES, default=None, help="scale mode (default: checkpoint's)")
    p.add_argument("--vectors", type=positive_int, default=None, metavar="N", help=VECTORS_HELP)
    p.add_argument("--pix", type=int, choices=PIX_CHOICES, default=1, help=PIX_HELP)
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("weights", help="train, quantize and export weights/<net>/ (make weights)")
    p.add_argument("--net", default=None, help=f"one network ({nets}; default: {', '.join(DEFAULT_NETS)})")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST-format IDX files (default: embedded set)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default weights/<net>)")
    p.add_argument("--seed", type=int, default=1, help="training seed (default 1)")
    p.add_argument("--fold", default=None, help=FOLD_HELP)
    p.add_argument(
        "--from-checkpoint",
        nargs="?",
        const="auto",
        default=None,
        metavar="CKPT",
        help="reuse a checkpoint instead of training (default <out>/checkpoint.pt)",
    )
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: per network)")
    p.add_argument("--qat-epochs", type=int, default=None, help="QAT epochs (default: per network; 0: none)")
    p.add_argument("--method", choices=quant.METHODS, default=None, help="calibration (default: best on val)")
    p.add_argument("--scale", choices=quant.SCALES, default=None, help="scale mode (default float)")
    p.add_argument("--vectors", type=positive_int, default=None, metavar="N", help=VECTORS_HELP)
    p.add_argument("--quiet", action="store_true", help="no training progress")
    p.add_argument("--pix", type=int, choices=PIX_CHOICES, default=1, help=PIX_HELP)
    p.set_defaults(func=cmd_weights)
