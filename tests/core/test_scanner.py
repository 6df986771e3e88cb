import os

from app.core.ingest import scanner
from app.core.store.catalog import FileRecord


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_walk_finds_images_case_insensitively_and_skips_junk(tmp_path):
    _touch(tmp_path / "a.JPG")
    _touch(tmp_path / "sub" / "b.heic")
    _touch(tmp_path / "sub" / "c.Png")
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / "._a.jpg")  # AppleDouble
    _touch(tmp_path / ".DS_Store")
    _touch(tmp_path / ".hidden" / "d.jpg")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")  # a symlink loop back to the root
    found = sorted(os.path.relpath(f.path, tmp_path) for f in scanner.walk(tmp_path))
    assert found == ["a.JPG", "sub/b.heic", "sub/c.Png"]


def test_fingerprint_depends_on_content_not_name(tmp_path):
    a = _touch(tmp_path / "a.jpg", b"A" * 3_000_000)
    b = _touch(tmp_path / "b.jpg", b"A" * 3_000_000)
    c = _touch(tmp_path / "c.jpg", b"A" * 2_999_999 + b"B")  # differs in the last bytes
    assert scanner.fingerprint(a) == scanner.fingerprint(b)
    assert scanner.fingerprint(a) != scanner.fingerprint(c)


def _row(i, path, fp, size=1, mtime=1.0, status="ok"):
    return FileRecord(i, path, fp, size, mtime, status)


def test_plan_classifies_every_kind_of_change(tmp_path):
    fps = {
        "/l/moved_to.jpg": "fpM",
        "/l/copy.jpg": "fpK",
        "/l/new.jpg": "fpN",
        "/l/edited.jpg": "fpE2",
        "/l/touched.jpg": "fpT",
    }
    disk = [
        scanner.DiskFile("/l/same.jpg", 1, 1.0),
        scanner.DiskFile("/l/moved_to.jpg", 1, 2.0),
        scanner.DiskFile("/l/keep.jpg", 1, 1.0),
        scanner.DiskFile("/l/copy.jpg", 1, 5.0),
        scanner.DiskFile("/l/new.jpg", 1, 1.0),
        scanner.DiskFile("/l/edited.jpg", 2, 9.0),
        scanner.DiskFile("/l/touched.jpg", 1, 7.0),
    ]
    known = [
        _row(1, "/l/same.jpg", "fpS"),
        _row(2, "/l/moved_from.jpg", "fpM"),
        _row(3, "/l/keep.jpg", "fpK"),
        _row(4, "/l/edited.jpg", "fpE1"),
        _row(5, "/l/touched.jpg", "fpT"),
        _row(6, "/l/deleted.jpg", "fpD"),
    ]
    embedded = {"fpS", "fpM", "fpK", "fpE1", "fpT", "fpD"}
    p = scanner.plan(disk, known, embedded, hasher=lambda path, size: fps[path])
    assert p.unchanged == 2
    assert [(o.path, f.path) for o, f in p.moved] == [("/l/moved_from.jpg", "/l/moved_to.jpg")]
    assert [(o.path, f.path) for o, f in p.copied] == [("/l/keep.jpg", "/l/copy.jpg")]
    assert [(o.path, f.path) for o, f in p.touched] == [("/l/touched.jpg", "/l/touched.jpg")]
    assert [r.path for r in p.removed] == ["/l/deleted.jpg"]
    assert sorted(f.path for f, _ in p.to_process) == ["/l/edited.jpg", "/l/new.jpg"]
    assert (p.new_count, p.changed_count) == (1, 1)


def test_plan_never_hashes_unchanged_files():
    disk = [scanner.DiskFile(f"/l/{i}.jpg", 10, 1.0) for i in range(100)]
    known = [_row(i + 1, f"/l/{i}.jpg", f"fp{i}", size=10) for i in range(100)]

    def hasher(path, size):
        raise AssertionError("an unchanged file was hashed")

    p = scanner.plan(disk, known, {f"fp{i}" for i in range(100)}, hasher=hasher)
    assert p.unchanged == 100 and not p.to_process


def test_plan_reprocesses_rows_missing_an_embedding_for_this_model():
    disk = [scanner.DiskFile("/l/a.jpg", 1, 1.0)]
    p = scanner.plan(disk, [_row(1, "/l/a.jpg", "fpA")], embedded=set())
    assert [f.path for f, _ in p.to_process] == ["/l/a.jpg"]


def test_plan_fingerprints_new_files_on_several_threads_and_keeps_their_order(tmp_path):
    import threading
    import time

    files = [_touch(tmp_path / f"{i:03d}.jpg", bytes([i]) * 5000) for i in range(200)]
    disk = sorted(scanner.walk(tmp_path), key=lambda f: f.path)
    hashed_on = set()

    def hasher(path, size):  # as slow as reading a photo from a disk
        hashed_on.add(threading.get_ident())
        time.sleep(0.001)
        return scanner.fingerprint(path, size)

    known = [_row(1, str(tmp_path / "elsewhere.jpg"), "fpE")]  # a catalog row: moves are possible
    one = scanner.plan(disk, known, set())
    several = scanner.plan(disk, known, set(), hasher=hasher, workers=3)
    assert len(hashed_on) > 1
    assert several.to_process == one.to_process
    assert [f.path for f, _ in several.to_process] == [str(p) for p in files]
    assert len({fp for _, fp in several.to_process}) == 200


def test_a_first_scan_leaves_fingerprints_to_the_decoders(tmp_path):
    _touch(tmp_path / "a.jpg")
    _touch(tmp_path / "b.jpg")

    def hasher(path, size):
        raise AssertionError("nothing in the catalog to compare with: no need to read the file yet")

    p = scanner.plan(sorted(scanner.walk(tmp_path), key=lambda f: f.path), [], set(), hasher=hasher, workers=2)
    assert [(f.path, fp) for f, fp in p.to_process] == [
        (str(tmp_path / "a.jpg"), None),
        (str(tmp_path / "b.jpg"), None),
    ]
    assert p.new_count == 2


def test_two_identical_new_files_are_both_decoded_even_when_their_content_is_embedded():
    """A copy needs a catalog row to copy from (its size, date, format): a file new in this same
    scan is not one."""
    disk = [
        scanner.DiskFile("/l/a.jpg", 1, 1.0),
        scanner.DiskFile("/l/new1.jpg", 5, 1.0),
        scanner.DiskFile("/l/new2.jpg", 5, 1.0),
    ]
    p = scanner.plan(disk, [_row(1, "/l/a.jpg", "fpA")], {"fpA", "fpX"}, hasher=lambda path, size: "fpX")
    assert p.copied == []
    assert [f.path for f, _ in p.to_process] == ["/l/new1.jpg", "/l/new2.jpg"] and p.new_count == 2
