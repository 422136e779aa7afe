"""Mutation testing of rtl/ against the project's own tests: enumerate, sample, shard, run, report.

A mutant is a copy of rtl/ under build/mutate/<dir>/rtl with one edit. It is linted first (the
`make lint` commands that cover the mutated file); then the tests that exercise its module run
in one `pytest -x` (stop at the first failure) with RTL_DIR pointing at the copy and BUILD_DIR
at a build tree of its own: the module's unit tests (tb/<module>/) and a short engine run of an
export that instantiates it (verif/mutate/engine_check.py). Outcomes: killed (by a test),
killed_by_lint, timeout (counted as killed), survived, equivalent (listed in
verif/mutate/equivalent.toml with a reason; not run unless asked).
"""

from __future__ import annotations

import difflib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from verif.mutate.operators import REGIONS, Mutant, mutants

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EQUIVALENT = HERE / "equivalent.toml"
OUT = REPO / "build" / "mutate"
# error: the tests could not run (pytest exit code other than 0 and 1: collection error, usage):
# counted apart, never as a kill.
STATUSES = ("killed", "killed_by_lint", "timeout", "survived", "equivalent", "error")


# --- which tests exercise which module ----------------------------------------------------

# Engine exports: the committed tiny and lenet5_sigmoid, and the `up5k` folding of tiny (serial
# units, run-time weights), exported once per run from the committed checkpoint.
UP5K = OUT / "weights" / "tiny_up5k"
ENGINE_EXPORTS = {
    "tiny": REPO / "weights" / "tiny",
    "tiny_up5k": UP5K,
    "lenet5_sigmoid": REPO / "weights" / "lenet5_sigmoid",
}
ENGINE_PROTOCOL = "short_and_long_frames,missing_tlast_then_good_frames,reset_mid_frame,output_stalled_10000_cycles"
WLOAD_PROTOCOL = "weights_load_after_images,reset_mid_frame"


@dataclass(frozen=True)
class Run:
    """One engine check: an export (ENGINE_EXPORTS key), images through the bulk harness, then
    tests of tb/engine/test_engine.py on the same export (comma-separated; may be empty)."""

    export: str
    images: int = 20
    protocol: str = ""


@dataclass(frozen=True)
class Plan:
    unit: tuple[str, ...]  # pytest paths (tb/<module>/)
    runs: tuple[Run, ...] = ()


TINY, UP5K_RUN, SIGMOID = Run("tiny"), Run("tiny_up5k", 12, WLOAD_PROTOCOL), Run("lenet5_sigmoid", 8)

