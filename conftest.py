# Makes `tb.common` importable from every test folder, splits the regression into shards
# (`make test SHARD=i/N`, tb/common/shard.py), and puts the longest tests first.
import os

import pytest


def _key(item) -> str:
    group = item.get_closest_marker("xdist_group")
    if group:
        return "group:" + (group.args[0] if group.args else group.kwargs.get("name", ""))
    return item.nodeid


# The longest tests first (measured CPU, docs/verification.md "What a test costs"): make test
# runs with `--dist loadgroup --no-loadscope-reorder`, so pytest-xdist hands out work units in
# this order, and a long engine run that started last would keep one worker busy while the
# other idles. Scheduling only: the order never changes what a test checks.
LONGEST_FIRST = (
    "tb/engine/test_engine_run.py::test_stream_images_resnet8",
    "tb/engine/test_engine_run.py::test_stream_images[",
    "tb/engine/test_engine_run.py::test_stream_lowbit",
    "tb/engine/test_engine_run.py",
    "syn/",
    "tb/conv_unit/",
    "tb/fc_unit/",
    "formal/",
    "tb/fc_serial/",
    "tb/act_lut/",
    "model/tests/test_fold_solver.py",
)


def _rank(item) -> int:
    return next((i for i, p in enumerate(LONGEST_FIRST) if item.nodeid.startswith(p)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_rank)  # stable: collection order within a rank
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
