"""After a run the indexer gives freed memory back; checked in a fresh interpreter."""

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
from app.core.ingest import allocator


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


before = rss_mb()
blocks = [bytearray(4000) for _ in range(50_000)]
in_use = bytearray(4000)
del blocks
kept = rss_mb() - before
if sys.argv[1] == "release":
    allocator.release_free_memory()
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
