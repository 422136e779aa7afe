"""tb/common/coverage.py without any RTL build: Verilator's coverage.dat format, the merge, the
per-file table with its check-code exclusions, the annotation, the functional cross."""

from __future__ import annotations

import json

import pytest

from tb.common import coverage as cov


def key(**fields) -> str:
    return "".join(f"\x01{k}\x02{v}" for k, v in fields.items())


def point(f, line, t, count, span=None, o="block"):
    fields = {"f": f, "l": line, "n": 1, "t": t, "page": f"v_{t}/m", "o": o}
    if span:
        fields["S"] = span
    fields["h"] = "m"
    return f"C '{key(**fields)}' {count}"


SRC = """module m #(parameter int N = 1) (input logic clk, output logic q);
  if (N < 1) begin : g_err_n
    $fatal(1, "m: N must be >= 1");
  end
  always_ff @(posedge clk) begin
    q <= 1'b1;
    if (N > 5) q <= 1'b0;
  end
`ifndef SYNTHESIS
  initial begin
    if (N == 0) $fatal(1, "bad file");
  end
`endif
endmodule
"""


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "m.sv").write_text(SRC)
    return tmp_path


def write(path, lines):
    path.write_text("# SystemC::Coverage-3\n" + "\n".join(lines) + "\n")
    return path


def test_parse_and_merge_sum_identical_points(tmp_path):
    f = "/x/rtl/m.sv"
    a = write(tmp_path / "a.dat", [point(f, 6, "line", 3, "6"), point(f, 7, "branch", 0, "7")])
    b = write(
        tmp_path / "b.dat", [point(f, 6, "line", 4, "6"), point(f, 7, "branch", 2, "7"), point(f, 5, "toggle", 1)]
    )
    merged = cov.merge([a, b])
    assert sorted(merged.values()) == [1, 2, 7]
    assert cov.parse_key(next(iter(merged)))["f"] == f
    # the merged file reads back identically (Verilator's own format)
    cov.write_dat(merged, tmp_path / "m.dat")
    assert cov.read_dat(tmp_path / "m.dat") == merged


def test_truncated_file_is_an_error(tmp_path):
    bad = write(tmp_path / "bad.dat", [point("/x/rtl/m.sv", 6, "line", 1, "6"), "C '\x01f\x02/x/rtl/m.sv"])
    with pytest.raises(ValueError, match="not a coverage point"):
        cov.read_dat(bad)


def test_span_lines():
    assert cov.span_lines({"S": "3,5-7", "l": "3"}) == [3, 5, 6, 7]
    assert cov.span_lines({"l": "12"}) == [12]


def test_check_regions():
    elab, sim = cov.check_lines(SRC)
    assert elab == {2, 3, 4}
    assert sim == {9, 10, 11, 12}  # `ifndef .. up to the line before `endif


def test_table_excludes_check_code_and_takes_lowest_count(repo, tmp_path):
    f = str(repo / "rtl" / "m.sv")
    points = cov.merge(
        [
            write(
                tmp_path / "a.dat",
                [
                    point(f, 5, "line", 10, "5"),
                    point(f, 6, "line", 10, "6"),
                    point(f, 7, "branch", 0, "7", o="if"),  # the if never taken ...
                    point(f, 7, "branch", 10, "7", o="else"),  # ... its else always: line 7 not hit
                    point(f, 11, "line", 0, "11"),  # a check's error branch: not in the %
                    point(f, 1, "toggle", 5, o="q:0->1"),
                    point(f, 1, "toggle", 0, o="q:1->0"),
                    point("/elsewhere/tb/test_m.sv", 3, "line", 0, "3"),  # not rtl/: ignored
                ],
            )
        ]
    )
    files = cov.per_file(points, repo)
    rows, tot = cov.table(files)
    (r,) = rows
    assert (r["file"], r["lines"], r["lines_hit"], r["uncovered_lines"]) == ("rtl/m.sv", 3, 2, [7])
    assert (r["toggles"], r["toggles_hit"], r["toggle_pct"]) == (2, 1, 50.0)
    assert r["untoggled_signals"] == {"q": [1, 2]}
    assert (r["elab_check_lines"], r["sim_check_lines"], r["sim_check_lines_hit"]) == (3, 1, 0)
    assert tot["line_pct"] == pytest.approx(66.7)
    cov.annotate(points, tmp_path / "ann", repo)
    ann = (tmp_path / "ann" / "m.sv").read_text().splitlines()
    assert ann[6].startswith("%000000") and "if (N > 5)" in ann[6]
    assert ann[5].startswith(" 000010")
    assert ann[10].startswith("~000000") and ann[2].startswith("~------")


