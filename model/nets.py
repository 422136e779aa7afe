"""Network descriptions: each network is described once, declaratively.

The first stage of the compile flow (model/flow.py). Input: none (written by hand).
Output: `Net`s and their foldings. Training (model/train.py) and quantization
(model/quant.py, through model/graph.py `from_net`) walk the same `Net`. A new network of
these layer kinds needs only a new entry in NETS.

Networks are graphs: every layer reads the layer before it unless its `inputs` name others
(`Add` joins two), so a plain chain needs no extra syntax. `Net` checks the graph and every
shape when it is described (`graph_check`), and names the layer at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ACTIVATIONS = ("relu", "sigmoid", "none", "sign")
# Precisions the hardware has (docs/rtl-library.md "Low-bit arithmetic contract"): weights of
# 1 (bipolar +-1), 2, 4 or 8 bits (signed), activations of 1 (bipolar, act "sign"), 2 or 4 bits
# (unsigned, through a threshold unit) or 8 bits (uint8, through requant).
W_BITS = (1, 2, 4, 8)
A_BITS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Conv:
    """2-D convolution, zero padding `pad`, stride `stride` (which must divide the input's
    height and width), followed by activation `act`. `bn`: the float model trains a batch norm
    after it, folded into the weights and bias at export. `act="none"` before the last layer
    gives int8 outputs (the residual branch before an Add).

    Every layer kind takes `name` (default: kind and number, conv1, pool1, fc1, add1, gap1)
    and `inputs` (names of the layers it reads; default: the layer before it)."""

    out_ch: int
    k: int
    pad: int = 0
    act: str = "relu"
    stride: int = 1
    bn: bool = False
    name: str | None = None
    inputs: tuple[str, ...] = ()
    w_bits: int = 8  # weight precision (1: bipolar)
    a_bits: int = 8  # output activation precision (1: bipolar sign, act "sign")


@dataclass(frozen=True)
class Pool:
    """2x2 stride-2 pooling: "max" or "avg" (floor mode: odd sizes drop the last row/column)."""

    kind: str = "max"
    name: str | None = None
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dense:
    """Fully connected layer; the input is flattened first. `act="none"` on the last layer
    leaves its int32 accumulators as the logits.

    Low-bit layers (Conv takes the same fields): `w_bits` (1 = bipolar +-1, 2, 4, 8) and
    `a_bits`, the precision of the layer's output activations (1 = bipolar sign with
    act="sign", 2 or 4 = unsigned quantized ReLU; both through a threshold unit). `bn`: a batch
    norm after the layer in the float model, folded into the thresholds (or weights) offline.
    The last layer gives int32 logits: its `a_bits` stays 8."""

    out: int
    act: str = "relu"
    name: str | None = None
    inputs: tuple[str, ...] = ()
    w_bits: int = 8
    a_bits: int = 8
    bn: bool = False


@dataclass(frozen=True)
class Add:
    """Elementwise sum of two layers of the same shape, then `act` (ReLU): the join of a
    residual block. `inputs` names both, or one (the other is the layer before)."""

    inputs: tuple[str, ...]
    act: str = "relu"
    name: str | None = None


@dataclass(frozen=True)
class GlobalAvgPool:
    """Mean of every channel over the whole image: (C, H, W) -> (C, 1, 1)."""

    name: str | None = None
    inputs: tuple[str, ...] = ()


Layer = Conv | Pool | Dense | Add | GlobalAvgPool
KIND_PREFIX = {Conv: "conv", Pool: "pool", Dense: "fc", Add: "add", GlobalAvgPool: "gap"}
INPUT = "input"  # the name of the pixel stream, which the first layer reads


@dataclass(frozen=True)
class Fold:
    """Hardware parallelism of one Conv or Dense layer: PE output channels x SIMD input
    channels per cycle (times TAPS kernel taps for a convolution). PE divides the output
    channels, SIMD the input channels (for Dense: the channels of one input beat), TAPS the
    k*k taps (None: all of them; Conv only).

    Dense only, for small FPGAs: `serial` uses rtl/fc_serial.sv (accumulators in RAM, PE
    outputs per beat instead of all C_OUT in one beat), `wload` also keeps its weights in RAM
    written at run time through the engine's weight-load stream (SPRAM on the iCE40 UP5K).
    `single`: fc_unit without its output register (OUT_REG = 0): the result waits in the
    accumulators, C_OUT accumulator widths of flip-flops fewer, one cycle more per frame.

    `dsp`: how many of the layer's products per cycle are DSP blocks (the RTL's `*`); the
    others are shift-and-add in logic cells (rtl/lut_mul.sv). None: all of them. Set by the
    solver when a TARGET_II needs more multipliers than a DEVICE has DSPs."""

    pe: int
    simd: int
    taps: int | None = None
    serial: bool = False
    wload: bool = False
    single: bool = False
    dsp: int | None = None

    FLAGS = ("serial", "wload", "single")

    def products(self, kk: int = 1, pix: int = 1) -> int:
        """Products per cycle: PE x SIMD x TAPS (all `kk` taps when TAPS is unset; kk = 1 for
        Dense), times the PIX windows of a convolution's beat."""
        return self.pe * self.simd * (self.taps or kk) * pix

    def as_dict(self) -> dict:
        """The form manifests record: pe, simd, and taps / flags / dsp only when set."""
        d: dict = {"pe": self.pe, "simd": self.simd}
        if self.taps is not None:
            d["taps"] = self.taps
        d.update({f: True for f in self.FLAGS if getattr(self, f)})
        if self.dsp is not None:
            d["dsp"] = self.dsp
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Fold:
        return cls(d["pe"], d["simd"], d.get("taps"), *(bool(d.get(f, False)) for f in cls.FLAGS), dsp=d.get("dsp"))

    def __str__(self) -> str:
        """PExSIMD[xTAPS][+serial][+wload][+single][+dspN], as FOLD= takes it."""
        nums = [self.pe, self.simd] + ([self.taps] if self.taps is not None else [])
        flags = [f for f in self.FLAGS if getattr(self, f)] + ([f"dsp{self.dsp}"] if self.dsp is not None else [])
        return "x".join(map(str, nums)) + "".join(f"+{f}" for f in flags)

    @classmethod
    def parse(cls, text: str) -> Fold:
        """The inverse of str(): '2x4', '1x1x3', '1x1+serial+wload', '2x4+dsp11'."""
        head, *flags = text.strip().lower().split("+")
        nums = [int(x) for x in head.split("x")]
        dsp = [int(f[3:]) for f in flags if f.startswith("dsp") and f[3:].isdigit()]
        flags = [f for f in flags if not (f.startswith("dsp") and f[3:].isdigit())]
        if len(nums) not in (2, 3) or any(f not in cls.FLAGS for f in flags) or len(dsp) > 1:
            raise ValueError(f"bad fold {text!r}")
        return cls(*nums, **{f: True for f in flags}, dsp=dsp[0] if dsp else None)


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
    # What the first layer reads: the 8-bit pixels, or (1) binarized pixels, +1 for a pixel
    # >= 128 and -1 below (a threshold unit on the pixel stream; low-bit networks only).
    in_bits: int = 8
    # Pixels per beat of the engine's input stream (PIX=; 1, 2, 4 or 8): a hardware choice, like
    # the folding, that model/plan.py carries through the layers (`with_pix`).
    pix: int = 1

    def __post_init__(self):
        for layer in self.layers:
            if getattr(layer, "act", "relu") not in ACTIVATIONS:
                raise ValueError(f"{self.name}: unknown activation {layer.act!r}")
            if isinstance(layer, Pool) and layer.kind not in ("max", "avg"):
                raise ValueError(f"{self.name}: unknown pooling {layer.kind!r}")
        last = self.layers[-1]
        if not (isinstance(last, Dense) and last.act == "none" and last.out == self.n_classes):
            raise ValueError(f"{self.name}: the last layer must be Dense({self.n_classes}, act='none')")
        shapes(self)  # the graph and every shape, checked now
        check_precision(self)

    @property
    def is_lowbit(self) -> bool:
        """Any layer below 8 bits: trained quantization-aware from the start (model/lowbit.py),
        thresholds instead of requantization."""
        return self.in_bits < 8 or any(
            getattr(layer, "w_bits", 8) < 8 or getattr(layer, "a_bits", 8) < 8 for layer in self.layers
        )

    @property
    def is_chain(self) -> bool:
        """A plain chain of the original kinds (the float model is an nn.Sequential)."""
        return (
            all(
                isinstance(layer, Conv | Pool | Dense)
                and not layer.inputs
                and getattr(layer, "stride", 1) == 1
                and not getattr(layer, "bn", False)
                for layer in self.layers
            )
            and not self.is_lowbit
        )


