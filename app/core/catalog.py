"""The SQLite catalog: the source of truth for files, embeddings and settings.

One writer at a time (the indexer), any number of readers (WAL). Each thread gets its own
connection. Every write bumps a `generation` counter so derived caches (the FAISS index) can tell
whether they are stale.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

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
    taken_at: str | None = None  # ISO 8601, from EXIF, local time as the camera wrote it
    format: str | None = None
    folder_id: int | None = None


_FILE_COLUMNS = (
    "id, path, fingerprint, size, mtime, status, skip_reason, width, height, taken_at, format, folder_id"
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
    # 2: text found inside photos (OCR, searchable with typos via trigrams), user concepts,
    # saved searches
    """
    CREATE TABLE ocr_text (
        fingerprint TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        engine TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE ocr_fts USING fts5(
        text, content='ocr_text', content_rowid='rowid', tokenize='trigram'
    );
    CREATE TRIGGER ocr_text_ai AFTER INSERT ON ocr_text BEGIN
        INSERT INTO ocr_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    CREATE TRIGGER ocr_text_ad AFTER DELETE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    END;
    CREATE TRIGGER ocr_text_au AFTER UPDATE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
        INSERT INTO ocr_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
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
]

SCHEMA_VERSION = len(MIGRATIONS)


class CatalogError(RuntimeError):
    pass


class Catalog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._migrate()

    # -- connections -------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that bumps the generation; all or nothing."""
        with self._write_lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        db = self.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path} was written by a newer PhotoSeek (schema {version} > {SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            # executescript commits any open transaction, so the script carries its own.
            script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;"
            with self._write_lock:
                try:
                    db.executescript(script)
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
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
        path_s = str(Path(path).resolve())
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO folders (path, added_at) VALUES (?, ?)", (path_s, time.time()))
            return db.execute("SELECT id FROM folders WHERE path = ?", (path_s,)).fetchone()[0]

    def remove_folder(self, path: Path) -> None:
        path_s = str(Path(path).resolve())
        with self.transaction() as db:
            db.execute("DELETE FROM folders WHERE path = ?", (path_s,))

    def folders(self) -> dict[int, Path]:
        return {i: Path(p) for i, p in self.db.execute("SELECT id, path FROM folders ORDER BY path")}

    # -- files -------------------------------------------------------------------------------

    def files(self, where: str = "", params: Iterable = ()) -> list[FileRecord]:
        sql = f"SELECT {_FILE_COLUMNS} FROM files {where}"
        return [FileRecord(*row) for row in self.db.execute(sql, tuple(params))]

    def file(self, file_id: int) -> FileRecord | None:
        found = self.files("WHERE id = ?", (file_id,))
        return found[0] if found else None

    def file_by_path(self, path: Path | str) -> FileRecord | None:
        found = self.files("WHERE path = ?", (str(path),))
        return found[0] if found else None

    def paths(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):  # SQLite's parameter limit
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, path FROM files WHERE id IN ({marks})", chunk))
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
                               width, height, taken_at, format)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(path) DO UPDATE SET
                folder_id = excluded.folder_id, fingerprint = excluded.fingerprint,
                size = excluded.size, mtime = excluded.mtime, status = excluded.status,
                skip_reason = excluded.skip_reason, width = excluded.width,
                height = excluded.height, taken_at = excluded.taken_at, format = excluded.format
            """,
            [
                (r.path, r.folder_id, r.fingerprint, r.size, r.mtime, r.status, r.skip_reason,
                 r.width, r.height, r.taken_at, r.format)
                for r in records
            ],
        )

    def delete_files(self, db: sqlite3.Connection, ids: Iterable[int]) -> None:
        db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])

    def prune_embeddings(self) -> int:
        """Drop embeddings no file refers to any more (after deletes)."""
        with self.transaction() as db:
            cur = db.execute(
                "DELETE FROM embeddings WHERE fingerprint NOT IN (SELECT fingerprint FROM files)"
            )
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
