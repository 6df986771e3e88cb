"""Temp files written next to their target, then renamed over it (atomic on one file system).

Several processes may write the same file at once (two windows, a window and `photoseek index`), so
each temp file is unique, named `<target name>.<pid>.<random>.tmp`. A process killed mid-write
leaves one behind; `remove_stale` tells those from the files of processes still running.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def temp_beside(path: Path) -> str:
    """A new, empty temp file in `path`'s folder; the caller writes it and renames it to `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def remove_stale(candidates: Iterable[Path]) -> int:
    """Remove the temp files among `candidates` whose writer is gone (or that an older PhotoSeek
    named without a pid); returns how many."""
    if os.name != "posix":  # no safe "is it alive" probe: leave them
        return 0
    removed = 0
    for path in candidates:
        parts = path.name.split(".")
        pid = parts[-3] if len(parts) >= 4 and parts[-1] == "tmp" else ""
        if pid.isdigit() and _alive(int(pid)):
            continue
        try:
            path.unlink()
            removed += 1
        except OSError as e:
            log.info("cannot remove %s: %s", path, e)
    if removed:
        log.info("removed %d temp files left by processes that were stopped", removed)
    return removed
