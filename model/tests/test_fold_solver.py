"""The folding solver (model/fold_solver.py) against exhaustive search, the plan's checks and
the cycle model."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest

from model.cycles import predict, prefetch, stage_times
from model.fold_solver import DEVICES, SLACK, input_bound, solve
from model.graph import from_net
from model.nets import LENET5, LENET5_SIGMOID, TINY, Conv, Dense, Fold, Net, Pool, get_net, parse_fold
from model.plan import check_folds, plan, prefetch_input, stream_formats
from tb.engine.results import macs_and_multipliers

# A made-up net: two input channels, a convolution without padding, an odd pooled size.
MINI = Net(
    "mini",
    (Conv(6, 3, pad=1), Pool("max"), Conv(4, 3), Dense(12), Dense(10, act="none")),
    in_shape=(2, 10, 10),
)


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def _every_fold(net: Net) -> dict[str, list[Fold]]:
    """Every folding the plan's checks accept, per compute layer (non-serial), TAPS = k*k
    spelled both ways."""
    graph = from_net(net)
    fmt = stream_formats(graph, {})
    out = {}
    for node in graph:
        if not node.is_compute:
            continue
        lanes = fmt[node.name][1]
        taps = [None] + (_divisors(node.k * node.k) if node.kind == "conv" else [])
        out[node.name] = [
            Fold(pe, simd, t) for pe in _divisors(node.out_shape[0]) for simd in _divisors(lanes) for t in taps
        ]
    return out


def _exhaustive(net: Net):
    """Per layer (multipliers, busy) of every folding, the busy cycles taken from the cycle
    model itself (a stage's busy cycles depend on its own folding only: varied one layer at a
    time against a fixed rest), and the fold-independent floor."""
    every = _every_fold(net)
    base = {name: folds[0] for name, folds in every.items()}
    per_layer = {}
    for name, folds in every.items():
        rows = []
        for f in folds:
            busy = predict(net, {**base, name: f}).stage_cycles[f"{name}_mac"]
            _, mults = macs_and_multipliers(net, {name: f})
            rows.append((mults, busy))
        per_layer[name] = np.array(rows)
    return per_layer


_GRIDS: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # a Net holds dicts: not hashable for functools.cache


def _grid(net: Net) -> tuple[np.ndarray, np.ndarray]:
    """Every combination of the layers' foldings: total multipliers and II (the busiest stage,
    at least the floor), one array axis per layer."""
    if net.name in _GRIDS:
        return _GRIDS[net.name]
    per_layer = _exhaustive(net)
    mults = sum(np.ix_(*[t[:, 0] for t in per_layer.values()]))
    ii = np.maximum(input_bound(net), functools.reduce(np.maximum, np.ix_(*[t[:, 1] for t in per_layer.values()])))
    assert mults.shape == ii.shape and mults.size == np.prod([len(t) for t in per_layer.values()]) > 1000
    _GRIDS[net.name] = mults, ii
    return mults, ii


@pytest.mark.parametrize("net", [TINY, MINI], ids=lambda n: n.name)
def test_solver_matches_exhaustive_search(net):
    """For several targets, no folding of the whole network (every combination) has fewer
    multipliers at an II within the target, and the solver's II is within it; its II is the
    cycle model's."""
    mults, ii = _grid(net)
    floor = input_bound(net)
    for target in sorted({floor, floor + 1, int(1.5 * floor), 2 * floor, 5 * floor, 10 * floor, int(ii.max())}):
        sol = solve(net, target_ii=target)
        folds = sol.folds()
        pred = predict(net, folds)
        assert pred.ii_cycles == sol.ii <= target
        _, m = macs_and_multipliers(net, folds)
        assert m == sol.multipliers
        best = mults[ii <= target].min()
        assert sol.multipliers == best, (target, sol.report())


@pytest.mark.parametrize("net", [TINY, MINI], ids=lambda n: n.name)
@pytest.mark.parametrize("device", ["up5k", "ecp5-25k"])
def test_device_budget_is_the_smallest_ii(net, device):
    """Under a multiplier budget no combination that fits is faster than the solver's."""
    mults, ii = _grid(net)
    sol = solve(net, device=device)
    assert sol.multipliers <= DEVICES[device]["dsp"]
    assert sol.ii == ii[mults <= DEVICES[device]["dsp"]].min()
    assert predict(net, sol.folds()).ii_cycles == sol.ii


@pytest.mark.parametrize("net", [TINY, LENET5, LENET5_SIGMOID, MINI], ids=lambda n: n.name)
def test_solver_folds_pass_the_plan_checks(net):
    """Over many targets (every II the folding can reach) and every device, the solver emits
    only foldings the plan's (and so the RTL's) parameter checks accept, never slower than asked."""
    graph = from_net(net)
    floor = input_bound(net)
    targets = sorted({floor, *np.geomspace(floor, 200 * floor, 40).astype(int)})
    for target in targets:
        folds = solve(net, target_ii=int(target)).folds()
        check_folds(graph, folds)
        plan(graph, folds)
        assert predict(net, folds).ii_cycles <= target
    for device in DEVICES:
        plan(graph, solve(net, device=device).folds())


