"""Catalog backups (before upgrades, once a day while indexing) and `photoseek doctor --repair/--restore`."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from filelock import FileLock

from app.cli import main
from app.core.config import WRITER_LOCK, Settings
from app.core.library import Library
from app.core.store import backups
from app.core.store.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog, CatalogError
from tiny_clip import write_shapes


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _schema_1_catalog(path: Path, photos: int) -> None:
    """A catalog as the first PhotoSeek wrote it (migration 1 never changes)."""
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    if photos:
        db.execute("INSERT INTO folders (id, path, added_at) VALUES (1, '/photos', 0)")
        db.executemany(
            "INSERT INTO files (path, folder_id, fingerprint, size, mtime, status) VALUES (?, 1, ?, 10, 0, 'ok')",
            [(f"/photos/{i}.jpg", f"fp{i}") for i in range(photos)],
        )
    db.commit()
    db.close()


# -- backups -------------------------------------------------------------------------------


def test_an_upgrade_first_backs_up_the_catalog_in_its_old_schema(tmp_path):
    path = tmp_path / "data" / "catalog.sqlite3"
    path.parent.mkdir()
    _schema_1_catalog(path, photos=3)
    catalog = Catalog(path)
    upgraded = sorted(r.path for r in catalog.files())
    catalog.close()
    [backup] = backups.list_backups(path)
    assert (backup.kind, backup.schema) == (backups.BEFORE_UPGRADE, 1)
    assert backup.path.parent == tmp_path / "data" / "backups" and backup.path.name.endswith(
        "-v1-before-upgrade.sqlite3"
    )
    assert _rows(backup.path, "PRAGMA user_version") == [(1,)]
    assert (
        sorted(p for (p,) in _rows(backup.path, "SELECT path FROM files"))
        == upgraded
        == [f"/photos/{i}.jpg" for i in range(3)]
    )
    assert _rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert [p.name for p in backup.path.parent.iterdir()] == [backup.path.name]  # no temp or journal left


def test_new_and_empty_catalogs_are_not_backed_up(tmp_path):
    Catalog(tmp_path / "new" / "catalog.sqlite3").close()
    empty = tmp_path / "old" / "catalog.sqlite3"
    empty.parent.mkdir()
    _schema_1_catalog(empty, photos=0)
    Catalog(empty).close()
    assert backups.list_backups(tmp_path / "new" / "catalog.sqlite3") == backups.list_backups(empty) == []


def test_no_upgrade_without_a_backup(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    _schema_1_catalog(path, photos=2)
    (tmp_path / "backups").write_text("a file where the backups folder goes")
    with pytest.raises(CatalogError, match="not upgraded.*backed up"):
        Catalog(path)
    assert _rows(path, "PRAGMA user_version") == [(1,)]


def test_a_daily_backup_once_a_day_and_a_bounded_number_kept(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    day0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert backups.make_daily(catalog.db, catalog.path, now=day0) is None  # nothing to keep yet
    catalog.save_search("reds", "red")
    first = backups.make_daily(catalog.db, catalog.path, now=day0)
    assert first is not None and first.path.name == f"catalog-2026-03-01T0930-v{SCHEMA_VERSION}.sqlite3"
    assert backups.make_daily(catalog.db, catalog.path, now=day0 + timedelta(hours=23)) is None
    for day in range(1, 10):
        assert backups.make_daily(catalog.db, catalog.path, now=day0 + timedelta(days=day)) is not None
    for day in range(5):
        backups.make(catalog.db, catalog.path, backups.BEFORE_UPGRADE, now=day0 + timedelta(days=day, hours=1))
    kept = backups.list_backups(catalog.path)
    daily = [b.taken_at for b in kept if b.kind == backups.DAILY]
    before = [b.taken_at for b in kept if b.kind == backups.BEFORE_UPGRADE]
    assert daily == [day0 + timedelta(days=d) for d in range(9, 2, -1)]  # the newest 7, newest first
    assert before == [day0 + timedelta(days=d, hours=1) for d in (4, 3, 2)]
    assert all(_rows(b.path, "SELECT name FROM saved_searches") == [("reds",)] for b in kept)
    catalog.close()


def test_indexing_backs_up_once_a_day(library, tmp_path):
    write_shapes(tmp_path / "lib", per_kind=1)
    library.update([tmp_path / "lib"])
    assert backups.list_backups(library.settings.catalog_path) == []  # the catalog was empty when it started
    library.update()
    [backup] = backups.list_backups(library.settings.catalog_path)
    assert backup.kind == backups.DAILY
    assert len(_rows(backup.path, "SELECT id FROM files WHERE status = 'ok'")) == 12
    library.update()
    assert backups.list_backups(library.settings.catalog_path) == [backup]
    assert library.doctor()["backups"] == 1


# -- doctor --repair and --restore -----------------------------------------------------------


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory, random_model) -> Path:
    """A data dir of 12 indexed photos, one folder and the saved search "reds", all in its daily backup."""
    root = tmp_path_factory.mktemp("backed-up")
    write_shapes(root / "lib", per_kind=1)
    config, checkpoint = random_model
    settings = Settings(
        data_dir=root / "data", model=str(config), pretrained=str(checkpoint), decode_threads=2, batch_size=8, ocr=False
    )
    library = Library(settings)
    library.update([root / "lib"])
    library.save_search("reds", "red")
    library.update()
    library.close()
    assert len(backups.list_backups(settings.catalog_path)) == 1
    return settings.data_dir


@pytest.fixture
def data(backed_up, model_env, random_model, monkeypatch) -> Path:
    """A copy of `backed_up` as the data dir of the CLI; stdin is not a terminal."""
    env = model_env(random_model)
    data = Path(env["PHOTOSEEK_DATA_DIR"])
    shutil.copytree(backed_up, data)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return data


def _damage(catalog: Path, how: str) -> None:
    if how == "truncated":
        catalog.write_bytes(catalog.read_bytes()[: catalog.stat().st_size // 2])
    elif how == "garbage header":
        catalog.write_bytes(b"\0garbage" * 64 + catalog.read_bytes()[512:])
    elif how == "a folder in its place":
        catalog.unlink()
        catalog.mkdir()
    elif how == "emptied":
        catalog.write_bytes(b"")
    else:  # written by a newer PhotoSeek
        db = sqlite3.connect(catalog)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.close()


def _aside(data: Path, word: str) -> list[Path]:
    return sorted(data.glob(f"catalog.{word}-*.sqlite3"))


@pytest.mark.parametrize("how", ["truncated", "garbage header", "a folder in its place", "emptied", "newer schema"])
def test_repair_puts_the_backup_in_place_of_a_damaged_catalog(capsys, data, how):
    catalog = data / "catalog.sqlite3"
    _damage(catalog, how)
    damaged = catalog.read_bytes() if catalog.is_file() else None
    code, _, err = run_cli(capsys, "search", "red")
    assert code == 4 and len(err.strip().splitlines()) == 1 and "photoseek doctor --repair" in err
    code, out, err = run_cli(capsys, "doctor")
    assert code == 4 and "catalog_problem" in out and "backups: 1" in out and "doctor --repair" in err

    code, out, err = run_cli(capsys, "doctor", "--repair")  # no terminal, no --yes: only what it would do
    assert code == 5 and "restore the backup" in out and "--yes" in err
    assert _aside(data, "damaged") == [] and (catalog.read_bytes() if catalog.is_file() else None) == damaged

    code, out, _ = run_cli(capsys, "doctor", "--repair", "--yes")
    assert code == 0, out
    [backup] = backups.list_backups(catalog)
    moved, restored, dropped = out.splitlines()[-3:]
    assert moved.startswith(f"Moved the catalog aside: {data / 'catalog.damaged-'}")
    assert restored.startswith(f"Restored {backup.path}") and restored.endswith(
        ": 12 photos in 1 folder, 1 saved search"
    )
    assert dropped.startswith("Dropped the search index cache")
    assert list((data / "index").glob("*.faiss")) == []
    [aside] = _aside(data, "damaged")
    assert (aside.read_bytes() if aside.is_file() else None) == damaged
    assert run_cli(capsys, "saved", "list") == (0, "reds: red\n", "")
    code, out, _ = run_cli(capsys, "search", "red", "-n", "0", "--json")
    assert code == 0 and len(json.loads(out)) == 12
    code, out, _ = run_cli(capsys, "index", "--json")
    assert code == 0 and (json.loads(out)["unchanged"], json.loads(out)["new"]) == (12, 0)
    assert run_cli(capsys, "doctor", "--repair")[:2] == (
        0,
        f"The catalog {catalog} opens and passes its quick check: nothing needed repair.\n",
    )


def test_an_emptied_catalog_with_backups_is_refused_not_taken_for_a_new_library(capsys, data):
    shutil.rmtree(data / "index")
    _damage(data / "catalog.sqlite3", "emptied")
    code, _, err = run_cli(capsys, "saved", "list")
    assert code == 4 and "empty (0 bytes)" in err and "backups are still there" in err
    assert (data / "catalog.sqlite3").stat().st_size == 0


def test_repair_asks_on_a_terminal(capsys, data, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    catalog = data / "catalog.sqlite3"
    _damage(catalog, "garbage header")
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    code, out, _ = run_cli(capsys, "doctor", "--repair")
    assert code == 5 and out.rstrip().endswith("Go ahead? [y/N] Nothing was changed.")
    assert _aside(data, "damaged") == []
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, _ = run_cli(capsys, "doctor", "--repair")
    assert code == 0 and len(_aside(data, "damaged")) == 1 and "Restored" in out


def test_repair_without_a_backup_starts_an_empty_catalog_and_says_so(capsys, data):
    shutil.rmtree(data / "backups")
    _damage(data / "catalog.sqlite3", "garbage header")
    code, out, _ = run_cli(capsys, "doctor", "--repair", "--yes")
    assert code == 0 and "Started an empty catalog (there was no usable backup): 0 photos in 0 folders" in out
    assert len(_aside(data, "damaged")) == 1
    assert run_cli(capsys, "saved", "list") == (0, "", "")


def test_a_damaged_backup_is_passed_over(capsys, data):
    [good] = backups.list_backups(data / "catalog.sqlite3")
    newer = good.path.with_name(f"catalog-2099-01-01T0000-v{SCHEMA_VERSION}.sqlite3")
    newer.write_bytes(good.path.read_bytes()[:4096])  # cut short: fails its quick check
    _damage(data / "catalog.sqlite3", "truncated")
    code, out, _ = run_cli(capsys, "doctor", "--repair", "--yes")
    assert code == 0 and f"skip backup {newer.name}:" in out and f"Restored {good.path}" in out


def test_restore_round_trip_keeps_the_replaced_catalog_aside(capsys, data):
    assert run_cli(capsys, "saved", "add", "blues", "blue")[0] == 0  # after the backup
    code, out, err = run_cli(capsys, "doctor", "--restore")
    assert code == 5 and _aside(data, "replaced") == []
    code, out, _ = run_cli(capsys, "doctor", "--restore", "--yes")
    assert code == 0 and "Restored" in out
    assert run_cli(capsys, "saved", "list")[1] == "reds: red\n"
    [replaced] = _aside(data, "replaced")
    assert _rows(replaced, "SELECT name FROM saved_searches ORDER BY name") == [("blues",), ("reds",)]

    code, out, _ = run_cli(capsys, "doctor", "--restore", str(replaced), "--yes")  # and back again
    assert code == 0
    assert run_cli(capsys, "saved", "list")[1] == "reds: red\nblues: blue\n"
    assert len(_aside(data, "replaced")) == 2
    code, out, _ = run_cli(capsys, "search", "red", "-n", "0", "--json")
    assert code == 0 and len(json.loads(out)) == 12


def test_restore_refuses_a_file_that_is_not_a_catalog(capsys, data, tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database " * 100)
    code, _, err = run_cli(capsys, "doctor", "--restore", str(junk), "--yes")
    assert code == 2 and err.startswith(f"photoseek: cannot restore {junk}: file is not a database")
    assert _aside(data, "replaced") == []


def test_restore_waits_for_no_indexer(capsys, data):
    with FileLock(data / WRITER_LOCK):
        code, out, err = run_cli(capsys, "doctor", "--restore", "--yes")
    assert code == 5 and "another PhotoSeek is indexing" in err and out == ""
    assert _aside(data, "replaced") == []


def test_doctor_reports_the_backups(capsys, data):
    code, out, _ = run_cli(capsys, "doctor", "--json")
    info = json.loads(out)
    assert code == 0 and info["catalog_integrity"] == "ok" and info["backups"] == 1
    assert Path(info["newest_backup"]).parent == data / "backups" and 0 <= info["newest_backup_age_h"] < 24
