"""syn.report's per-layer grouping: instance names of a graph export (resnet8) and of a chain."""

import json
from pathlib import Path

from syn.report import export_layers, layer_key

ROOT = Path(__file__).resolve().parents[1]


def test_graph_instances_group_by_their_layer():
    layers = export_layers({"WEIGHTS_DIR": "weights/resnet8"})
    manifest = json.loads((ROOT / "weights/resnet8/manifest.json").read_text())
    assert layers == [layer["name"] for layer in manifest["layers"]]
    assert layer_key("u_s2_conv1_mac", layers) == "s2_conv1"  # not conv1, not s2
    assert layer_key("u_s2_add_skip", layers) == "s2_add"
    assert layer_key("u_s1_add", layers) == "s1_add"
    assert layer_key("u_stem_fork", layers) == "stem"
    assert layer_key("u_formatter", layers) is None  # outside the layer chain: a row of its own


def test_chain_without_an_export_uses_the_layer_pattern():
    assert layer_key("u_conv2_mac", None) == "conv2"
    assert layer_key("u_pool1", None) == "pool1"
    assert export_layers({}) is None
