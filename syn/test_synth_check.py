"""Synthesizability of every rtl/*.sv module (generic Yosys synthesis), see syn/check.py.

One case per module and parameter set of syn/tops.py (defaults for a module not listed), so a
new rtl/ file is checked without touching this test. `make synth-check` runs only this file.
"""

from __future__ import annotations

import re

import pytest

from syn import check
from syn.tops import Case, NetDir

CASES = check.all_cases()


@pytest.mark.parametrize(("top", "case"), CASES, ids=[f"{t}-{c.id}" for t, c in CASES])
def test_synthesizable(top: str, case: Case):
    for v in case.params.values():
        if isinstance(v, NetDir) and not (v.path / "cnn_cfg_pkg.sv").exists():
            pytest.skip(f"{v.path} not exported yet (make weights NET={v.net})")
    res = check.run(top, case)
    assert res.ok, res.summary()


LATCHY = """
module latchy (input logic en, input logic [3:0] d, output logic [3:0] q);
  always @* begin
    if (en) q = d;   // no else: a latch
  end
endmodule
"""

MESSY = """
module messy (input logic a, input logic b, output logic y, output logic u, output logic l);
  logic x, z;
  assign y = a;
  assign y = b;         // second driver
  assign x = z ^ a;     // x <-> z: combinational loop
  assign z = x & b;
  assign l = z;
  // u: output never driven
endmodule
"""


def _write(name: str, text: str, sub: str = ""):
    path = check.CHECK_DIR / "_meta" / sub / f"{name}.sv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_checker_catches_latch():
    res = check.run("latchy", files=[_write("latchy", LATCHY)], workdir=check.CHECK_DIR / "_meta" / "latchy")
    assert not res.ok
    assert any(p.startswith("latch") for p in res.problems), res.summary()


def test_checker_catches_always_comb_latch():
    src = LATCHY.replace("always @*", "always_comb").replace("latchy", "latchy_comb")
    res = check.run("latchy_comb", files=[_write("latchy_comb", src)], workdir=check.CHECK_DIR / "_meta" / "lc")
    assert any("Latch inferred" in p for p in res.problems), res.summary()


def test_checker_catches_drivers_undriven_and_loops():
    res = check.run("messy", files=[_write("messy", MESSY)], workdir=check.CHECK_DIR / "_meta" / "messy")
    kinds = {p.split(":")[0] for p in res.problems}
    assert {"multiple drivers", "undriven", "combinational loop"} <= kinds, res.summary()


def test_checker_rejects_unknown_parameter():
    res = check.run(
        "latchy",
        Case("bogus", {"NO_SUCH_PARAM": 3}),
        files=[_write("latchy", LATCHY, "bogus")],
        workdir=check.CHECK_DIR / "_meta" / "bogus",
    )
    assert any("yosys" in p for p in res.problems), res.summary()


def test_parameters_reach_the_top():
    # chparam must change the elaborated top, not a copy that `hierarchy` ignores.
    res = check.run("axis_skid", Case("w72", {"DATA_W": 72}), workdir=check.CHECK_DIR / "_meta" / "param")
    assert res.ok, res.summary()
    # axis_skid ports: 2 x (DATA_W + tlast + tvalid + tready) + clk + rst
    bits = re.findall(r"(\d+) port bits", res.log.read_text())
    assert bits and int(bits[-1]) == 2 * (72 + 3) + 2, bits
