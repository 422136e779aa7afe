"""Synthesizability check of one top module: generic Yosys synthesis + design-rule scan.

A module passes when Yosys elaborates and synthesizes it to generic gates (`synth -noabc`)
and neither the RTL (after `proc`) nor the gate netlist shows

  * an inferred latch            ("Latch inferred", $dlatch / $_DLATCH_* / $_SR_* cells)
  * multiple drivers             (check: "multiple conflicting drivers", "Driver-driver conflict")
  * an undriven wire that is used, undriven outputs included (check: "used but has no driver")
  * a combinational loop         (check: "found logic loop"; "Breaking loop" if ABC runs)
  * an implicitly declared net   ("is implicitly declared")

and `check -assert` passes. Other Yosys warnings are listed for information only. ABC, which
only optimises the mapped gates, is left out: it took 60-90 % of each check's time (all of
it on memories mapped to flip-flops and on multipliers) and adds no check; `check` sees a
loop in the gate netlist without it. make synth runs the full flows. A case
with flow "compose" (the engine: library modules wired together, each synthesized in its own
cases) is flattened and checked as one netlist instead of being synthesized to gates again.
Usage outside pytest: python -m syn.check [TOP ...]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from syn import sources
from syn.tops import Case, MemFile, NetDir, cases
from syn.yosys import BUILD, RTL_INC, ToolError, chparam_cmd, read_cmds, rel, yosys

CHECK_DIR = BUILD / "check"

PROBLEMS = [
    (re.compile(r"Latch inferred for signal"), "latch"),
    (re.compile(r"multiple conflicting drivers"), "multiple drivers"),
    (re.compile(r"Driver-driver conflict"), "multiple drivers"),
    (re.compile(r"is used but has no driver"), "undriven"),
    (re.compile(r"found logic loop"), "combinational loop"),
    (re.compile(r"Breaking loop using new signal"), "combinational loop"),
    (re.compile(r"is implicitly declared"), "implicit net"),
    (re.compile(r"ERROR:"), "yosys error"),
]
# "synth": generic synthesis to gates. "compose" (syn/tops.py Case.flow), for the engine: the
# generated chain elaborated and flattened, so that a loop or a second driver across module
# boundaries shows, but not mapped to gates again (its library modules each pass "synth" in
# their own cases; mapping tiny's 220 multipliers took 34 of the engine check's 35 s).
FLOWS = ("synth", "compose")
LATCH_CELLS = re.compile(r"^\s+(\d+)\s+(\$_?(?:dlatch\w*|DLATCH\w*|SR_\w*|sr\b|dlatchsr\w*))\s*$", re.I)


@dataclass
class Result:
    top: str
    case: str
    log: Path
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"{self.top}[{self.case}]: {'OK' if self.ok else 'FAILED'} (log: {rel(self.log)})"]
        lines += [f"  PROBLEM {p}" for p in self.problems]
        lines += [f"  warning {w}" for w in self.warnings]
        return "\n".join(lines)


def _hexword(i: int, width: int) -> str:
    # Deterministic, non-constant contents so memories are not optimized away.
    v = (i * 0x9E3779B1 + 0x7F4A7C15) & ((1 << width) - 1)
    return f"{v:0{(width + 3) // 4}x}"


def write_mem(path: Path, depth: int, width: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(_hexword(i, width) + "\n" for i in range(depth)))
    return path


def resolve_params(case: Case, workdir: Path) -> tuple[dict, Path | None]:
    """Materialize MemFile / NetDir values; returns (params, weights dir used or None)."""
    plain = {k: v for k, v in case.params.items() if not isinstance(v, MemFile | NetDir)}
    out, net_dir = {}, None
    for k, v in case.params.items():
        if isinstance(v, MemFile):
            depth, width = v.resolve(plain)
            out[k] = rel(write_mem(workdir / f"{k.lower()}.mem", depth, width))
        elif isinstance(v, NetDir):
            net_dir = v.path
            out[k] = rel(v.path)
        else:
            out[k] = v
    return out, net_dir


def script(top: str, files: list[Path], params: dict, flow: str = "synth") -> str:
    pkgs = [f for f in files if f.stem.endswith("_pkg")]
    mods = [f for f in files if f not in pkgs]
    lines = []
    if pkgs:
        lines.append(read_cmds(pkgs, [RTL_INC]))
    # The top is read without -defer: chparam on a deferred ($abstract) module creates a
    # $paramod copy that `hierarchy -top` ignores (it re-derives the top with its defaults).
    # chparam on the elaborated module replaces it under its own name. The submodules are
    # read with -defer: they are elaborated only with the parameters their instances pass
    # (a submodule whose default memory file is "" would otherwise fail at read time).
    subs = [f for f in mods if f.stem != top]
    if subs:
        lines.append(read_cmds(subs, [RTL_INC], defer=True))
    lines.append(read_cmds([f for f in mods if f.stem == top] or mods, [RTL_INC]))
    if params:
        lines.append(chparam_cmd(top, params))
    if flow not in FLOWS:
        raise ValueError(f"unknown check flow {flow!r} (one of {', '.join(FLOWS)})")
    lines += [
        f"hierarchy -check -top {top}",
        "proc",
        *(["flatten"] if flow == "compose" else []),
        "opt_clean",
        "check",
        "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr",
        f"synth -top {top} -noabc" if flow == "synth" else "opt -fast",
        "check",
        "stat",
        "check -assert",
    ]
    return "\n".join(lines) + "\n"


def scan(text: str) -> tuple[list[str], list[str]]:
    problems, warnings = [], []
    for line in text.splitlines():
        for pat, kind in PROBLEMS:
            if pat.search(line):
                problems.append(f"{kind}: {line.strip()}")
                break
        else:
            m = LATCH_CELLS.match(line)
            if m and int(m.group(1)) > 0:
                problems.append(f"latch cells: {m.group(1)} x {m.group(2)}")
            elif line.startswith("Warning:"):
                warnings.append(line.strip())
    # Yosys repeats some messages (log + summary at the end): keep the first of each.
    return list(dict.fromkeys(problems)), list(dict.fromkeys(warnings))


def run(top: str, case: Case | None = None, files: list[Path] | None = None, workdir: Path | None = None) -> Result:
    """Synthesize top with one parameter case and scan the log; never raises on design problems."""
    case = case or Case("defaults", {})
    workdir = workdir or CHECK_DIR / top / case.id
    workdir.mkdir(parents=True, exist_ok=True)
    params, net_dir = resolve_params(case, workdir)
    if files is None:
        files = sources.yosys_compat(sources.files_for(top, net_dir))
    log = workdir / "yosys.log"
    res = Result(top, case.id, log)
    try:
        text = yosys(script(top, files, params, case.flow), log, timeout=600)
    except ToolError as err:
        text = log.read_text(errors="replace") if log.exists() else ""
        res.problems.append(str(err).splitlines()[0])
    p, w = scan(text)
    res.problems += p
    res.warnings += w
    res.problems = list(dict.fromkeys(res.problems))
    return res


_STAT_CELL = re.compile(r"^\s+(\d+)\s+(\$\S+|[A-Z][A-Z0-9_]+|cells)\s*$")


def stat_cells(text: str) -> dict[str, int]:
    """Cell counts by type (and "cells", the total) of a `stat` of a flattened design."""
    cells: dict[str, int] = {}
    for line in text.splitlines():
        m = _STAT_CELL.match(line)
        if m:
            cells[m.group(2)] = cells.get(m.group(2), 0) + int(m.group(1))
    return cells


def multiplier_cells(top: str, case: Case, workdir: Path | None = None, abc: bool = True) -> dict[str, dict[str, int]]:
    """Where multipliers are: the flattened RTL netlist before any arithmetic mapping ("rtl":
    $mul cells, one per `*` that survives constant folding) and synth_ice40 -dsp ("ice40":
    SB_MAC16 DSP blocks, SB_LUT4, flip-flops, carries). `abc=False`: LUTs mapped one gate each
    instead of by ABC (the DSP count is the same: DSPs are mapped before ABC; LUTs are
    overstated, 2-3x faster). Raises ToolError when Yosys fails."""
    workdir = workdir or CHECK_DIR / "_mul" / top / case.id
    workdir.mkdir(parents=True, exist_ok=True)
    params, net_dir = resolve_params(case, workdir)
    files = sources.yosys_compat(sources.files_for(top, net_dir))
    head = script(top, files, params).split(f"hierarchy -check -top {top}")[0]
    rtl_stat, ice_stat = workdir / "rtl_stat.txt", workdir / "ice40_stat.txt"
    text = head + "\n".join(
        [
            f"hierarchy -check -top {top}",
            "proc",
            "flatten",
            "opt",
            "wreduce",
            "opt_clean",
            f"tee -o {rel(rtl_stat)} stat",
            f"synth_ice40 -dsp{'' if abc else ' -noabc'} -top {top}",
            f"tee -o {rel(ice_stat)} stat",
        ]
    )
    yosys(text + "\n", workdir / "yosys.log", timeout=600)
    return {"rtl": stat_cells(rtl_stat.read_text()), "ice40": stat_cells(ice_stat.read_text())}


def all_cases() -> list[tuple[str, Case]]:
    return [(top, c) for top in sources.rtl_tops() for c in cases(top)]


def main(argv: list[str]) -> int:
    tops = argv or sources.rtl_tops()
    bad = 0
    for top in tops:
        for c in cases(top):
            res = run(top, c)
            print(res.summary())
            bad += not res.ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
