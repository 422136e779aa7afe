"""Which SystemVerilog files a top module needs.

Convention (docs/architecture.md): every rtl/*.sv file holds one module named like the file;
packages live in files named <name>_pkg.sv; `include files are *.svh in rtl/. The generated
network adds weights/<net>/cnn_cfg_pkg.sv (package) and weights/<net>/cnn_layers.sv (module).

Dependencies are found by scanning each file (comments stripped) for identifiers that name
another module or package of the pool, transitively. Reading only what a top needs keeps one
broken file from failing every other module's check.
"""

from __future__ import annotations

import re
from pathlib import Path

from syn.yosys import ROOT

RTL = ROOT / "rtl"
WEIGHTS = ROOT / "weights"

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_$]*\b")


def rtl_tops(rtl: Path = RTL) -> list[str]:
    """Every rtl/*.sv module (one per file, named like the file), packages excluded."""
    return sorted(p.stem for p in rtl.glob("*.sv") if not p.stem.endswith("_pkg"))


def net_files(weights_dir: Path | None) -> list[Path]:
    """The generated package + layer netlist of a network, when they exist."""
    if weights_dir is None:
        return []
    return [p for p in (weights_dir / "cnn_cfg_pkg.sv", weights_dir / "cnn_layers.sv") if p.exists()]


def pool(weights_dir: Path | None = None, rtl: Path = RTL) -> dict[str, Path]:
    """name -> file for every module/package that may be read."""
    files = {p.stem: p for p in sorted(rtl.glob("*.sv"))}
    for p in net_files(weights_dir):
        files[p.stem] = p
    return files


def _idents(path: Path) -> set[str]:
    text = _STRING.sub('""', _COMMENT.sub(" ", path.read_text(errors="replace")))
    return set(_IDENT.findall(text))


def files_for(top: str, weights_dir: Path | None = None, rtl: Path = RTL) -> list[Path]:
    """The files top needs: packages first, then modules (top last). Raises if top is unknown."""
    files = pool(weights_dir, rtl)
    if top not in files:
        raise FileNotFoundError(f"no source file for module {top!r} (looked in {rtl} and {weights_dir})")
    seen: dict[str, Path] = {}
    todo = [top]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = files[name]
        todo.extend(sorted((_idents(files[name]) & files.keys()) - seen.keys()))
    pkgs = sorted((p for n, p in seen.items() if n.endswith("_pkg")), key=lambda p: p.name)
    mods = sorted((p for n, p in seen.items() if not n.endswith("_pkg") and n != top), key=lambda p: p.name)
    return pkgs + mods + [files[top]]


# Yosys script line that declares the ECP5 primitives (MULT18X18D, ...) that rtl/ecp5/ files
# instantiate, before they are read; synth_ecp5 reads the same library again.
ECP5_CELLS = "read_verilog -lib +/lattice/cells_bb_ecp5.v\n"


def for_target(files: list[Path], target: str, rtl: Path = RTL) -> list[Path]:
    """files with each rtl/<name>.sv that has a technology version rtl/<target>/<name>.sv
    replaced by it (same module, same ports and cycles: e.g. rtl/ecp5/dsp_mul.sv puts the
    registers inside the ECP5's MULT18X18D, which Yosys's synth_ecp5 does not)."""
    return [(rtl / target / f.name) if f.parent == rtl and (rtl / target / f.name).exists() else f for f in files]


def needs_net(top: str, rtl: Path = RTL) -> bool:
    """True when top (transitively) uses the generated network (cnn_cfg_pkg / cnn_layers)."""
    files = pool(None, rtl)
    seen, todo = set(), [top]
    while todo:
        name = todo.pop()
        if name in seen or name not in files:
            continue
        seen.add(name)
        ids = _idents(files[name])
        if ids & {"cnn_cfg_pkg", "cnn_layers"}:
            return True
        todo.extend(ids & files.keys())
    return False


# ---------------------------------------------------------------- Yosys front-end workarounds
COMPAT_DIR = ROOT / "build" / "syn" / "compat"
_BODY_IMPORT = re.compile(r"^([ \t]*)import\s+(\w+)::\*\s*;[ \t]*$", re.M)
_MODULE = re.compile(r"^([ \t]*)module\b", re.M)


def yosys_compat(files: list[Path]) -> list[Path]:
    """Files as Yosys can read them.

    Yosys 0.70's read_verilog -sv rejects a wildcard package import inside a module body
    (`module m (...); import pkg::*;` -> "syntax error, unexpected TOK_IMPORT"), and in the
    module header as well; it accepts one at file scope. The generated weights/<net>/cnn_layers.sv
    (model/emit_rtl.py) imports cnn_cfg_pkg in its body, which Verilator accepts. For such a file a
    copy is written under build/syn/compat/<content hash>/ with the import moved to file scope
    on the `module` line and the body line blanked, so line numbers in Yosys messages still
    match the original. Other files are returned unchanged.
    """
    import hashlib
    import os

    out = []
    for f in files:
        text = f.read_text(errors="replace")
        imports = _BODY_IMPORT.findall(_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text))
        mod = _MODULE.search(text)
        if not imports or not mod or text.count("\nmodule") + text.startswith("module") > 1:
            out.append(f)
            continue
        new = _BODY_IMPORT.sub(lambda m: m.group(1) + f"// (import {m.group(2)}::* moved to file scope by syn/)", text)
        hoisted = " ".join(f"import {pkg}::*;" for _, pkg in imports)
        i = _MODULE.search(new).start()
        new = new[:i] + hoisted + " " + new[i:]
        digest = hashlib.sha1(new.encode()).hexdigest()[:12]
        dst = COMPAT_DIR / digest / f.name
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(new)
            os.replace(tmp, dst)
        out.append(dst)
    return out