def check_precision(net: Net) -> None:
    """The precisions the hardware supports (W_BITS, A_BITS), checked when a network is
    described; errors name the layer."""
    names = layer_names(net)
    lowbit = net.is_lowbit
    if net.in_bits not in (1, 8):
        raise ValueError(f"{net.name}: the first layer reads 8-bit or binarized (1-bit) pixels, not {net.in_bits}-bit")
    bits_out = {INPUT: net.in_bits}
    for idx, (name, layer, ins) in enumerate(zip(names, net.layers, layer_inputs(net), strict=True)):
        where = f"{net.name}.{name}"
        a_in = bits_out[ins[0]]
        if isinstance(layer, Conv | Dense):
            last = idx == len(net.layers) - 1
            if layer.w_bits not in W_BITS:
                raise ValueError(
                    f"{where}: {layer.w_bits}-bit weights are not supported "
                    f"(weights of {', '.join(map(str, W_BITS))} bits)"
                )
            if layer.a_bits not in A_BITS:
                raise ValueError(
                    f"{where}: {layer.a_bits}-bit activations are not supported "
                    f"(activations of {', '.join(map(str, A_BITS))} bits)"
                )
            if last and layer.a_bits != 8:
                raise ValueError(
                    f"{where}: a {layer.a_bits}-bit last layer is not supported: the last layer gives int32 logits"
                )
            if (layer.act == "sign") != (layer.a_bits == 1 and not last):
                raise ValueError(f"{where}: 1-bit (bipolar) activations go with act='sign', and only with them")
            if layer.a_bits < 8 and layer.act not in ("relu", "sign"):
                raise ValueError(
                    f"{where}: {layer.a_bits}-bit activations need act 'relu' or 'sign', not {layer.act!r}"
                )
            if lowbit and not last and layer.a_bits == 8:
                raise ValueError(
                    f"{where}: 8-bit activations inside a low-bit network are not supported "
                    "(its hidden layers end in a threshold unit: 1, 2 or 4 bits)"
                )
            if lowbit and isinstance(layer, Conv) and (layer.stride != 1 or layer.act == "none" and not last):
                raise ValueError(f"{where}: low-bit networks are chains of stride-1 layers")
            if getattr(layer, "bn", False) and isinstance(layer, Dense) and not lowbit:
                raise ValueError(f"{where}: batch norm on a Dense layer needs a low-bit network")
            bits_out[name] = 32 if last else layer.a_bits
        elif isinstance(layer, Pool):
            if a_in == 1 and layer.kind != "max":
                raise ValueError(f"{where}: {layer.kind} pooling of bipolar activations has no meaning (max is OR)")
            bits_out[name] = a_in
        else:
            if a_in < 8 or lowbit:
                raise ValueError(f"{where}: {KIND_PREFIX[type(layer)]} layers take 8-bit activations only")
            bits_out[name] = a_in


