"""`make test SHARD=i/N`: a deterministic split of the regression for a CI matrix or several
machines. The union of the N shards is the whole regression and no test runs twice.

Tests are dealt round-robin over a sorted list of keys: a test's xdist group when it has one
(the engine's tests share a Verilator build, so they stay on one machine), otherwise its node
id. Sorting makes the split independent of collection order and of the machine.
"""

from __future__ import annotations


def parse_shard(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3); 1-based. Raises ValueError with a clear message."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"SHARD={text!r}: expected i/N, e.g. SHARD=2/3") from None
    if not 1 <= i <= n:
        raise ValueError(f"SHARD={text!r}: i must be between 1 and N")
    return i, n


def shard_of(keys: list[str], n: int) -> dict[str, int]:
    """1-based shard of each distinct key, dealt round-robin in sorted order."""
    return {key: k % n + 1 for k, key in enumerate(sorted(set(keys)))}


def select(items: list, key_of, shard: str) -> tuple[list, list]:
    """(kept, deselected) items of shard `shard` ('i/N')."""
    i, n = parse_shard(shard)
    keys = [key_of(item) for item in items]
    owner = shard_of(keys, n)
    kept = [it for it, k in zip(items, keys, strict=True) if owner[k] == i]
    dropped = [it for it, k in zip(items, keys, strict=True) if owner[k] != i]
    return kept, dropped