# Modules only some exports instantiate get that export: fc_serial and axis_gather only the
# up5k folding, act_lut and rom only lenet5_sigmoid; argmax and axis_skid are in no engine.
# The engine top also gets the up5k run: its weight-load error counter moves only there.
PLANS = {
    "act_lut": Plan(("tb/act_lut",), (SIGMOID,)),
    "argmax": Plan(("tb/argmax",)),
    "axis_fifo": Plan(("tb/axis_fifo",), (TINY,)),
    "axis_gather": Plan(("tb/axis_gather",), (UP5K_RUN,)),
    "axis_skid": Plan(("tb/axis_skid",)),
    "cnn_engine": Plan((), (Run("tiny", 20, ENGINE_PROTOCOL), UP5K_RUN)),
    "conv_unit": Plan(("tb/conv_unit",), (TINY,)),
    "fc_serial": Plan(("tb/fc_serial",), (UP5K_RUN,)),
    "fc_unit": Plan(("tb/fc_unit",), (TINY,)),
    "frame_sanitizer": Plan(("tb/frame_sanitizer",), (TINY,)),
    "pool2x2": Plan(("tb/pool2x2",), (TINY,)),
    "requant": Plan(("tb/requant",), (TINY,)),
    "result_formatter": Plan(("tb/result_formatter",), (TINY,)),
    "rom": Plan(("tb/rom",), (SIGMOID,)),
    "window_gen": Plan(("tb/window_gen",), (TINY,)),
    # lane_dot is the arithmetic core of conv_unit and fc_unit: their unit tests and tiny.
    "lane_dot": Plan(("tb/fc_unit", "tb/conv_unit"), (TINY,)),
    # Not in tiny, up5k or lenet5_sigmoid: unit tests only (resnet8, the one export with the
    # residual units, takes minutes per run; no export uses threshold yet).
    "threshold": Plan(("tb/threshold",)),
    "axis_fork": Plan(("tb/axis_fork",)),
    "skip_fifo": Plan(("tb/skip_fifo",)),
    "add_unit": Plan(("tb/add_unit",)),
    "stride_sel": Plan(("tb/stride_sel",)),
    "window_gen_pix": Plan(("tb/window_gen_pix",)),  # no generator instantiates it yet
    "gap_unit": Plan(("tb/gap_unit",)),
    # Several pixels per beat: no export instantiates them yet.
    "pool2x2_pix": Plan(("tb/pool2x2_pix",)),
    "pix_repack": Plan(("tb/pix_repack",)),
    # Products in logic cells (`+dspN` foldings): its exhaustive test and the split conv_unit /
    # fc_unit tests; no committed export splits its products.
    "lut_mul": Plan(("tb/lut_mul", "tb/conv_unit", "tb/fc_unit")),
    # The DSP lanes of a DOT_PIPE = 3 dot product (tiny's conv2): its own test, the units', tiny.
    "dsp_mul": Plan(("tb/dsp_mul", "tb/conv_unit", "tb/fc_unit"), (TINY,)),
}


def runs_env(runs: tuple[Run, ...]) -> str:
    """MUTATE_ENGINES for verif/mutate/engine_check.py."""
    return json.dumps(
        [{"weights": str(ENGINE_EXPORTS[r.export]), "images": r.images, "protocol": r.protocol} for r in runs]
    )