def test_issue_targets():
    """FOLD=auto, no budget: II <= 1.05 x the input bound, MAC utilisation >= 90 %,
    and fewer multipliers than the hand-written foldings (220 and 1,082) for both networks."""
    for net, hand, util in ((TINY, 220, 0.9), (LENET5, 1082, 0.9)):
        folds = parse_fold(net, "auto")
        sol = folds.solution
        pred = predict(net, folds)
        assert pred.ii_cycles == sol.ii <= SLACK * 784
        macs, mults = macs_and_multipliers(net, folds)
        assert mults == sol.multipliers < hand
        assert macs / (mults * pred.ii_cycles) >= util


def test_lenet5_prefetch_reaches_90_percent_near_784():
    """conv2 of lenet5 has 100 windows of 2,400 MACs on a 14x14 input (unpadded 5x5). conv_unit
    takes a window with its last fold and window_gen holds it until then, so read directly the
    generator shifts only between windows: (f-1) x 100 + 196 cycles a frame at f cycles a window
    (896 measured at f = 8 with a 128-deep rate FIFO), over 1.05 x 784. The plan puts a window
    FIFO behind the generator and deepens the rate FIFO, the least (in bits) with which the
    model's unit keeps up at 8 cycles a window: 800, 300 multipliers, 99 %."""
    folds = parse_fold(LENET5, "conv1=6x1,conv2=2x6,fc1=15x4,fc2=7x2,fc3=1x2")
    hw_plan = plan(from_net(LENET5), folds)
    conv2 = next(hw for hw in hw_plan.layers if hw.name == "conv2")
    assert [st.module for st in conv2.stages[:4]] == ["axis_fifo", "window_gen", "axis_fifo", "conv_unit"]
    dp, dw = (int(st.params["DEPTH"]) for st in conv2.stages if st.module == "axis_fifo")
    times, busy = stage_times(hw_plan, np.arange(784))
    t_in, period = prefetch_input(hw_plan, hw_plan.layers.index(conv2), times, busy, 800)
    assert period == 800 and busy["conv2_mac"] == 800

    def conv2_at(depth_px, depth_win):  # 14x14 input, 5x5 unpadded, 8 cycles a window
        return prefetch(t_in, period, 14, 14, 5, 0, 8, depth_px, depth_win)

    ok = conv2_at(dp, dw)
    assert ok.period == period and ok.stall == 0
    # without the window FIFO: the generator's shifts between windows, whatever the rate FIFO
    assert conv2_at(4 * dp, 0).period == 7 * 100 + 196
    # the least: half of either FIFO is too little
    for r in (conv2_at(dp // 2, dw), conv2_at(dp, dw // 2)):
        assert r.period > period or r.stall > 0
    sol = solve(LENET5)
    conv2 = next(ly for ly in sol.layers if ly.name == "conv2")
    assert conv2.mults == 300 and sol.ii == conv2.busy <= SLACK * 784
    assert sol.utilisation >= 0.9


def test_prefetch_only_where_it_pays():
    """The hand-written foldings keep their netlists (no window FIFO, rate FIFOs as before): in
    none of them is a convolution's window generator what the II waits for."""
    nets = [TINY, LENET5, LENET5_SIGMOID, *(get_net(n) for n in ("cnv_w2a2", "resnet8"))]
    for net in nets:
        for folds in (net.folds, *net.alt_folds.values()):
            hw_plan = plan(from_net(net), folds)
            # _prefetch adds a window FIFO whenever it changes a layer (the rate FIFO with it)
            assert not any(st.inst.endswith("_wfifo") for hw in hw_plan.layers for st in hw.stages), net.name


def test_record_and_report():
    sol = solve(TINY, target_ii=2000)
    rec = sol.record()
    assert rec["target"] == {"ii": 2000} and rec["ii_pred"] == sol.ii <= 2000
    assert set(rec["layers"]) == {"conv1", "conv2", "fc1", "fc2"}
    text = sol.report()
    assert "FOLD=conv1=" in text and f"II {sol.ii} cycles" in text
    # the printed FOLD= line parses back to the same folding
    assert parse_fold(TINY, text.splitlines()[-1].strip().removeprefix("FOLD=")) == dict(sol.folds())


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("auto:ii=783", "below the input bound of 784 cycles"),
        ("auto:device=virtex9", "unknown DEVICE 'virtex9'"),
        (
            "auto:device=up5k:ii=784",
            "DEVICE=up5k has 8 DSPs, and the other 81 in logic cells would take ~10935 LUT4 of its 5280",
        ),
        ("auto:ii=fast", "bad FOLD"),
        ("auto:speed=1", "bad FOLD"),
    ],
)
def test_bad_input_names_the_reason(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_fold(TINY, spec)


def test_target_ii_beyond_the_dsps_spills_to_logic_cells():
    """TARGET_II with a DEVICE whose DSPs are too few: the folding for the II, the DSPs on the
    layers whose weights change every cycle, the other products in lut_mul (`+dspN`), which
    the plan accepts and passes to the RTL as DSP_MULS; the string form parses back."""
    sol = solve(TINY, target_ii=784, device="ecp5-25k")
    assert sol.ii == 784 and sol.multipliers == 125
    on_dsp = {ly.name: ly.mults if ly.fold.dsp is None else ly.fold.dsp for ly in sol.layers}
    assert sum(on_dsp.values()) == DEVICES["ecp5-25k"]["dsp"] == 28
    assert on_dsp["conv1"] == 0  # one weight word: its products are constant multiplies in logic
    assert str(sol.folds()["conv2"]) == "2x4+dsp28" and Fold.parse("2x4+dsp28") == Fold(2, 4, dsp=28)
    assert Fold.from_dict(Fold(2, 4, dsp=28).as_dict()) == Fold(2, 4, dsp=28)
    graph = from_net(TINY)
    consts = {ly.name: ly.consts for ly in plan(graph, sol.folds()).layers}
    assert consts["conv2"]["DSP_MULS"] == 28 and consts["fc1"]["DSP_MULS"] == 0
    default = {ly.name: ly.consts for ly in plan(graph, solve(TINY).folds()).layers}
    assert "DSP_MULS" not in default["conv2"]  # no split: conv_unit's default, every product a `*`
    solve(TINY, target_ii=784, device="ecp5-85k")  # 156 DSPs: no split
    assert all(ly.fold.dsp is None for ly in solve(TINY, target_ii=784, device="ecp5-85k").layers)


@pytest.mark.parametrize(
    ("fold", "match"),
    [
        ("conv2=2x4+dsp73", r"\+dsp73 must be 0..72"),
        ("fc1=1x1+serial+dsp0", "not a serial folding"),
        ("conv2=2x4+dsp3+dsp4", "bad FOLD item"),
    ],
)
def test_bad_dsp_split(fold, match):
    with pytest.raises(ValueError, match=match):
        check_folds(from_net(TINY), parse_fold(TINY, fold))


def test_dsp_split_needs_multipliers():
    tfc = get_net("tfc_w1a1")
    with pytest.raises(ValueError, match="w1a1 layer has no multipliers"):
        check_folds(from_net(tfc), {**tfc.folds, "fc2": replace(tfc.folds["fc2"], dsp=0)})


def test_network_that_cannot_fit_a_device():
    deep = Net("deep", tuple(Dense(16) for _ in range(8)) + (Dense(10, act="none"),))
    with pytest.raises(ValueError, match="9 compute layers need at least 9 multipliers, the device has 8"):
        solve(deep, device="up5k")
    solve(deep, device="ecp5-25k")  # 28 multipliers: fits
    wide = Net("wide", (Dense(8192), Dense(10, act="none")))  # 6.4 MB of weights
    with pytest.raises(ValueError, match="Kbit of weights"):
        solve(wide, device="xc7a100t")


def test_pix_solver_and_bad_input():
    """PIX=8 (8 pixels per input beat): the solver folds tiny for the input bound of 784/8 = 98
    cycles at >= 90 % MAC utilisation, counting each convolution's products once per window of a
    beat; a TARGET_II below that bound, PIX=3, a PIX that does not divide the image and a graph
    with no multi-pixel mapping (resnet8's Add) are refused, each naming why."""
    from model.nets import with_pix
    from model.plan import pix_rates

    tiny8 = with_pix(TINY, 8)
    sol = solve(tiny8)
    assert sol.ii == 98 and sol.utilisation >= 0.9, sol.report()
    rates = pix_rates(from_net(tiny8))
    assert [rates[n].unit for n in ("conv1", "pool1", "conv2", "pool2", "fc1")] == [8, 8, 2, 2, 1]
    conv1 = next(ly for ly in sol.layers if ly.name == "conv1")
    assert conv1.mults == 8 * conv1.fold.pe * conv1.fold.simd * 9
    with pytest.raises(ValueError, match="below the input bound of 98"):
        solve(tiny8, target_ii=90)
    with pytest.raises(ValueError, match="PIX=3"):
        with_pix(TINY, 3)
    with pytest.raises(ValueError, match="PIX=8 has no hardware mapping for .*add"):
        pix_rates(from_net(with_pix(get_net("resnet8"), 8)))
    with pytest.raises(ValueError, match="does not divide"):
        with_pix(replace(TINY, in_shape=(1, 28, 27)), 8)
