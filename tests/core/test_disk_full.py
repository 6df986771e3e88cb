"""A full disk: the real error surfaces, what was committed is kept, and the command line says so
in one line. SQLite really runs out of room: its page limit is set just above the catalog's size."""

import sqlite3

import numpy as np
import pytest

from app.cli import main
from app.core.store.catalog import Catalog, FileRecord
from tiny_clip import write_shapes


def _rows(n: int, start: int = 0) -> list[FileRecord]:
    return [FileRecord(None, f"/photos/{i:05d}-{'x' * 200}.jpg", f"{i:032x}", 1, 0.0) for i in range(start, start + n)]


def test_a_full_disk_is_reported_as_itself_and_the_committed_rows_stay(tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite3")
    with catalog.transaction() as db:
        catalog.put_files(db, _rows(10))
    pages = catalog.db.execute("PRAGMA page_count").fetchone()[0]
    catalog.db.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):  # not "cannot rollback"
        with catalog.transaction() as db:  # (SQLite rolls a transaction back itself when embeddings fill it)
            catalog.put_files(db, _rows(2, start=10))
            catalog.put_embeddings(db, "model", [(r.fingerprint, np.ones(32)) for r in _rows(500, start=10)])
    assert catalog.count() == 10 and catalog.embedding_count("model") == 0 and catalog.integrity_check() == "ok"
    catalog.db.execute("PRAGMA max_page_count = 1000000")  # room again: the same connection goes on
    with catalog.transaction() as db:
        catalog.put_files(db, _rows(500, start=10))
    assert catalog.count() == 510


@pytest.fixture
def full_disk(monkeypatch):
    """full_disk(catalog_file): from now on every catalog connection may grow one page only."""

    def fill(catalog_file) -> None:
        with sqlite3.connect(catalog_file) as db:
            limit = db.execute("PRAGMA page_count").fetchone()[0] + 1
        real = Catalog.db.fget

        def limited(self):
            conn = real(self)
            conn.execute(f"PRAGMA max_page_count = {limit}")
            return conn

        monkeypatch.setattr(Catalog, "db", property(limited))

    return fill


def test_index_on_a_full_disk_says_so_in_one_line_and_the_next_run_goes_on(
    capsys, model_env, random_model, tmp_path, full_disk, monkeypatch
):
    env = model_env(random_model)
    write_shapes(tmp_path / "a", per_kind=1, size=64)
    write_shapes(tmp_path / "b", per_kind=6, size=64)
    assert main(["index", str(tmp_path / "a"), "--no-concepts"]) == 0
    capsys.readouterr()
    catalog_file = f"{env['PHOTOSEEK_DATA_DIR']}/catalog.sqlite3"
    full_disk(catalog_file)
    code = main(["index", str(tmp_path / "b"), "--no-concepts"])
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("photoseek:")]
    assert code == 1 and "Traceback" not in err and len(said) == 1, err
    with sqlite3.connect(catalog_file) as db:
        kept = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    assert said[0].startswith("photoseek: disk full: database or disk is full")
    assert f"kept: {kept} photos in the library" in said[0] and 12 <= kept < 84
    assert main(["-v", "index", "--no-concepts"]) == 1  # -v: the traceback too
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.undo()  # room again
    model_env(random_model)
    assert main(["index", "--json", "--no-concepts"]) == 0
    with sqlite3.connect(catalog_file) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM files").fetchone() == (84, 84)
