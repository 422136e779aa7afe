"""SHARD=i/N splits the regression: every test in exactly one shard, groups kept together."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tb.common.shard import parse_shard, select, shard_of

REPO = Path(__file__).resolve().parents[2]


def test_shards_partition_and_balance():
    keys = [f"t{i}" for i in range(10)] + ["group:engine"] * 5
    owner = shard_of(keys, 3)
    assert set(owner.values()) == {1, 2, 3}
    items = list(range(len(keys)))
    parts = [select(items, lambda i: keys[i], f"{s}/3")[0] for s in (1, 2, 3)]
    assert sorted(sum(parts, [])) == items  # union is everything, nothing twice
    engine = [i for i, k in enumerate(keys) if k == "group:engine"]
    assert sum(set(engine) <= set(p) for p in parts) == 1  # a group stays on one shard
    assert max(map(len, parts)) - min(map(len, parts)) <= 6  # round-robin over 11 keys


@pytest.mark.parametrize("bad", ["3", "0/2", "3/2", "a/b", "1/0"])
def test_bad_shard_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="SHARD="):
        parse_shard(bad)


def _collected(shard: str | None) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHARD"}
    if shard:
        env["SHARD"] = shard
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", "tb/rom", "tb/argmax"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line for line in out.splitlines() if "::" in line}


def test_pytest_shards_union_is_the_whole_run():
    whole = _collected(None)
    parts = [_collected(f"{i}/3") for i in (1, 2, 3)]
    assert whole and all(parts)
    assert set().union(*parts) == whole
    assert sum(map(len, parts)) == len(whole)
