"""Walk library folders, fingerprint files by content, and diff the result against the catalog.

Unchanged files (same size and mtime) are never opened. A file whose path is new is fingerprinted
(size + the first 1 MB + the last 64 KB) so renames, moves and copies are recognised and re-use the
embedding that is already stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..fingerprint import fingerprint
from ..store.catalog import FileRecord

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".webp",
    ".gif",
    ".bmp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".hif",
}


def supported_extensions() -> set[str]:
    """Image extensions we index; AVIF only where the installed decoder reads it."""
    exts = set(IMAGE_EXTENSIONS)
    from . import imaging  # registers the HEIF/AVIF openers

    if imaging.avif_supported():
        exts.add(".avif")
    return exts


@dataclass(frozen=True)
class DiskFile:
    path: str
    size: int
    mtime: float
    folder_id: int | None = None


def unavailable_reason(root: Path, has_photos: bool, was_mount_point: bool = False) -> str | None:
    """Why a library folder cannot be trusted to list its photos right now, or None when it can.

    A drive that is unplugged often leaves its mount point behind as an empty folder (fstab, NAS,
    automount): a folder that is gone, empty, unlistable, or a mount point with nothing mounted says
    nothing about its photos (`has_photos`: the catalog holds some), so they are kept. Photos are
    removed only from a folder that lists something."""
    if not root.is_dir():
        return "not found (an unplugged drive or a deleted folder)"
    if was_mount_point and not os.path.ismount(root):
        return "nothing is mounted there (an unplugged drive?)"
    try:
        with os.scandir(root) as entries:
            empty = next(entries, None) is None
    except OSError as e:
        return f"cannot be listed ({e.strerror or e})"
    return "empty (an unplugged drive?)" if empty and has_photos else None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(os.path.join(folder, ""))


def walk(
    root: Path,
    extensions: set[str] | None = None,
    folder_id: int | None = None,
    unlistable: dict[str, str] | None = None,
    skip: Path | None = None,
) -> Iterator[DiskFile]:
    """Every image file under root. Skips hidden folders and files, AppleDouble `._*` files and
    symlink loops; folders that cannot be listed are logged, skipped and added to `unlistable`
    with the reason (their photos are not gone, only out of reach). `skip`: a folder never walked (PhotoSeek's own
    data dir: its thumbnails are no photos). A symlinked folder is followed only when it leads
    inside root: a link to `/` or a whole drive must not walk the machine, and one to another
    library folder would list its photos twice (that folder is walked on its own)."""
    exts = extensions or supported_extensions()
    inside = os.path.realpath(root)
    skipped = os.path.realpath(skip) if skip is not None else None
    seen_dirs: set[tuple[int, int]] = set()
    stack = [Path(root)]
    while stack:
        directory = stack.pop()
        try:
            st = directory.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:  # a symlink loop or a second link to a folder already walked
                continue
            seen_dirs.add(key)
            entries = list(os.scandir(directory))
        except OSError as e:
            log.warning("cannot list folder %s: %s", directory, e)
            if unlistable is not None:
                unlistable[str(directory)] = e.strerror or str(e)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            # Nested 5 deep: a generator walks folders with a stack; one unreadable entry must not stop it.
            try:
                if entry.is_dir(follow_symlinks=True):
                    target = os.path.realpath(entry.path)
                    if target == skipped or (entry.is_symlink() and not _inside(target, inside)):
                        log.info("not walking %s (leads to %s)", entry.path, target)
                        continue
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=True) and os.path.splitext(name)[1].lower() in exts:
                    est = entry.stat(follow_symlinks=True)
                    yield DiskFile(entry.path, est.st_size, est.st_mtime, folder_id)
            except OSError as e:
                log.warning("cannot read %s: %s", entry.path, e)


@dataclass
class ScanPlan:
    """What changed on disk since the catalog was last written."""

    # (file, fingerprint) to decode; the fingerprint is None on a first scan (`plan`)
    to_process: list[tuple[DiskFile, str | None]] = field(default_factory=list)
    moved: list[tuple[FileRecord, DiskFile]] = field(default_factory=list)  # same content, new path
    copied: list[tuple[FileRecord, DiskFile]] = field(default_factory=list)  # new path, known content
    touched: list[tuple[FileRecord, DiskFile]] = field(default_factory=list)  # mtime only
    removed: list[FileRecord] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why): left as they were
    new_count: int = 0
    changed_count: int = 0
    unchanged: int = 0


def readable_fingerprint(f: DiskFile, hasher=fingerprint) -> tuple[str | None, str | None]:
    """(`hasher`'s fingerprint of a file, None), or (None, why for the user) when it cannot be read
    (logged; why is None for a file gone since it was listed). Its catalog row, if any, is left as
    it was, and the next scan tries it again: a permission put right is seen then."""
    try:
        return hasher(f.path, f.size), None
    except FileNotFoundError:
        return None, None
    except OSError as e:
        log.warning("cannot read %s: %s", f.path, e)
        return None, f"cannot be read ({e.strerror or e}); it is tried again on the next run"


def _fingerprints(files: list[DiskFile], hasher, workers: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """path -> fingerprint of each readable file, and (path, why) of the unreadable ones, `workers`
    at a time (files are read and hashed with the interpreter released: a first scan of a library
    of phone photos reads ~1 MB each)."""
    one = partial(readable_fingerprint, hasher=hasher)
    if workers > 1 and len(files) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fingerprint") as pool:
            found = list(pool.map(one, files))
    else:
        found = [one(f) for f in files]
    return (
        {f.path: fp for f, (fp, _) in zip(files, found) if fp is not None},
        [(f.path, why) for f, (_, why) in zip(files, found) if why is not None],
    )


def plan(
    disk: list[DiskFile],
    known: list[FileRecord],
    embedded: set[str],
    hasher=fingerprint,
    workers: int = 1,
    elsewhere: list[FileRecord] | tuple = (),
) -> ScanPlan:
    """Diff files on disk against catalog rows, fingerprinting new and changed files `workers` at a time.

    `embedded` holds the fingerprints that already have an embedding for the current model;
    catalog rows lacking one (a new model, an interrupted run) are processed again. `elsewhere`:
    rows of folders out of reach (offline); a new file with their content is a copy of it, so a
    library moved to another drive is not decoded and embedded again (Library.relink joins them).
    """
    result = ScanPlan()
    if not known and not elsewhere:  # a first scan: no move, copy or edit to recognise, so the decoders fingerprint
        result.to_process = [(f, None) for f in disk]  # (the model starts at once, not after ~1 ms a file)
        result.new_count = len(disk)
        return result
    by_path = {r.path: r for r in known}
    same = {
        f.path for f in disk if (row := by_path.get(f.path)) is not None and row.size == f.size and row.mtime == f.mtime
    }
    fingerprints, result.unreadable = _fingerprints([f for f in disk if f.path not in same], hasher, workers)
    gone, gone_by_fp, live_by_fp = _gone_and_live(disk, known, elsewhere)
    for f in disk:
        row = by_path.get(f.path)
        if f.path in same:
            result.unchanged += 1
            if row.status == "ok" and row.fingerprint not in embedded:
                result.to_process.append((f, row.fingerprint))
            continue
        fp = fingerprints.get(f.path)
        if fp is None:  # unreadable: logged
            continue
        if row is not None:
            _known_path(result, row, f, fp, embedded)
        else:
            _new_path(result, f, fp, embedded, gone, gone_by_fp, live_by_fp)
    result.removed = list(gone.values())
    return result


def _gone_and_live(
    disk: list[DiskFile], known: list[FileRecord], elsewhere: list[FileRecord] | tuple
) -> tuple[dict[str, FileRecord], dict[str, list[FileRecord]], dict[str, FileRecord]]:
    """The rows whose path is gone from disk (by path, and by fingerprint), and the rows still
    there or out of reach, by fingerprint (the content a new path may be a copy of)."""
    on_disk = {f.path for f in disk}
    gone = {r.path: r for r in known if r.path not in on_disk}
    gone_by_fp: dict[str, list[FileRecord]] = {}
    for r in gone.values():
        gone_by_fp.setdefault(r.fingerprint, []).append(r)
    live_by_fp = {r.fingerprint: r for r in elsewhere}
    live_by_fp.update((r.fingerprint, r) for r in known if r.path in on_disk)
    return gone, gone_by_fp, live_by_fp


def _known_path(result: ScanPlan, row: FileRecord, f: DiskFile, fp: str, embedded: set[str]) -> None:
    """A path the catalog has whose size or mtime changed: touched (same content) or changed."""
    if fp == row.fingerprint:
        result.touched.append((row, f))
        if row.status == "ok" and fp not in embedded:
            result.to_process.append((f, fp))
    else:
        result.changed_count += 1
        result.to_process.append((f, fp))


def _new_path(
    result: ScanPlan,
    f: DiskFile,
    fp: str,
    embedded: set[str],
    gone: dict[str, FileRecord],
    gone_by_fp: dict[str, list[FileRecord]],
    live_by_fp: dict[str, FileRecord],
) -> None:
    """A path the catalog lacks: a move (its content left another path), a copy of known content,
    or a new photo."""
    if gone_by_fp.get(fp):
        old = gone_by_fp[fp].pop()
        del gone[old.path]
        result.moved.append((old, f))
        if old.status == "ok" and fp not in embedded:
            result.to_process.append((f, fp))
        return
    twin = live_by_fp.get(fp)
    if twin is not None and (twin.status == "skipped" or fp in embedded):
        result.copied.append((twin, f))
        return
    result.new_count += 1
    result.to_process.append((f, fp))  # an identical new file too: each gets its own full row