def layer_bits(net: Net) -> list[tuple[int, int, int]]:
    """(weight bits, input activation bits, output activation bits) of every layer; pools pass
    their input's bits on, the last layer's output is 32 (int32 logits)."""
    out, bits_out = [], {INPUT: net.in_bits}
    last = len(net.layers) - 1
    for idx, (name, layer, ins) in enumerate(zip(layer_names(net), net.layers, layer_inputs(net), strict=True)):
        a_in = bits_out[ins[0]]
        if isinstance(layer, Conv | Dense):
            a_out = 32 if idx == last else layer.a_bits
            out.append((layer.w_bits, a_in, a_out))
        else:
            a_out = a_in
            out.append((8, a_in, a_out))
        bits_out[name] = a_out
    return out


def layer_names(net: Net) -> list[str]:
    """conv1, pool1, conv2, ..., fc1, fc2: one name per layer, numbered per kind, unless the
    layer names itself."""
    counts: dict[str, int] = {}
    names = []
    for layer in net.layers:
        kind = KIND_PREFIX[type(layer)]
        counts[kind] = counts.get(kind, 0) + 1
        names.append(layer.name or f"{kind}{counts[kind]}")
    if len(set(names)) != len(names) or INPUT in names:
        dup = next(n for n in names if names.count(n) > 1 or n == INPUT)
        raise ValueError(f"{net.name}: layer name {dup!r} used twice (or reserved)")
    return names


