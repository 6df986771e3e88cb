import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from app.core.store.catalog import SCHEMA_VERSION, Catalog, CatalogError, FileRecord


def test_new_catalog_is_migrated_and_in_wal_mode(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    assert cat.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert cat.integrity_check() == "ok"


def test_refuses_a_catalog_from_a_newer_version(tmp_path):
    path = tmp_path / "c.sqlite3"
    Catalog(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CatalogError, match="newer"):
        Catalog(path)


def test_embeddings_round_trip_as_float16_and_bump_generation(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    folder = cat.add_folder(tmp_path)
    g0 = cat.generation()
    vec = np.random.default_rng(0).normal(size=16).astype(np.float32)
    vec /= np.linalg.norm(vec)
    with cat.transaction() as db:
        cat.put_files(db, [FileRecord(None, str(tmp_path / "a.jpg"), "fpA", 10, 1.0, folder_id=folder)])
        cat.put_embeddings(db, "m/1", [("fpA", vec)])
    assert cat.generation() == g0 + 1
    ids, vecs = cat.vectors("m/1")
    assert len(ids) == 1 and vecs.dtype == np.float32
    assert np.allclose(vecs[0], vec, atol=1e-3)
    assert cat.vectors("other/model")[0].size == 0


def test_failed_transaction_leaves_nothing(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    g0 = cat.generation()
    with pytest.raises(RuntimeError), cat.transaction() as db:
        cat.put_files(db, [FileRecord(None, "/x.jpg", "fp", 1, 1.0)])
        raise RuntimeError("boom")
    assert cat.count() == 0 and cat.generation() == g0


def test_removing_a_folder_forgets_its_files(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    folder = cat.add_folder(tmp_path)
    with cat.transaction() as db:
        cat.put_files(db, [FileRecord(None, str(tmp_path / "a.jpg"), "fpA", 10, 1.0, folder_id=folder)])
    cat.remove_folder(tmp_path)
    assert cat.count() == 0 and cat.folders() == {}


def test_a_schema_1_catalog_keeps_its_embeddings_and_shrinks(tmp_path):
    """Upgrading moves the embeddings to a table that stores each vector inline (schema 3)."""
    from app.core.store.catalog import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 512)).astype(np.float16)
    db.execute("INSERT INTO folders VALUES (1, '/p', 0)")
    db.execute("BEGIN")
    for i, v in enumerate(vectors):
        db.execute(
            "INSERT INTO files (path, folder_id, fingerprint, size, mtime, status) VALUES (?, 1, ?, 1, 1, 'ok')",
            (f"/p/{i}.jpg", f"fp{i}"),
        )
        db.execute("INSERT INTO embeddings VALUES (?, 'm', ?)", (f"fp{i}", v.tobytes()))
    db.execute("COMMIT")
    db.close()
    before = path.stat().st_size

    catalog = Catalog(path)
    ids, got = catalog.vectors("m")
    assert len(ids) == 2000 and np.array_equal(got, vectors.astype(np.float32)[ids - 1])
    assert (
        "WITHOUT ROWID"
        not in catalog.db.execute("SELECT sql FROM sqlite_master WHERE name = 'embeddings'").fetchone()[0]
    )
    catalog.close()
    assert path.stat().st_size < before / 2  # about 1.2 KB a photo instead of 4.7 KB
    assert Catalog(path).integrity_check() == "ok"


def test_close_closes_the_connection_of_every_thread(tmp_path):
    catalog = Catalog(tmp_path / "catalog.db")
    opened = []
    worker = threading.Thread(target=lambda: opened.append(catalog.db))
    worker.start()
    worker.join()
    mine = catalog.db
    assert opened[0] is not mine
    catalog.close()
    for conn in (opened[0], mine):
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    assert catalog.db.execute("SELECT COUNT(*) FROM files").fetchone() == (0,)  # opens a new one
    catalog.close()


def test_a_schema_3_catalog_learns_that_its_dates_came_from_exif(tmp_path):
    """Until schema 4 only EXIF dates were read: a dated photo's date came from there, an undated
    one's other metadata is still to be read."""
    from app.core.store.catalog import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("".join(MIGRATIONS[:3]) + "PRAGMA user_version = 3;")
    for name, taken in (("dated", "2010-05-01T10:00:00"), ("undated", None)):
        db.execute(
            "INSERT INTO files (path, fingerprint, size, mtime, status, taken_at) VALUES (?, ?, 1, 1, 'ok', ?)",
            (f"/p/{name}.jpg", name, taken),
        )
    db.close()
    catalog = Catalog(path)
    assert {r.fingerprint: (r.taken_at, r.taken_from) for r in catalog.files()} == {
        "dated": ("2010-05-01T10:00:00", "EXIF"),
        "undated": (None, "unread"),
    }
    assert catalog.unread_dates() == [(2, "/p/undated.jpg")]
    generation = catalog.generation()
    catalog.set_dates([(2, "2009-01-02T03:04:05", "XMP")])
    assert catalog.file(2).taken_at == "2009-01-02T03:04:05" and catalog.unread_dates() == []
    assert catalog.generation() == generation  # the index and concept scores stay valid
    catalog.close()


def test_ids_of_removed_photos_and_folders_are_never_given_again(tmp_path):
    """A photo added after the newest one was removed gets a new id (SQLite would reuse it)."""
    cat = Catalog(tmp_path / "c.sqlite3")
    first = cat.add_folder(tmp_path)
    with cat.transaction() as db:
        cat.put_files(
            db, [FileRecord(None, str(tmp_path / f"{n}.jpg"), f"fp{n}", 1, 1.0, folder_id=first) for n in "ab"]
        )
    old_ids = {r.id for r in cat.files()}
    cat.remove_folder(tmp_path)
    (tmp_path / "other").mkdir()
    second = cat.add_folder(tmp_path / "other")
    with cat.transaction() as db:
        cat.put_files(db, [FileRecord(None, str(tmp_path / "other" / "c.jpg"), "fpC", 1, 1.0, folder_id=second)])
    assert second != first
    assert not {r.id for r in cat.files()} & old_ids


def test_upgrading_to_never_reused_ids_keeps_every_id_photo_and_folder(tmp_path):
    from app.core.store.catalog import MIGRATIONS

    path = tmp_path / "v6.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("".join(MIGRATIONS[:6]) + "PRAGMA user_version = 6;")
    db.execute("INSERT INTO folders VALUES (3, '/p', 0)")
    for i in (2, 5, 9):
        db.execute(
            "INSERT INTO files (id, path, folder_id, fingerprint, size, mtime, status, taken_at, taken_from)"
            " VALUES (?, ?, 3, ?, 1, 1, 'ok', '2020-01-0' || ?, 'EXIF')",
            (i, f"/p/{i}.jpg", f"fp{i}", i),
        )
    db.execute("INSERT INTO embeddings (fingerprint, model_id, vector) VALUES ('fp5', 'm', x'0000')")
    db.close()

    cat = Catalog(path)
    assert [(r.id, r.path, r.folder_id, r.taken_at) for r in cat.files("ORDER BY id")] == [
        (2, "/p/2.jpg", 3, "2020-01-02"),
        (5, "/p/5.jpg", 3, "2020-01-05"),
        (9, "/p/9.jpg", 3, "2020-01-09"),
    ]
    assert cat.folders() == {3: Path("/p")}
    assert cat.embedding_count("m") == 1
    assert cat.integrity_check() == "ok"
    assert cat.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # on again for this connection
    with cat.transaction() as db:  # the newest removed: its id is still not given again
        cat.delete_files(db, [9])
        cat.put_files(db, [FileRecord(None, "/p/new.jpg", "fpN", 1, 1.0, folder_id=3)])
    assert cat.file_by_path("/p/new.jpg").id == 10
    cat.remove_folder(Path("/p"))  # and the cascade works again
    assert cat.count() == 0
