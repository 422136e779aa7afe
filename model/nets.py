"""Network descriptions: each network is described once, declaratively.

The first stage of the compile flow (model/flow.py). Input: none (written by hand).
Output: `Net`s and their foldings. Training (model/train.py) and quantization
(model/quant.py, through model/graph.py `from_net`) walk the same `Net`. A new network of
these layer kinds needs only a new entry in NETS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIVATIONS = ("relu", "sigmoid", "none")


@dataclass(frozen=True)
class Conv:
    """2-D convolution, stride 1, zero padding `pad`, followed by activation `act`."""

    out_ch: int
    k: int
    pad: int = 0
    act: str = "relu"


@dataclass(frozen=True)
class Pool:
    """2x2 stride-2 pooling: "max" or "avg" (floor mode: odd sizes drop the last row/column)."""

    kind: str = "max"


@dataclass(frozen=True)
class Dense:
    """Fully connected layer; the input is flattened first. `act="none"` on the last layer
    leaves its int32 accumulators as the logits."""

    out: int
    act: str = "relu"


Layer = Conv | Pool | Dense


@dataclass(frozen=True)
class Fold:
    """Hardware parallelism of one Conv or Dense layer: PE output channels x SIMD input
    channels per cycle (times TAPS kernel taps for a convolution). PE divides the output
    channels, SIMD the input channels (for Dense: the channels of one input beat), TAPS the
    k*k taps (None: all of them; Conv only).

    Dense only, for small FPGAs: `serial` uses rtl/fc_serial.sv (accumulators in RAM, PE
    outputs per beat instead of all C_OUT in one beat), `wload` also keeps its weights in RAM
    written at run time through the engine's weight-load stream (SPRAM on the iCE40 UP5K)."""

    pe: int
    simd: int
    taps: int | None = None
    serial: bool = False
    wload: bool = False

    FLAGS = ("serial", "wload")

    def as_dict(self) -> dict:
        """The form manifests record: pe, simd, and taps / flags only when set."""
        d: dict = {"pe": self.pe, "simd": self.simd}
        if self.taps is not None:
            d["taps"] = self.taps
        d.update({f: True for f in self.FLAGS if getattr(self, f)})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Fold:
        return cls(d["pe"], d["simd"], d.get("taps"), *(bool(d.get(f, False)) for f in cls.FLAGS))

    def __str__(self) -> str:
        """PExSIMD[xTAPS][+serial][+wload], as FOLD= takes it."""
        nums = [self.pe, self.simd] + ([self.taps] if self.taps is not None else [])
        return "x".join(map(str, nums)) + "".join(f"+{f}" for f in self.FLAGS if getattr(self, f))

    @classmethod
    def parse(cls, text: str) -> Fold:
        """The inverse of str(): '2x4', '1x1x3', '1x1+serial+wload'."""
        head, *flags = text.strip().lower().split("+")
        nums = [int(x) for x in head.split("x")]
        if len(nums) not in (2, 3) or any(f not in cls.FLAGS for f in flags):
            raise ValueError(f"bad fold {text!r}")
        return cls(*nums, **{f: True for f in flags})


@dataclass(frozen=True)
class Net:
    name: str
    layers: tuple[Layer, ...]
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    n_classes: int = 10
    # Default folding per compute layer name (see `layer_names`); FOLD=... overrides it.
    folds: dict[str, Fold] = field(default_factory=dict)
    # Other named foldings, e.g. a small one for an iCE40.
    alt_folds: dict[str, dict[str, Fold]] = field(default_factory=dict)

    def __post_init__(self):
        for layer in self.layers:
            if getattr(layer, "act", "relu") not in ACTIVATIONS:
                raise ValueError(f"{self.name}: unknown activation {layer.act!r}")
            if isinstance(layer, Pool) and layer.kind not in ("max", "avg"):
                raise ValueError(f"{self.name}: unknown pooling {layer.kind!r}")
        last = self.layers[-1]
        if not (isinstance(last, Dense) and last.act == "none" and last.out == self.n_classes):
            raise ValueError(f"{self.name}: the last layer must be Dense({self.n_classes}, act='none')")


def layer_names(net: Net) -> list[str]:
    """conv1, pool1, conv2, ..., fc1, fc2: one name per layer, numbered per kind."""
    counts: dict[str, int] = {}
    names = []
    for layer in net.layers:
        kind = {Conv: "conv", Pool: "pool", Dense: "fc"}[type(layer)]
        counts[kind] = counts.get(kind, 0) + 1
        names.append(f"{kind}{counts[kind]}")
    return names


