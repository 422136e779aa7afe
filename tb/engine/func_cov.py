"""Functional coverage of the engine's stimulus (make coverage): which kinds of frames were sent
under which stall pattern, around which reset, to which folding.

The cross is declared with cocotb-coverage (CoverPoint / CoverCross); every sample also lands in
a small JSON file per simulation under build/coverage/func/ (written only with COVERAGE=1), which
tb/common/coverage.py merges into build/coverage/functional.json and the table of
docs/coverage.md. A bin no test reaches shows as a 0 there.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

KINDS = ("well-formed", "short", "long", "missing-tlast", "1-pixel")
# none: no pause either side; random: random TVALID/TREADY pauses; burst: long input gaps or
# output stalls; output-held: TREADY low for thousands of cycles while frames wait.
STALLS = ("none", "random", "burst", "output-held")
RESETS = ("none", "mid-input-frame", "mid-result-frame")
FOLDS = ("default", "small", "up5k")
AXES = {"frame": KINDS, "stall": STALLS, "reset": RESETS, "fold": FOLDS}
CROSS = "engine.stimulus"

_FILE = Path(os.environ.get("FUNC_COV_DIR", Path(__file__).resolve().parents[2] / "build" / "coverage" / "func"))
_FILE = _FILE / f"{uuid.uuid4().hex[:12]}.json"


def frame_kind(length: int, pixels: int) -> str:
    """The kind of an input frame of `length` beats (TLAST on the last) for a `pixels`-pixel
    engine. A frame whose TLAST went missing reaches the engine as one long frame: the tests say
    so (kind='missing-tlast') since the length alone cannot."""
    if length == pixels:
        return "well-formed"
    if length == 1:
        return "1-pixel"
    return "short" if length < pixels else "long"


def fold_label(weights_dir: str | Path) -> str:
    """Which folding an export uses: 'default', a named one of the network ('small', 'up5k'),
    or 'custom'."""
    from model.nets import Fold, get_net

    manifest = json.loads((Path(weights_dir) / "manifest.json").read_text())
    net = get_net(manifest["net"])
    folds = {k: Fold.from_dict(v) for k, v in manifest["folds"].items()}
    if folds == dict(net.folds):
        return "default"
    return next((name for name, f in net.alt_folds.items() if dict(f) == folds), "custom")


def _check(value, bins, axis):
    if value not in bins:
        raise ValueError(f"functional coverage: {axis} {value!r} is not one of {bins}")
    return value


@CoverPoint(f"{CROSS}.frame", xf=lambda k, s, r, f: _check(k, KINDS, "frame"), bins=list(KINDS))
@CoverPoint(f"{CROSS}.stall", xf=lambda k, s, r, f: _check(s, STALLS, "stall"), bins=list(STALLS))
@CoverPoint(f"{CROSS}.reset", xf=lambda k, s, r, f: _check(r, RESETS, "reset"), bins=list(RESETS))
@CoverPoint(f"{CROSS}.fold", xf=lambda k, s, r, f: _check(f, FOLDS, "fold"), bins=list(FOLDS))
@CoverCross(f"{CROSS}.cross", items=[f"{CROSS}.frame", f"{CROSS}.stall", f"{CROSS}.reset", f"{CROSS}.fold"])
def _sample(kind: str, stall: str, reset: str, fold: str) -> None:
    """One frame sent (cocotb-coverage counts the call in every bin it falls in)."""


def enabled() -> bool:
    return os.environ.get("COVERAGE", "0") not in ("", "0")


def sample(kind: str, stall: str, reset: str, fold: str, count: int = 1) -> None:
    """Count `count` frames in the bin (kind, stall, reset, fold) and, with COVERAGE=1, rewrite
    this simulation's sample file (small; a crash later loses nothing sampled before). A custom
    folding (FOLD=conv2=2x4...) is outside the cross: not counted."""
    if fold == "custom":
        return
    for _ in range(count):
        _sample(kind, stall, reset, fold)
    if enabled():
        write(_FILE)


def hits() -> dict[str, int]:
    """Non-empty bins of this process, 'kind|stall|reset|fold' -> frames."""
    detail = coverage_db[f"{CROSS}.cross"].detailed_coverage
    return {"|".join(k): n for k, n in detail.items() if n}


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"axes": {k: list(v) for k, v in AXES.items()}, "hits": hits()}, indent=1) + "\n")