def layer_inputs(net: Net) -> list[tuple[str, ...]]:
    """The names every layer reads (INPUT: the pixel stream), checked: each names a layer
    described before it, no cycle, an Add reads two. Errors name the layer."""
    names = layer_names(net)
    pos = {n: i for i, n in enumerate(names)}
    out = []
    for i, (name, layer) in enumerate(zip(names, net.layers, strict=True)):
        prev = names[i - 1] if i else INPUT
        ins = tuple(layer.inputs) or (prev,)
        if isinstance(layer, Add):
            ins = ins if len(ins) == 2 else (prev, *ins)
            if len(ins) != 2:
                raise ValueError(f"{net.name}.{name}: an Add reads two layers, got {list(layer.inputs)}")
        for src in ins:
            if src != INPUT and src not in pos:
                raise ValueError(f"{net.name}.{name}: reads {src!r}, which no layer produces")
        out.append(ins)
    # A layer reading itself or a later layer: a cycle when the later one depends on it.
    for i, (name, ins) in enumerate(zip(names, out, strict=True)):
        for src in ins:
            if src != INPUT and pos[src] >= i:
                path = _path(out, names, pos, src, name)
                if path:
                    raise ValueError(f"{net.name}.{name}: cycle {' -> '.join([name, *path])}")
                raise ValueError(f"{net.name}.{name}: reads {src!r}, described after it (list layers in data order)")
    used = {src for ins in out for src in ins}
    for name in names[:-1]:
        if name not in used:
            raise ValueError(f"{net.name}.{name}: its output is never used")
    return out


def _path(ins, names, pos, start: str, goal: str) -> list[str] | None:
    """Layers from `start` back through their inputs to `goal` (a cycle when found)."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        if node == INPUT or node in seen:
            continue
        seen.add(node)
        stack += [(src, [*path, src]) for src in ins[pos[node]]]
    return None


def conv_out(h: int, k: int, pad: int, stride: int) -> int:
    return (h + 2 * pad - k) // stride + 1


def shapes(net: Net) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(input shape, output shape) of every layer as (C, H, W); Dense outputs are (N, 1, 1).
    An Add's input shape is its first input's. Raises on a shape error, naming the layer."""
    names = layer_names(net)
    by_name = {INPUT: net.in_shape}
    out = []
    for name, layer, ins in zip(names, net.layers, layer_inputs(net), strict=True):
        c, h, w = before = by_name[ins[0]]
        if isinstance(layer, Conv):
            s = layer.stride
            if s < 1 or h % s or w % s:
                raise ValueError(f"{net.name}.{name}: stride {s} does not divide the input {h}x{w}")
            c, h, w = layer.out_ch, conv_out(h, layer.k, layer.pad, s), conv_out(w, layer.k, layer.pad, s)
        elif isinstance(layer, Pool):
            h, w = h // 2, w // 2
        elif isinstance(layer, Add):
            other = by_name[ins[1]]
            if other != before:
                raise ValueError(
                    f"{net.name}.{name}: Add of mismatched shapes {before} ({ins[0]}) and {other} ({ins[1]})"
                )
        elif isinstance(layer, GlobalAvgPool):
            h, w = 1, 1
        else:
            c, h, w = layer.out, 1, 1
        if min(c, h, w) < 1:
            raise ValueError(f"{net.name}.{name}: layer {layer} leaves an empty tensor")
        by_name[name] = (c, h, w)
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


def _res_block(p: str, ch: int, stride: int, src: str) -> tuple[Layer, ...]:
    """conv3x3(stride) - ReLU - conv3x3 - (+ skip) - ReLU; the skip is the block input, or a
    1x1 convolution of it with the same stride when the shape changes."""
    main = (
        Conv(ch, 3, pad=1, stride=stride, bn=True, name=f"{p}_conv1", inputs=(src,)),
        Conv(ch, 3, pad=1, act="none", bn=True, name=f"{p}_conv2"),
    )
    if stride == 1:
        return (*main, Add((f"{p}_conv2", src), name=f"{p}_add"))
    short = Conv(ch, 1, stride=stride, act="none", bn=True, name=f"{p}_short", inputs=(src,))
    return (*main, short, Add((f"{p}_conv2", f"{p}_short"), name=f"{p}_add"))


