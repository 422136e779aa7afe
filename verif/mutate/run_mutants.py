"""pytest entry of `make mutate`: one test per selected mutant (MUTANTS, SEED, SHARD), run side by
side as pytest-xdist workers, each mutant with its own copy of rtl/ and build tree. A test fails
when its mutant survives and is not a reviewed equivalent. Not a test_*.py file: the regression
(`make test`) does not collect it; `python -m verif.mutate` runs it and writes the report."""

from __future__ import annotations

import json
import os

import pytest

from verif.mutate.runner import equiv_key, load_equivalent, mutant_dir, reusable_result, run_mutant, selection

SELECTED = selection()
EQUIV = load_equivalent()
TIMEOUT = float(os.environ.get("MUTATE_TIMEOUT", "3600"))
RECHECK = os.environ.get("MUTATE_RECHECK_EQUIVALENT", "0") == "1"
RESUME = os.environ.get("MUTATE_RESUME", "0") == "1"


@pytest.mark.parametrize("m", SELECTED, ids=[m.id for m in SELECTED])
def test_mutant(m):
    eq = EQUIV.get(equiv_key(m))
    if eq and not RECHECK:
        d = mutant_dir(m)
        d.mkdir(parents=True, exist_ok=True)
        res = {"id": m.id, "module": m.module, "file": m.file, "line": m.line, "operator": m.operator}
        res.update(original=m.original, replacement=m.replacement, status="equivalent", reason=eq["reason"])
        res.update(seconds=0.0, diff="")
        (d / "result.json").write_text(json.dumps(res, indent=2) + "\n")
        return
    if RESUME and not eq and reusable_result(m):
        return  # killed before, on the same source text
    res = run_mutant(m, TIMEOUT, keep=os.environ.get("MUTATE_KEEP", "0") == "1")
    if eq and res["status"] != "survived":
        pytest.fail(f"{m.id} is listed as equivalent in equivalent.toml but was {res['status']}: remove the entry")
    if eq:
        res["status"], res["reason"] = "equivalent", eq["reason"]
        (mutant_dir(m) / "result.json").write_text(json.dumps(res, indent=2) + "\n")
        return
    assert res["status"] != "survived", f"mutant survived {m.file}:{m.line} ({m.operator})\n{res['diff']}"
