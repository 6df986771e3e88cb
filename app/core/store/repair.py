"""Telling a damaged catalog, and putting a backup in its place (`photoseek doctor --repair/--restore`).

Nothing is deleted: the catalog that is replaced (and its -wal and -shm) is moved aside in the data
dir as `catalog.damaged-<time>.sqlite3` or `catalog.replaced-<time>.sqlite3`. The caller holds the
writer lock (`hold_writer`) from planning to carrying out, and asks the user first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from ..config import WRITER_LOCK, Settings
from . import backups
from .backups import Backup
from .catalog import OK, SCHEMA_VERSION, Catalog

_SIDE_FILES = ("-wal", "-shm", "-journal")


class RepairError(RuntimeError):
    pass


class Busy(RepairError):
    pass


def emptied_catalog(settings: Settings) -> str | None:
    """SQLite takes an empty file for a new database: a catalog emptied by a crash, a full disk or a
    sync tool would silently become a new, empty library beside the old one's index (folders, saved
    searches and concepts gone). Only a data dir that never held a library starts from nothing."""
    path = settings.catalog_path
    if not path.is_file() or path.stat().st_size > 0:
        return None
    left = [
        what
        for what, there in (
            ("search index", any(settings.index_dir.glob("*.faiss"))),
            ("backups", backups.list_backups(path)),
        )
        if there
    ]
    if not left:
        return None
    verb = "is" if left == ["search index"] else "are"
    return (
        f"it is empty (0 bytes), but {settings.data_dir} held a library (its {' and '.join(left)} {verb} still there)"
    )


def diagnose(settings: Settings) -> str | None:
    """What is wrong with the catalog, in a few words, or None when it opens and passes its quick check
    (no catalog at all is a new library, not a damaged one)."""
    path = settings.catalog_path
    if not os.path.lexists(path):
        return None
    if not path.is_file():
        return "it is not a file (something else is in its place)"
    if path.stat().st_size == 0:
        return emptied_catalog(settings)
    return backups.check(path, SCHEMA_VERSION, catalog_tables=False)  # tables missing: Catalog makes them


@contextmanager
def hold_writer(settings: Settings) -> Iterator[None]:
    """The data dir's writer lock, or Busy at once when another PhotoSeek is indexing."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(settings.data_dir / WRITER_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise Busy(
            f"another PhotoSeek is indexing {settings.data_dir}; close it (or let it finish) and run this again"
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class Plan:
    """What repairing or restoring will do."""

    problem: str | None  # what is wrong with the current catalog; None: nothing (restore)
    backup: Backup | Path | None  # what goes in its place; None: a new, empty catalog
    aside: Path | None  # where the current catalog goes; None: there is none
    passed_over: list[tuple[Backup, str]] = field(default_factory=list)  # newer backups that are not usable

    def steps(self) -> list[str]:
        lines = [f"skip backup {b.path.name}: {why}" for b, why in self.passed_over]
        if self.aside is not None:
            lines.append(f"move the current catalog aside as {self.aside}")
        lines.append(
            f"restore the backup {describe(self.backup)}"
            if self.backup is not None
            else "start an empty catalog (no usable backup): folders must be added and indexed again"
        )
        lines.append("drop the search index cache (it is rebuilt from the catalog)")
        return lines


def describe(backup: Backup | Path) -> str:
    if isinstance(backup, Backup):
        return (
            f"{backup.path} (taken {backup.taken_at:%Y-%m-%d %H:%M} UTC, schema {backup.schema}, "
            f"{backup.size / 1e6:.1f} MB)"
        )
    return str(backup)


def aside_path(settings: Settings, word: str) -> Path:
    """A free name in the data dir for the catalog moved aside, e.g. catalog.damaged-2026-12-03T0825.sqlite3."""
    stem = f"catalog.{word}-{backups.utc_now().strftime(backups.STAMP)}"
    candidate, n = settings.data_dir / f"{stem}.sqlite3", 1
    while any(os.path.lexists(f"{candidate}{s}") for s in ("", *_SIDE_FILES)):
        n += 1
        candidate = settings.data_dir / f"{stem}-{n}.sqlite3"
    return candidate


