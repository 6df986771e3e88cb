"""Incremental indexing through the Library facade: what is re-embedded and what is not."""

import shutil
import time
from pathlib import Path

import pytest

from app.core.library import Library
from tiny_clip import write_shapes


def _paths(hits):
    return [Path(h.path).name for h in hits]


def test_first_run_indexes_everything_and_a_rerun_embeds_nothing(library, photos):
    report = library.update([photos])
    assert (report.new, report.embedded, report.skipped) == (12, 12, [])
    assert library.doctor()["index_ok"]
    # the first scan left fingerprints to the decode threads: they are the scanner's
    from app.core.ingest import scanner

    stored = {r.path: r.fingerprint for r in library.catalog.files()}
    assert stored == {p: scanner.fingerprint(p) for p in stored} and len(stored) == 12
    again = library.update()
    assert (again.new, again.embedded, again.unchanged) == (0, 0, 12)


def test_indexing_a_library_folder_again_keeps_the_saved_index_valid(library, photos):
    """`photoseek index FOLDER` names a folder the library has: nothing changes, so the next
    process loads the saved index instead of rebuilding it from the catalog."""
    from app.core.store.index import VectorIndex

    library.update([photos])
    generation = library.catalog.generation()
    assert library.update([photos]).unchanged == 12
    assert library.catalog.generation() == generation
    assert VectorIndex.load(library.settings.index_dir, library.model_id, generation) is not None


def test_rename_move_and_copy_embed_nothing_and_search_shows_new_paths(library, photos):
    library.update([photos])
    (photos / "red_circle_0.jpg").rename(photos / "renamed.jpg")
    (photos / "trips" / "blue_square_0.jpg").rename(photos / "moved.jpg")
    shutil.copy2(photos / "green_triangle_0.jpg", photos / "trips" / "copy.jpg")
    report = library.update()
    assert (report.moved, report.copied, report.embedded, report.removed) == (2, 1, 0, 0)
    found = _paths(library.search("anything"))
    assert {"renamed.jpg", "moved.jpg", "copy.jpg", "green_triangle_0.jpg"} <= set(found)
    assert "red_circle_0.jpg" not in found and len(found) == 13
    similar = library.similar(photos / "trips" / "copy.jpg", n=1)
    assert _paths(similar) == ["green_triangle_0.jpg"] and similar[0].score > 0.999


def test_an_edited_file_is_reembedded_and_a_deleted_one_leaves_results(library, photos):
    from PIL import Image, ImageOps

    library.update([photos])
    edited = photos / "yellow_square_0.jpg"
    before = library.similar(photos / "red_square_0.jpg")
    ImageOps.invert(Image.open(edited).convert("RGB")).save(edited)
    (photos / "green_circle_0.jpg").unlink()
    report = library.update()
    assert (report.changed, report.embedded, report.removed) == (1, 1, 1)
    after = library.similar(photos / "red_square_0.jpg")
    assert "green_circle_0.jpg" not in _paths(after) and len(after) == len(before) - 1
    score = {Path(h.path).name: h.score for h in after}["yellow_square_0.jpg"]
    assert abs(score - {Path(h.path).name: h.score for h in before}["yellow_square_0.jpg"]) > 1e-4


def test_touching_a_file_does_not_reembed_it(library, photos):
    library.update([photos])
    target = photos / "red_circle_0.jpg"
    later = time.time() + 100
    import os

    os.utime(target, (later, later))
    report = library.update()
    assert report.embedded == 0 and report.unchanged == 11


def test_unplugged_folder_keeps_its_photos(library, photos, tmp_path):
    library.update([photos])
    photos.rename(tmp_path / "elsewhere")
    report = library.update()
    assert report.removed == 0 and report.unavailable_folders == [str(photos.resolve())]
    assert len(library.photos()) == 12


def test_a_folder_left_empty_by_an_unplugged_drive_keeps_its_photos(library, photos, tmp_path):
    """A mount point stays behind as an empty folder when its drive is unplugged: nothing is gone."""
    library.update([photos])
    before = {r.path: r.fingerprint for r in library.photos()}
    drive = tmp_path / "drive"
    photos.rename(drive)
    photos.mkdir()  # what is left of the mount point
    report = library.update()
    assert report.removed == 0 and report.unavailable_folders == [str(photos.resolve())]
    assert {r.path: r.fingerprint for r in library.photos()} == before
    photos.rmdir()
    drive.rename(photos)  # plugged in again: the same photos, nothing to embed again
    report = library.update()
    assert (report.removed, report.new, report.embedded, report.unavailable_folders) == (0, 0, 0, [])
    assert {r.path: r.fingerprint for r in library.photos()} == before


