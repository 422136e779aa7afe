"""make mutate: python -m verif.mutate [run|list|report]

  run     run the selected mutants (pytest-xdist, JOBS workers), then write the report
  list    print the selected mutants (id, file:line, edit) and the skipped sites per region
  report  write build/mutate/report.json from the results of the selected mutants that ran

Selection from the environment: MUTANTS=<n>|all (default 150), SEED=<s> (default 1),
SHARD=i/N (default 1/1); JOBS=<workers> (default 2), MUTATE_TIMEOUT=<s per mutant> (3600: a
survivor runs every test of its module, tens of minutes on a busy 2-core machine, and a timeout
counts as killed),
MUTATE_RECHECK_EQUIVALENT=1 runs the listed equivalent mutants too, MUTATE_KEEP=1 keeps each
mutant's rtl/ copy and build tree, MUTATE_BASELINE=0 skips the check that the engine runs pass
on the real RTL (done once per RTL and test version), MUTANT_IDS=<id>,... runs named mutants,
MUTATE_RESUME=1 skips the mutants whose stored result is a kill on the same source text (an
interrupted run, or shard by shard; survivors run again).
"""

from __future__ import annotations

import json
import os
import sys
import time

from verif.mutate.runner import (
    HERE,
    OUT,
    REPO,
    baseline,
    build_report,
    collect_results,
    enumerate_all,
    format_report,
    parse_shard,
    selection,
    shard_text,
)


def report(started: float | None = None) -> int:
    selected = selection()
    results = collect_results(selected)
    _, skipped = enumerate_all()
    meta = {
        "seed": int(os.environ.get("SEED", "1")),
        "mutants_requested": os.environ.get("MUTANTS", "150"),
        "shard": "{}/{}".format(*parse_shard(shard_text(os.environ))),
    }
    if started is not None:
        meta["wall_seconds"] = round(time.time() - started, 1)
    rep = build_report(results, len(selected), skipped, meta)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    print(format_report(rep))
    print(f"\nreport: {(OUT / 'report.json').relative_to(REPO)}")
    return 1 if rep["survived"] or rep["not_run"] or rep["error"] else 0


def main(argv: list[str]) -> int:
    # SHARD selects mutants; left in the environment it would also make the repository's
    # conftest.py (make test SHARD=i/N) deselect two thirds of run_mutants.py's items and of every
    # mutant's tests. The selection reads MUTATE_SHARD instead.
    if "SHARD" in os.environ:
        os.environ["MUTATE_SHARD"] = os.environ.pop("SHARD")
    cmd = argv[0] if argv else "run"
    if cmd == "list":
        all_m, skipped = enumerate_all()
        sel = selection()
        for m in sel:
            print(f"{m.id:44} {m.file}:{m.line}  {m.original!r} -> {m.replacement!r}")
        print(f"{len(sel)} selected of {len(all_m)} mutants; sites skipped: {skipped}")
        return 0
    if cmd == "report":
        return report()
    if cmd != "run":
        print(__doc__, file=sys.stderr)
        return 2
    import pytest

    started = time.time()
    jobs = os.environ.get("JOBS", "2")
    if os.environ.get("MUTATE_BASELINE", "1") != "0":
        failures = baseline(selection(), int(jobs))
        if failures:
            print("\n\n".join(failures), file=sys.stderr)
            return 1
    args = ["-q", "-p", "no:cacheprovider", str(HERE / "run_mutants.py")]
    if jobs not in ("0", "1"):
        args = ["-n", jobs, *args]
    pytest.main(args)
    return report(started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