def shapes(net: Net) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(input shape, output shape) of every layer as (C, H, W); Dense outputs are (N, 1, 1)."""
    c, h, w = net.in_shape
    out = []
    for layer in net.layers:
        before = (c, h, w)
        if isinstance(layer, Conv):
            c, h, w = layer.out_ch, h + 2 * layer.pad - layer.k + 1, w + 2 * layer.pad - layer.k + 1
        elif isinstance(layer, Pool):
            h, w = h // 2, w // 2
        else:
            c, h, w = layer.out, 1, 1
        if min(c, h, w) < 1:
            raise ValueError(f"{net.name}: layer {layer} leaves an empty tensor")
        out.append((before, (c, h, w)))
    return out


TINY = Net(
    name="tiny",
    layers=(
        Conv(4, 3, pad=1),
        Pool("max"),
        Conv(8, 3, pad=1),
        Pool("max"),
        Dense(32),
        Dense(10, act="none"),
    ),
    # One pixel per clock at the input: conv1 fully parallel; conv2 sees a quarter of the
    # pixels and spends 2 cycles on each, fc1 8 cycles on each of its 49 beats, so neither
    # is the bottleneck even with the bursts pooling makes (see model/cycles.py).
    folds={"conv1": Fold(4, 1), "conv2": Fold(4, 4), "fc1": Fold(4, 8), "fc2": Fold(1, 8)},
    alt_folds={
        "small": {"conv1": Fold(1, 1), "conv2": Fold(1, 1), "fc1": Fold(1, 1), "fc2": Fold(1, 1)},
        # For the iCE40 UP5K (5,280 logic cells, 8 multipliers, 30 x 4 Kbit block RAM, 4 x 256
        # Kbit SPRAM): one kernel row per cycle in the convolutions, every unit serial (one
        # group of 32-bit accumulators, not all channels), fc1's 12,544 weight bytes in SPRAM,
        # loaded at run time (docs/synthesis.md).
        "up5k": {
            "conv1": Fold(1, 1, 3, serial=True),
            "conv2": Fold(1, 1, 3, serial=True),
            "fc1": Fold(1, 1, serial=True, wload=True),
            "fc2": Fold(1, 1, serial=True),
        },
    },
)

LENET5 = Net(
    name="lenet5",
    layers=(
        Conv(6, 5, pad=2),
        Pool("max"),
        Conv(16, 5),
        Pool("max"),
        Dense(120),
        Dense(84),
        Dense(10, act="none"),
    ),
    folds={"conv1": Fold(6, 1), "conv2": Fold(4, 6), "fc1": Fold(8, 16), "fc2": Fold(1, 120), "fc3": Fold(1, 84)},
    alt_folds={
        "small": {"conv1": Fold(1, 1), "conv2": Fold(1, 1), "fc1": Fold(1, 1), "fc2": Fold(1, 1), "fc3": Fold(1, 1)}
    },
)

# The LeNet-5 lab's classic variant: sigmoid activations and average pooling. The sigmoid
# runs in hardware as a 256-entry lookup table.
LENET5_SIGMOID = Net(
    name="lenet5_sigmoid",
    layers=(
        Conv(6, 5, pad=2, act="sigmoid"),
        Pool("avg"),
        Conv(16, 5, act="sigmoid"),
        Pool("avg"),
        Dense(120, act="sigmoid"),
        Dense(84, act="sigmoid"),
        Dense(10, act="none"),
    ),
    folds=LENET5.folds,
    alt_folds=LENET5.alt_folds,
)

NETS = {n.name: n for n in (TINY, LENET5, LENET5_SIGMOID)}


def get_net(name: str) -> Net:
    try:
        return NETS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETS)}") from None


def parse_fold(net: Net, spec: str | None) -> dict[str, Fold]:
    """FOLD=... : empty for the default, a name from net.alt_folds, 'auto[:ii=N][:device=D]'
    (model/fold_solver.py), or 'conv1=4x1,conv2=2x4x3,...' (PExSIMD, or PExSIMDxTAPS for a
    Conv) overriding single layers."""
    folds = dict(net.folds)
    if not spec or spec == "default":
        return folds
    if spec == "auto" or spec.startswith("auto:"):
        from model.fold_solver import parse_auto, solve  # the solver plans the net: imports this module

        return solve(net, **parse_auto(spec)).folds()
    if spec in net.alt_folds:
        return dict(net.alt_folds[spec])
    for item in spec.split(","):
        try:
            name, val = item.split("=")
            fold = Fold.parse(val)
        except ValueError:
            raise ValueError(
                f"bad FOLD item {item!r}: expected layer=PExSIMD[xTAPS][+serial][+wload], e.g. conv2=2x4"
            ) from None
        if name not in folds:
            raise ValueError(f"FOLD names {name!r}, not a compute layer of {net.name} ({', '.join(folds)})")
        folds[name] = fold
    return folds
