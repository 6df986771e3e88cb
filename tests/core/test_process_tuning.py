"""The process-wide levers (app/core/process_tuning.py): freed memory goes back to the system
(checked in a fresh interpreter), the collector waits for heavy imports, each front's settings."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

# 200 MB in blocks the size of a row of pixels, freed below one block still in use: glibc keeps them
FREED = """
import json, os, sys
from app.core import process_tuning


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


before = rss_mb()
blocks = [bytearray(4000) for _ in range(50_000)]
in_use = bytearray(4000)
del blocks
kept = rss_mb() - before
if sys.argv[1] == "release":
    process_tuning.release_free_memory()
print(json.dumps(dict(kept=kept, after=rss_mb() - before)))
"""


def _run(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD"))}
    out = subprocess.run(
        [sys.executable, "-c", FREED, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc")
def test_freed_memory_goes_back_to_the_system_when_released():
    kept, released = _run("keep"), _run("release")
    assert kept["kept"] > 150 and kept["after"] > 150  # freed, still resident
    assert released["kept"] > 150 and released["after"] < 30


def test_the_collector_waits_for_heavy_imports_then_freezes_what_they_made():
    import gc

    from app.core.process_tuning import heavy_imports, settle_long_lived

    frozen = gc.get_freeze_count()
    try:
        with heavy_imports():
            with heavy_imports():  # a second job importing at the same time
                made = [[i] for i in range(1000)]
            assert not gc.isenabled()  # the first one is still importing
            settle_long_lived()  # left to the end of the imports: no collection now
            assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made)
    finally:
        gc.enable()
        gc.unfreeze()  # the test session's objects are collectable again


FRONTS = """
import json, sys
from app.core.process_tuning import tune_process

default = sys.getswitchinterval()
tune_process(sys.argv[1])
print(json.dumps(dict(default=default, now=sys.getswitchinterval())))
"""


@pytest.mark.parametrize(("front", "window"), [("window", True), ("cli", False), ("bench", False)])
def test_only_the_window_hands_the_interpreter_over_sooner(front, window):
    out = subprocess.run(
        [sys.executable, "-c", FRONTS, front],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    found = json.loads(out.stdout)
    assert found["now"] == (pytest.approx(0.0005) if window else found["default"])