def test_a_mount_point_with_nothing_mounted_keeps_its_photos(library, photos, monkeypatch):
    """A mount point whose drive is gone may still list something (a stray file on the disk
    below): it is unavailable all the same, because it is no longer a mount point."""
    import os

    real_ismount = os.path.ismount
    mounted = {str(photos.resolve())}
    monkeypatch.setattr(os.path, "ismount", lambda p: str(p) in mounted or real_ismount(p))
    library.update([photos])
    count = len(library.photos())
    mounted.clear()  # unplugged; the folder below the mount point holds one unrelated photo
    for p in photos.rglob("*.jpg"):
        if p.name != "red_circle_0.jpg":
            p.unlink()
    report = library.update()
    assert report.removed == 0 and report.unavailable_folders == [str(photos.resolve())]
    assert len(library.photos()) == count


def test_a_subfolder_that_cannot_be_listed_keeps_its_photos(library, photos, monkeypatch):
    """Permissions (or a dying disk) can make one subfolder unlistable: its photos are out of
    reach, not deleted, and the report says which folder could not be read."""
    import os

    library.update([photos])
    count = len(library.photos())
    trips = str((photos / "trips").resolve())
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path) == trips:
            raise PermissionError(13, "Permission denied", trips)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    (photos / "red_circle_0.jpg").unlink()  # a real deletion in a listable folder still counts
    report = library.update()
    assert report.removed == 1
    assert len(library.photos()) == count - 1
    assert [p for p, _ in report.skipped] == [trips]
    monkeypatch.undo()
    report = library.update()
    assert (report.removed, report.embedded, report.skipped) == (0, 0, [])


def test_switching_model_reindexes_without_touching_old_embeddings(make_settings, random_model, trained_model, photos):
    lib = Library(make_settings(random_model))
    lib.update([photos])
    old_model = lib.model_id
    lib.close()
    lib2 = Library(make_settings(trained_model))
    report = lib2.update()
    assert report.embedded == 12 and report.new == 0
    assert lib2.catalog.embedding_count(old_model) == 12
    assert len(lib2.search("a red circle")) == 12


def test_removing_a_folder_removes_its_photos_from_search(library, photos):
    library.update([photos])
    library.remove_folder(photos)
    assert library.search("a blue square") == [] and library.photos() == []


def test_browsing_works_without_a_model(make_settings, photos, tmp_path):
    lib = Library(make_settings((tmp_path / "missing.json", tmp_path / "missing.pt")))
    report = lib.update([photos], require_model=False)
    assert report.embedded == 0 and len(lib.photos()) == 12
    assert all(lib.thumbnail(r).exists() for r in lib.photos())


def test_bad_files_are_skipped_with_reasons_and_indexing_goes_on(library, photos):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("not a photo")
    report = library.update([photos])
    reasons = dict((Path(p).name, r) for p, r in report.skipped)
    assert set(reasons) == {"empty.jpg", "notes.jpg"} and all(reasons.values())
    assert report.embedded == 12
    assert {Path(r.path).name for r in library.skipped()} == {"empty.jpg", "notes.jpg"}
    assert library.update().skipped == []  # not retried while unchanged


def test_cancel_keeps_what_was_done_and_the_next_run_finishes(library, photos):
    from app.core.library import Control

    control = Control()

    def progress(p):
        if p.phase == "indexing" and p.current:  # a photo has been read
            control.cancel()

    first = library.update([photos], progress=progress, control=control)
    assert first.cancelled and 0 < first.embedded < 12
    second = library.update()
    assert first.embedded + second.embedded == 12
    assert library.doctor()["index_ok"] and len(library.search("x")) == 12


