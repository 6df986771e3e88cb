"""The allocator settings: freed batches are kept for reuse instead of faulted in again, lanes share
one arena, and a run's end gives the memory back. Each case runs in a fresh interpreter (a thread
keeps the arena it first got)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc settings"
)

# A batch's activation (26 MB) made and freed, then two lanes start and allocate.
LANES = """
import ctypes, json, sys, threading
import numpy as np
from app.core import allocator

tuned = allocator.tune_for_batches() if sys.argv[1] == "tuned" else False
libc = ctypes.CDLL("libc.so.6")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def arenas():  # malloc_info's XML describes each arena as a <heap>
    text, size = ctypes.c_char_p(), ctypes.c_size_t()
    libc.open_memstream.restype = ctypes.c_void_p
    stream = ctypes.c_void_p(libc.open_memstream(ctypes.byref(text), ctypes.byref(size)))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    return text.value.decode().count("<heap nr=")


before = rss_mb()
activation = np.ones(26 << 20, np.uint8)
del activation
kept = rss_mb() - before
allocator.release_free_memory()
released = rss_mb() - before
lanes = [threading.Thread(target=lambda: np.ones(8 << 20, np.uint8)) for _ in range(2)]
for lane in lanes:
    lane.start()
for lane in lanes:
    lane.join()
print(json.dumps(dict(tuned=tuned, kept_mb=kept, released_mb=released, arenas=arenas())))
"""


def _lanes(mode: str) -> dict:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", LANES, mode], capture_output=True, text=True, check=True, cwd=root,
                         env=env)
    return json.loads(out.stdout)


def test_freed_batches_are_kept_for_the_next_and_lanes_share_one_arena():
    tuned, default = _lanes("tuned"), _lanes("default")
    assert tuned["tuned"] is True
    # glibc's default hands a freed 26 MB block straight back to the kernel (the next batch faults
    # it in again, page by page); tuned, it stays for reuse until the indexer's run ends
    assert default["kept_mb"] < 1 and tuned["kept_mb"] > 25
    assert tuned["released_mb"] < 1
    # by default each lane gets its own arena, whose heaps come and go; tuned, one for all
    assert default["arenas"] == 3 and tuned["arenas"] == 1


def test_a_users_own_malloc_settings_are_left_alone(monkeypatch):
    from app.core import allocator

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert allocator.tune_for_batches() is False
