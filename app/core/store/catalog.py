"""The SQLite catalog: the source of truth for files, embeddings and settings.

One writer at a time (the indexer), any number of readers (WAL). Each thread gets its own
connection. Every write bumps a `generation` counter so derived caches (the FAISS index) can tell
whether they are stale. Paths are stored as the OS's exact bytes (see names.py): read and write
them through `to_db` / `from_db`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..names import from_db, to_db
from . import backups, textmatch

log = logging.getLogger(__name__)

OK = "ok"
SKIPPED = "skipped"


@dataclass(frozen=True)
class FileRecord:
    """One file of the library as the catalog knows it."""

    id: int | None
    path: str
    fingerprint: str
    size: int
    mtime: float
    status: str = OK
    skip_reason: str | None = None
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None  # ISO 8601, local time as the camera wrote it (+ its UTC offset if known)
    format: str | None = None
    folder_id: int | None = None
    taken_from: str | None = None  # where taken_at was read (imaging.capture_date); None: no date


@dataclass(frozen=True)
class OfflineFolder:
    """A library folder that could not list its photos at the last check (see `set_offline`)."""

    id: int
    path: Path
    since: float  # time.time() when it was first found offline
    reason: str  # scanner.unavailable_reason's words


_FILE_COLUMNS = (
    "id, path, fingerprint, size, mtime, status, skip_reason, width, height, taken_at, format, folder_id, taken_from"
)

# Each entry upgrades the schema by one version. Append, never edit: users' catalogs depend on them.
MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'skipped')),
        skip_reason TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        format TEXT
    );
    CREATE INDEX files_fingerprint ON files(fingerprint);
    CREATE INDEX files_folder ON files(folder_id);
    CREATE TABLE embeddings (
        fingerprint TEXT NOT NULL,
        model_id TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (fingerprint, model_id)
    ) WITHOUT ROWID;
    INSERT INTO meta VALUES ('generation', '0');
    """,
    # 2: text found inside photos (OCR, searchable with typos via trigrams), perceptual hashes
    # (duplicates), user concepts, saved searches
    """
    -- derived: begin (OCR text and image hashes; see Catalog._repair_early_v2)
    CREATE TABLE ocr_text (
        id INTEGER PRIMARY KEY,  -- explicit: FTS content_rowid must survive VACUUM
        fingerprint TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,  -- as read, one line per text box; '' when the photo holds no text
        norm TEXT NOT NULL,  -- the searchable form: folded words (app.core.store.textmatch.normalize)
        engine TEXT NOT NULL,  -- e.g. 'rapidocr-onnxruntime 1.4.4'
        version INTEGER NOT NULL,  -- app.core.ingest.ocr.OCR_VERSION: older results are read again
        read_at REAL NOT NULL
    );
    CREATE VIRTUAL TABLE ocr_fts USING fts5(
        norm, content='ocr_text', content_rowid='id', tokenize='trigram'
    );
    CREATE TRIGGER ocr_text_ai AFTER INSERT ON ocr_text BEGIN
        INSERT INTO ocr_fts(rowid, norm) VALUES (new.id, new.norm);
    END;
    CREATE TRIGGER ocr_text_ad AFTER DELETE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, norm) VALUES ('delete', old.id, old.norm);
    END;
    CREATE TRIGGER ocr_text_au AFTER UPDATE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, norm) VALUES ('delete', old.id, old.norm);
        INSERT INTO ocr_fts(rowid, norm) VALUES (new.id, new.norm);
    END;
    INSERT INTO meta VALUES ('ocr_generation', '0');
    -- perceptual hashes for duplicate finding, by content like embeddings (app.core.organize.duplicates)
    CREATE TABLE image_hashes (
        fingerprint TEXT PRIMARY KEY,
        phash INTEGER  -- 64-bit DCT hash as a signed integer; NULL: too flat to compare
    ) WITHOUT ROWID;
    -- derived: end
    CREATE TABLE user_concepts (
        name TEXT PRIMARY KEY,
        phrases TEXT NOT NULL  -- JSON list of phrases
    );
    CREATE TABLE saved_searches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        query TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 3: embeddings in a rowid table. A WITHOUT ROWID row keeps at most ~1 KB on its b-tree page, so
    # every 1 KB float16 vector spilled to an overflow page of its own: 4.7 KB on disk per photo
    # (5 GB at a million). Stored inline now: about 1.2 KB.
    """
    CREATE TABLE embeddings_inline (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        model_id TEXT NOT NULL,
        vector BLOB NOT NULL,
        UNIQUE (fingerprint, model_id)
    );
    INSERT INTO embeddings_inline (fingerprint, model_id, vector)
        SELECT fingerprint, model_id, vector FROM embeddings ORDER BY fingerprint, model_id;
    DROP TABLE embeddings;
    ALTER TABLE embeddings_inline RENAME TO embeddings;
    """,
    # 4: where a capture date was read ('EXIF', 'XMP', 'IPTC', 'PNG text'). Until now only EXIF was:
    # an undated photo is 'unread' (UNREAD_DATE) until the rest of its metadata is read, once.
    """
    ALTER TABLE files ADD COLUMN taken_from TEXT;
    UPDATE files SET taken_from = 'EXIF' WHERE taken_at IS NOT NULL;
    UPDATE files SET taken_from = 'unread' WHERE taken_at IS NULL AND status = 'ok';
    """,
    # 5: the readable photos in browse order (newest first, see NEWEST_FIRST), ids included: a page
    # of a million-photo library, or all its ids in order, without sorting every row each time.
    """
    CREATE INDEX files_newest ON files(COALESCE(taken_at, datetime(mtime, 'unixepoch')) DESC, path)
        WHERE status = 'ok';
    """,
    # 6: the text found in photos indexed a second time without its spaces, as OCR drops and adds
    # them: a quoted phrase is one trigram lookup ("barbershop" finds BARBER SHOP). Text kept.
    """
    ALTER TABLE ocr_text ADD COLUMN compact TEXT GENERATED ALWAYS AS (replace(norm, ' ', '')) VIRTUAL;
    DROP TRIGGER ocr_text_ai; DROP TRIGGER ocr_text_ad; DROP TRIGGER ocr_text_au; DROP TABLE ocr_fts;
    CREATE VIRTUAL TABLE ocr_fts USING fts5(
        norm, compact, content='ocr_text', content_rowid='id', tokenize='trigram'
    );
    INSERT INTO ocr_fts(ocr_fts) VALUES ('rebuild');
    CREATE TRIGGER ocr_text_ai AFTER INSERT ON ocr_text BEGIN
        INSERT INTO ocr_fts(rowid, norm, compact) VALUES (new.id, new.norm, new.compact);
    END;
    CREATE TRIGGER ocr_text_ad AFTER DELETE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, norm, compact) VALUES ('delete', old.id, old.norm, old.compact);
    END;
    CREATE TRIGGER ocr_text_au AFTER UPDATE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, norm, compact) VALUES ('delete', old.id, old.norm, old.compact);
        INSERT INTO ocr_fts(rowid, norm, compact) VALUES (new.id, new.norm, new.compact);
    END;
    """,
    # 7: photo and folder ids are never used again (AUTOINCREMENT). SQLite otherwise gives a new
    # row the highest id + 1, so a photo added after the newest one was removed got its id, and
    # whatever remembered the old photo by id (the window's caches, a search still on screen)
    # showed the new one as the old. Both tables rebuilt (SQLite's way to change a column), rows,
    # ids and indexes as they were; `_upgrade` turns foreign keys off so nothing cascades.
    """
    CREATE TABLE folders_v7 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL
    );
    INSERT INTO folders_v7 (id, path, added_at) SELECT id, path, added_at FROM folders;
    CREATE TABLE files_v7 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'skipped')),
        skip_reason TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        format TEXT,
        taken_from TEXT
    );
    INSERT INTO files_v7 (id, path, folder_id, fingerprint, size, mtime, status, skip_reason, width, height,
                          taken_at, format, taken_from)
        SELECT id, path, folder_id, fingerprint, size, mtime, status, skip_reason, width, height,
               taken_at, format, taken_from FROM files;
    DROP TABLE files;
    DROP TABLE folders;
    ALTER TABLE folders_v7 RENAME TO folders;
    ALTER TABLE files_v7 RENAME TO files;
    CREATE INDEX files_fingerprint ON files(fingerprint);
    CREATE INDEX files_folder ON files(folder_id);
    CREATE INDEX files_newest ON files(COALESCE(taken_at, datetime(mtime, 'unixepoch')) DESC, path)
        WHERE status = 'ok';
    """,
    # 8: a library folder that cannot list its photos (an unplugged drive: scanner.unavailable_reason)
    # is offline: since when and why. Its photos are kept, shown greyed and left out of searches.
    """
    ALTER TABLE folders ADD COLUMN offline_since REAL;
    ALTER TABLE folders ADD COLUMN offline_reason TEXT;
    """,
    # 9: what an undoable change (photos moved to the trash, a folder removed) took out of the
    # library, held until it is undone or forgotten (the app quits): the rows of the photos and
    # the folder, and through their fingerprints their embeddings, text and hashes, which pruning
    # leaves alone meanwhile. Undoing puts the rows back: nothing is decoded or embedded again.
    """
    CREATE TABLE holds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        made_at REAL NOT NULL
    );
    CREATE TABLE held_folders (
        hold_id INTEGER NOT NULL REFERENCES holds(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        path TEXT NOT NULL,
        added_at REAL NOT NULL,
        PRIMARY KEY (hold_id, id)
    );
    CREATE TABLE held_files (
        hold_id INTEGER NOT NULL REFERENCES holds(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        path TEXT NOT NULL,
        folder_id INTEGER,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        status TEXT NOT NULL,
        skip_reason TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        format TEXT,
        taken_from TEXT,
        PRIMARY KEY (hold_id, id)
    );
    CREATE INDEX held_files_fingerprint ON held_files(fingerprint);
    """,
]

# Content still wanted: a file's, or one an undoable change holds (migration 9).
_LIVE_CONTENT = "SELECT fingerprint FROM files UNION SELECT fingerprint FROM held_files"

# How photos are listed when nothing ranks them; the index of migration 5 holds this order.
NEWEST_FIRST = "ORDER BY COALESCE(taken_at, datetime(mtime, 'unixepoch')) DESC, path"

SCHEMA_VERSION = len(MIGRATIONS)
UNREAD_DATE = "unread"  # taken_from of a photo catalogued when only EXIF dates were read


def _wal(conn: sqlite3.Connection, patience_s: float = 30.0) -> None:
    """Switch to WAL. While another process creates the same catalog, SQLite answers "database is
    locked" at once here, without waiting out the busy timeout: retry instead."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class CatalogError(RuntimeError):
    pass


def _rollback(db: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it does on a full disk): the error
    that got us here is the one to report, not "cannot rollback - no transaction is active"."""
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is unusable; the first error says why


class Catalog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections: dict[int, sqlite3.Connection] = {}  # by thread (see `db`)
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._vocabulary: tuple[int, object] | None = None  # (ocr generation, textmatch.Vocabulary)
        self._vocabulary_lock = threading.Lock()
        self._migrate()

    # -- connections -------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, kept until `close()` (a later thread with the same ident
        reuses it). Not in a threading.local: a Qt pool thread gets a new Python thread state for
        every job, so each search opened a connection and dropped the last one to the cycle
        collector, which later closed them in bursts (8 at once: a 76 ms pause for the window)."""
        conn = self._connections.get(threading.get_ident())
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            _wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            with self._connections_lock:
                self._connections[threading.get_ident()] = conn
        return conn

    def close(self) -> None:
        """Close every thread's connection, once no other thread uses the catalog (a later use
        opens a new one)."""
        with self._connections_lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            conn.close()

    @contextmanager
    def transaction(self, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction that bumps the generation; all or nothing. `bump=False` for data
        no cache derives from (text found in photos, image hashes): the index stays valid."""
        with self._write_lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                if bump:
                    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise

    def _migrate(self) -> None:
        db = self.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(f"{self.path} was written by a newer PhotoSeek (schema {version} > {SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            # Another process may be creating or upgrading this catalog right now: one at a time,
            # each starting from the version it finds once it has the lock.
            with FileLock(f"{self.path}.upgrade.lock"):
                self._upgrade(db.execute("PRAGMA user_version").fetchone()[0])

    def _upgrade(self, version: int) -> None:
        db = self.db
        if version > 0:
            self._back_up_before_upgrade(version)
        if version == 2:
            self._repair_early_v2()  # before the migrations that build on schema 2's final form
        # Off while tables are rebuilt (migration 7): dropping the old folders table would
        # otherwise delete every photo through ON DELETE CASCADE. Checked before each commit.
        db.execute("PRAGMA foreign_keys=OFF")
        try:
            for number in range(version, SCHEMA_VERSION):
                # executescript commits any open transaction, so the script carries its own.
                script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};"
                # Nested 5 deep: every migration runs in its own transaction, under the write lock, foreign keys off.
                with self._write_lock:
                    try:
                        db.executescript(script)
                        if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                            raise CatalogError(f"{self.path}: upgrade {number + 1} left photos without a folder")
                        db.execute("COMMIT")
                    except BaseException:
                        _rollback(db)
                        raise
        finally:
            db.execute("PRAGMA foreign_keys=ON")
        if 0 < version < 3 and db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]:
            db.execute("VACUUM")  # once: give back the space the old embeddings table took

    def _back_up_before_upgrade(self, version: int) -> None:
        """A copy in the old schema, for going back if an upgrade goes wrong (see backups.py). No
        upgrade without one: the catalog is what the user cannot rebuild."""
        try:
            if backups.has_data(self.db):
                made = backups.make(self.db, self.path, backups.BEFORE_UPGRADE)
                log.info("backed up %s (schema %d) to %s before upgrading it", self.path, version, made.path)
        except (sqlite3.Error, OSError, backups.BackupError) as e:
            raise CatalogError(
                f"{self.path} was not upgraded to schema {SCHEMA_VERSION}: it could not be backed up first ({e})"
            ) from e

    def _repair_early_v2(self) -> None:
        """Catalogs written while schema 2 was in development lack the final form of its OCR and
        hash tables. Both hold derived data only: recreate them; the next update refills them."""
        db = self.db
        columns = {row[1] for row in db.execute("PRAGMA table_info(ocr_text)")}
        hashes = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'image_hashes'").fetchone()
        if "norm" in columns and hashes:
            return
        script = MIGRATIONS[1]
        part = script[script.index("-- derived: begin") : script.index("-- derived: end")]
        drop = """
            DROP TRIGGER IF EXISTS ocr_text_ai; DROP TRIGGER IF EXISTS ocr_text_ad;
            DROP TRIGGER IF EXISTS ocr_text_au; DROP TABLE IF EXISTS ocr_fts;
            DROP TABLE IF EXISTS ocr_text; DROP TABLE IF EXISTS image_hashes;
            DELETE FROM meta WHERE key = 'ocr_generation';
        """
        with self._write_lock:
            try:
                db.executescript(f"BEGIN IMMEDIATE;\n{drop}\n{part}\nCOMMIT;")
            except BaseException:
                _rollback(db)
                raise

    # -- state -------------------------------------------------------------------------------

    def generation(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", ("setting:" + key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._write_lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("setting:" + key, value))

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    # -- folders -----------------------------------------------------------------------------

    def add_folder(self, path: Path) -> int:
        """The id of the library folder `path`, added if it is new. A folder added again changes
        nothing, not even the generation (the saved index stays valid: `photoseek index FOLDER`
        must not rebuild it every time)."""
        path_s = to_db(str(Path(path).resolve()))
        found = self.db.execute("SELECT id FROM folders WHERE path = ?", (path_s,)).fetchone()
        if found is not None:
            return found[0]
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO folders (path, added_at) VALUES (?, ?)", (path_s, time.time()))
            return db.execute("SELECT id FROM folders WHERE path = ?", (path_s,)).fetchone()[0]

    def remove_folder(self, path: Path) -> None:
        path_s = to_db(str(Path(path).resolve()))
        with self.transaction() as db:
            db.execute("DELETE FROM folders WHERE path = ?", (path_s,))

    def folders(self) -> dict[int, Path]:
        return {i: Path(from_db(p)) for i, p in self.db.execute("SELECT id, path FROM folders ORDER BY path")}

    def offline_folders(self) -> dict[int, OfflineFolder]:
        rows = self.db.execute(
            "SELECT id, path, offline_since, offline_reason FROM folders WHERE offline_since IS NOT NULL ORDER BY path"
        )
        return {i: OfflineFolder(i, Path(from_db(p)), since, reason or "") for i, p, since, reason in rows}

    def set_offline(self, folder_id: int, reason: str | None) -> bool:
        """Mark a folder offline for `reason` (keeping when it first was), or online with None;
        True when that changed anything. No cache derives from it: the generation stays."""
        params: tuple[object, ...]
        with self.transaction(bump=False) as db:
            if reason is None:
                sql, params = (
                    (
                        "UPDATE folders SET offline_since = NULL, offline_reason = NULL "
                        "WHERE id = ? AND offline_since IS NOT NULL"
                    ),
                    (folder_id,),
                )
            else:
                sql, params = (
                    (
                        "UPDATE folders SET offline_since = COALESCE(offline_since, ?), offline_reason = ? "
                        "WHERE id = ? AND offline_reason IS NOT ?"
                    ),
                    (time.time(), reason, folder_id, reason),
                )
            return db.execute(sql, params).rowcount > 0

    def shared_content(self, folder_ids: Iterable[int]) -> list[tuple[int, int, int, int]]:
        """For each of these folders and each other folder holding some of its photos' content:
        (folder, other folder, photos of it found there, its photos), by distinct fingerprint."""
        marks = ",".join(str(int(i)) for i in folder_ids)  # ints from the catalog itself
        if not marks:
            return []
        totals = dict(
            self.db.execute(
                f"SELECT folder_id, COUNT(DISTINCT fingerprint) FROM files "
                f"WHERE status = 'ok' AND folder_id IN ({marks}) GROUP BY folder_id"
            )
        )
        rows = self.db.execute(
            f"""
            SELECT mine.folder_id, theirs.folder_id, COUNT(DISTINCT mine.fingerprint)
            FROM files AS mine JOIN files AS theirs ON theirs.fingerprint = mine.fingerprint
            WHERE mine.status = 'ok' AND mine.folder_id IN ({marks}) AND theirs.folder_id != mine.folder_id
            GROUP BY mine.folder_id, theirs.folder_id
            """
        ).fetchall()
        return [(mine, theirs, found, totals.get(mine, 0)) for mine, theirs, found in rows]

    def relink_folder(
        self, folder_id: int, new_root: Path, moves: Iterable[tuple[int, str, int, float]], drop: Iterable[int]
    ) -> None:
        """Give a library folder its new place, all in one transaction: rows `drop` are deleted
        first (the copies that indexing the new place made), `moves` (file id, new path, size,
        mtime) rewrite the folder's photos in place (same ids: embeddings, text and everything
        keyed by id follow), and a library folder already at `new_root` is merged into this one."""
        new_s = to_db(str(new_root))
        with self.transaction() as db:
            self.delete_files(db, drop)
            db.executemany(
                "UPDATE files SET path = ?, folder_id = ?, size = ?, mtime = ? WHERE id = ?",
                [(to_db(path), folder_id, size, mtime, file_id) for file_id, path, size, mtime in moves],
            )
            there = db.execute("SELECT id FROM folders WHERE path = ? AND id != ?", (new_s, folder_id)).fetchone()
            if there is not None:
                db.execute("UPDATE files SET folder_id = ? WHERE folder_id = ?", (folder_id, there[0]))
                db.execute("DELETE FROM folders WHERE id = ?", (there[0],))
            db.execute(
                "UPDATE folders SET path = ?, offline_since = NULL, offline_reason = NULL WHERE id = ?",
                (new_s, folder_id),
            )

    # -- files -------------------------------------------------------------------------------

    def files(self, where: str = "", params: Iterable = ()) -> list[FileRecord]:
        sql = f"SELECT {_FILE_COLUMNS} FROM files {where}"
        return [
            FileRecord(*row) if type(row[1]) is str else FileRecord(row[0], from_db(row[1]), *row[2:])
            for row in self.db.execute(sql, tuple(params))
        ]

    def file(self, file_id: int) -> FileRecord | None:
        found = self.files("WHERE id = ?", (file_id,))
        return found[0] if found else None

    def file_by_path(self, path: Path | str) -> FileRecord | None:
        found = self.files("WHERE path = ?", (to_db(str(path)),))
        return found[0] if found else None

    def paths(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):  # SQLite's parameter limit
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT id, path FROM files WHERE id IN ({marks})", chunk)
            out.update((i, from_db(p)) for i, p in rows)
        return out

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM files WHERE status = ?", (status,)).fetchone()[0]

    def put_files(self, db: sqlite3.Connection, records: Iterable[FileRecord]) -> None:
        """Insert or update file rows by path (call inside `transaction()`)."""
        db.executemany(
            """
            INSERT INTO files (path, folder_id, fingerprint, size, mtime, status, skip_reason,
                               width, height, taken_at, format, taken_from)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(path) DO UPDATE SET
                folder_id = excluded.folder_id, fingerprint = excluded.fingerprint,
                size = excluded.size, mtime = excluded.mtime, status = excluded.status,
                skip_reason = excluded.skip_reason, width = excluded.width,
                height = excluded.height, taken_at = excluded.taken_at, format = excluded.format,
                taken_from = excluded.taken_from
            """,
            [
                (
                    to_db(r.path),
                    r.folder_id,
                    r.fingerprint,
                    r.size,
                    r.mtime,
                    r.status,
                    r.skip_reason,
                    r.width,
                    r.height,
                    r.taken_at,
                    r.format,
                    r.taken_from,
                )
                for r in records
            ],
        )

    def unread_dates(self) -> list[tuple[int, str]]:
        """(id, path) of the photos whose date was looked for only in EXIF (catalogued before schema 4)."""
        return self.db.execute("SELECT id, path FROM files WHERE taken_from = ?", (UNREAD_DATE,)).fetchall()

    def set_dates(self, dates: Iterable[tuple[int, str | None, str | None]]) -> None:
        """Store (id, taken_at, taken_from) rows. No cache derives from dates: the generation stays."""
        rows = [(taken_at, taken_from, file_id) for file_id, taken_at, taken_from in dates]
        if rows:
            with self.transaction(bump=False) as db:
                db.executemany("UPDATE files SET taken_at = ?, taken_from = ? WHERE id = ?", rows)

    def delete_files(self, db: sqlite3.Connection, ids: Iterable[int]) -> None:
        db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])

    # -- holds: what an undoable change took out (migration 9) --------------------------------

    def hold(self, db: sqlite3.Connection, kind: str, file_ids: Iterable[int], folder_ids: Iterable[int] = ()) -> int:
        """Keep copies of these rows (and so their content's derived data) before they are
        deleted, inside the deleting transaction; returns the hold's id."""
        hold_id = db.execute("INSERT INTO holds (kind, made_at) VALUES (?, ?)", (kind, time.time())).lastrowid
        db.executemany(
            "INSERT INTO held_folders (hold_id, id, path, added_at) "
            "SELECT ?, id, path, added_at FROM folders WHERE id = ?",
            [(hold_id, i) for i in folder_ids],
        )
        db.executemany(
            f"INSERT INTO held_files (hold_id, {_FILE_COLUMNS}) SELECT ?, {_FILE_COLUMNS} FROM files WHERE id = ?",
            [(hold_id, i) for i in file_ids],
        )
        return hold_id

    def held_files(self, hold_id: int) -> list[FileRecord]:
        rows = self.db.execute(f"SELECT {_FILE_COLUMNS} FROM held_files WHERE hold_id = ? ORDER BY id", (hold_id,))
        return [
            FileRecord(*row) if type(row[1]) is str else FileRecord(row[0], from_db(row[1]), *row[2:]) for row in rows
        ]

    def put_back(self, hold_id: int, paths: set[str] | None = None) -> tuple[list[int], list[tuple[str, str]]]:
        """Put a hold's folders and files (only those at `paths`, when given) back in the
        catalog, with their old ids: (ids put back, (path, why) of those that could not be)."""
        with self.transaction() as db:
            folder_of = self._put_back_folders(db, hold_id)
            back, failed = [], []
            for record in self.held_files(hold_id):
                if paths is not None and record.path not in paths:
                    continue
                why = self._put_back_file(db, record, folder_of)
                if why:
                    failed.append((record.path, why))
                else:
                    back.append(record.id)
            return back, failed

    def _put_back_folders(self, db: sqlite3.Connection, hold_id: int) -> set[int]:
        """Held folders back (their old id; the held photos follow a library folder at that path
        now): the ids of the library's folders."""
        for folder_id, path, added_at in db.execute(
            "SELECT id, path, added_at FROM held_folders WHERE hold_id = ?", (hold_id,)
        ).fetchall():
            db.execute(
                "INSERT OR IGNORE INTO folders (id, path, added_at) "
                "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM folders WHERE path = ?)",
                (folder_id, path, added_at, path),
            )
            now = db.execute("SELECT id FROM folders WHERE path = ?", (path,)).fetchone()[0]
            if now != folder_id:
                db.execute(
                    "UPDATE held_files SET folder_id = ? WHERE hold_id = ? AND folder_id = ?", (now, hold_id, folder_id)
                )
        return {i for (i,) in db.execute("SELECT id FROM folders")}

    def _put_back_file(self, db: sqlite3.Connection, record: FileRecord, folders: set[int]) -> str | None:
        """One held row back in `files` (why not, if it cannot be)."""
        path = to_db(record.path)
        if record.folder_id not in folders:
            return "its folder is no longer in the library"
        if db.execute("SELECT 1 FROM files WHERE path = ?", (path,)).fetchone():
            return "it is in the library again already"
        free = db.execute("SELECT 1 FROM files WHERE id = ?", (record.id,)).fetchone() is None
        values = [getattr(record, name) for name in _FILE_COLUMNS.split(", ")]
        values[:2] = [record.id if free else None, path]
        db.execute(f"INSERT INTO files ({_FILE_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)
        return None

    def holds(self) -> list[int]:
        """The ids of the holds kept, oldest first."""
        return [i for (i,) in self.db.execute("SELECT id FROM holds ORDER BY id")]

    def release(self, hold_ids: Iterable[int]) -> None:
        """Forget holds (undone, or no longer undoable): their data may be pruned now."""
        with self.transaction(bump=False) as db:
            db.executemany("DELETE FROM holds WHERE id = ?", [(i,) for i in hold_ids])

    def release_older_than(self, seconds: float) -> int:
        """Forget holds a PhotoSeek that did not quit cleanly left behind."""
        cutoff = time.time() - seconds
        if self.db.execute("SELECT 1 FROM holds WHERE made_at < ? LIMIT 1", (cutoff,)).fetchone() is None:
            return 0  # the usual case: no write when a library opens
        with self.transaction(bump=False) as db:
            return db.execute("DELETE FROM holds WHERE made_at < ?", (cutoff,)).rowcount

    def delete_folder(self, db: sqlite3.Connection, folder_id: int) -> None:
        db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))

    def prune_embeddings(self) -> int:
        """Drop embeddings no file refers to any more (after deletes), nor a held one (see `hold`)."""
        with self.transaction() as db:
            cur = db.execute(f"DELETE FROM embeddings WHERE fingerprint NOT IN ({_LIVE_CONTENT})")
            return cur.rowcount

    # -- embeddings --------------------------------------------------------------------------

    def put_embeddings(self, db: sqlite3.Connection, model_id: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO embeddings (fingerprint, model_id, vector) VALUES (?, ?, ?)",
            [(fp, model_id, np.asarray(v, dtype=np.float16).tobytes()) for fp, v in items],
        )

    def embedded_fingerprints(self, model_id: str) -> set[str]:
        rows = self.db.execute("SELECT fingerprint FROM embeddings WHERE model_id = ?", (model_id,))
        return {fp for (fp,) in rows}

    def vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64[n], vectors float32[n, d]) of every indexed file for this model."""
        rows = self.db.execute(
            """
            SELECT files.id, embeddings.vector FROM files
            JOIN embeddings ON embeddings.fingerprint = files.fingerprint AND embeddings.model_id = ?
            WHERE files.status = 'ok' ORDER BY files.id
            """,
            (model_id,),
        ).fetchall()
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[1] for r in rows)
        vecs = np.frombuffer(blob, dtype=np.float16).reshape(len(rows), -1).astype(np.float32)
        return ids, vecs

    def vector(self, file_id: int, model_id: str) -> np.ndarray | None:
        row = self.db.execute(
            """
            SELECT embeddings.vector FROM files JOIN embeddings
            ON embeddings.fingerprint = files.fingerprint AND embeddings.model_id = ?
            WHERE files.id = ?
            """,
            (model_id, file_id),
        ).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float16).astype(np.float32)

    def embedding_count(self, model_id: str) -> int:
        return self.db.execute(
            """
            SELECT COUNT(*) FROM files JOIN embeddings
            ON embeddings.fingerprint = files.fingerprint AND embeddings.model_id = ?
            WHERE files.status = 'ok'
            """,
            (model_id,),
        ).fetchone()[0]

    # -- text found in photos (OCR) ----------------------------------------------------------
    # Derived from the content and keyed by fingerprint like embeddings (copies share it), written
    # without bumping the generation: the vector index and concept scores do not depend on it.

    def ocr_pending(self, version: int) -> list[tuple[str, str]]:
        """(fingerprint, a path) of each readable photo whose text was never read, or was read by
        an older OCR version; oldest catalog rows first."""
        rows = self.db.execute(
            """
            SELECT files.fingerprint, MIN(files.path) FROM files
            LEFT JOIN ocr_text ON ocr_text.fingerprint = files.fingerprint
            WHERE files.status = 'ok' AND (ocr_text.id IS NULL OR ocr_text.version < ?)
            GROUP BY files.fingerprint ORDER BY MIN(files.id)
            """,
            (version,),
        ).fetchall()
        return [(fp, from_db(path)) for fp, path in rows]

    def put_ocr(self, items: Iterable[tuple[str, str]], engine: str, version: int) -> None:
        """Store the text read in photos, (fingerprint, text); '' records that a photo has none,
        so it is not read again."""
        now = time.time()
        rows = [(fp, text, textmatch.normalize(text), engine, version, now) for fp, text in items]
        if not rows:
            return
        with self.transaction(bump=False) as db:
            db.executemany(
                """
                INSERT INTO ocr_text (fingerprint, text, norm, engine, version, read_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(fingerprint) DO UPDATE SET text = excluded.text, norm = excluded.norm,
                    engine = excluded.engine, version = excluded.version, read_at = excluded.read_at
                """,
                rows,
            )
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'ocr_generation'")

    def ocr_generation(self) -> int:
        """Changes whenever text found in photos is added or removed."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'ocr_generation'").fetchone()
        return int(row[0]) if row else 0

    def ocr_text(self, file_id: int) -> str | None:
        """The text found in a photo ('' when it has none), or None when it was not read yet."""
        row = self.db.execute(
            "SELECT ocr_text.text FROM files JOIN ocr_text ON ocr_text.fingerprint = files.fingerprint "
            "WHERE files.id = ?",
            (file_id,),
        ).fetchone()
        return None if row is None else row[0]

    def ocr_counts(self) -> tuple[int, int, int]:
        """(readable photos, photos read, photos with text), counted by distinct content."""
        photos, read, with_text = self.db.execute(
            """
            SELECT COUNT(DISTINCT files.fingerprint), COUNT(DISTINCT ocr_text.fingerprint),
                   COUNT(DISTINCT CASE WHEN ocr_text.norm != '' THEN ocr_text.fingerprint END)
            FROM files LEFT JOIN ocr_text ON ocr_text.fingerprint = files.fingerprint
            WHERE files.status = 'ok'
            """
        ).fetchone()
        return photos, read, with_text

    def ocr_search(self, query: str, limit: int | None = None, *, phrase: bool = False) -> list[tuple[int, float]]:
        """Photos whose text matches `query`: (file id, score in (0, 1]), best first.

        Forgiving by default: whole words, the start of words, words OCR ran together ("ROADDEATH")
        and, for a word found nowhere as typed, words one character off all match (scores in
        `textmatch`). A photo must hold at least half of the query's significant words.
        `phrase=True` wants the words exactly, together and in order, spaces optional (quoted
        words): the words as written first, then with other spaces, then inside longer words."""
        query_words = textmatch.words(query)
        if not query_words:
            return []
        rows = self._ocr_phrase_rows(query_words) if phrase else self._ocr_word_rows(query_words)
        if not rows:
            return []
        ranked = sorted(rows.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
        files_of: dict[int, list[int]] = {}
        row_ids = list(rows)
        for start in range(0, len(row_ids), 900):
            chunk = row_ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row_id, file_id in self.db.execute(
                f"SELECT ocr_text.id, files.id FROM ocr_text JOIN files ON files.fingerprint = ocr_text.fingerprint "
                f"WHERE files.status = 'ok' AND ocr_text.id IN ({marks}) ORDER BY files.id",
                chunk,
            ):
                files_of.setdefault(row_id, []).append(file_id)
        out: list[tuple[int, float]] = []
        for row_id, (score, _length) in ranked:
            for file_id in files_of.get(row_id, ()):
                out.append((file_id, round(score, 6)))
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def _ocr_vocabulary(self) -> textmatch.Vocabulary:
        generation = self.ocr_generation()
        with self._vocabulary_lock:
            if self._vocabulary is None or self._vocabulary[0] != generation:
                rows = self.db.execute("SELECT id, norm FROM ocr_text WHERE norm != ''").fetchall()
                self._vocabulary = (generation, textmatch.Vocabulary(rows))
            return self._vocabulary[1]  # type: ignore[return-value]

    def _ocr_fts(self, fragment: str, column: str = "norm") -> set[int]:
        """ocr_text rows whose searchable text contains `fragment` (3 characters or more), as
        words (`norm`) or with the spaces taken out (`compact`)."""
        quoted = f'{column} : "' + fragment.replace('"', '""') + '"'
        return {r for (r,) in self.db.execute("SELECT rowid FROM ocr_fts WHERE ocr_fts MATCH ?", (quoted,))}

    def _ocr_norms(self, row_ids: Iterable[int]) -> dict[int, str]:
        row_ids = list(row_ids)
        out: dict[int, str] = {}
        for start in range(0, len(row_ids), 900):
            chunk = row_ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, norm FROM ocr_text WHERE id IN ({marks})", chunk))
        return out

    def _ocr_word_rows(self, query_words: list[str]) -> dict[int, tuple[float, int]]:
        """row id -> (score, text length) for the rows matching enough of the words."""
        vocabulary = self._ocr_vocabulary()
        wanted = textmatch.significant(query_words)
        per_word: list[dict[int, float]] = []
        for word in wanted:
            scores: dict[int, float] = {}

            def give(rows: Iterable[int], value: float) -> None:  # this word's: called for it only
                for r in rows:
                    if scores.get(r, 0.0) < value:  # noqa: B023
                        scores[r] = value  # noqa: B023

            give(vocabulary.exact(word), textmatch.EXACT)
            if len(word) >= 2:
                give(vocabulary.starting_with(word), textmatch.PREFIX)
            if len(word) >= textmatch.MIN_FUZZY:
                give(self._ocr_fts(word), textmatch.INSIDE)
            elif len(word) >= textmatch.MIN_INSIDE:  # short: inside a word only as a run (RE16TGK)
                inside = self._ocr_norms(self._ocr_fts(word).difference(scores))
                give((r for r, text in inside.items() if textmatch.inside_as_group(word, text)), textmatch.INSIDE)
            if not scores and len(word) >= textmatch.MIN_FUZZY:  # found nowhere as typed: a typo?
                for near in vocabulary.near(word):
                    give(vocabulary.exact(near), textmatch.FUZZY_WORD)
                if len(word) >= textmatch.MIN_FUZZY_INSIDE:
                    give(self._ocr_fuzzy_inside(word, exclude=set(scores)), textmatch.FUZZY_INSIDE)
            per_word.append(scores)
        needed = (len(wanted) + 1) // 2
        candidates: dict[int, int] = {}
        for scores in per_word:
            for r in scores:
                candidates[r] = candidates.get(r, 0) + 1
        keep = [r for r, n in candidates.items() if n >= needed]
        norms = self._ocr_norms(keep)
        joined = "".join(query_words)
        out: dict[int, tuple[float, int]] = {}
        for r in keep:
            text = norms.get(r, "")
            mean = sum(scores.get(r, 0.0) for scores in per_word) / len(per_word)
            together = joined in text.replace(" ", "")
            out[r] = ((1 - textmatch.PHRASE_BONUS) * mean + textmatch.PHRASE_BONUS * together, len(text))
        return out

    def _ocr_fuzzy_inside(self, word: str, exclude: set[int], cap: int = 2000) -> set[int]:
        """Rows where `word` is one edit away from part of a run of text: rows sharing enough of
        its trigrams (one edit changes at most three), checked exactly."""
        grams = textmatch.trigrams(word)
        need = max(1, len(grams) - 3)
        counts: dict[int, int] = {}
        for gram in grams:
            for r in self._ocr_fts(gram):
                counts[r] = counts.get(r, 0) + 1
        candidates = sorted((r for r, n in counts.items() if n >= need and r not in exclude), key=lambda r: -counts[r])[
            :cap
        ]
        return {
            r
            for r, text in self._ocr_norms(candidates).items()
            if textmatch.substring_distance(word, text.replace(" ", ""), 1) <= 1
        }

    def _ocr_phrase_rows(self, query_words: list[str]) -> dict[int, tuple[float, int]]:
        """Rows holding the words together and in order, spaces optional (OCR drops and adds them),
        scored by `textmatch.phrase_score`."""
        joined = "".join(query_words)
        if len(joined) >= textmatch.MIN_INSIDE:
            candidates = self._ocr_fts(joined, "compact")
        else:  # too short for the trigram index: rows with its longest word
            candidates = set(self._ocr_vocabulary().exact(max(query_words, key=len)))
        out: dict[int, tuple[float, int]] = {}
        for r, text in self._ocr_norms(candidates).items():
            score = textmatch.phrase_score(query_words, text)
            if score:
                out[r] = (score, len(text))
        return out

    # -- image hashes (duplicates) -----------------------------------------------------------

    def put_hashes(self, db: sqlite3.Connection, items: Iterable[tuple[str, int | None]]) -> None:
        """Store perceptual hashes, (fingerprint, hash or None); inside a transaction."""
        db.executemany("INSERT OR REPLACE INTO image_hashes (fingerprint, phash) VALUES (?, ?)", list(items))

    def hashes_missing(self) -> list[tuple[str, str]]:
        """(fingerprint, a path) of readable photos with no perceptual hash yet."""
        rows = self.db.execute(
            """
            SELECT files.fingerprint, MIN(files.path) FROM files
            LEFT JOIN image_hashes ON image_hashes.fingerprint = files.fingerprint
            WHERE files.status = 'ok' AND image_hashes.fingerprint IS NULL
            GROUP BY files.fingerprint
            """
        ).fetchall()
        return [(fp, from_db(path)) for fp, path in rows]

    def duplicate_candidates(self, leave_out_folders: Iterable[int] = ()) -> list[tuple]:
        """Every readable photo (but those of `leave_out_folders`) as (id, path, fingerprint, size,
        mtime, width, height, taken_at, phash or None), by id."""
        left_out = ",".join(str(int(i)) for i in leave_out_folders)
        rows = self.db.execute(
            f"""
            SELECT files.id, files.path, files.fingerprint, files.size, files.mtime, files.width,
                   files.height, files.taken_at, image_hashes.phash
            FROM files LEFT JOIN image_hashes ON image_hashes.fingerprint = files.fingerprint
            WHERE files.status = 'ok' AND COALESCE(files.folder_id, -1) NOT IN ({left_out}) ORDER BY files.id
            """
        ).fetchall()
        return [row if type(row[1]) is str else (row[0], from_db(row[1]), *row[2:]) for row in rows]

    def prune_derived(self) -> int:
        """Drop text and hashes of content no file has any more, nor a held one (see `hold`)."""
        with self.transaction(bump=False) as db:
            gone = db.execute(f"DELETE FROM ocr_text WHERE fingerprint NOT IN ({_LIVE_CONTENT})").rowcount
            if gone:
                db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'ocr_generation'")
            gone += db.execute(f"DELETE FROM image_hashes WHERE fingerprint NOT IN ({_LIVE_CONTENT})").rowcount
        return gone

    # -- concepts and saved searches ---------------------------------------------------------
    # User data, not derived from the files: written without bumping the generation, so the
    # index and other caches stay valid.

    def indexed_files(self, model_id: str, after_id: int = 0) -> list[tuple[int, str]]:
        """(file id, fingerprint) of every readable photo embedded with this model (ids above `after_id`)."""
        return self.db.execute(
            """
            SELECT files.id, files.fingerprint FROM files JOIN embeddings
            ON embeddings.fingerprint = files.fingerprint AND embeddings.model_id = ?
            WHERE files.status = 'ok' AND files.id > ? ORDER BY files.id
            """,
            (model_id, after_id),
        ).fetchall()

    def indexed_summary(self, model_id: str, up_to_id: int) -> tuple[int, int]:
        """(count, checksum) of the (id, fingerprint) pairs `indexed_files` lists up to `up_to_id`.
        Equal summaries at two moments: those photos did not change in between (with overwhelming
        odds). One aggregate inside SQLite: no row reaches Python."""
        count, checksum = self.db.execute(
            """
            SELECT count(*), coalesce(sum((files.id * 16777259 + unicode(substr(files.fingerprint, 1, 1))
                   + 131 * unicode(substr(files.fingerprint, 2, 1)) + 17161 * unicode(substr(files.fingerprint, 3, 1))
                   + 2248091 * unicode(substr(files.fingerprint, 4, 1))
                   + 294499921 * unicode(substr(files.fingerprint, 5, 1))) % 4294967291), 0)
            FROM files JOIN embeddings
            ON embeddings.fingerprint = files.fingerprint AND embeddings.model_id = ?
            WHERE files.status = 'ok' AND files.id <= ?
            """,
            (model_id, up_to_id),
        ).fetchone()
        return int(count), int(checksum)

    def vectors_by_fingerprint(self, model_id: str, fingerprints: list[str]) -> tuple[list[str], np.ndarray]:
        """(fingerprints found, float32[n, d]) for these fingerprints' embeddings."""
        found: list[str] = []
        blobs: list[bytes] = []
        for start in range(0, len(fingerprints), 900):
            chunk = fingerprints[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for fp, blob in self.db.execute(
                f"SELECT fingerprint, vector FROM embeddings WHERE model_id = ? AND fingerprint IN ({marks})",
                [model_id, *chunk],
            ):
                found.append(fp)
                blobs.append(blob)
        if not found:
            return [], np.empty((0, 0), dtype=np.float32)
        vecs = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(found), -1).astype(np.float32)
        return found, vecs

    def user_concepts(self) -> dict[str, list[str]]:
        import json

        out: dict[str, list[str]] = {}
        for name, phrases in self.db.execute("SELECT name, phrases FROM user_concepts ORDER BY name"):
            try:
                value = json.loads(phrases)
            except ValueError:
                value = []
            out[name] = [str(p) for p in value if str(p).strip()] if isinstance(value, list) else []
        return out

    def set_user_concept(self, name: str, phrases: list[str]) -> None:
        import json

        with self._write_lock:
            self.db.execute(
                "INSERT OR REPLACE INTO user_concepts (name, phrases) VALUES (?, ?)",
                (name, json.dumps(list(phrases), ensure_ascii=False)),
            )

    def remove_user_concept(self, name: str) -> bool:
        with self._write_lock:
            return self.db.execute("DELETE FROM user_concepts WHERE name = ?", (name,)).rowcount > 0

    def saved_searches(self) -> list[tuple[int, str, str]]:
        """(id, name, query), in the order they were saved."""
        return self.db.execute("SELECT id, name, query FROM saved_searches ORDER BY created_at, id").fetchall()

    def save_search(self, name: str, query: str) -> int:
        """Save (or, for an existing name, replace the query of) a search; returns its id."""
        with self._write_lock:
            self.db.execute(
                "INSERT INTO saved_searches (name, query, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET query = excluded.query",
                (name, query, time.time()),
            )
            return self.db.execute("SELECT id FROM saved_searches WHERE name = ?", (name,)).fetchone()[0]

    def rename_saved_search(self, search_id: int, name: str) -> None:
        """Raises sqlite3.IntegrityError when another saved search has that name."""
        with self._write_lock:
            self.db.execute("UPDATE saved_searches SET name = ? WHERE id = ?", (name, search_id))

    def remove_saved_search(self, search_id: int) -> None:
        with self._write_lock:
            self.db.execute("DELETE FROM saved_searches WHERE id = ?", (search_id,))
