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

A model split into several files (the engines, the largest unit models) has Verilator's own
precompiled headers, Vtop__pch.h.fast.gch and .slow.gch: verilated.h, verilated_dpi.h and the
model's few headers, built for every model again, 7 of the 15 s of CPU that the tiny engine's
C++ takes. Here each file includes the shared runtime header instead (one per flag set: the
fast and the slow files' flags differ) and reads the model's headers as text; the two model
.gch files are never used, and this step writes them as empty placeholders so that make does
not build them.
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
# cocotb's main() (share/lib/verilator/verilator.cpp) includes the model's Vtop.h, so every build
# compiles it again, and without a precompiled header: 1.5 s of CPU, 0.5 s with one (measured).
MAIN_OBJ = "verilator.o"
# Two fixed costs of every small build (0.3 of its ~1.8 s of make, measured on requant):
# - Vtop__ALL.cpp, a list of #include lines, is written by a Python script (interpreter
#   start-up, 0.2 s); tb/common/vl_includer.sh writes the same bytes.
# - ccache on the one-file model: a miss (always, on a fresh clone: every parameter set is a
#   new model) preprocesses it once more to hash it, 0.15 s. The runtime objects, the same in
#   every build, keep ccache; so do the split files of the engine models (variants of one
#   network share most of them).
MAKE_TWEAKS = f"""VERILATOR_INCLUDER = sh {Path(__file__).with_name("vl_includer.sh")}
{OBJ}: override OBJCACHE =
"""


def _compile_flags(build_dir: Path, obj: str) -> list[str]:
    """The compiler and flags make would use for `obj` (its own -include options left out)."""
    dry = subprocess.run(
        ["make", "-n", "-B", "-C", str(build_dir), "-f", "Vtop.mk", obj],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    src = obj.removesuffix(".o") + ".cpp"
    words = shlex.split(next(x for x in dry.splitlines() if " -c " in x and Path(x.split()[-1]).name == src))
    # `[ccache] c++ <flags> [-include <pch>] -c [-o <obj>] <src>`: keep the compiler and its flags
    if "ccache" in Path(words[0]).name:
        words = words[1:]
    flags, skip = [], False
    for w in words[: words.index("-c")]:
        if w == "-include":
            skip = True
        elif skip:
            skip = False
        elif w not in ("-MMD", "-MP"):
            flags.append(w)
    return flags


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


def _shared_header(cmd: list[str]) -> Path:
    """The runtime header precompiled for the compilation `cmd`, built once."""
    digest = hashlib.sha1(" ".join(cmd).encode()).hexdigest()[:12]
    header = PCH_ROOT / digest / "vl_runtime.h"
    _build(cmd, header)
    return header


def _main_pch(build_dir: Path) -> str:
    """The same for cocotb's main(), with a header built for its own flags: they list the
    optimisation levels in another order than the model's files, and GCC uses a .gch only
    for the optimisation level it was built with."""
    return f"{MAIN_OBJ}: OPT_FAST += -include {_shared_header(_compile_flags(build_dir, MAIN_OBJ))}\n"


def write_pch_mk(build_dir: Path) -> str:
    """Write build_dir/pch.mk; return what it says (for the log)."""
    mk = build_dir / "pch.mk"
    text = "# no shared precompiled header (see tb/common/pch.py)\n"
    try:
        if os.environ.get("SIM_PCH", "1") == "0":  # SIM_PCH=0: off
            pass
        elif "VM_PARALLEL_BUILDS = 1" not in (build_dir / "Vtop_classes.mk").read_text():
            header = _shared_header(_compile_flags(build_dir, OBJ))
            text = f"# Verilator's runtime headers, precompiled once\n{OBJ}: OPT_FAST += -include {header}\n"
            text += _main_pch(build_dir)
        else:
            fast = _shared_header(_compile_flags(build_dir, "Vtop.o"))
            slow = _shared_header(_compile_flags(build_dir, "Vtop__Syms__Slow.o"))
            for kind in ("fast", "slow"):  # up to date for make, never read by the compiler
                (build_dir / f"Vtop__pch.h.{kind}.gch").write_text("")
            text = (
                "# Verilator's runtime headers, precompiled once, in place of the model's own\n"
                f"VK_PCH_I_FAST = -include {fast}\nVK_PCH_I_SLOW = -include {slow}\n"
            )
            text += _main_pch(build_dir)
    except (OSError, subprocess.CalledProcessError, StopIteration, ValueError) as err:
        print(f"tb/common/pch.py: no shared precompiled header ({err})", file=sys.stderr)
    mk.write_text(text + MAKE_TWEAKS)
    return text


if __name__ == "__main__":
    write_pch_mk(Path(sys.argv[1]))