def test_progress_counts_the_photos_committed(library, photos):
    from itertools import accumulate

    from app.core.ingest.indexer import batch_sizes
    from app.core.model.embedder import FIDELITY_SAMPLE

    seen = []
    report = library.update([photos], progress=lambda p: seen.append(p) if p.phase == "indexing" else None)
    done = [p.done for p in seen]
    assert done[0] == 0 and done[-1] == seen[-1].total == report.embedded == 12
    assert done == sorted(done)
    batches = batch_sizes(12, library.settings.batch_size, library.load_model().lanes, FIDELITY_SAMPLE)
    assert set(done) <= {0, *accumulate(batches)}  # whole batches, counted once committed


def test_every_devdata_odd_file_is_indexed_or_skipped_with_a_reason(library):
    from helpers import devdata

    folder = devdata("odd_files")
    report = library.update([folder])
    images = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".csv")]
    assert report.new == len(images)
    assert report.embedded + len(report.skipped) == len(images)
    assert all(reason for _, reason in report.skipped)
    assert "empty.heic" in {Path(p).name for p, _ in report.skipped}
    assert library.doctor()["index_ok"]


def test_a_library_that_outgrows_exact_search_switches_to_an_approximate_index(library, photos, monkeypatch):
    from app.core.store import index as index_module

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 8)
    monkeypatch.setattr(index_module, "FLAT_AGAIN_BELOW", 6)
    library.update([photos])  # 12 photos > 8: rebuilt as IVF at the end of the run
    assert library.doctor()["index_type"] == "ivf" and library.doctor()["index_ok"]
    top = library.similar(photos / "red_circle_0.jpg", n=11)
    assert len(top) == 11 and str(photos / "red_circle_0.jpg") not in [h.path for h in top]
    reopened = Library(library.settings)  # the saved IVF index is reused as it is
    assert reopened.index.kind == "ivf" and len(reopened.index) == 12
    for p in list(photos.rglob("*_circle_*.jpg")) + list(photos.rglob("*_square_*.jpg")):
        p.unlink()
    library.update()  # 4 left < 6: exact again
    assert library.doctor()["index_type"] == "flat" and len(library.index) == 4


def test_a_folder_added_alone_is_checked_alone_unless_nested(library, photos, tmp_path):
    library.update([photos])
    (photos / "red_circle_0.jpg").unlink()  # not noticed by a check of another folder
    more = tmp_path / "more"
    write_shapes(more, per_kind=1, seed=9)
    report = library.update([more], only_these=True)
    assert (report.new, report.embedded, report.removed) == (12, 12, 0)
    assert library.update().removed == 1  # a full check notices it

    inner = photos / "trips"  # already inside a library folder: everything is checked
    (photos / "green_circle_0.jpg").unlink()
    report = library.update([inner], only_these=True)
    assert report.removed == 1 and report.new == 0


def test_batches_embedded_side_by_side_each_keep_their_own_photos_vectors(make_settings, random_model, photos):
    import numpy as np
    import torch

    from app.core.ingest import imaging

    threads = torch.get_num_threads()
    library = Library(make_settings(random_model, batch_size=2))  # 6 batches: several on each lane
    assert library.update([photos]).embedded == 12
    assert torch.get_num_threads() == threads  # the lanes gave their share of the cores back
    embedder = library.load_model()
    assert embedder.lanes == min(2, threads)  # on a CPU with 2+ threads the batches did run two at a time
    records = library.photos()
    stored = np.stack([library.catalog.vector(r.id, embedder.model_id) for r in records]).astype(np.float32)
    size, thumb = embedder.image_size, library.settings.thumb_size
    fresh = embedder.embed_images([imaging.decode(r.path, min_side=size, thumb_size=thumb).image for r in records])
    similarity = fresh @ stored.T
    assert (similarity.argmax(axis=1) == np.arange(len(records))).all()
    assert similarity.diagonal().min() > 0.999


def test_a_photo_gone_between_the_first_scan_and_its_decode_gets_no_row(library, photos, monkeypatch):
    from app.core.ingest import scanner

    walk = scanner.walk

    def walk_and_lose_one(root, *args, **kwargs):  # listed, then deleted before it is read
        yield from walk(root, *args, **kwargs)
        yield scanner.DiskFile(str(root / "gone.jpg"), 1000, 1.0, *args[1:2])

    monkeypatch.setattr(scanner, "walk", walk_and_lose_one)
    report = library.update([photos])
    assert (report.new, report.embedded, report.skipped) == (12, 12, [])
    assert len(library.catalog.files()) == 12
    monkeypatch.setattr(scanner, "walk", walk)
    again = library.update()
    assert (again.new, again.embedded, again.unchanged) == (0, 0, 12)