# `make lint`'s extra parameter sets (the Makefile's lint target): paths the defaults miss.
_LOWBIT = [(1, 1), (1, 8), (8, 1), (2, 2), (4, 4), (2, 8)]  # (W_BITS, A_BITS), as the Makefile
LINT_EXTRA = {
    "conv_unit": [
        ["-GC_IN=4", "-GC_OUT=8", "-GTAPS=3", "-GSERIAL=1"],
        ["-GPIX=4", "-GC_IN=4", "-GC_OUT=8", "-GTAPS=3"],
        ["-GPIX=2", "-GW_BITS=1", "-GA_BITS=1", "-GC_IN=4", "-GC_OUT=8", "-GPE=2", "-GSIMD=2", "-GTAPS=3"],
        ["-GC_IN=4", "-GC_OUT=8", "-GPE=2", "-GSIMD=4", "-GDSP_MULS=11", "-GDOT_PIPE=3"],
        *[
            [f"-GW_BITS={w}", f"-GA_BITS={a}", "-GC_IN=4", "-GC_OUT=8", "-GPE=2", "-GSIMD=2", "-GTAPS=3"]
            for w, a in _LOWBIT
        ],
    ],
    "fc_serial": [["-GW_LOAD=1"]],
    "fc_unit": [
        ["-GW_BITS=1", "-GA_BITS=1", "-GC_IN=6", "-GPE=2", "-GSIMD=3", "-GSUM_W=4", "-GOUT_REG=0"],
        ["-GW_BITS=1", "-GA_BITS=8", "-GC_IN=8", "-GPE=4", "-GSUM_W=19"],
        ["-GPE=2", "-GSIMD=4", "-GC_IN=8", "-GDSP_MULS=5", "-GDOT_PIPE=3"],
        ["-GIN_BEATS=49", "-GC_IN=8", "-GC_OUT=32", "-GPE=2", "-GSIMD=8"],
        *[[f"-GW_BITS={w}", f"-GA_BITS={a}", "-GC_IN=6", "-GPE=2", "-GSIMD=3"] for w, a in _LOWBIT],
    ],
    "lane_dot": [
        ["-GN=9", "-GOUT_W=20", "-GPIPE=1"],
        ["-GN=9", "-GOUT_W=20", "-GPIPE=1", "-GDSP_LANES=4"],
        ["-GN=36", "-GOUT_W=22", "-GPIPE=3", "-GDSP_LANES=11"],
        ["-GW_BITS=1", "-GA_BITS=1", "-GN=64", "-GOUT_W=8", "-GPIPE=2"],
    ]
    + [[f"-GW_BITS={w}", f"-GA_BITS={a}", "-GN=7", "-GOUT_W=32"] for w, a in _LOWBIT],
    "requant": [["-GC=1", "-GBEATS=32"], ["-GPIX=8"]],
    "lut_mul": [["-GW_BITS=2", "-GA_BITS=8"], ["-GW_BITS=4", "-GA_BITS=4"]],
    "dsp_mul": [["-GW_BITS=2", "-GA_BITS=4"]],
    "frame_sanitizer": [["-GLANES=8", "-GDATA_W=64"]],
    "threshold": [p for a in (2, 4) for p in ([f"-GA_OUT={a}", "-GC=3"], [f"-GA_OUT={a}", "-GC=1", "-GBEATS=16"])]
    + [["-GIN_W=9", "-GC=8"], ["-GIN_W=6", "-GA_OUT=2", "-GC=2", "-GBEATS=3"]],
    "pool2x2": [["-GDW=1", "-GC=4"], ["-GDW=2", "-GMODE=1"]],
    "pool2x2_pix": [["-GPIX=8", "-GMODE=1", "-GC=4"], ["-GH=6", "-GW=10", "-GC=3", "-GDW=1", "-GPIX=4"]],
    "pix_repack": [["-GN_IN=4", "-GN_OUT=7"], ["-GN_IN=1", "-GN_OUT=4", "-GLANE_W=24"], ["-GIN_FIFO=8", "-GLANE_W=32"]],
    "window_gen": [["-GDW=1", "-GC=16"]],
    "window_gen_pix": [["-GPIX=8", "-GDW=1", "-GC=3"], ["-GK=5", "-GPAD=2", "-GPIX=7", "-GH=14", "-GW=14"]],
    "add_unit": [["-GPOW2=1", "-GMA=2", "-GMB=4", "-GR=3", "-GSIGNED_B=1"]],
    "skip_fifo": [["-GDEPTH=29", "-GSTALL_REPORT=100"]],
    "stride_sel": [["-GS=1", "-GH=7", "-GW=5"]],
    "axis_fork": [["-GN=3"]],
    "gap_unit": [["-GN=1", "-GM=1", "-GR=1"]],  # one beat per frame: the counter's width degenerates
}


# --- enumeration, sampling, sharding --------------------------------------------------------


def rtl_files(rtl: Path = REPO / "rtl") -> list[Path]:
    return sorted(rtl.glob("*.sv"))


def enumerate_all(rtl: Path = REPO / "rtl") -> tuple[list[Mutant], dict[str, dict[str, int]]]:
    """Every mutant of every rtl/*.sv file, in a fixed order; sites skipped per module and region."""
    out, skipped = [], {}
    for f in rtl_files(rtl):
        ms, sk = mutants(f.read_text(), f"rtl/{f.name}")
        out += ms
        skipped[f.stem] = sk
    return out, skipped


