"""Mutation operators on SystemVerilog source text: every site where one operator applies, as a
Mutant (one edit of the file), with a stable id built from the site, not from a list index.

The scanner is lexical, not a parser: it blanks comments and strings (same offsets), tracks the
bracket depth (a non-blocking `<=` is at depth 0, a relational one inside parentheses) and tags
every character with a region. Only `code` is mutated; the other regions are counted apart:
  fatal   elaboration-time parameter checks (`if (...) begin : g_x $fatal(...) end`): a mutant
          there changes which parameter sets are refused, not what a legal design does
  param   module parameter defaults (every instantiation and test overrides them)
  decl    bit ranges of declarations (a changed width is a lint error, not a behaviour)
  synth   `ifndef SYNTHESIS ... `else <synthesis-only> `endif: never simulated
  directive  compiler directives (`include, `ifndef, ...)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

REGIONS = ("code", "fatal", "param", "decl", "synth", "directive")

OPERATORS = {
    "rel": "relational operator swapped (< <=, > >=, == !=)",
    "arith": "binary + and - swapped",
    "literal": "integer literal off by one (+1 / -1), fill literal '0 <-> '1",
    "logic": "&& <-> ||, binary & <-> |",
    "negate": "if condition negated",
    "drop_term": "one operand dropped from an && chain",
    "stuck": "assignment right-hand side stuck at '0 / '1",
    "shift": "shift amount off by one",
}


@dataclass(frozen=True)
class Mutant:
    file: str  # path relative to the repository, e.g. rtl/window_gen.sv
    line: int  # 1-based line of the edit's first character
    col: int  # 1-based column
    operator: str
    original: str
    replacement: str
    start: int  # character offsets of the replaced text in the file
    end: int

    @property
    def module(self) -> str:
        return self.file.rsplit("/", 1)[-1].removesuffix(".sv")

    @property
    def id(self) -> str:
        """`<module>:<line>:<operator>:<hash of column, original and replacement>`: stable as long
        as the line does not move, readable in a report, and unique within the file."""
        h = hashlib.sha1(f"{self.col}|{self.original}|{self.replacement}".encode()).hexdigest()[:6]
        return f"{self.module}:{self.line}:{self.operator}:{h}"

    def apply(self, text: str) -> str:
        assert text[self.start : self.end] == self.original, f"{self.id}: source changed"
        return text[: self.start] + self.replacement + text[self.end :]


# --- lexical pass -------------------------------------------------------------------------


def blank_comments(text: str) -> str:
    """Comments and string literals replaced by spaces (newlines kept): offsets unchanged."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(n, j + 1)
        else:
            i += 1
            continue
        for k in range(i, j):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def _match_paren(code: str, i: int) -> int:
    """Index just past the bracket closing the one at code[i]."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] in "([{":
            depth += 1
        elif code[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(code)


def _block_end(code: str, i: int) -> int:
    """Index just past the `end` matching the `begin` at code[i]."""
    depth = 0
    for m in re.finditer(r"\b(begin|end)\b", code[i:]):
        depth += 1 if m.group(1) == "begin" else -1
        if depth == 0:
            return i + m.end()
    return len(code)


def regions(code: str) -> list[str]:
    """The region of every character of `code` (comments already blanked)."""
    reg = ["code"] * len(code)

    def tag(a: int, b: int, name: str):
        for k in range(a, b):
            if reg[k] == "code":
                reg[k] = name

    # elaboration-time checks: an if whose begin/end block calls $fatal
    for m in re.finditer(r"\bif\s*\(", code):
        close = _match_paren(code, m.end() - 1)
        b = re.match(r"\s*begin\b", code[close:])
        if not b:
            continue
        end = _block_end(code, close + b.start() + len(b.group(0)) - 5)
        if "$fatal" in code[close:end]:
            tag(m.start(), end, "fatal")
    # synthesis-only branches
    for m in re.finditer(r"`ifndef\s+SYNTHESIS\b(.*?)`else\b(.*?)`endif", code, re.S):
        tag(m.start(2), m.end(2), "synth")
    for m in re.finditer(r"`\w+[^\n]*", code):
        tag(m.start(), m.end(), "directive")
    # module parameter defaults: `parameter` up to the next , or ) at its own depth
    for m in re.finditer(r"\bparameter\b", code):
        j, depth = m.end(), 0
        while j < len(code):
            c = code[j]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif c in ",;" and depth == 0:
                break
            j += 1
        tag(m.start(), j, "param")
    # bit ranges of declarations (ports, logic/wire/reg variables)
    for m in re.finditer(r"^\s*(input|output|inout|logic|wire|reg|bit)\b[^;\n]*", code, re.M):
        for b in re.finditer(r"\[", m.group(0)):
            a = m.start() + b.start()
            tag(a, _match_paren(code, a), "decl")
    return reg


def depths(code: str) -> list[int]:
    """Bracket depth ((), [], {}) before every character."""
    out, d = [], 0
    for c in code:
        out.append(d)
        if c in "([{":
            d += 1
        elif c in ")]}":
            d = max(0, d - 1)
    return out


# --- operators ----------------------------------------------------------------------------

_IDENT_END = re.compile(r"[\w)\]'$]")


def _prev_sig(code: str, i: int) -> str:
    j = i - 1
    while j >= 0 and code[j] in " \t\n":
        j -= 1
    return code[j] if j >= 0 else ""


def _binary(code: str, i: int) -> bool:
    """The operator at i has a left operand (not unary)."""
    return bool(_IDENT_END.match(_prev_sig(code, i)))


_OP_TOKEN = re.compile(r"<<<|>>>|<<|>>|<=|>=|==|!=|===|!==|&&|\|\||->|=>|\+:|-:|\+\+|--|\+=|-=|[<>=&|+\-]")


class _Sites:
    """Collects (start, end, operator, replacement) edits."""

    def __init__(self):
        self.edits: list[tuple[int, int, str, str]] = []

    def add(self, a: int, b: int, op: str, rep: str):
        self.edits.append((a, b, op, rep))


def _operand_end(code: str, i: int) -> int:
    """End of the operand starting at i: the next &&, ||, ?, :, ;, `,`, begin at its own bracket
    depth, or the bracket that closes that depth."""
    r, j = 0, i
    while j < len(code):
        c = code[j]
        if c in "([{":
            r += 1
        elif c in ")]}":
            if r == 0:
                break
            r -= 1
        elif r == 0 and (code.startswith(("&&", "||"), j) or c in "?:;,"):
            break
        elif r == 0 and re.match(r"\b(begin|end)\b", code[j:]) and not (code[j - 1].isalnum() or code[j - 1] == "_"):
            break
        j += 1
    while j > i and code[j - 1] in " \t\n":
        j -= 1
    return j


def _operand_start(code: str, i: int, nba: bool) -> int:
    """Start of the operand ending just before i (the left side of an && at i); `nba`: a `<=` at
    this depth is a non-blocking assignment, a boundary."""
    r, j = 0, i - 1
    while j >= 0:
        c = code[j]
        if c in ")]}":
            r += 1
        elif c in "([{":
            if r == 0:
                break
            r -= 1
        elif r == 0:
            if code.startswith("||", j - 1) or code.startswith("&&", j - 1) or c in "?:;,":
                break
            if c == "=" and code[j - 1] not in "=!<>" and code[j + 1] != "=":
                break
            if c == "=" and code[j - 1] == "<" and nba:
                break
            w = re.match(r"(begin|end|else|assign|return)\b", code[j:])
            if w and not code[j - 1].isalnum() and code[j - 1] != "_":
                j += len(w.group(0)) - 1
                break
        j -= 1
    j += 1
    while j < i and code[j] in " \t\n":
        j += 1
    return j


def _rhs_end(code: str, dep: list[int], i: int) -> int:
    d = dep[i]
    j = i
    while j < len(code) and not (code[j] == ";" and dep[j] == d):
        j += 1
    return j


_LITERAL = re.compile(r"(?<![\w'$.])(?:(\d+)?'([sS]?)([dDhHbB])([0-9a-fA-F_]+)|'([01])(?![\w'])|(\d+)(?![\w.']))")
_BASES = {"d": 10, "h": 16, "b": 2}


def _literal_edits(code: str, sites: _Sites):
    for m in _LITERAL.finditer(code):
        size, sgn, base, digits, fill, plain = m.groups()
        if fill is not None:
            sites.add(m.start(), m.end(), "literal", "'1" if fill == "0" else "'0")
            continue
        if plain is not None:
            v = int(plain)
            for nv in (v + 1, v - 1):
                if nv >= 0:
                    sites.add(m.start(), m.end(), "literal", str(nv))
            continue
        if "_" in digits:
            continue
        b = _BASES[base.lower()]
        v = int(digits, b)
        for nv in (v + 1, v - 1):
            if nv < 0 or (size and nv >= 1 << int(size)):
                continue
            text = format(nv, {10: "d", 16: "x", 2: "b"}[b])
            sites.add(m.start(), m.end(), "literal", f"{size or ''}'{sgn}{base}{text}")


def _token_edits(code: str, dep: list[int], sites: _Sites):
    for m in _OP_TOKEN.finditer(code):
        t, a, b = m.group(0), m.start(), m.end()
        if t in ("==", "!="):
            sites.add(a, b, "rel", "!=" if t == "==" else "==")
        elif t == "<=" and dep[a] > 0:
            sites.add(a, b, "rel", "<")
        elif t == ">=":
            sites.add(a, b, "rel", ">")
        elif t == "<" and _binary(code, a):
            sites.add(a, b, "rel", "<=")
        elif t == ">" and _binary(code, a):
            sites.add(a, b, "rel", ">=")
        elif t == "&&":
            sites.add(a, b, "logic", "||")
            e = _operand_end(code, b)
            sites.add(a - (len(code[:a]) - len(code[:a].rstrip())), e, "drop_term", "")
            s = _operand_start(code, a, dep[a] == 0)
            # the chain's first operand: nothing but a boundary before it
            if not code[:s].rstrip().endswith("&&"):
                nxt = b + (len(code[b:]) - len(code[b:].lstrip()))
                sites.add(s, nxt, "drop_term", "")
        elif t == "||":
            sites.add(a, b, "logic", "&&")
        elif t in ("&", "|") and _binary(code, a) and code[b : b + 1] != "=":
            sites.add(a, b, "logic", "|" if t == "&" else "&")
        elif t in ("+", "-") and _binary(code, a):
            sites.add(a, b, "arith", "-" if t == "+" else "+")
        elif t in ("<<", ">>", "<<<", ">>>"):
            rest = code[b:]
            lead = len(rest) - len(rest.lstrip())
            s = b + lead
            if code[s : s + 1] == "(":
                e = _match_paren(code, s)
            else:
                mm = re.match(r"[A-Za-z_]\w*(?:\s*\[[^\]]*\])?", code[s:])
                if not mm:
                    continue  # a literal amount: the literal operator covers it
                e = s + mm.end()
            operand = code[s:e]
            sites.add(s, e, "shift", f"({operand} + 1)")
            sites.add(s, e, "shift", f"({operand} - 1)")


def _negate_edits(code: str, sites: _Sites):
    for m in re.finditer(r"\bif\s*\(", code):
        o = m.end() - 1
        c = _match_paren(code, o)
        inner = code[o + 1 : c - 1]
        sites.add(o, c, "negate", f"(!({inner.strip()}))")


_ASSIGN = re.compile(r"(?:\bassign\s+[^;=]*?(?<![=!<>])=(?!=)|(?<=[\w\]\s])<=|(?<=[\w\]])\s*(?<![=!<>])=(?![=]))")
_DECL_LINE = re.compile(r"^\s*(localparam|parameter|genvar|for|int|integer)\b")


def _stuck_edits(code: str, dep: list[int], sites: _Sites):
    for m in _ASSIGN.finditer(code):
        a = m.end() - 1
        if dep[a] != 0:
            continue  # `for (i = 0; ...)`, named port connections
        line_start = code.rfind("\n", 0, a) + 1
        if _DECL_LINE.match(code[line_start:a]):
            continue
        s = m.end() + (len(code[m.end() :]) - len(code[m.end() :].lstrip()))
        e = _rhs_end(code, dep, s)
        rhs = code[s:e].rstrip()
        e = s + len(rhs)
        if not rhs:
            continue
        for v in ("'0", "'1"):
            if rhs != v and not (v == "'0" and re.fullmatch(r"(\d*'[bdh])?0+", rhs)):
                sites.add(s, e, "stuck", v)


def mutants(text: str, file: str) -> tuple[list[Mutant], dict[str, int]]:
    """Every mutant of `text` in region `code`, and the count of sites skipped per other region."""
    code = blank_comments(text)
    reg = regions(code)
    dep = depths(code)
    sites = _Sites()
    _literal_edits(code, sites)
    _token_edits(code, dep, sites)
    _negate_edits(code, sites)
    _stuck_edits(code, dep, sites)
    out: dict[tuple[int, int, str], Mutant] = {}
    skipped = dict.fromkeys(REGIONS[1:], 0)
    seen_text = set()
    for a, b, op, rep in sorted(sites.edits, key=lambda e: (e[0], e[1], e[2], e[3])):
        if b <= a and not rep:
            continue
        r = reg[a] if a < len(reg) else "code"
        if r != "code":
            skipped[r] += 1
            continue
        orig = text[a:b]
        if orig == rep:
            continue
        new = text[:a] + rep + text[b:]
        if new in seen_text:
            continue  # two operators that make the same edit
        seen_text.add(new)
        line = text.count("\n", 0, a) + 1
        col = a - (text.rfind("\n", 0, a) + 1) + 1
        out[(a, b, rep)] = Mutant(file, line, col, op, orig, rep, a, b)
    return list(out.values()), skipped