def test_a_run_with_work_gives_freed_memory_back(library, photos, monkeypatch):
    from app.core import process_tuning

    calls = []
    monkeypatch.setattr(process_tuning, "release_free_memory", lambda: calls.append(1))
    library.update([photos])
    assert calls == [1]
    library.update()  # nothing to do: nothing freed
    assert calls == [1]


def test_a_runs_seconds_include_reading_text(make_settings, random_model, tmp_path, monkeypatch):
    """`index --json`'s `seconds` is the whole run: the text-reading pass after embedding too."""
    from app.core.ingest import ocr

    def slow_reader(catalog, settings, progress=None, control=None):
        time.sleep(1.0)  # stands in for OCR's ~0.3 s a photo
        return 0

    monkeypatch.setattr(ocr, "read_library", slow_reader)
    (tmp_path / "empty").mkdir()
    lib = Library(make_settings(random_model, ocr=True))
    try:
        report = lib.update([tmp_path / "empty"])
    finally:
        lib.close()
    assert report.as_dict()["seconds"] >= 1.0


def _looks_like(thumbnail: Path, picture) -> bool:
    import numpy as np
    from PIL import Image

    with Image.open(thumbnail) as im:
        got = im.convert("RGB")
    want = picture.convert("RGB").resize(got.size, Image.Resampling.BOX)
    return float(np.abs(np.asarray(got, np.float32) - np.asarray(want, np.float32)).mean()) < 8


def _index_heif_beside_its_pictures(library, folder: Path, heif: Path, primary, decoy):
    """Index `heif` with its primary and its first image as PNGs beside it; its record."""
    primary.save(folder / "primary.png")
    decoy.save(folder / "first.png")
    library.update([folder])
    return library.catalog.file_by_path(str(heif.resolve()))


def test_a_heifs_thumbnail_and_embedding_are_of_its_primary_image(library, tmp_path):
    pytest.importorskip("pillow_heif")
    from pictures import decoy_first_heif, scene

    folder = tmp_path / "burst"
    folder.mkdir()
    primary = decoy_first_heif(folder / "burst.heic", (480, 640))
    record = _index_heif_beside_its_pictures(library, folder, folder / "burst.heic", primary, scene((640, 480), seed=7))
    assert (record.width, record.height) == (480, 640)
    assert _looks_like(library.thumbnail(record), primary)
    assert _paths(library.similar(record.id, n=1)) == ["primary.png"]