def sample(all_mutants: list[Mutant], n: int | None, seed: int) -> list[Mutant]:
    """`n` mutants spread over every module (equal shares, a module with fewer gives its rest to
    the others; the remainder goes to modules in a seeded order) and, within a module, over its
    operators (round robin over the operators in a seeded order, each operator's sites in a
    seeded order). Deterministic in (n, seed); n=None: all. Sorted by id."""
    by_mod: dict[str, list[Mutant]] = defaultdict(list)
    for m in all_mutants:
        by_mod[m.module].append(m)
    if n is None or n >= len(all_mutants):
        return sorted(all_mutants, key=lambda m: m.id)
    share = dict.fromkeys(by_mod, 0)
    mod_order = sorted(by_mod)
    random.Random(f"{seed}:modules").shuffle(mod_order)  # who gets the remainder of n / modules
    left = n
    while left > 0:  # equal shares, one at a time, skipping exhausted modules
        open_mods = [k for k in mod_order if share[k] < len(by_mod[k])]
        for k in open_mods[:left]:
            share[k] += 1
        left -= min(left, len(open_mods))
    picked = []
    for mod in sorted(by_mod):
        rng = random.Random(f"{seed}:{mod}")
        by_op: dict[str, list[Mutant]] = defaultdict(list)
        for m in sorted(by_mod[mod], key=lambda m: m.id):
            by_op[m.operator].append(m)
        ops = sorted(by_op)
        rng.shuffle(ops)
        for op in ops:
            rng.shuffle(by_op[op])
        order = []
        while any(by_op.values()):
            for op in ops:
                if by_op[op]:
                    order.append(by_op[op].pop())
        picked += order[: share[mod]]
    return sorted(picked, key=lambda m: m.id)


def parse_shard(text: str | None) -> tuple[int, int]:
    """`i/N` (1 <= i <= N) -> (i, N); empty -> (1, 1)."""
    if not text:
        return 1, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"SHARD={text!r}: expected i/N with 1 <= i <= N")
    return int(m.group(1)), int(m.group(2))


def shard(selected: list[Mutant], i: int, n: int) -> list[Mutant]:
    """Shard i of n: every n-th mutant of the id-sorted list (modules interleave, so each shard
    gets its share of every module); the shards partition the list."""
    ordered = sorted(selected, key=lambda m: m.id)
    return ordered[i - 1 :: n]


def shard_text(env) -> str | None:
    """The mutant shard: MUTATE_SHARD, which `python -m verif.mutate` moves SHARD to (SHARD itself
    would also split the tests of every mutant: the repository's conftest.py shards pytest runs)."""
    return env.get("MUTATE_SHARD") or env.get("SHARD")


def selection(env: dict | None = None) -> list[Mutant]:
    """The mutants MUTANTS / SEED / SHARD (environment) select; MUTANT_IDS=<id>,<id>... names
    mutants instead of sampling (to check the test that kills a former survivor)."""
    env = os.environ if env is None else env
    if env.get("MUTANT_IDS", "").strip():
        wanted = {w.strip() for w in env["MUTANT_IDS"].split(",") if w.strip()}
        picked = [m for m in enumerate_all()[0] if m.id in wanted]
        unknown = wanted - {m.id for m in picked}
        if unknown:
            raise ValueError(f"MUTANT_IDS: no such mutant {sorted(unknown)}")
        i, k = parse_shard(shard_text(env))
        return shard(picked, i, k)
    text = env.get("MUTANTS", "150").strip().lower()
    n = None if text in ("all", "0", "") else int(text)
    seed = int(env.get("SEED", "1"))
    i, k = parse_shard(shard_text(env))
    return shard(sample(enumerate_all()[0], n, seed), i, k)


# --- equivalent mutants ---------------------------------------------------------------------


