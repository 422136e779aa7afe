# Makes `tb.common` importable from every test folder, and splits the regression into shards
# (`make test SHARD=i/N`, tb/common/shard.py).
import os

import pytest


def _key(item) -> str:
    group = item.get_closest_marker("xdist_group")
    if group:
        return "group:" + (group.args[0] if group.args else group.kwargs.get("name", ""))
    return item.nodeid


def pytest_collection_modifyitems(config, items):
    shard = os.environ.get("SHARD", "").strip()
    if not shard:
        return
    from tb.common.shard import select

    try:
        kept, dropped = select(items, _key, shard)
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept
