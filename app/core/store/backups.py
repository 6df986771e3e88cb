"""Catalog backups: whole copies of the catalog in `<data dir>/backups/`.

A copy is made before a catalog's schema is upgraded (it keeps the old schema) and once a day while
indexing. Each is taken with SQLite's online backup API (a consistent snapshot while others read and
write), written to a temp file beside its final name and renamed only once `PRAGMA quick_check`
passes: every file named like a backup is whole. Names say when (UTC) and which schema:
`catalog-2026-12-03T0825-v6.sqlite3`, `catalog-2026-12-03T0825-v5-before-upgrade.sqlite3`.
The newest KEEP of each kind are kept. The index, thumbnails and concept scores are not backed up:
they are rebuilt from the catalog.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..tempfiles import temp_beside

log = logging.getLogger(__name__)

FOLDER = "backups"
DAILY = "daily"
BEFORE_UPGRADE = "before-upgrade"
KEEP = {DAILY: 7, BEFORE_UPGRADE: 3}
DAILY_EVERY = timedelta(hours=24)
STAMP = "%Y-%m-%dT%H%M"  # minutes, UTC; also in the names of catalogs moved aside
_NAME = re.compile(r"catalog-(\d{4}-\d\d-\d\dT\d{4})-v(\d+)(-before-upgrade)?\.sqlite3")
_USER_TABLES = ("folders", "files", "saved_searches", "user_concepts")


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime  # UTC, to the minute (from the name)
    schema: int
    kind: str
    size: int

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utc_now()) - self.taken_at


def utc_now() -> datetime:
    return datetime.now(UTC)


def folder(catalog_path: Path) -> Path:
    return Path(catalog_path).parent / FOLDER


def schema_of(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def has_data(db: sqlite3.Connection) -> bool:
    """Whether the catalog holds anything of the user's (a new, empty one needs no backup)."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return any(db.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0] for t in _USER_TABLES if t in tables)


def copy(source: sqlite3.Connection, dest: Path | str) -> None:
    """Copy the database `source` reads into the new file `dest` (rollback journal, so opening it
    leaves no -wal beside it); BackupError unless the copy passes its quick check."""
    out = sqlite3.connect(dest, isolation_level=None)
    try:
        out.execute("PRAGMA journal_mode=OFF")  # a fresh file: nothing to roll back to, no journal file
        source.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")  # the copy took the source's WAL mode
        result = out.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        out.close()
    if result != "ok":
        raise BackupError(f"the copy failed its quick check ({result})")


def _remove_temp(tmp: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(tmp + suffix).unlink(missing_ok=True)


def make(db: sqlite3.Connection, catalog_path: Path, kind: str = DAILY, now: datetime | None = None) -> Backup:
    """Back up the catalog `db` is connected to, then prune. Raises BackupError, sqlite3.Error, OSError."""
    now = now or utc_now()
    schema = schema_of(db)
    suffix = "-before-upgrade" if kind == BEFORE_UPGRADE else ""
    target = folder(catalog_path) / f"catalog-{now.strftime(STAMP)}-v{schema}{suffix}.sqlite3"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(target)
    try:
        copy(db, tmp)
        os.replace(tmp, target)  # one of the same minute and schema is replaced: this one is as new
    except BaseException:
        _remove_temp(tmp)
        raise
    log.info("catalog backed up to %s", target)
    prune(catalog_path)
    return _parse(target)


def make_daily(db: sqlite3.Connection, catalog_path: Path, now: datetime | None = None) -> Backup | None:
    """A backup when the newest one (of any kind) is a day old or more, and there is anything to keep."""
    now = now or utc_now()
    newest = list_backups(catalog_path)
    if newest and timedelta(0) <= newest[0].age(now) < DAILY_EVERY:
        return None
    if not has_data(db):
        return None
    return make(db, catalog_path, DAILY, now)


def _parse(path: Path) -> Backup | None:
    match = _NAME.fullmatch(path.name)
    if match is None:
        return None
    try:
        taken_at = datetime.strptime(match[1], STAMP).replace(tzinfo=UTC)
        size = path.stat().st_size
    except (ValueError, OSError):
        return None
    return Backup(path, taken_at, int(match[2]), BEFORE_UPGRADE if match[3] else DAILY, size)


def list_backups(catalog_path: Path) -> list[Backup]:
    """The backups of a catalog, newest first."""
    try:
        found = [_parse(p) for p in folder(catalog_path).iterdir() if p.is_file()]
    except OSError:  # no backups folder yet
        return []
    return sorted((b for b in found if b is not None), key=lambda b: (b.taken_at, b.path.name), reverse=True)


def summary(catalog_path: Path, now: datetime | None = None) -> dict:
    """For `photoseek doctor`: how many backups, the newest and its age in hours."""
    found = list_backups(catalog_path)
    newest = found[0] if found else None
    return {
        "backups": len(found),
        "newest_backup": str(newest.path) if newest else None,
        "newest_backup_age_h": round(newest.age(now).total_seconds() / 3600, 1) if newest else None,
    }


def prune(catalog_path: Path, keep: dict[str, int] = KEEP) -> list[Path]:
    """Remove all but the newest `keep[kind]` backups of each kind; returns what went."""
    seen = dict.fromkeys(keep, 0)
    removed = []
    for backup in list_backups(catalog_path):
        seen[backup.kind] += 1
        if seen[backup.kind] > keep[backup.kind]:
            backup.path.unlink(missing_ok=True)
            removed.append(backup.path)
    return removed


def check(path: Path, max_schema: int, catalog_tables: bool = True) -> str | None:
    """Why the SQLite file `path` is not a usable catalog, or None when it is: it does not open, was
    written by a newer PhotoSeek (schema above `max_schema`), fails its quick check, or (with
    `catalog_tables`: a backup to restore) lacks the catalog's tables. Serves backups and the
    catalog itself (repair.diagnose)."""
    if not path.is_file():
        return "it is not a file"
    try:
        db = sqlite3.connect(path)
        try:
            schema = schema_of(db)
            if schema > max_schema:  # its quick check is for a newer PhotoSeek to judge
                return (
                    f"it was written by a newer PhotoSeek (schema {schema} > {max_schema}); a newer PhotoSeek opens it"
                )
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        return str(e)
    if result != "ok":
        return f"its quick check failed ({result})"
    if catalog_tables and (schema == 0 or not {"folders", "files"} <= tables):
        return "not a PhotoSeek catalog"
    return None


def newest_good(catalog_path: Path, max_schema: int) -> tuple[Backup | None, list[tuple[Backup, str]]]:
    """The newest backup that can be restored, and the newer ones passed over with the reason."""
    passed: list[tuple[Backup, str]] = []
    for backup in list_backups(catalog_path):
        problem = check(backup.path, max_schema)
        if problem is None:
            return backup, passed
        passed.append((backup, problem))
    return None, passed


def restore(backup: Path, catalog_path: Path) -> Path:
    """Copy `backup` to a checked temp file beside `catalog_path` and return it; the caller moves
    the current catalog aside and renames the temp file over it. The backup itself is not changed."""
    tmp = temp_beside(catalog_path)
    try:
        source = sqlite3.connect(backup)
        try:
            copy(source, tmp)
        finally:
            source.close()
    except BaseException:
        _remove_temp(tmp)
        raise
    return Path(tmp)