def load_equivalent(path: Path = EQUIVALENT) -> dict[tuple, dict]:
    """Reviewed equivalent mutants, keyed by (file, line, operator, original, replacement)."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    out = {}
    for e in data.get("mutant", []):
        missing = {"file", "line", "operator", "original", "replacement", "reason"} - set(e)
        if missing:
            raise ValueError(f"{path}: entry {e} lacks {sorted(missing)}")
        if not e["reason"].strip():
            raise ValueError(f"{path}: entry {e} has an empty reason")
        out[equiv_key_of(e)] = e
    return out


def equiv_key_of(e: dict) -> tuple:
    return (e["file"], int(e["line"]), e["operator"], e["original"], e["replacement"])


def equiv_key(m: Mutant) -> tuple:
    return (m.file, m.line, m.operator, m.original, m.replacement)


# --- running one mutant ---------------------------------------------------------------------


def diff(m: Mutant, text: str) -> str:
    new = m.apply(text)
    return "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True), f"a/{m.file}", f"b/{m.file}", n=1))


def mutant_dir(m: Mutant) -> Path:
    return OUT / "mutants" / re.sub(r"[^\w.-]", "_", m.id)


def make_copy(m: Mutant, root: Path) -> Path:
    """root/rtl: rtl/ with the mutant's edit."""
    rtl = root / "rtl"
    if rtl.exists():
        shutil.rmtree(rtl)
    shutil.copytree(REPO / "rtl", rtl)
    f = rtl / Path(m.file).name
    f.write_text(m.apply(f.read_text()))
    return rtl


def lint_commands(module: str, rtl: Path) -> list[list[str]]:
    """The `make lint` commands that read the mutated file."""
    base = ["verilator", "--lint-only", "-Wall", f"-I{rtl}", "-y", str(rtl)]
    cmds = []
    if module != "cnn_engine":
        for extra in [[], *LINT_EXTRA.get(module, [])]:
            cmds.append([*base, "--top-module", module, str(rtl / f"{module}.sv"), *extra])
    if PLANS[module].runs:
        for net in ("tiny", "lenet5", "lenet5_sigmoid"):
            w = REPO / "weights" / net
            if (w / "cnn_layers.sv").exists():
                cmds.append(
                    [
                        *base,
                        "--top-module",
                        "cnn_engine",
                        str(w / "cnn_cfg_pkg.sv"),
                        str(w / "cnn_layers.sv"),
                        str(rtl / "cnn_engine.sv"),
                        f'-GWEIGHTS_DIR="{w}"',
                    ]
                )
    return cmds


def _env() -> dict:
    from tb.common.sim import setup_verilator_env

    setup_verilator_env()
    env = dict(os.environ)
    # A mutant's tests and the baseline run whole: SHARD would make conftest.py run a third of them.
    env.pop("SHARD", None)
    env.pop("MUTATE_SHARD", None)
    return env


def ensure_exports():
    """The up5k export of the committed tiny checkpoint (once; shared read-only by the mutants)."""
    if (UP5K / "manifest.json").exists():
        return
    from model.__main__ import main as model_main

    ckpt = REPO / "weights" / "tiny" / "checkpoint.pt"
    tmp = UP5K.with_name(UP5K.name + f".tmp{os.getpid()}")
    argv = ["weights", "--net", "tiny", "--fold", "up5k", "--from-checkpoint", str(ckpt), "--out", str(tmp)]
    assert model_main([*argv, "--quiet", "--scale", "pow2"]) == 0
    try:
        tmp.rename(UP5K)
    except OSError:  # another worker got there first
        shutil.rmtree(tmp, ignore_errors=True)


def test_command(m: Mutant) -> tuple[list[str], dict]:
    plan = PLANS[m.module]
    paths = list(plan.unit)
    env = {}
    if plan.runs:
        paths.append(str(HERE / "engine_check.py"))
        env = {"MUTATE_ENGINES": runs_env(plan.runs)}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", *paths]
    return cmd, env


def _failed_test(log: str) -> str:
    m = re.search(r"^FAILED (\S+)", log, re.M)
    return m.group(1) if m else ""


def source_sha(m: Mutant) -> str:
    """Digest of the unmutated source file: a stored result is reused (MUTATE_RESUME=1) only for
    the same text."""
    import hashlib

    return hashlib.sha1((REPO / m.file).read_bytes()).hexdigest()[:12]


