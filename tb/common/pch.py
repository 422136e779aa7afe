"""A precompiled header of Verilator's runtime headers, shared by every small test build.

    python tb/common/pch.py <build_dir>      (run by tb/common/sim.py between Verilator and make)

A unit test's model is small: compiling it is mostly parsing verilated.h and its C++20 standard
headers again (1.6 s of a 1.7 s compile, measured on axis_skid), and `make test` compiles more
than 200 such models from scratch on a fresh clone. Verilator precompiles headers only for
models large enough to be split into several files (VM_PARALLEL_BUILDS); a small model is one
file, Vtop__ALL.cpp, compiled without one.

This step writes `<build_dir>/pch.mk`, which the runner's make reads after Vtop.mk: for a
one-file model it makes Vtop__ALL.o `-include` a header whose .gch is built once per set of
compiler flags, in build/pch/<digest of the flags>/ (under a lock: pytest-xdist workers build
side by side). The flags are read from make's own dry run of the Vtop__ALL.o rule, so a
coverage or waveform build gets a header of its own. GCC checks that a .gch matches the
compilation and otherwise reads the header as text, and the headers have include guards: a
stale or unusable .gch costs time, never correctness. Any failure here leaves pch.mk empty
(the build goes on without it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Shared by every build tree (mutants' too, build/mutate/...): the header holds no RTL.
PCH_ROOT = REPO / "build" / "pch"
HEADERS = ("verilated.h", "verilated_dpi.h")
OBJ = "Vtop__ALL.o"


def _compile_flags(build_dir: Path) -> list[str] | None:
    """The compiler and flags make would use for Vtop__ALL.o, or None for a model built in
    several files (which has Verilator's own precompiled header)."""
    classes = (build_dir / "Vtop_classes.mk").read_text()
    if "VM_PARALLEL_BUILDS = 1" in classes:
        return None
    dry = subprocess.run(
        ["make", "-n", "-B", "-C", str(build_dir), "-f", "Vtop.mk", OBJ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in dry.splitlines() if f"-o {OBJ}" in x)
    words = shlex.split(line)
    # `[ccache] c++ <flags> -c -o Vtop__ALL.o Vtop__ALL.cpp`: keep the compiler and its flags
    if "ccache" in Path(words[0]).name:
        words = words[1:]
    flags = words[: words.index("-c")]
    return [w for w in flags if w not in ("-MMD", "-MP")]


def _build(cmd: list[str], target: Path) -> None:
    """The .gch for `cmd`, once: the first worker builds it, the others wait on the lock."""
    target.parent.mkdir(parents=True, exist_ok=True)
    gch = target.with_name(target.name + ".gch")
    with open(target.parent / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if gch.exists():
            return
        target.write_text("".join(f'#include "{h}"\n' for h in HEADERS))
        tmp = gch.with_suffix(f".tmp{os.getpid()}")
        subprocess.run([*cmd, "-x", "c++-header", str(target), "-o", str(tmp)], check=True, cwd=target.parent)
        tmp.replace(gch)


def write_pch_mk(build_dir: Path) -> str:
    """Write build_dir/pch.mk; return what it says (for the log)."""
    mk = build_dir / "pch.mk"
    text = "# no shared precompiled header (see tb/common/pch.py)\n"
    try:
        cmd = None if os.environ.get("SIM_PCH", "1") == "0" else _compile_flags(build_dir)  # SIM_PCH=0: off
        if cmd is not None:
            digest = hashlib.sha1(" ".join(cmd).encode()).hexdigest()[:12]
            header = PCH_ROOT / digest / "vl_runtime.h"
            _build(cmd, header)
            text = f"# Verilator's runtime headers, precompiled once\n{OBJ}: OPT_FAST += -include {header}\n"
    except (OSError, subprocess.CalledProcessError, StopIteration, ValueError) as err:
        print(f"tb/common/pch.py: no shared precompiled header ({err})", file=sys.stderr)
    mk.write_text(text)
    return text


if __name__ == "__main__":
    write_pch_mk(Path(sys.argv[1]))
