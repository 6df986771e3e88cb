"""File names are bytes on POSIX: any name the OS gives is indexed, stored exactly and shown
readably; and no single file stops a run."""

import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.ingest import imaging, scanner
from app.core.names import shown
from app.core.store.catalog import Catalog
from tiny_clip import write_shapes

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")

LATIN1 = b"Urlaub_M\xfcnchen.jpg"  # as an old drive, a zip or a Samba share writes it


@pytest.fixture
def photos(tmp_path) -> Path:
    """12 shape pictures, one renamed to a Latin-1 name and one moved into a Latin-1 folder."""
    folder = tmp_path / "photos"
    write_shapes(folder, per_kind=1)
    raw = os.fsencode(folder)
    os.rename(os.fsencode(folder / "red_circle_0.jpg"), os.path.join(raw, LATIN1))
    os.mkdir(os.path.join(raw, b"Caf\xe9"))
    os.rename(os.fsencode(folder / "blue_square_0.jpg"), os.path.join(raw, b"Caf\xe9", b"blue.jpg"))
    return folder


def _disk(folder: Path) -> set[bytes]:
    return {os.path.join(d, f) for d, _, files in os.walk(os.fsencode(folder)) for f in files}


def test_a_name_that_is_not_utf8_is_indexed_searchable_and_stored_exactly(library, photos):
    report = library.update([photos])
    assert (report.new, report.embedded, report.skipped) == (12, 12, [])
    stored = library.catalog.files()
    assert {os.fsencode(r.path) for r in stored} == _disk(photos)  # the very bytes the OS gave
    odd = os.path.join(os.fsencode(photos), LATIN1)
    record = library.catalog.file_by_path(os.fsdecode(odd))
    assert record is not None and os.fsencode(record.path) == odd
    with open(record.path, "rb") as f, open(odd, "rb") as g:
        assert f.read() == g.read()
    hits = library.search('"nchen"')  # the file name holds the word
    assert os.fsencode(hits[0].path) == odd
    assert library.similar(record.path, n=1)[0].score > 0
    assert library.doctor()["index_ok"]
    again = library.update()
    assert (again.unchanged, again.embedded, again.new) == (12, 0, 0)


def test_a_file_moved_to_another_odd_name_keeps_its_embedding(library, photos):
    library.update([photos])
    raw = os.fsencode(photos)
    os.rename(os.path.join(raw, LATIN1), os.path.join(raw, b"Z\xfcrich.jpg"))
    report = library.update()
    assert (report.moved, report.embedded, report.removed) == (1, 0, 0)
    assert library.catalog.file_by_path(os.fsdecode(os.path.join(raw, b"Z\xfcrich.jpg"))) is not None
    assert {os.fsencode(r.path) for r in library.catalog.files()} == _disk(photos)


def test_a_library_folder_whose_name_is_not_utf8(library, tmp_path):
    root = os.path.join(os.fsencode(tmp_path), b"Fotos_\xe9t\xe9")
    write_shapes(Path(os.fsdecode(root)), per_kind=1)
    report = library.update([os.fsdecode(root)])
    assert (report.new, report.embedded) == (12, 12)
    assert [os.fsencode(p) for p in library.folders().values()] == [root]
    library.remove_folder(os.fsdecode(root))
    assert library.folders() == {} and library.catalog.count() == 0


def test_shown_names_replace_bytes_that_are_not_utf8():
    assert shown(os.fsdecode(b"/p/M\xfcnchen.jpg")) == "/p/M\ufffdnchen.jpg"
    assert shown("/p/München.jpg") == "/p/München.jpg"


def test_the_command_line_prints_odd_names(capsys, model_env, random_model, photos):
    model_env(random_model)
    assert main(["index", str(photos), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["embedded"] == 12
    assert main(["search", '"nchen"', "-n", "1", "--json"]) == 0  # JSON escapes it: the exact name
    [hit] = json.loads(capsys.readouterr().out)
    assert os.fsencode(hit["path"]) == os.path.join(os.fsencode(photos), LATIN1)
    assert main(["search", '"nchen"', "-n", "1"]) == 0  # text: readable, whatever the terminal takes
    assert "Urlaub_M\ufffdnchen.jpg" in capsys.readouterr().out


# -- one file never stops a run ----------------------------------------------------------------


def test_a_file_the_catalog_refuses_is_skipped_with_its_reason_and_tried_again(library, photos):
    bad = photos / "green_triangle_0.jpg"
    library.catalog.db.execute(  # a real SQLite error for this one row, as a name SQLite cannot take gave
        f"CREATE TRIGGER refuse BEFORE INSERT ON files WHEN NEW.path = '{bad}' "
        "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
    )
    report = library.update([photos])
    assert report.skipped == [(str(bad), "cannot record it in the catalog: refused for the test")]
    assert report.embedded == 11 and library.catalog.count() == 11
    assert library.doctor()["index_ok"]
    library.catalog.db.execute("DROP TRIGGER refuse")
    again = library.update()
    assert (again.new, again.embedded, again.skipped) == (1, 1, [])
    assert library.catalog.file_by_path(bad) is not None


def test_a_thumbnail_that_cannot_be_written_does_not_stop_the_run(library, photos):
    bad = photos / "yellow_circle_0.jpg"
    folder = imaging.thumbnail_path(library.settings.thumbs_dir, scanner.fingerprint(bad)).parent
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b"")  # a file where its thumbnail folder goes: writing there fails
    report = library.update([photos])
    assert (report.new, report.embedded, report.skipped) == (12, 12, [])


def test_a_full_disk_still_stops_the_run(library, photos, monkeypatch):
    """Only errors about one file's data are skipped; the database's own errors stop the run."""

    def full(self, db, records):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "put_files", full)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        library.update([photos])
