"""The quantized graph: the IR between quantization and hardware planning.

Input:  a network description (model/nets.py `Net`), through `from_net` (structure only), or
        model/quant.py `quantize` (the same nodes with their integer parameters).
Output: a `Graph`: named nodes in topological order, each with a kind, attributes and the
        names of the nodes it reads (`inputs`; `INPUT` is the pixel stream).

A node may read any earlier node: a residual `add` reads two. The planner (model/plan.py)
and the cycle model (model/cycles.py) walk the nodes and their `inputs`, not the Python list
order; the planner rejects what it cannot map.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.nets import INPUT, Add, Conv, GlobalAvgPool, Net, Pool, layer_bits, layer_inputs, layer_names, shapes

COMPUTE_KINDS = ("conv", "dense")


@dataclass
class QuantLayer:
    """One node of the quantized graph. Structure: name, kind, inputs and the attributes
    (act, shapes, k, pad, pool). Integer fields are what the hardware uses (None in a graph
    from `from_net`); the float scales are informational (manifest) and for the fake-quant
    model."""

    name: str
    kind: str  # "conv" | "pool" | "dense" | "add" | "gap"
    act: str | None  # "relu" | "sigmoid" | "none" (compute layers, add); None for pools
    in_shape: tuple[int, int, int]  # (C, H, W)
    out_shape: tuple[int, int, int]
    k: int = 1
    pad: int = 0
    pool: str | None = None  # "max" | "avg"
    stride: int = 1
    weight: np.ndarray | None = None  # int64, PyTorch layout (O, I, K, K) or (O, C*H*W)
    bias: np.ndarray | None = None  # int64 (O,)
    m: np.ndarray | None = None  # int64 (O,), None for the logits layer; add: (m_a, m_b); gap: (m,)
    r: np.ndarray | None = None  # int64 (O,); add, gap: (r,)
    lo: int | None = None
    hi: int | None = None
    lut: np.ndarray | None = None  # int64 (256,) for sigmoid layers
    s_in: float = 1.0 / 255
    s_w: np.ndarray | None = None  # float64 (O,)
    s_out: float = 1.0 / 255  # scale of the layer's output lanes (the logits: s_in*s_w[0])
    s_pre: float | None = None  # int8 scale before the LUT (sigmoid)
    acc_bound: int = 0  # worst-case |accumulator|
    inputs: tuple[str, ...] = ()  # names of the nodes read (INPUT: the pixel stream)
    # Precision (docs/rtl-library.md "Low-bit arithmetic contract"): weight bits (1: bipolar),
    # bits of the input lanes and of the output lanes (1: bipolar; 32: the int32 logits).
    w_bits: int = 8
    a_in: int = 8
    a_bits: int = 8
    thr: np.ndarray | None = None  # int64 (O, 2**a_bits - 1): threshold activation (low-bit)

    @property
    def is_lowbit(self) -> bool:
        """Computes or carries anything below 8 bits (the 8-bit int8 path otherwise)."""
        return self.w_bits < 8 or self.a_in < 8 or self.a_bits < 8

    @property
    def is_compute(self) -> bool:
        return self.kind in COMPUTE_KINDS

    @property
    def signed_out(self) -> bool:
        """int8 output lanes (a convolution with act 'none': the branch before an Add; the last
        layer is always Dense), else uint8 (or the int32 logits)."""
        return self.kind == "conv" and self.act == "none"


@dataclass
class Graph:
    """Nodes in topological order: every input names an earlier node or INPUT. Iterates over
    its nodes; `graph[i]` and `graph["conv1"]` both give a node. The last node's output is
    the logits."""

    name: str  # the network's name
    in_shape: tuple[int, int, int]  # (C, H, W) of the pixel stream
    n_classes: int
    nodes: list[QuantLayer]
    in_bits: int = 8  # 1: the first layer reads binarized pixels (+1 for pixel >= 128), see arith.binarize
    pix: int = 1  # pixels per beat of the input stream (model/nets.py `with_pix`)
    _by_name: dict[str, QuantLayer] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self._by_name = {}
        for node in self.nodes:
            if node.name == INPUT or node.name in self._by_name:
                raise ValueError(f"{self.name}: node name {node.name!r} used twice")
            missing = [i for i in node.inputs if i != INPUT and i not in self._by_name]
            if not node.inputs or missing:
                raise ValueError(f"{self.name}.{node.name}: inputs {list(node.inputs)} must name earlier nodes")
            self._by_name[node.name] = node

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, key: int | str) -> QuantLayer:
        return self._by_name[key] if isinstance(key, str) else self.nodes[key]

    def source(self, node: QuantLayer) -> QuantLayer | None:
        """The one node `node` reads (None: the pixel stream). Single-input nodes only: the
        planner maps chains today."""
        if len(node.inputs) != 1:
            raise ValueError(f"{self.name}.{node.name}: {len(node.inputs)} inputs; the planner maps chains only")
        return None if node.inputs[0] == INPUT else self._by_name[node.inputs[0]]


def consumers(graph: Graph) -> dict[str, list[str]]:
    """Node (and INPUT) -> the nodes that read it, in graph order."""
    out: dict[str, list[str]] = {INPUT: [], **{n.name: [] for n in graph}}
    for node in graph:
        for src in node.inputs:
            out[src].append(node.name)
    return out


def from_net(net: Net) -> Graph:
    """The structure of `net` as a graph (no integer parameters): what planning needs."""
    nodes = []
    for name, layer, (ins, outs), srcs, bits in zip(
        layer_names(net), net.layers, shapes(net), layer_inputs(net), layer_bits(net), strict=True
    ):
        if isinstance(layer, Pool):
            node = QuantLayer(name, "pool", None, ins, outs, k=2, pool=layer.kind, inputs=srcs)
        elif isinstance(layer, Add):
            node = QuantLayer(name, "add", layer.act, ins, outs, inputs=srcs)
        elif isinstance(layer, GlobalAvgPool):
            node = QuantLayer(name, "gap", None, ins, outs, inputs=srcs)
        else:
            kind = "conv" if isinstance(layer, Conv) else "dense"
            k, pad, stride = getattr(layer, "k", 1), getattr(layer, "pad", 0), getattr(layer, "stride", 1)
            node = QuantLayer(name, kind, layer.act, ins, outs, k=k, pad=pad, stride=stride, inputs=srcs)
        node.w_bits, node.a_in, node.a_bits = bits
        if node.a_bits == 32:  # the logits layer: int32 accumulators, as in the 8-bit path
            node.a_bits = 8
        nodes.append(node)
    return Graph(net.name, net.in_shape, net.n_classes, nodes, net.in_bits, net.pix)