def plan_repair(settings: Settings) -> Plan:
    """Nothing to do (problem None) on a healthy catalog; else the newest usable backup in its place."""
    problem = diagnose(settings)
    if problem is None:
        return Plan(None, None, None)
    backup, passed = backups.newest_good(settings.catalog_path, SCHEMA_VERSION)
    return Plan(problem, backup, aside_path(settings, "damaged"), passed)


def plan_restore(settings: Settings, backup: Path | None) -> Plan:
    """The given backup file, or the newest usable one, in place of the current catalog. RepairError
    when it cannot be restored."""
    passed: list[tuple[Backup, str]] = []
    chosen: Backup | Path | None
    if backup is None:
        chosen, passed = backups.newest_good(settings.catalog_path, SCHEMA_VERSION)
        if chosen is None:
            raise RepairError(f"no usable backup in {backups.folder(settings.catalog_path)}")
    else:
        problem = backups.check(backup, SCHEMA_VERSION)
        if problem is not None:
            raise RepairError(f"cannot restore {backup}: {problem}")
        chosen = next(
            (b for b in backups.list_backups(settings.catalog_path) if b.path.resolve() == backup.resolve()), backup
        )
    current = settings.catalog_path
    aside = aside_path(settings, "replaced") if os.path.lexists(current) else None
    return Plan(diagnose(settings), chosen, aside, passed)


def carry_out(plan: Plan, settings: Settings, say: Callable[[str], None]) -> None:
    """Do what `plan` says, saying each step as it is done (under `hold_writer`)."""
    catalog = settings.catalog_path
    restored = None
    if plan.backup is not None:
        source = plan.backup.path if isinstance(plan.backup, Backup) else plan.backup
        restored = backups.restore(source, catalog)  # first: a failed copy leaves everything as it was
    try:
        if plan.aside is not None:
            moved = _move_aside(catalog, plan.aside)
            say(f"Moved the catalog aside: {plan.aside}" + (f" (and its {', '.join(moved)})" if moved else ""))
        if restored is not None:
            os.replace(restored, catalog)
    except BaseException:
        if restored is not None:
            restored.unlink(missing_ok=True)
        raise
    dropped = drop_index_cache(settings)  # before the catalog is opened: no stale index is ever loaded
    if restored is not None:
        say(f"Restored {describe(plan.backup)}: {_contents(catalog)}")
    else:
        say(f"Started an empty catalog (there was no usable backup): {_contents(catalog)}")
    say(
        f"Dropped the search index cache ({_count(dropped, 'file')}); it is rebuilt from the catalog "
        "on the next search or index"
    )


def _move_aside(catalog: Path, aside: Path) -> list[str]:
    """Move the catalog and its side files; returns the side files' suffixes that were there."""
    os.rename(catalog, aside)
    moved = []
    for suffix in _SIDE_FILES:
        if os.path.lexists(f"{catalog}{suffix}"):
            os.rename(f"{catalog}{suffix}", f"{aside}{suffix}")
            moved.append(suffix)
    return moved


def _contents(path: Path) -> str:
    """Open (and upgrade, if older) the catalog and say what it holds."""
    catalog = Catalog(path)
    try:
        folders = len(catalog.folders())
        return (
            f"{_count(catalog.count(OK), 'photo')} in {_count(folders, 'folder')}, "
            f"{_count(len(catalog.saved_searches()), 'saved search', 'saved searches')}"
        )
    finally:
        catalog.close()


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def drop_index_cache(settings: Settings) -> int:
    """Remove the saved FAISS indexes (derived from the catalog; stale for a restored one)."""
    dropped = 0
    for path in [*settings.index_dir.glob("*.faiss"), *settings.index_dir.glob("*.json")]:
        path.unlink(missing_ok=True)
        dropped += 1
    return dropped
