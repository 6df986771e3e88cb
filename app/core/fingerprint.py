"""Content fingerprints: what the catalog knows a file by (a rename, move or copy keeps it), and
what names a local model checkpoint in its model id.

Cheap: the size and a hash of the first 1 MB and the last 64 KB, so big files are not read whole.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

HEAD = 1 << 20  # bytes hashed from the start of a file
TAIL = 64 << 10  # ... and from its end


def fingerprint(path: str | Path, size: int | None = None) -> str:
    """A cheap content fingerprint: size plus a hash of the head and tail of the file."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(HEAD))
        if size > HEAD + TAIL:
            f.seek(size - TAIL)
            h.update(f.read(TAIL))
        elif size > HEAD:
            h.update(f.read())
    return h.hexdigest()