# MLPerf Tiny's ResNet-8 (image classification) on 28x28x1: 16-channel stem, three residual
# stages of 16/32/64 channels (the last two downsample by 2 with 1x1 shortcut convolutions),
# global average pooling, Dense(10).
# Folding: 16 cycles per pixel in the 28x28 stages, 64 per kept window at 14x14, 256 at 7x7, so
# that every layer takes about 784*16 cycles per image: no layer is the bottleneck.
RESNET8 = Net(
    name="resnet8",
    layers=(
        Conv(16, 3, pad=1, bn=True, name="stem"),
        *_res_block("s1", 16, 1, "stem"),
        *_res_block("s2", 32, 2, "s1_add"),
        *_res_block("s3", 64, 2, "s2_add"),
        GlobalAvgPool(name="gap"),
        Dense(10, act="none", name="fc"),
    ),
    folds={
        "stem": Fold(1, 1),
        "s1_conv1": Fold(16, 1),
        "s1_conv2": Fold(16, 1),
        "s2_conv1": Fold(8, 1),
        "s2_conv2": Fold(16, 1),
        "s2_short": Fold(8, 1),
        "s3_conv1": Fold(8, 1),
        "s3_conv2": Fold(16, 1),
        "s3_short": Fold(8, 1),
        "fc": Fold(1, 8),
    },
)


def _bin_dense(out: int) -> Dense:
    """A binarized hidden layer (FINN's BNN-PYNQ): bipolar weights and activations, batch norm
    folded into one threshold per neuron."""
    return Dense(out, act="sign", w_bits=1, a_bits=1, bn=True)


# FINN's SFC (BNN-PYNQ), 784-256-256-256-10, binarized: 1-bit weights in every layer, 1-bit
# activations; the first layer reads the 8-bit pixels (products +-pixel), the last gives int32
# logits. No multiplier anywhere. Folding: fc1 takes one pixel a cycle into all 256 neurons
# (II 784, the input bound); fc2/fc3 need 256 cycles a frame at 1 x 256, fc4 10.
SFC_W1A1 = Net(
    name="sfc_w1a1",
    layers=(_bin_dense(256), _bin_dense(256), _bin_dense(256), Dense(10, act="none", w_bits=1)),
    folds={"fc1": Fold(256, 1), "fc2": Fold(1, 256), "fc3": Fold(1, 256), "fc4": Fold(1, 256)},
)

# A small convolutional network with 2-bit weights (ternary -1/0/+1) and 2-bit activations
# (quantized ReLU, 0..3) in every layer but the logits (2-bit weights, int32). The first layer
# reads the 8-bit pixels. Folding for the input bound (II 784): conv1 all 16 channels a pixel,
# conv2 4 cycles for each of the 196 windows (one every 4 pixels after pooling), fc1 16 cycles
# on each of its 49 beats.
CNV_W2A2 = Net(
    name="cnv_w2a2",
    layers=(
        Conv(16, 3, pad=1, w_bits=2, a_bits=2, bn=True),
        Pool("max"),
        Conv(32, 3, pad=1, w_bits=2, a_bits=2, bn=True),
        Pool("max"),
        Dense(128, w_bits=2, a_bits=2, bn=True),
        Dense(10, act="none", w_bits=2),
    ),
    folds={"conv1": Fold(16, 1), "conv2": Fold(8, 16), "fc1": Fold(8, 32), "fc2": Fold(1, 32)},
)