def test_devdata_heif_whose_primary_is_not_first_is_indexed_from_its_primary(library, tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    from helpers import devdata

    source = devdata("odd_files", "heic") / "zPug_3.heic"
    folder = tmp_path / "odd"
    folder.mkdir()
    shutil.copy(source, folder / "zPug_3.heic")
    heif = pillow_heif.open_heif(source)
    primary, first = heif[heif.primary_index].to_pillow(), heif[0].to_pillow()
    record = _index_heif_beside_its_pictures(library, folder, folder / "zPug_3.heic", primary, first)
    assert _looks_like(library.thumbnail(record), primary)
    assert not _looks_like(library.thumbnail(record), first)
    assert _paths(library.similar(record.id, n=1)) == ["primary.png"]


def test_capture_dates_outside_exif_are_catalogued_with_their_source_and_filter_by_date(library, tmp_path):
    import datetime as dt
    import os

    from PIL import Image, PngImagePlugin

    from pictures import scene, xmp_packet

    folder = tmp_path / "dated"
    folder.mkdir()
    scene((320, 240), seed=1).save(folder / "edited.jpg", xmp=xmp_packet(xmp_CreateDate="2010-07-03T18:30:05"))
    text = PngImagePlugin.PngInfo()
    text.add_text("Creation Time", "Sat, 12 Jun 2010 10:00:00 GMT")
    scene((320, 240), seed=2).save(folder / "screen.png", pnginfo=text)
    scene((320, 240), seed=3).save(folder / "undated.jpg")
    expected = {
        "edited.jpg": ("2010-07-03T18:30:05", "XMP"),
        "screen.png": ("2010-06-12T10:00:00+00:00", "PNG text"),
        "undated.jpg": (None, None),
    }
    try:
        import pillow_heif
    except ImportError:
        pillow_heif = None
    if pillow_heif is not None:
        exif = Image.Exif()
        exif.get_ifd(0x8769).update({0x9003: "2011:01:02 03:04:05", 0x9011: "-05:00"})
        pillow_heif.from_pillow(scene((320, 240), seed=4)).save(folder / "phone.heic", exif=exif.tobytes())
        pillow_heif.from_pillow(scene((320, 240), seed=5)).save(
            folder / "burst.heic", xmp=xmp_packet(photoshop_DateCreated="2009-11-12T13:14:15+01:00")
        )
        expected |= {
            "phone.heic": ("2011-01-02T03:04:05-05:00", "EXIF"),
            "burst.heic": ("2009-11-12T13:14:15+01:00", "XMP"),
        }
    summer_2016 = dt.datetime(2016, 6, 1).timestamp()  # the file times say 2016
    for path in folder.iterdir():
        os.utime(path, (summer_2016, summer_2016))
    library.update([folder])
    shutil.copy2(folder / "edited.jpg", folder / "copy.jpg")  # a copy takes its twin's record
    library.update()
    expected["copy.jpg"] = expected["edited.jpg"]

    assert {Path(r.path).name: (r.taken_at, r.taken_from) for r in library.catalog.files()} == expected
    assert set(_paths(library.search("after:2016 before:2017"))) == {"undated.jpg"}
    assert set(_paths(library.search("after:2009 before:2012"))) == set(expected) - {"undated.jpg"}
    assert set(_paths(library.search("after:2010-07 before:2010-08"))) == {"edited.jpg", "copy.jpg"}


def test_a_library_catalogued_before_dates_beyond_exif_finds_them_at_its_next_update(library, tmp_path):
    import sqlite3

    from pictures import scene, xmp_packet

    folder = tmp_path / "old"
    folder.mkdir()
    scene((320, 240), seed=1).save(folder / "edited.jpg", xmp=xmp_packet(xmp_CreateDate="2010-07-03T18:30:05"))
    scene((320, 240), seed=2).save(folder / "plain.jpg")
    library.update([folder])
    # as the schema 3 -> 4 migration leaves photos that had no EXIF date
    db = sqlite3.connect(library.catalog.path, isolation_level=None)
    db.execute("UPDATE files SET taken_at = NULL, taken_from = 'unread'")
    db.close()
    report = library.update()
    assert (report.embedded, report.redated, report.only_added) == (0, 1, False)
    assert {Path(r.path).name: (r.taken_at, r.taken_from) for r in library.catalog.files()} == {
        "edited.jpg": ("2010-07-03T18:30:05", "XMP"),
        "plain.jpg": (None, None),
    }
    assert library.update().redated == 0  # read once


def test_a_data_dir_inside_the_library_is_not_indexed(make_settings, random_model, photos):
    lib = Library(make_settings(random_model, data_dir=photos / "PhotoSeek data"))
    try:
        counts = [len(lib.photos()) for _ in range(3) if lib.update([photos]) is not None]
    finally:
        lib.close()
    assert counts == [12, 12, 12]  # its own thumbnails never become photos


def test_symlinks_are_followed_only_into_the_library(library, photos, tmp_path):
    """A link to a folder outside the library (a whole drive, `/`) is not walked; one to another
    library folder is not needed (that folder is walked itself): each photo is listed once."""
    outside = tmp_path / "outside"
    write_shapes(outside, per_kind=1)
    (photos / "to_outside").symlink_to(outside, target_is_directory=True)
    other = tmp_path / "other"
    write_shapes(other, per_kind=1, seed=9)
    (photos / "to_other").symlink_to(other, target_is_directory=True)
    library.update([photos, other])
    names = [Path(r.path) for r in library.photos()]
    assert not any("to_outside" in p.parts or outside in p.parents for p in names)
    assert len(names) == 24 and len({p.resolve() for p in names}) == 24
    (photos / "inner").symlink_to(photos / "trips", target_is_directory=True)  # a link within the folder
    library.update()
    assert len(library.photos()) == 24