def reusable_result(m: Mutant) -> dict | None:
    """MUTATE_RESUME=1: the stored result of a mutant that a test or lint killed (or that timed
    out) on the same source text, which a later run need not repeat (tests are only ever added).
    Survivors and errors always run again."""
    f = mutant_dir(m) / "result.json"
    if not f.exists():
        return None
    try:
        r = json.loads(f.read_text())
    except ValueError:
        return None
    same = r.get("original") == m.original and r.get("replacement") == m.replacement
    if same and r.get("source_sha") == source_sha(m) and r.get("status") in ("killed", "killed_by_lint", "timeout"):
        return r
    return None


def run_mutant(m: Mutant, timeout: float, keep: bool = False) -> dict:
    """Lint, then the module's tests, on the mutant; returns its result (also written as
    <mutant dir>/result.json)."""
    root = mutant_dir(m)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    text = (REPO / m.file).read_text()
    res = {"id": m.id, "module": m.module, "file": m.file, "line": m.line, "operator": m.operator}
    res.update({"original": m.original, "replacement": m.replacement, "diff": diff(m, text)})
    res["source_sha"] = source_sha(m)
    t0 = time.monotonic()
    rtl = make_copy(m, root)
    env = _env()
    lint_log = []
    for cmd in lint_commands(m.module, rtl):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
        lint_log.append(" ".join(cmd) + "\n" + p.stdout + p.stderr)
        if p.returncode != 0:
            res.update(status="killed_by_lint", killed_by=" ".join(cmd[-3:]))
            break
    (root / "lint.log").write_text("\n".join(lint_log))
    if "status" not in res:
        if any(r.export == "tiny_up5k" for r in PLANS[m.module].runs):
            ensure_exports()
        cmd, extra = test_command(m)
        env.update(extra, RTL_DIR=str(rtl), BUILD_DIR=str(root / "build"), PYTHONPATH=str(REPO))
        log = root / "tests.log"
        with log.open("w") as fh:
            # Own process group: on a timeout the simulator under pytest goes too (a mutant that
            # loops forever inside the model otherwise keeps a core busy after its pytest is gone).
            p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = None
        out = log.read_text()
        if rc is None:
            res.update(status="timeout", killed_by=f"timeout after {timeout:.0f} s")
        elif rc == 0:
            res.update(status="survived")
        elif rc == 1:  # pytest: some test failed (-x: the first one)
            res.update(status="killed", killed_by=_failed_test(out) or "a test failed")
        else:
            res.update(status="error", killed_by=f"pytest exit code {rc} (see {log})")
    res["seconds"] = round(time.monotonic() - t0, 1)
    if not keep:  # the build trees are large; the logs stay
        shutil.rmtree(root / "build", ignore_errors=True)
        shutil.rmtree(root / "rtl", ignore_errors=True)
    (root / "result.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


# --- report ---------------------------------------------------------------------------------


def _counts(results: list[dict]) -> dict:
    c = {"total": len(results), **dict.fromkeys(STATUSES, 0)}
    for r in results:
        c[r["status"]] += 1
    testable = c["total"] - c["equivalent"] - c["killed_by_lint"] - c["error"]
    c["kill_rate_tests"] = round((c["killed"] + c["timeout"]) / testable, 4) if testable else None
    secs = [r["seconds"] for r in results if "seconds" in r]
    c["seconds"] = round(sum(secs), 1)
    return c


def build_report(results: list[dict], selected: int, skipped: dict[str, dict[str, int]], meta: dict) -> dict:
    """report.json: totals and the same per module, the skipped sites per region, every result."""
    by_mod = defaultdict(list)
    for r in results:
        by_mod[r["module"]].append(r)
    return {
        **_counts(results),
        "selected": selected,
        "not_run": selected - len(results),
        "per_module": {k: _counts(by_mod[k]) for k in sorted(set(by_mod) | set(skipped))},
        "skipped_sites": {k: {r: v[r] for r in REGIONS[1:]} for k, v in sorted(skipped.items())},
        **meta,
        "mutants": sorted(results, key=lambda r: r["id"]),
    }


def format_report(rep: dict) -> str:
    lines = [
        f"mutants: {rep['total']} run of {rep['selected']} selected; killed by tests {rep['killed']}, "
        f"timeout {rep['timeout']}, killed by lint {rep['killed_by_lint']}, equivalent {rep['equivalent']}, "
        f"survived {rep['survived']}, error {rep['error']}",
    ]
    if rep["kill_rate_tests"] is not None:
        lines.append(f"kill rate of the tests (non-equivalent, lint kills apart): {100 * rep['kill_rate_tests']:.1f} %")
    lines.append(
        f"{'module':<18}{'total':>6}{'killed':>7}{'lint':>6}{'tmo':>5}{'equiv':>6}{'surv':>6}{'err':>5}{'rate':>8}"
    )
    for k, c in rep["per_module"].items():
        rate = f"{100 * c['kill_rate_tests']:.0f} %" if c["kill_rate_tests"] is not None else "-"
        lines.append(
            f"{k:<18}{c['total']:>6}{c['killed']:>7}{c['killed_by_lint']:>6}{c['timeout']:>5}"
            f"{c['equivalent']:>6}{c['survived']:>6}{c['error']:>5}{rate:>8}"
        )
    for r in rep["mutants"]:
        if r["status"] == "error":
            lines.append(f"ERROR {r['id']}: {r.get('killed_by', '')}")
    surv = [r for r in rep["mutants"] if r["status"] == "survived"]
    for r in surv:
        lines += ["", f"SURVIVED {r['id']}  {r['file']}:{r['line']}  ({r['operator']})", r["diff"].rstrip()]
    return "\n".join(lines)


def collect_results(selected: list[Mutant], equivalent: dict | None = None) -> list[dict]:
    """The results of the selected mutants that ran; a survivor reviewed since (now in
    equivalent.toml) is reported as equivalent."""
    equivalent = load_equivalent() if equivalent is None else equivalent
    out = []
    for m in selected:
        f = mutant_dir(m) / "result.json"
        if f.exists():
            r = json.loads(f.read_text())
            if r.get("original") == m.original and r.get("replacement") == m.replacement:
                eq = equivalent.get(equiv_key(m))
                if eq and r["status"] == "survived":
                    r.update(status="equivalent", reason=eq["reason"])
                out.append(r)
    return out


# --- baseline: the engine checks pass on the real RTL ---------------------------------------


def _baseline_stamp(run: Run) -> str:
    import hashlib

    h = hashlib.sha1(repr(run).encode())
    rtl = sorted(f for f in (REPO / "rtl").rglob("*") if f.is_file())  # rtl/ecp5/: technology versions
    for f in [*rtl, *sorted((REPO / "tb").rglob("*.py")), HERE / "engine_check.py"]:
        h.update(f.read_bytes())
    h.update((ENGINE_EXPORTS[run.export] / "manifest.json").read_bytes())
    return h.hexdigest()[:12]


def baseline(selected: list[Mutant], jobs: int = 2) -> list[str]:
    """Runs each engine check the selection uses on the real RTL (once per RTL/test version):
    a check that fails without a mutation would count every mutant as killed. Returns failures."""
    from concurrent.futures import ThreadPoolExecutor

    runs = sorted({r for m in selected for r in PLANS[m.module].runs}, key=repr)
    if any(r.export == "tiny_up5k" for r in runs):
        ensure_exports()

    def one(run: Run) -> str | None:
        stamp = OUT / "baseline" / f"{run.export}_{_baseline_stamp(run)}.ok"
        if stamp.exists():
            return None
        env = _env()
        env.update(MUTATE_ENGINES=runs_env((run,)), BUILD_DIR=str(OUT / "baseline" / "build"), PYTHONPATH=str(REPO))
        env.pop("RTL_DIR", None)
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:xdist", str(HERE / "engine_check.py")]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        if p.returncode != 0:
            return f"baseline {run}: the engine check fails on the real RTL\n{p.stdout[-3000:]}"
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("ok\n")
        return None

    with ThreadPoolExecutor(max(1, jobs)) as ex:
        return [r for r in ex.map(one, runs) if r]
