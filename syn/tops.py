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
    flow: str = "synth"  # or "compose": flattened and checked, not mapped to gates (syn/check.py FLOWS)


def _p(name: str) -> Callable[[dict], int]:
    return lambda p: p[name]


def _cb(p: dict) -> int:
    return p["C"] * p["BEATS"]  # requant's table depth


def _fc_depth(p: dict) -> int:
    return p["IN_BEATS"] * (p["C_OUT"] // p["PE"]) * (p["C_IN"] // p["SIMD"])


_FC1 = {"IN_BEATS": 49, "C_IN": 8, "C_OUT": 32, "PE": 1, "SIMD": 1}  # tiny's fc1, one multiply


def _fc_word(p: dict) -> int:
    return p["PE"] * p["SIMD"] * p.get("W_BITS", 8)


def _conv_depth(p: dict) -> int:
    return (p["C_OUT"] // p["PE"]) * (p["C_IN"] // p["SIMD"]) * (p["K"] ** 2 // p.get("TAPS", p["K"] ** 2))


def _conv_word(p: dict) -> int:
    return p["PE"] * p["SIMD"] * p.get("TAPS", p["K"] ** 2) * p.get("W_BITS", 8)


def _thr_word(p: dict) -> int:
    return ((1 << p["A_OUT"]) - 1) * p.get("ACC_W", 32)


# Low-bit shapes (W_BITS, A_BITS): XNOR-popcount, sign selects, narrow multiplies
_LOWBIT_FC = {"IN_BEATS": 4, "C_IN": 16, "C_OUT": 8, "PE": 4, "SIMD": 16}
_LOWBIT_CONV = {"K": 3, "C_IN": 4, "C_OUT": 8, "PE": 2, "SIMD": 4}


def _lowbit_fc(name: str, w_bits: int, a_bits: int, **extra) -> Case:
    p = {**_LOWBIT_FC, "W_BITS": w_bits, "A_BITS": a_bits, **extra}
    return Case(name, {**p, "W_FILE": MemFile(_fc_depth, _fc_word), "B_FILE": MemFile(_p("C_OUT"), 32)})


def _lowbit_conv(name: str, w_bits: int, a_bits: int, **extra) -> Case:
    p = {**_LOWBIT_CONV, "W_BITS": w_bits, "A_BITS": a_bits, **extra}
    return Case(name, {**p, "W_FILE": MemFile(_conv_depth, _conv_word), "B_FILE": MemFile(_p("C_OUT"), 32)})


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
    "window_gen_pix": [
        Case("default", {}),
        # tiny's conv1 at 8 pixels per beat: beats straddle rows (28 = 3*8 + 4)
        Case("tiny_conv1_pix8", {"H": 28, "W": 28, "C": 1, "DW": 8, "K": 3, "PAD": 1, "PIX": 8}),
        Case("tiny_conv2_pix2", {"H": 14, "W": 14, "C": 4, "DW": 8, "K": 3, "PAD": 1, "PIX": 2}),
        Case("lenet_conv1_pix8", {"H": 28, "W": 28, "C": 1, "DW": 8, "K": 5, "PAD": 2, "PIX": 8}),
        Case("k1_pix3", {"H": 4, "W": 6, "C": 2, "DW": 8, "K": 1, "PAD": 0, "PIX": 3}),
    ],
    "frame_sanitizer": [
        Case("mnist", {"N_BEATS": 784, "DATA_W": 8}),
        Case("small", {"N_BEATS": 5, "DATA_W": 3}),
        # 8 pixels per beat: 98 beats of 64 bits, TKEEP per pixel
        Case("mnist_lanes8", {"N_BEATS": 98, "DATA_W": 64, "LANES": 8}),
    ],
    "requant": [
        Case("defaults", {}),  # R_FILE "" must elaborate under SYNTHESIS (guarded $readmemh)
        Case("c4_float", {"C": 4, "POW2": 0, "M_FILE": MemFile(_p("C"), 32), "R_FILE": MemFile(_p("C"), 8)}),
        Case("c8_pow2", {"C": 8, "POW2": 1, "M_FILE": MemFile(_p("C"), 32), "R_FILE": MemFile(_p("C"), 8)}),
        # lane-serial: C*BEATS table words looked up by the beat counter
        Case("c1_b32_float", {"C": 1, "BEATS": 32, "POW2": 0, "M_FILE": MemFile(_cb, 32), "R_FILE": MemFile(_cb, 8)}),
        Case("c1_b32_pow2", {"C": 1, "BEATS": 32, "POW2": 1, "M_FILE": MemFile(_cb, 32), "R_FILE": MemFile(_cb, 8)}),
        Case("c2_b3_float", {"C": 2, "BEATS": 3, "POW2": 0, "M_FILE": MemFile(_cb, 32), "R_FILE": MemFile(_cb, 8)}),
        # 8 pixels per beat: 32 lanes sharing the 4 channels' tables
        Case(
            "c4_pix8_float",
            {"C": 4, "PIX": 8, "POW2": 0, "M_FILE": MemFile(_p("C"), 32), "R_FILE": MemFile(_p("C"), 8)},
        ),
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
        _lowbit_conv("w1a1", 1, 1),
        _lowbit_conv("w1a1_taps3_serial", 1, 1, TAPS=3, SERIAL=1),
        _lowbit_conv("w2a2", 2, 2),
        _lowbit_conv("w1a8", 1, 8),
        _lowbit_conv("w4a1", 4, 1),
        # 8 pixels per beat on tiny's conv1 shape: 8 x 4 lane_dot instances, one weight ROM
        Case(
            "pix8_tiny_conv1",
            {
                "K": 3,
                "C_IN": 1,
                "C_OUT": 4,
                "PE": 4,
                "SIMD": 1,
                "PIX": 8,
                "W_FILE": MemFile(_conv_depth, _conv_word),
                "B_FILE": MemFile(_p("C_OUT"), 32),
            },
        ),
    ],
    "fc_unit": [
        Case("defaults", {}),
        _lowbit_fc("w8a8", 8, 8),
        _lowbit_fc("w1a1", 1, 1),
        _lowbit_fc("w2a2", 2, 2),
        _lowbit_fc("w4a4", 4, 4),
        _lowbit_fc("w1a8", 1, 8),
        _lowbit_fc("w8a1", 8, 1),
        _lowbit_fc("w1a8_sum19", 1, 8, SUM_W=19),  # narrow accumulators, sign-extended lanes
        _lowbit_fc("w1a1_sum8_noreg", 1, 1, SUM_W=8, OUT_REG=0),  # the result read from the ring
    ],
    "lane_dot": [
        Case("defaults", {}),
        Case("w1a1_n64", {"W_BITS": 1, "A_BITS": 1, "N": 64, "OUT_W": 8}),
        Case("w1a4_n7", {"W_BITS": 1, "A_BITS": 4, "N": 7, "OUT_W": 8}),
        Case("w2a1_n5", {"W_BITS": 2, "A_BITS": 1, "N": 5, "OUT_W": 6}),
        Case("w2a2_n9", {"W_BITS": 2, "A_BITS": 2, "N": 9, "OUT_W": 8}),
        Case("w8a8_n9_pipe", {"N": 9, "OUT_W": 20, "PIPE": 1}),  # products registered
        Case("w1a1_n16_pipe", {"W_BITS": 1, "A_BITS": 1, "N": 16, "OUT_W": 8, "PIPE": 1}),
        # 4 products as `*`, 5 in lut_mul (syn/test_synth_check.py counts the DSP blocks)
        Case("w8a8_n9_dsp4", {"N": 9, "OUT_W": 20, "PIPE": 1, "DSP_LANES": 4}),
        Case("w8a8_n36_pipe3", {"N": 36, "OUT_W": 22, "PIPE": 3, "DSP_LANES": 11}),  # operands, halfway
        Case("w1a1_n64_pipe2", {"W_BITS": 1, "A_BITS": 1, "N": 64, "OUT_W": 8, "PIPE": 2}),
    ],
    "dsp_mul": [
        Case("defaults", {}),
        Case("w2a4", {"W_BITS": 2, "A_BITS": 4}),
    ],
    "lut_mul": [
        Case("defaults", {}),
        Case("w2a8", {"W_BITS": 2, "A_BITS": 8}),
        Case("w4a4", {"W_BITS": 4, "A_BITS": 4}),
    ],
    "threshold": [
        Case("defaults", {}),  # T_FILE "" must elaborate under SYNTHESIS (guarded $readmemh)
        Case("c4_a1", {"C": 4, "A_OUT": 1, "T_FILE": MemFile(_p("C"), _thr_word)}),
        Case("c4_a2", {"C": 4, "A_OUT": 2, "T_FILE": MemFile(_p("C"), _thr_word)}),
        Case("c2_a4", {"C": 2, "A_OUT": 4, "T_FILE": MemFile(_p("C"), _thr_word)}),
        # lane-serial: C*BEATS table words looked up by the beat counter
        Case("c1_b16_a2", {"C": 1, "BEATS": 16, "A_OUT": 2, "T_FILE": MemFile(_cb, _thr_word)}),
        # narrow inputs (after fc_unit SUM_W): thresholds clamped to IN_W + 1 bits
        Case("c8_a1_in9", {"C": 8, "A_OUT": 1, "IN_W": 9, "T_FILE": MemFile(_p("C"), _thr_word)}),
    ],
    "pool2x2": [
        Case("defaults", {}),
        Case("dw1_max", {"H": 8, "W": 8, "C": 16, "DW": 1, "MODE": 0}),
        Case("dw2_avg", {"H": 8, "W": 8, "C": 4, "DW": 2, "MODE": 1}),
    ],
    # several pixels per beat: tiny's pool1 at PIX = 8 (straddling beats), pool2 at PIX = 2
    "pool2x2_pix": [
        Case("tiny_pool1_pix8", {"H": 28, "W": 28, "C": 4, "PIX": 8}),
        Case("tiny_pool2_pix2", {"H": 14, "W": 14, "C": 8, "PIX": 2}),
        Case("pix4_avg_dw1", {"H": 6, "W": 10, "C": 3, "DW": 1, "MODE": 1, "PIX": 4}),
    ],
    "pix_repack": [
        Case("4to2_w32", {"LANE_W": 32, "N_IN": 4, "N_OUT": 2}),
        Case("1to1_w64", {"LANE_W": 64, "N_IN": 1, "N_OUT": 1}),
        Case("4to7_w8", {"LANE_W": 8, "N_IN": 4, "N_OUT": 7}),
        Case("tiny_pool1_fifo8", {"LANE_W": 32, "N_IN": 4, "N_OUT": 2, "IN_FIFO": 8}),
    ],
    "fc_serial": [
        Case("defaults", {}),  # W_FILE / B_FILE "" must elaborate under SYNTHESIS (guarded $readmemh)
        # tiny's fc1 on the iCE40: weights from a file, depth IN_BEATS*(C_OUT/PE)*(C_IN/SIMD)
        Case(
            "fc1_rom",
            {
                **_FC1,
                "W_FILE": MemFile(_fc_depth, lambda p: p["PE"] * p["SIMD"] * 8),
                "B_FILE": MemFile(_p("C_OUT"), 32),
            },
        ),
        # run-time loadable weights (w_load_mem, single-port RAM), tiny's fc2. Generic `synth`
        # maps memories to flip-flops: fc1's 12,544-word RAM takes longer than the 600 s limit.
        Case(
            "fc2_wload",
            {
                "IN_BEATS": 32,
                "C_IN": 1,
                "C_OUT": 10,
                "PE": 1,
                "SIMD": 1,
                "W_LOAD": 1,
                "B_FILE": MemFile(_p("C_OUT"), 32),
            },
        ),
    ],
    "result_formatter": [
        Case("defaults", {}),  # one beat of N_CLASSES logits per frame (the engine's default)
        Case("in_lanes1", {"IN_LANES": 1}),  # lane-serial: one logit per input beat
        Case("in_lanes5", {"IN_LANES": 5}),
    ],
    "axis_gather": [
        Case("defaults", {}),
        Case("n1", {"DATA_W": 8, "N": 1}),  # wires
        Case("n8_w8", {"DATA_W": 8, "N": 8}),
        Case("n10_w32", {"DATA_W": 32, "N": 10}),
    ],
    "cnn_engine": [Case("tiny", {"WEIGHTS_DIR": NetDir("tiny")}, flow="compose")],
    # the residual-network units: resnet8's widths and constants
    "axis_fork": [Case("w128_n2", {"DATA_W": 128, "N": 2}), Case("w8_n3", {"DATA_W": 8, "N": 3})],
    "skip_fifo": [
        Case("s1_58x128", {"DATA_W": 128, "DEPTH": 58}),
        Case("d1", {"DATA_W": 8, "DEPTH": 1}),
        Case("d29", {"DATA_W": 8, "DEPTH": 29}),
    ],
    "stride_sel": [
        Case("s2_28", {"DATA_W": 144, "H": 28, "W": 28, "S": 2}),
        Case("s1", {"DATA_W": 8, "H": 4, "W": 4, "S": 1}),
    ],
    "add_unit": [
        Case("pow2", {"C": 16, "SIGNED_A": 1, "SIGNED_B": 0, "MA": 1, "MB": 2, "R": 1, "POW2": 1}),
        Case("mult", {"C": 4, "SIGNED_A": 1, "SIGNED_B": 1, "MA": 15160, "MB": 27070, "R": 15, "POW2": 0}),
    ],
    "gap_unit": [Case("c64_n49", {"C": 64, "N": 49, "M": 2675, "R": 17})],
}


def cases(top: str) -> list[Case]:
    return TOPS.get(top) or [Case("defaults", {})]
