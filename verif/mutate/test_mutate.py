"""The mutation tool itself (no RTL is built): operators on small snippets, the regions that are
skipped, sampling determinism and spread, shard union, the report's shape, the test plan per
module and the equivalent-mutant list."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from verif.mutate import runner
from verif.mutate.operators import blank_comments, mutants

MODULE = """module m #(
  parameter int N = 4,
  parameter int W = 8
) (
  input  logic [W-1:0] a,
  output logic         y
);
  localparam int D = N + 1;  // depth
  if (N < 1) begin : g_bad
    $fatal(1, "m: N must be >= 1");
  end
  logic x_q, z;
  assign z = a_v && b_v && !c_q;  // handshake
  always_ff @(posedge clk) begin
    if (rst) x_q <= 1'b0;
    else if (cnt_q >= 3'd5) x_q <= sel[3 +: 2] + (a >>> SH);
  end
  assign y = &a | x_q;
endmodule
"""


def edits(text=MODULE):
    ms, skipped = mutants(text, "rtl/m.sv")
    return {(m.operator, m.original, m.replacement) for m in ms}, ms, skipped


def test_relational_and_arith():
    e, _, _ = edits()
    assert ("rel", ">=", ">") in e
    assert ("arith", "+", "-") in e
    assert not any(o == "rel" and orig == "<=" for o, orig, _ in e), "a non-blocking <= is not relational"
    assert not any(orig == "+:" or (o == "arith" and "+ :" in orig) for o, orig, _ in e), "part select +: kept"


def test_handshake_and_drop_terms():
    e, _, _ = edits()
    assert ("logic", "&&", "||") in e
    # every operand of the chain can go, the first one included
    assert ("drop_term", "a_v && ", "") in e
    assert ("drop_term", " && b_v", "") in e
    assert ("drop_term", " && !c_q", "") in e


def test_binary_and_unary_bitwise():
    e, _, _ = edits()
    assert ("logic", "|", "&") in e
    assert not any(o == "logic" and orig == "&" for o, orig, _ in e), "&a is a reduction, not a binary &"


def test_literals_stuck_negate_shift():
    e, _, _ = edits()
    assert ("literal", "3'd5", "3'd6") in e and ("literal", "3'd5", "3'd4") in e
    assert ("literal", "1'b0", "1'b1") in e
    assert ("literal", "1", "2") in e  # localparam D = N + 1
    assert ("stuck", "a_v && b_v && !c_q", "'0") in e and ("stuck", "a_v && b_v && !c_q", "'1") in e
    assert ("stuck", "1'b0", "'1") in e and ("stuck", "1'b0", "'0") not in e, "stuck at its own value"
    assert ("negate", "(rst)", "(!(rst))") in e
    assert ("shift", "SH", "(SH + 1)") in e and ("shift", "SH", "(SH - 1)") in e


def test_sized_literal_stays_in_range():
    e, _, _ = edits("module m; assign a = 1'b1; assign b = 2'b11; endmodule\n")
    assert ("literal", "1'b1", "1'b0") in e and not any(r == "1'b10" for _, _, r in e)
    assert ("literal", "2'b11", "2'b10") in e and not any(r == "2'b100" for _, _, r in e)


def test_skipped_regions_are_counted_apart():
    _, ms, skipped = edits()
    lines = {m.line for m in ms}
    assert not lines & {2, 3}, "parameter defaults"
    assert not lines & {9, 10, 11}, "the $fatal parameter check"
    assert not lines & {5}, "declaration ranges"
    assert skipped["fatal"] > 0 and skipped["param"] > 0 and skipped["decl"] > 0
    assert 8 in lines, "localparams are mutated"


def test_comments_and_strings_are_not_mutated():
    text = 'module m; // a && b < 3\n  /* x = 1 + 2; */ initial $display("1 + 1"); endmodule\n'
    assert blank_comments(text).count("\n") == text.count("\n") and len(blank_comments(text)) == len(text)
    e, _, _ = edits(text)
    assert not e


def test_synthesis_only_branch_is_skipped():
    text = "module m;\n`ifndef SYNTHESIS\n  assign a = b + 1;\n`else\n  assign a = b + 2;\n`endif\nendmodule\n"
    _, ms, skipped = edits(text)
    assert {m.line for m in ms} == {3} and skipped["synth"] > 0


def test_ids_are_stable_unique_and_apply():
    _, ms, _ = edits()
    ids = [m.id for m in ms]
    assert len(set(ids)) == len(ids)
    assert ids == [m.id for m in edits()[1]]
    for m in ms:
        new = m.apply(MODULE)
        assert new != MODULE and new[: m.start] == MODULE[: m.start]
        assert m.id.startswith(f"m:{m.line}:{m.operator}:")


def test_the_known_holes_are_generated():
    """The two holes a first sample found are sites of the tool's own enumeration."""
    all_m, _ = runner.enumerate_all()
    wg = [m for m in all_m if m.module == "window_gen" and m.operator == "drop_term" and m.original == "valid_q && "]
    assert wg and "hold" in (runner.REPO / wg[0].file).read_text().splitlines()[wg[0].line - 1]
    fs = [m for m in all_m if m.module == "fc_serial" and m.operator == "drop_term" and m.original == " && start_ok"]
    assert any("s_axis_tready" in (runner.REPO / m.file).read_text().splitlines()[m.line - 1] for m in fs)


@pytest.fixture(scope="module")
def everything():
    return runner.enumerate_all()[0]


def test_sampling_is_deterministic_and_spread(everything):
    a = runner.sample(everything, 150, 1)
    assert [m.id for m in a] == [m.id for m in runner.sample(everything, 150, 1)]
    assert [m.id for m in a] != [m.id for m in runner.sample(everything, 150, 2)]
    assert len(a) == 150 == len({m.id for m in a})
    per = Counter(m.module for m in a)
    mods = {m.module for m in everything}
    assert set(per) == mods, "every module"
    sizes = Counter(m.module for m in everything)
    full = [per[k] for k in mods if per[k] < sizes[k]]  # modules not exhausted get equal shares
    assert max(full) - min(full) <= 1, per
    ops = Counter(m.operator for m in a if m.module == "window_gen")
    assert len(ops) >= 5, "operators spread within a module"
    assert len(runner.sample(everything, 5, 1)) == 5
    assert len(runner.sample(everything, None, 1)) == len(everything)


def test_shards_partition_the_selection(everything):
    sel = runner.sample(everything, 40, 3)
    parts = [runner.shard(sel, i, 3) for i in (1, 2, 3)]
    ids = [m.id for p in parts for m in p]
    assert sorted(ids) == sorted(m.id for m in sel) and len(set(ids)) == len(ids)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert runner.parse_shard("2/3") == (2, 3) and runner.parse_shard("") == (1, 1)
    for bad in ("0/3", "4/3", "x", "1-2"):
        with pytest.raises(ValueError):
            runner.parse_shard(bad)


def test_selection_from_environment():
    env = {"MUTANTS": "12", "SEED": "4", "SHARD": "1/2"}
    a, b = runner.selection(env), runner.selection({**env, "SHARD": "2/2"})
    assert len(a) + len(b) == 12
    assert {m.id for m in a} | {m.id for m in b} == {m.id for m in runner.selection({"MUTANTS": "12", "SEED": "4"})}


def test_report_shape():
    results = [
        {"id": "a:1:rel:0", "module": "a", "status": "killed", "seconds": 10.0},
        {"id": "a:2:rel:0", "module": "a", "status": "survived", "seconds": 30.0, "file": "rtl/a.sv", "line": 2},
        {"id": "b:1:rel:0", "module": "b", "status": "killed_by_lint", "seconds": 1.0},
        {"id": "b:2:rel:0", "module": "b", "status": "equivalent", "seconds": 0.0},
        {"id": "b:3:rel:0", "module": "b", "status": "timeout", "seconds": 99.0},
    ]
    results[1].update(operator="rel", diff="-x\n+y\n")
    skipped = {"a": dict.fromkeys(("fatal", "param", "decl", "synth", "directive"), 1), "b": {}}
    skipped["b"] = dict(skipped["a"])
    rep = runner.build_report(results, 6, skipped, {"seed": 1})
    for k in ("total", "killed", "killed_by_lint", "survived", "equivalent", "timeout"):
        assert k in rep and all(k in c for c in rep["per_module"].values())
    assert (rep["total"], rep["killed"], rep["survived"], rep["not_run"]) == (5, 1, 1, 1)
    assert rep["per_module"]["a"]["kill_rate_tests"] == 0.5
    assert rep["per_module"]["b"]["kill_rate_tests"] == 1.0  # a timeout counts as killed
    text = runner.format_report(rep)
    assert "SURVIVED a:2:rel:0  rtl/a.sv:2" in text and "+y" in text


def test_every_module_has_a_plan():
    mods = {p.stem for p in runner.rtl_files()}
    assert set(runner.PLANS) == mods
    for mod, plan in runner.PLANS.items():
        for path in plan.unit:
            assert list((runner.REPO / path).glob("test_*.py")), f"{mod}: {path} holds no tests"
        assert plan.unit or plan.runs, mod
        for run in plan.runs:
            assert (runner.ENGINE_EXPORTS[run.export] / "manifest.json").exists() or run.export == "tiny_up5k"
            if run.export in ("tiny", "lenet5_sigmoid"):  # the committed export instantiates it
                chain = (runner.ENGINE_EXPORTS[run.export] / "cnn_layers.sv").read_text()
                # a module instantiated inside another (rom in act_lut, lane_dot in conv/fc_unit,
                # dsp_mul in lane_dot's DOT_PIPE = 3 lanes)
                inner = {"rom": {"act_lut"}, "lane_dot": {"conv_unit", "fc_unit"}, "dsp_mul": {"conv_unit", "fc_unit"}}
                users = {mod} | inner.get(mod, set())
                assert mod in ("cnn_engine", "frame_sanitizer", "result_formatter") or any(
                    f"  {u} #(" in chain for u in users
                ), (mod, run.export)


def test_equivalent_list_is_reviewed_and_current(everything):
    """Every entry has a reason and still names a mutant the tool generates (a stale entry after
    an RTL edit must be reviewed again)."""
    eq = runner.load_equivalent()
    keys = {runner.equiv_key(m) for m in everything}
    stale = [k for k in eq if k not in keys]
    assert not stale, f"equivalent.toml entries that match no mutant: {stale}"


def test_reviewed_survivor_is_reported_equivalent(tmp_path, monkeypatch):
    m = runner.sample(runner.enumerate_all()[0], 1, 9)[0]
    monkeypatch.setattr(runner, "OUT", tmp_path)
    d = runner.mutant_dir(m)
    d.mkdir(parents=True)
    res = {"id": m.id, "module": m.module, "status": "survived", "original": m.original, "replacement": m.replacement}
    (d / "result.json").write_text(json.dumps(res))
    assert runner.collect_results([m], {})[0]["status"] == "survived"
    eq = {runner.equiv_key(m): {"reason": "why"}}
    assert runner.collect_results([m], eq)[0]["status"] == "equivalent"


def test_lint_extra_has_the_makefile_parameter_sets():
    """A mutant is linted with every parameter set `make lint` uses for its module (a mutant
    that only those parameters reject is a lint kill, not a survivor): the Makefile's literal
    `--top-module <m> rtl/<m>.sv -G...` lines and its low-bit loop are all in LINT_EXTRA."""
    import re

    text = (runner.REPO / "Makefile").read_text()
    lint = text[text.index("\nlint:") : text.index("LINT_NETS", text.index("\nlint:"))]
    for mod, args in re.findall(r"--top-module (\w+) rtl/\w+\.sv((?: -G\w+=\w+)+)", lint):
        assert args.split() in runner.LINT_EXTRA.get(mod, []), f"make lint's {mod} {args} missing from LINT_EXTRA"
    for w, a in re.findall(r'"(\d) (\d)"', lint):
        for mod in ("fc_unit", "conv_unit", "lane_dot"):
            assert any(f"-GW_BITS={w}" in s and f"-GA_BITS={a}" in s for s in runner.LINT_EXTRA[mod]), (mod, w, a)


def test_shard_selects_mutants_not_tests(monkeypatch):
    """SHARD=i/N picks the mutants of shard i; the tests of each mutant run whole (conftest.py
    shards any pytest run that sees SHARD: the runner moves it to MUTATE_SHARD and keeps both
    out of the tests' environment)."""
    from verif.mutate.__main__ import main

    monkeypatch.setenv("SHARD", "2/3")
    monkeypatch.setenv("MUTANTS", "30")
    monkeypatch.delenv("MUTATE_SHARD", raising=False)
    assert main(["list"]) == 0
    import os

    assert "SHARD" not in os.environ and os.environ["MUTATE_SHARD"] == "2/3"
    sel = runner.selection()
    assert [m.id for m in sel] == [m.id for m in runner.shard(runner.sample(runner.enumerate_all()[0], 30, 1), 2, 3)]
    env = runner._env()
    assert "SHARD" not in env and "MUTATE_SHARD" not in env


def test_baseline_stamp_reads_rtl_subfolders():
    """The baseline stamp hashes every file under rtl/, technology folders (rtl/ecp5/) included:
    a directory there once stopped make mutate before its first mutant."""
    stamp = runner._baseline_stamp(runner.TINY)
    assert re.fullmatch(r"[0-9a-f]{12}", stamp)
