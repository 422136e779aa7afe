"""Synthesizability of every rtl/*.sv module (generic Yosys synthesis), see syn/check.py.

One case per module and parameter set of syn/tops.py (defaults for a module not listed), so a
new rtl/ file is checked without touching this test. `make synth-check` runs only this file.
"""

from __future__ import annotations

import re

import pytest

from syn import check
from syn.tops import Case, NetDir, cases

CASES = check.all_cases()


@pytest.mark.parametrize(("top", "case"), CASES, ids=[f"{t}-{c.id}" for t, c in CASES])
def test_synthesizable(top: str, case: Case):
    for v in case.params.values():
        if isinstance(v, NetDir) and not (v.path / "cnn_cfg_pkg.sv").exists():
            pytest.skip(f"{v.path} not exported yet (make weights NET={v.net})")
    res = check.run(top, case)
    assert res.ok, res.summary()


def _fc_case(name: str) -> Case:
    return next(c for c in cases("fc_unit") if c.id == name)


def test_binarized_fc_unit_has_no_multipliers():
    """The same fc_unit shape (syn/tops.py _LOWBIT_FC: PE 4 x SIMD 16) at w1a1 and w8a8: the
    binarized one has no $mul in the RTL netlist and no DSP after synth_ice40 -dsp (XNOR-popcount
    in LUTs); the 8-bit one has one multiplier per lane (PE*SIMD), each in a DSP. Without ABC
    (abc=False: it maps LUTs after the DSPs and decides nothing checked here)."""
    b1 = check.multiplier_cells("fc_unit", _fc_case("w1a1"), abc=False)
    b8 = check.multiplier_cells("fc_unit", _fc_case("w8a8"), abc=False)
    lanes = 4 * 16
    print(f"fc_unit w1a1: {b1}\nfc_unit w8a8: {b8}")
    assert b1["rtl"].get("$mul", 0) == 0 and not any("mul" in k for k in b1["rtl"]), b1["rtl"]
    assert b1["ice40"].get("SB_MAC16", 0) == 0, b1["ice40"]
    assert b8["rtl"].get("$mul", 0) == lanes, b8["rtl"]
    assert b8["ice40"].get("SB_MAC16", 0) == lanes, b8["ice40"]
    assert b1["ice40"]["SB_LUT4"] < b8["ice40"]["SB_LUT4"]


@pytest.mark.parametrize("name", ["w1a8", "w8a1"])
def test_sign_select_fc_unit_has_no_multipliers(name: str):
    """One 1-bit side is a sign select (+x or -x): no multiplier either."""
    cells = check.multiplier_cells("fc_unit", _fc_case(name), abc=False)
    assert not any("mul" in k for k in cells["rtl"]), cells["rtl"]
    assert cells["ice40"].get("SB_MAC16", 0) == 0, cells["ice40"]


@pytest.mark.parametrize("dsp_lanes", [9, 4, 0])
def test_dsp_lanes_are_the_dsp_blocks(dsp_lanes: int):
    """lane_dot with 9 int8 lanes: one `*` ($mul) and one DSP block after synth_ice40 -dsp per
    lane left to DSP_LANES, none for the lanes in rtl/lut_mul.sv (no tool gets a say)."""
    case = Case(f"w8a8_n9_dsp{dsp_lanes}", {"N": 9, "OUT_W": 20, "PIPE": 1, "DSP_LANES": dsp_lanes})
    cells = check.multiplier_cells("lane_dot", case, abc=False)
    assert cells["rtl"].get("$mul", 0) == dsp_lanes, cells["rtl"]
    assert cells["ice40"].get("SB_MAC16", 0) == dsp_lanes, cells["ice40"]


@pytest.mark.parametrize("target", ["ecp5", "xilinx"])
def test_dsp_mul_registers_are_in_the_dsp_block(target: str):
    """dsp_mul's operand and product registers end up inside the one DSP block: on the ECP5
    as the flow reads it (rtl/ecp5/dsp_mul.sv: a MULT18X18D with its A, B and output registers
    on CLK0), on Xilinx 7 from the portable file (Yosys packs them into the DSP48E1). No
    fabric flip-flop is left on either."""
    import json

    from syn import sources
    from syn.yosys import read_cmds, rel, yosys

    work = check.CHECK_DIR / "_dsp_mul" / target
    work.mkdir(parents=True, exist_ok=True)
    files = sources.files_for("dsp_mul")
    if target == "ecp5":
        files = sources.for_target(files, "ecp5")
        assert files[-1].parent.name == "ecp5", files
        head, synth = sources.ECP5_CELLS, "synth_ecp5 -top dsp_mul"
    else:
        head, synth = "", "synth_xilinx -family xc7 -top dsp_mul"
    out = work / "netlist.json"
    script = head + read_cmds(files) + f"\nhierarchy -check -top dsp_mul\n{synth}\nwrite_json {rel(out)}\n"
    yosys(script, work / "yosys.log")
    cells = [c for c in json.loads(out.read_text())["modules"]["dsp_mul"]["cells"].values()]
    types = [c["type"] for c in cells]
    dsp = [c for c in cells if c["type"] in ("MULT18X18D", "DSP48E1")]
    assert len(dsp) == 1, types
    assert not [t for t in types if t in ("TRELLIS_FF", "FDRE", "FDSE", "FDCE", "FDPE")], types
    if target == "ecp5":
        prm = dsp[0]["parameters"]
        assert all(prm[f"REG_{r}_CLK"] == "CLK0" for r in ("INPUTA", "INPUTB", "OUTPUT")), prm


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


# A loop that no single module has: each half is combinational from input to output, and the
# top closes the ring. The engine's "compose" flow flattens before `check`, so it sees it.
RING = """
module half (input logic a, input logic b, output logic y);
  assign y = a ^ b;
endmodule
module ring (input logic d, output logic q);
  logic x, z;
  half u0 (.a(d), .b(z), .y(x));
  half u1 (.a(x), .b(d), .y(z));
  assign q = z;
endmodule
"""


def test_compose_flow_catches_a_loop_across_modules():
    path = _write("ring", RING)
    res = check.run(
        "ring", Case("compose", {}, flow="compose"), files=[path], workdir=check.CHECK_DIR / "_meta" / "ring"
    )
    assert "combinational loop" in {p.split(":")[0] for p in res.problems}, res.summary()


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
