"""Representative parameter sets for the synthesizability check (syn/test_synth_check.py).

Every rtl/*.sv module is checked; a module missing from TOPS is synthesized once with its
default parameters. A module listed here is synthesized once per Case instead (list its
defaults as a Case too if they matter). Parameter values:

  int / str          passed as is (strings become Verilog string literals)
  MemFile(d, w)      a tiny $readmemh file of d words of w bits is generated under
                     build/syn/check/ and its path is passed; d and w may be functions of the
                     case's other parameters (lambda p: p["DEPTH"])
  NetDir("tiny")     the folder weights/tiny (the case is skipped when it has not been exported)

Unknown parameter names make Yosys fail ("Can't find object for defparam"), so this table
cannot silently go stale when a module renames a parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from syn.yosys import ROOT

IntOrFn = int | Callable[[dict], int]


@dataclass(frozen=True)
class MemFile:
    depth: IntOrFn
    width: IntOrFn

    def resolve(self, params: dict) -> tuple[int, int]:
        d = self.depth(params) if callable(self.depth) else self.depth
        w = self.width(params) if callable(self.width) else self.width
        return int(d), int(w)


@dataclass(frozen=True)
class NetDir:
    net: str

    @property
    def path(self) -> Path:
        return ROOT / "weights" / self.net


@dataclass(frozen=True)
class Case:
    id: str
    params: dict = field(default_factory=dict)


def _p(name: str) -> Callable[[dict], int]:
    return lambda p: p[name]


TOPS: dict[str, list[Case]] = {
    "axis_skid": [Case("w8", {"DATA_W": 8}), Case("w72", {"DATA_W": 72})],
    "rom": [
        Case("default_noinit", {}),  # INIT_FILE "" is allowed under SYNTHESIS (no init)
        Case("16x8", {"DEPTH": 16, "WIDTH": 8, "INIT_FILE": MemFile(_p("DEPTH"), _p("WIDTH"))}),
        Case("512x32", {"DEPTH": 512, "WIDTH": 32, "INIT_FILE": MemFile(_p("DEPTH"), _p("WIDTH"))}),
        Case("lut256x8_p4", {"DEPTH": 256, "WIDTH": 8, "PORTS": 4, "INIT_FILE": MemFile(_p("DEPTH"), _p("WIDTH"))}),
        Case("1x8", {"DEPTH": 1, "WIDTH": 8, "INIT_FILE": MemFile(_p("DEPTH"), _p("WIDTH"))}),
    ],
    "window_gen": [
        Case("default", {}),
        Case("tiny_conv2", {"H": 14, "W": 14, "C": 4, "DW": 8, "K": 3, "PAD": 1}),
        Case("lenet_conv1", {"H": 28, "W": 28, "C": 1, "DW": 8, "K": 5, "PAD": 2}),
        Case("lenet_conv2", {"H": 14, "W": 14, "C": 6, "DW": 8, "K": 5, "PAD": 0}),
        Case("k1", {"H": 4, "W": 5, "C": 2, "DW": 8, "K": 1, "PAD": 0}),
    ],
    "frame_sanitizer": [Case("mnist", {"N_BEATS": 784, "DATA_W": 8}), Case("small", {"N_BEATS": 5, "DATA_W": 3})],
    "requant": [
        Case("defaults", {}),  # R_FILE "" must elaborate under SYNTHESIS (guarded $readmemh)
        Case("c4_float", {"C": 4, "POW2": 0, "M_FILE": MemFile(_p("C"), 32), "R_FILE": MemFile(_p("C"), 8)}),
        Case("c8_pow2", {"C": 8, "POW2": 1, "M_FILE": MemFile(_p("C"), 32), "R_FILE": MemFile(_p("C"), 8)}),
    ],
    "conv_unit": [
        Case("defaults", {}),
        # tap folding (one kernel row per cycle): depth (C_OUT/PE)*(C_IN/SIMD)*(K*K/TAPS)
        Case(
            "k3_taps3",
            {
                "K": 3,
                "C_IN": 4,
                "C_OUT": 8,
                "PE": 1,
                "SIMD": 1,
                "TAPS": 3,
                "W_FILE": MemFile(8 * 4 * 3, 3 * 8),
                "B_FILE": MemFile(8, 32),
            },
        ),
    ],
    "cnn_engine": [Case("tiny", {"WEIGHTS_DIR": NetDir("tiny")})],
}


def cases(top: str) -> list[Case]:
    return TOPS.get(top) or [Case("defaults", {})]