# FINN's LFC (BNN-PYNQ, the seed's network), 784-1024-1024-1024-10, binarized like SFC_W1A1;
# its first layer reads the 8-bit pixels (with binarized pixels, in_bits=1, and 12 epochs it
# reached 94.4 % on the held-out images, below the 95 % target).
# Folding: II 3,136 (4 cycles a pixel): fc1 256 of its 1,024 neurons a cycle, fc2/fc3 512
# inputs a cycle (2,048 cycles a frame), fc4 40.
LFC_W1A1 = Net(
    name="lfc_w1a1",
    layers=(_bin_dense(1024), _bin_dense(1024), _bin_dense(1024), Dense(10, act="none", w_bits=1)),
    folds={"fc1": Fold(256, 1), "fc2": Fold(1, 512), "fc3": Fold(1, 512), "fc4": Fold(1, 256)},
)

# FINN's TFC (BNN-PYNQ), 784-64-64-64-10, binarized like SFC_W1A1 but with binarized pixels
# (in_bits=1, FINN's TFC-w1a1 input): every layer is XNOR-popcount, so fc1's accumulators are
# 11 bits instead of the 19 that 8-bit pixels would need, which is what lets it fit the iCE40
# UP5K's 5,280 flip-flops (docs/synthesis.md "Binarized network on the UP5K: tfc_w1a1").
# Folding: II 785 (one pixel a cycle, the input bound, + 1: fc1 holds one cycle a frame while
# its result is taken): fc1 all 64 neurons a pixel; fc2/fc3 8 inputs a cycle (513 cycles a
# frame), fc4 81; every layer's weights fit block RAM; no output register after the
# accumulators (`single`), which saves 1,800 of the UP5K's 5,280 flip-flops.
TFC_W1A1 = Net(
    name="tfc_w1a1",
    layers=(_bin_dense(64), _bin_dense(64), _bin_dense(64), Dense(10, act="none", w_bits=1)),
    folds={
        "fc1": Fold(64, 1, single=True),
        "fc2": Fold(1, 8, single=True),
        "fc3": Fold(1, 8, single=True),
        "fc4": Fold(1, 8, single=True),
    },
    in_bits=1,
)

NETS = {n.name: n for n in (TINY, LENET5, LENET5_SIGMOID, RESNET8, SFC_W1A1, CNV_W2A2, LFC_W1A1, TFC_W1A1)}

# resnet8's first stage alone (identity skip around two 3x3 'same' convolutions on 28 columns:
# the same skip FIFO, line-buffering bound 58 beats) with 4 channels instead of 16, 4 cycles a
# pixel in every layer. Exported from random weights by tb/engine/test_engine_run.py, whose
# skip-FIFO deadlock test builds it in a fraction of resnet8's build time.
RES_BLOCK = Net(
    name="res_block",
    layers=(
        Conv(4, 3, pad=1, bn=True, name="stem"),
        *_res_block("s1", 4, 1, "stem"),
        GlobalAvgPool(name="gap"),
        Dense(10, act="none", name="fc"),
    ),
    folds={"stem": Fold(1, 1), "s1_conv1": Fold(4, 1), "s1_conv2": Fold(4, 1), "fc": Fold(1, 4)},
)
# Networks only the tests build: known by name to the tools that read an export's manifest,
# not offered by the command line (NETS).
TEST_NETS = {RES_BLOCK.name: RES_BLOCK}


PIX_CHOICES = (1, 2, 4, 8)


def with_pix(net: Net, pix: int) -> Net:
    """`net` with `pix` pixels per input beat (PIX=); ValueError names what does not fit."""
    if pix not in PIX_CHOICES:
        raise ValueError(f"PIX={pix}: pixels per input beat must be one of {', '.join(map(str, PIX_CHOICES))}")
    _, h, w = net.in_shape
    if (h * w) % pix:
        raise ValueError(f"{net.name}: PIX={pix} does not divide the {h}x{w} = {h * w} pixels of an image")
    return replace(net, pix=pix)


def net_of(manifest: dict) -> Net:
    """The network an export was made for: its name and its pixels per input beat."""
    return with_pix(get_net(manifest["net"]), manifest.get("pix", 1))


def get_net(name: str) -> Net:
    try:
        return NETS[name] if name in NETS else TEST_NETS[name]
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
                f"bad FOLD item {item!r}: expected layer=PExSIMD[xTAPS][+serial][+wload][+single][+dspN], "
                "e.g. conv2=2x4"
            ) from None
        if name not in folds:
            raise ValueError(f"FOLD names {name!r}, not a compute layer of {net.name} ({', '.join(folds)})")
        folds[name] = fold
    return folds
