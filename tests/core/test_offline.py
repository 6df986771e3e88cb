"""Offline folders (an unplugged drive) and a library moved to a new place: nothing is lost,
nothing is embedded again, and a photo never shows twice."""

from pathlib import Path

import pytest

from app.cli import main
from tiny_clip import write_shapes


@pytest.fixture
def phone(tmp_path) -> Path:
    """A second library folder of other pictures, that stays connected."""
    folder = tmp_path / "phone"
    write_shapes(folder, per_kind=1, seed=7)
    return folder


def _ids(library, root: Path) -> dict[str, int]:
    """Photo id by path below `root`, for the photos the library lists."""
    return {str(Path(r.path).relative_to(root)): r.id for r in library.photos() if Path(r.path).is_relative_to(root)}


def _found(result) -> list[int]:
    return [h.id for h in result]


def test_an_unplugged_drive_is_offline_left_out_of_searches_and_comes_back_unchanged(library, photos, phone, tmp_path):
    library.update([photos, phone])
    before = _ids(library, photos.resolve())
    phone_ids = set(_ids(library, phone.resolve()).values())
    assert len(before) == 12 and len(phone_ids) == 12
    drive = tmp_path / "drive"
    photos.rename(drive)
    photos.mkdir()  # the empty mount point an unplugged drive leaves

    report = library.update()
    assert report.unavailable_folders == [str(photos.resolve())] and report.removed == 0
    (offline,) = library.offline_folders().values()
    assert offline.path == photos.resolve() and "empty" in offline.reason and offline.since > 0
    assert _ids(library, photos.resolve()) == before  # still listed for browsing
    assert set(_found(library.search("a shape"))) == phone_ids  # left out of searches
    assert set(_found(library.search("type:jpg"))) == phone_ids
    assert set(_found(library.similar(photos / "red_circle_0.jpg"))) == phone_ids
    assert set(_found(library.search("a shape is:offline"))) == set(before.values())  # asked for: only them
    assert set(_found(library.search("is:offline"))) == set(before.values())
    assert set(_found(library.search("a shape", include_offline=True))) == phone_ids | set(before.values())
    assert set(library.search("a shape", paths=False).ids.tolist()) == phone_ids
    since = offline.since
    library.update()  # still offline: since when is kept
    assert library.offline_folders()[offline.id].since == since

    photos.rmdir()
    drive.rename(photos)  # plugged in again
    report = library.update()
    assert (report.new, report.embedded, report.removed, report.unavailable_folders) == (0, 0, 0, [])
    assert library.offline_folders() == {}
    assert _ids(library, photos.resolve()) == before
    assert set(_found(library.search("a shape"))) == phone_ids | set(before.values())
    assert library.doctor()["index_ok"]


def test_a_library_moved_to_another_drive_is_recognised_and_relinked_keeping_its_ids(library, photos, tmp_path):
    library.update([photos])
    old = photos.resolve()
    before = _ids(library, old)
    new = tmp_path / "media" / "usb" / "photos"
    new.parent.mkdir(parents=True)
    photos.rename(new)
    new = new.resolve()

    report = library.update([new])  # indexing the new place before relinking: copies, not re-embedded
    assert report.unavailable_folders == [str(old)]
    assert (report.copied, report.new, report.embedded) == (12, 0, 0)
    assert report.moved_folders == [(str(old), str(new), 12)]
    assert len(library.photos()) == 24  # the offline rows and the new ones, until relinked
    assert len(library.search("a shape")) == 12
    hits = library.search("a shape", include_offline=True)
    assert len(hits) == 12 and all(Path(h.path).is_relative_to(new) for h in hits)  # each photo once
    (candidate,) = library.moved_folder_candidates()
    assert (candidate.old, candidate.new, candidate.matches, candidate.photos) == (old, new, 12, 12)

    done = library.relink(old, new)
    assert (done.relinked, done.missing) == (12, 0)
    assert _ids(library, new) == before and len(library.photos()) == 12  # same ids, one row a photo
    assert list(library.folders().values()) == [new] and library.offline_folders() == {}
    assert library.moved_folder_candidates() == []
    report = library.update()
    assert (report.new, report.copied, report.embedded, report.removed, report.unchanged) == (0, 0, 0, 0, 12)
    hits = library.search("a shape")
    assert sorted(_found(hits)) == sorted(before.values())
    assert library.doctor()["index_ok"]


def test_relink_without_indexing_the_new_place_finds_photos_by_content(library, photos, tmp_path):
    library.update([photos])
    old = photos.resolve()
    before = _ids(library, old)
    new = tmp_path / "renamed"
    photos.rename(new)
    (new / "trips" / "blue_circle_0.jpg").rename(new / "blue_circle_0.jpg")  # reorganised on the way
    (new / "red_square_0.jpg").unlink()  # and one deleted
    library.update()  # the old place is gone: offline

    done = library.relink(str(old), str(new))
    assert (done.relinked, done.missing) == (11, 1)
    moved = _ids(library, new.resolve())
    assert moved["blue_circle_0.jpg"] == before["trips/blue_circle_0.jpg"]
    report = library.update()
    assert (report.embedded, report.new, report.removed) == (0, 0, 1)
    assert {k: v for k, v in moved.items() if k != "red_square_0.jpg"} == _ids(library, new.resolve())


def test_relink_refuses_what_it_cannot_do_and_changes_nothing(library, photos, tmp_path):
    library.update([photos])
    other = tmp_path / "other"
    write_shapes(other, per_kind=1, seed=9)  # other pictures
    rows = sorted((r.id, r.path) for r in library.photos())
    with pytest.raises(NotADirectoryError, match="not a folder"):
        library.relink(photos, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no photo of .* is in"):
        library.relink(photos, other)
    with pytest.raises(ValueError, match="not a library folder"):
        library.relink(other, photos)
    assert sorted((r.id, r.path) for r in library.photos()) == rows


def test_cli_hints_at_a_moved_library_and_relinks_it(capsys, model_env, random_model, tmp_path):
    model_env(random_model)
    old = tmp_path / "Pictures"
    write_shapes(old, per_kind=1)
    assert main(["index", str(old)]) == 0
    new = tmp_path / "usb" / "Pictures"
    new.parent.mkdir()
    old.rename(new)
    capsys.readouterr()
    assert main(["index", str(new)]) == 0
    out = capsys.readouterr().out
    assert f"Looks like {old.resolve()} moved to {new.resolve()}: run photoseek relink" in out
    assert main(["search", "a shape", "-n", "0", "--json", "--include-offline"]) == 0
    assert len(capsys.readouterr().out.split('"path"')) - 1 == 12  # each photo once

    assert main(["relink", str(old), str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"photoseek: not a folder: {tmp_path / 'nowhere'}"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["relink", str(old), str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing was changed" in err
    assert main(["relink", str(old), str(new)]) == 0
    assert capsys.readouterr().out.strip() == f"Relinked 12 photos from {old.resolve()} to {new.resolve()}."
    assert main(["index", "--json"]) == 0
    assert '"embedded": 0' in capsys.readouterr().out
