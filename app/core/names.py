"""File names as the OS gives them: bytes on POSIX, which need not be UTF-8 (old drives, zip
extracts, Samba shares write Latin-1). Python holds such a name as a str with surrogate escapes
(PEP 383), which every `os` call turns back into the same bytes.

The catalog stores a UTF-8 name as TEXT and any other as a BLOB of its exact bytes (SQLite keeps
a BLOB as it is in a TEXT column, and compares it only with BLOBs): lossless, and the common case
costs nothing. People see names through `shown`.
"""

from __future__ import annotations

import os


def to_db(path: str) -> str | bytes:
    """The value the catalog stores for a path."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:  # surrogate escapes: the OS's own bytes
        return os.fsencode(path)


def from_db(value: str | bytes) -> str:
    """The path a catalog value stands for (the inverse of `to_db`)."""
    return value if type(value) is str else os.fsdecode(value)


def shown(path: str) -> str:
    """A path as people read it: bytes that are not UTF-8 become U+FFFD (what a terminal, JSON
    parser or Qt can take)."""
    if path.isascii():
        return path
    return os.fsencode(path).decode("utf-8", "replace")
