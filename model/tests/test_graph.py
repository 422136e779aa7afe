"""The quantized-graph IR (model/graph.py) and the planner's walk over it (model/plan.py)."""

from dataclasses import replace

import pytest

from model.graph import INPUT, Graph, from_net
from model.nets import LENET5, TINY, parse_fold
from model.plan import Stream, plan, stream_formats, streams


def test_from_net_is_a_named_chain():
    g = from_net(LENET5)
    assert [n.name for n in g] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
    assert [n.inputs for n in g] == [(INPUT,), ("conv1",), ("pool1",), ("conv2",), ("pool2",), ("fc1",), ("fc2",)]
    assert [n.kind for n in g] == ["conv", "pool", "conv", "pool", "dense", "dense", "dense"]
    assert g["conv2"] is g[2] and g["conv2"].k == 5 and g["pool1"].pool == "max"
    assert g.source(g["conv1"]) is None and g.source(g["fc1"]) is g["pool2"]


def test_graph_rejects_bad_inputs():
    nodes = from_net(TINY).nodes
    with pytest.raises(ValueError, match="must name earlier nodes"):
        Graph("t", (1, 28, 28), 10, [replace(nodes[0], inputs=("pool1",)), *nodes[1:]])
    with pytest.raises(ValueError, match="must name earlier nodes"):
        Graph("t", (1, 28, 28), 10, [replace(nodes[0], inputs=()), *nodes[1:]])
    with pytest.raises(ValueError, match="used twice"):
        Graph("t", (1, 28, 28), 10, [nodes[0], nodes[0]])


def test_planner_maps_chains_of_known_kinds_only():
    g = from_net(TINY)
    # a second input on fc1 (what a residual Add brings) is a graph, but not a chain yet
    two = Graph(g.name, g.in_shape, g.n_classes, [*g.nodes[:4], replace(g[4], inputs=("pool2", "conv2")), g[5]])
    with pytest.raises(ValueError, match="chains only"):
        plan(two, TINY.folds)
    odd = Graph(g.name, g.in_shape, g.n_classes, [*g.nodes[:3], replace(g[3], kind="threshold"), *g.nodes[4:]])
    with pytest.raises(ValueError, match="no hardware mapping for a 'threshold' node"):
        plan(odd, TINY.folds)


def test_streams_follow_serial_units():
    g = from_net(TINY)
    folds = parse_fold(TINY, "up5k")
    s = streams(g, folds)
    assert s[INPUT] == Stream(1, 784, 8, False)
    assert s["conv1"] == Stream(4, 784, 8, False)  # serial conv: gathered back into pixels
    assert s["fc1"] == Stream(1, 32, 8, False)  # serial dense: C_OUT/PE beats of PE lanes
    assert s["fc2"] == Stream(1, 10, 32, True)  # logits
    assert stream_formats(g, folds) == {"conv1": (784, 1), "conv2": (196, 4), "fc1": (49, 8), "fc2": (32, 1)}
    assert stream_formats(g, TINY.folds)["fc2"] == (1, 32)
    assert plan(g, folds).streams == s
