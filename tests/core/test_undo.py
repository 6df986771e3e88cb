"""Undo: photos moved to the trash come back from it (the freedesktop trash, in a temp dir), and a
removed folder comes back, with their ids, embeddings and text, and nothing embedded again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.organize import trashcan
from helpers import isolate_trash
from tiny_clip import write_shapes

pytestmark = pytest.mark.skipif(not trashcan.supported(), reason="restoring from the trash is freedesktop's only")


@pytest.fixture(autouse=True)
def trash(tmp_path, monkeypatch) -> Path:
    return isolate_trash(monkeypatch, tmp_path / "xdg-data")


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    write_shapes(folder, per_kind=1)  # 12 pictures
    return folder


def _state(library, paths):
    """Per path: (id, fingerprint, embedding bytes) as the catalog has them."""
    out = {}
    for path in paths:
        record = library.catalog.file_by_path(path)
        vector = library.catalog.vector(record.id, library.model_id)
        out[path] = (record.id, record.fingerprint, vector.tobytes())
    return out


def _three(library):
    records = sorted(library.photos(), key=lambda r: r.path)[:3]
    return [r.id for r in records], [r.path for r in records]


def test_trash_three_then_restore_puts_back_files_rows_and_vectors(library, photos):
    library.update([photos])
    ids, paths = _three(library)
    data = {p: Path(p).read_bytes() for p in paths}
    before = _state(library, paths)
    library.catalog.put_ocr([(before[paths[0]][1], "HELLO WORLD")], "test", 1)

    receipt = library.trash(ids)
    assert receipt.failures == () and sorted(receipt.ids) == sorted(ids) and receipt.undoable
    assert not any(Path(p).exists() for p in paths)
    assert all(library.catalog.file_by_path(p) is None for p in paths)
    library.catalog.prune_embeddings()  # what an update does after deletes: held content is kept
    library.update_derived()
    assert library.search("anything", paths=False).ids.tolist().count(ids[0]) == 0

    restored = library.restore(receipt)
    assert sorted(restored.ids) == sorted(ids) and restored.failures == [] and restored.embedded == 0
    assert {p: Path(p).read_bytes() for p in paths} == data
    assert _state(library, paths) == before  # same ids, same content, same embeddings
    assert library.ocr_text(ids[0]) == "HELLO WORLD"
    assert set(ids) <= set(library.search("anything", paths=False).ids.tolist())
    assert library.doctor()["index_ok"]
    assert not any(Path(t.info).exists() or Path(t.file).exists() for t in receipt.trashed)
    report = library.update()
    assert (report.embedded, report.new, report.removed) == (0, 0, 0)


def test_restore_never_overwrites_a_file_now_at_the_old_place(library, photos):
    library.update([photos])
    ids, paths = _three(library)
    receipt = library.trash(ids)
    Path(paths[1]).write_bytes(b"a new file here")
    restored = library.restore(receipt)
    assert Path(paths[1]).read_bytes() == b"a new file here"
    assert [p for p, _why in restored.failures] == [paths[1]]
    assert sorted(restored.paths) == sorted([paths[0], paths[2]])
    trashed = next(t for t in receipt.trashed if t.original == paths[1])
    assert Path(trashed.file).exists() and Path(trashed.info).exists()  # still in the trash


def test_removed_folder_comes_back_with_its_photos(library, photos, tmp_path):
    other = tmp_path / "other"
    write_shapes(other, per_kind=1, seed=7, size=96)
    library.update([photos, other])
    folders = dict(library.folders())
    paths = sorted(r.path for r in library.photos() if Path(r.path).is_relative_to(photos))
    before = _state(library, paths)

    receipt = library.remove_folder(photos)
    assert photos.resolve() not in library.folders().values()
    library.catalog.prune_embeddings()
    library.update_derived()
    assert library.update().removed == 0  # the other folder is untouched

    restored = library.restore(receipt)
    assert sorted(restored.paths) == paths and restored.failures == []
    assert library.folders() == folders  # same folder id
    assert _state(library, paths) == before
    assert library.update().embedded == 0


def test_released_holds_let_pruning_drop_the_content(library, photos):
    library.update([photos])
    ids, paths = _three(library)
    fingerprints = {library.catalog.file(i).fingerprint for i in ids}
    receipt = library.trash(ids)
    library.release(receipt)
    library.catalog.prune_embeddings()
    assert not fingerprints & library.catalog.embedded_fingerprints(library.model_id)


def test_locate_reads_quoted_and_relative_paths(tmp_path, trash):
    original = tmp_path / "a folder" / "été 50%.jpg"
    (trash / "files").mkdir(parents=True)
    (trash / "info").mkdir()
    (trash / "files" / "été 50%.jpg").write_bytes(b"x")
    relative = os.path.relpath(original, trash.parent)  # the spec: relative to the trash's top dir
    from urllib.parse import quote

    (trash / "info" / "été 50%.jpg.trashinfo").write_text(
        f"[Trash Info]\nPath={quote(relative)}\nDeletionDate=2026-01-02T03:04:05\n", encoding="utf-8"
    )
    found = trashcan.locate(original)
    assert found.file == str(trash / "files" / "été 50%.jpg")
    trashcan.restore(found)
    assert original.read_bytes() == b"x" and not Path(found.info).exists()


def test_trashing_never_touches_the_users_trash(library, photos, trash):
    library.update([photos])
    ids, _paths = _three(library)
    receipt = library.trash(ids[:1])
    [item] = receipt.trashed
    assert Path(item.file).read_bytes() and Path(item.info).exists()
    assert not Path(item.info).is_relative_to(Path.home() / ".local" / "share" / "Trash")
