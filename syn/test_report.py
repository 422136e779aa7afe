"""syn.report's per-layer grouping: instance names of a graph export (resnet8) and of a chain."""

import json
from pathlib import Path

from syn.report import export_layers, io_wrapper, layer_key

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


def test_pin_wrapper_keeps_every_output_bit(tmp_path_factory):
    """The P&R wrapper folds the outputs into one pin: every output bit must still reach it, or
    synthesis would drop the logic behind that bit and the placed design would be smaller than
    the engine. A 37-bit counter (37 = 4 x 9 + 1: a padded group) and a combinational output."""
    from syn.check import stat_cells
    from syn.yosys import BUILD, rel, yosys

    work = BUILD / "test_pin_wrapper"
    work.mkdir(parents=True, exist_ok=True)
    toy = work / "toy.sv"
    toy.write_text(
        "module toy (input logic clk, input logic [1:0] a, output logic [36:0] cnt_q, output logic y);\n"
        "  always_ff @(posedge clk) cnt_q <= cnt_q + 37'(a);\n"
        "  assign y = a[0] & a[1];\n"
        "endmodule\n"
    )
    ports = [
        {"name": "clk", "dir": "input", "width": 1},
        {"name": "a", "dir": "input", "width": 2},
        {"name": "cnt_q", "dir": "output", "width": 37},
        {"name": "y", "dir": "output", "width": 1},
    ]
    wrap = work / "io_wrap.sv"
    wrap.write_text(io_wrapper("toy", ports, {}))
    text = yosys(f"read_verilog -sv {rel(toy)} {rel(wrap)}\nsynth -flatten -top syn_io_wrap\n", work / "yosys.log")
    ffs = stat_cells(text)["$_DFF_P_"]  # synth ends with one stat
    # in_q's two used bits + the counter's 37 + the tree's levels (38 bits -> 10 -> 3 -> 1)
    assert ffs == 2 + 37 + 10 + 3 + 1, text[-3000:]