def test_functional_merge_lists_holes(tmp_path):
    axes = {"frame": ["a", "b"], "stall": ["x", "y"]}
    (tmp_path / "1.json").write_text(json.dumps({"axes": axes, "hits": {"a|x": 2}}))
    (tmp_path / "2.json").write_text(json.dumps({"axes": axes, "hits": {"a|x": 1, "b|y": 4}}))
    func = cov.merge_functional(sorted(tmp_path.glob("*.json")))
    assert func["hits"] == {"a|x": 3, "a|y": 0, "b|x": 0, "b|y": 4}
    assert func["empty"] == ["a|y", "b|x"] and (func["bins"], func["hit_bins"]) == (4, 2)
    md = "\n".join(cov.functional_markdown(func))
    assert "2 of 4 bins hit" in md and "| a | x | 3 |" in md and "| b | x | 0 |" in md
    (tmp_path / "3.json").write_text(json.dumps({"axes": {"frame": ["a"]}, "hits": {}}))
    with pytest.raises(ValueError, match="axes differ"):
        cov.merge_functional(sorted(tmp_path.glob("*.json")))
    (tmp_path / "3.json").write_text(json.dumps({"axes": axes, "hits": {"c|x": 1}}))
    with pytest.raises(ValueError, match="outside the declared bins"):
        cov.merge_functional(sorted(tmp_path.glob("*.json")))


def test_functional_table_layout():
    axes = {"frame": ["a", "b"], "reset": ["n"], "stall": ["x", "y"], "fold": ["d"]}
    hits = {"a|n|x|d": 5, "a|n|y|d": 0, "b|n|x|d": 0, "b|n|y|d": 1}
    func = {"axes": axes, "bins": 4, "hit_bins": 2, "hits": hits, "empty": ["a|n|y|d", "b|n|x|d"]}
    md = cov.functional_markdown(func)
    assert "| frame | reset | x/d | y/d |" in md
    assert "| a | n | 5 | 0 |" in md and "| b | n | 0 | 1 |" in md


def test_write_doc_keeps_hand_written_text(tmp_path):
    doc = tmp_path / "c.md"
    doc.write_text(f"# C\n\nintro\n\n{cov.BEGIN}\nold\n{cov.END}\n\nnotes\n")
    cov.write_doc(doc, ["new table"])
    assert doc.read_text() == f"# C\n\nintro\n\n{cov.BEGIN}\nnew table\n{cov.END}\n\nnotes\n"
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        cov.write_doc(doc, ["x"])


def test_instances_and_parameter_sets_count_once(repo, tmp_path):
    """Verilator keys a point by instance (h) and parameterised copy (page) too: a line one
    instance never ran is still hit if another ran it, and a toggle bit counts once."""
    f = str(repo / "rtl" / "m.sv")

    def inst(t, count, h, o="block", span="6"):
        return f"C '{key(f=f, l=6, n=3, t=t, page=f'v_{t}/m__D{h}', o=o, S=span, h=f'top.u{h}')}' {count}"

    dat = write(tmp_path / "i.dat", [inst("line", 0, 1), inst("line", 7, 2), inst("toggle", 0, 1, "q:0->1", "")])
    dat2 = write(tmp_path / "j.dat", [inst("toggle", 1, 2, "q:0->1", "")])
    (r,) = cov.table(cov.per_file(cov.merge([dat, dat2]), repo))[0]
    assert (r["lines"], r["lines_hit"], r["toggles"], r["toggles_hit"]) == (1, 1, 1, 1)
