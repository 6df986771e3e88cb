"""The one model of what the window shows (app/core/screen.py), without Qt."""

import random
from pathlib import Path

import numpy as np

from app.core.library import Library
from app.core.screen import PhotoList, Ranking, Screen
from app.core.store.catalog import OK, FileRecord


def test_new_photos_land_where_a_full_read_puts_them(make_settings, random_model):
    """While indexing, the window adds new photos to its list instead of re-reading the library:
    the result must be exactly the order the catalog gives."""
    library = Library(make_settings(random_model))
    rng = random.Random(3)
    folder = library.catalog.add_folder(library.settings.data_dir)

    def records(first, count):
        out = []
        for i in range(first, first + count):
            taken = (
                None
                if rng.random() < 0.3
                else f"20{rng.randint(10, 24)}:0{rng.randint(1, 9)}:1{rng.randint(0, 9)} 10:00:00"
            )
            # x.9996 s: SQLite rounds it to the next second; the merge must sort it the same way
            mtime = rng.choice([1.6e9, 1.7e9 + 0.5, 1.7e9 + 0.9996, 1.7e9 + 1.2, 1.65e9 + rng.random() * 1e6])
            out.append(
                FileRecord(
                    None,
                    f"/p/{rng.choice('abé')}/{rng.randint(0, 50)}-{i}.jpg",
                    f"fp{i}",
                    1,
                    mtime,
                    OK,
                    None,
                    10,
                    10,
                    taken,
                    "jpeg",
                    folder,
                )
            )
        return out

    with library.catalog.transaction() as db:
        library.catalog.put_files(db, records(0, 400))
    photos = PhotoList(library.photos(), library.folders(), library.catalog.generation())
    with library.catalog.transaction() as db:
        library.catalog.put_files(db, records(400, 60))
    new = library.photos(after_id=photos.max_id)
    assert len(new) == 60
    merged = photos.with_new(new, library.folders(), library.catalog.generation())
    assert [r.id for r in merged.records] == [r.id for r in library.photos()]
    assert merged.known.sum() == 460 and list(merged.ids) == [r.id for r in merged.records]
    library.close()


def _record(i, folder=1, taken=None):
    return FileRecord(i, f"/p/{folder}/{i:03}.jpg", f"fp{i}", 1, 1.7e9 + i, OK, None, 10, 10, taken, "jpeg", folder)


def _listing(ids, generation, folders=(1, 2)):
    """A photo list as the catalog gives it: newest (highest mtime here) first."""
    records = [_record(i, folder=1 + i % 2) for i in sorted(ids, reverse=True)]
    return PhotoList(records, {f: Path(f"/p/{f}") for f in folders}, generation)


def _shown(screen):
    shown = screen.shown()
    return list(shown.order.ids if hasattr(shown.order, "ids") else shown.order)


def test_the_library_shows_newest_first_and_a_folder_narrows_it():
    screen = Screen()
    assert screen.shown() is None  # nothing read yet
    assert screen.photos_read(_listing(range(1, 7), generation=3))
    assert _shown(screen) == [6, 5, 4, 3, 2, 1]
    screen.choose_folder(2)
    assert _shown(screen) == [5, 3, 1]
    screen.choose_folder(99)  # not a library folder: all photos
    assert screen.folder is None


def test_a_list_read_before_a_removal_never_brings_the_photos_back():
    """The ghost: trash a photo, then a read that started earlier (or new photos merged into the
    list from before the trash) arrives. It is stale and ignored; the caller reads again."""
    screen = Screen()
    before = _listing(range(1, 6), generation=4)
    screen.photos_read(before)
    screen.photos_removed([5], generation=5)
    assert _shown(screen) == [4, 3, 2, 1]
    assert not screen.photos_read(_listing(range(1, 6), generation=4))  # read at 4, before the trash
    merged = before.with_new([_record(7)], before.folders, generation=6)  # new photos into the old list
    assert not screen.photos_read(merged, base=before)
    assert _shown(screen) == [4, 3, 2, 1]
    fresh = screen.photos.with_new([_record(7)], before.folders, generation=6)
    assert screen.photos_read(fresh, base=screen.photos)
    assert _shown(screen) == [7, 4, 3, 2, 1]


def test_search_results_follow_the_photos_and_only_the_newest_query_wins():
    screen = Screen()
    screen.photos_read(_listing(range(1, 9), generation=1))
    first = screen.search_started()
    second = screen.search_started()
    assert not screen.search_done(Ranking(first, np.array([1, 2, 3])))  # an older query's answer
    assert not screen.searching
    assert screen.search_done(Ranking(second, np.array([8, 2, 9, 6, 4, 1]), good_count=3))
    shown = screen.shown()
    assert _shown(screen) == [8, 2, 6, 4, 1] and shown.good_count == 2  # 9 is not a photo shown
    screen.photos_removed([2], generation=2)  # the trash: out of the ranking and of the good ones
    assert _shown(screen) == [8, 6, 4, 1] and screen.shown().good_count == 1
    screen.choose_folder(1)  # folder 1 holds the even ids
    assert _shown(screen) == [8, 6, 4] and screen.shown().good_count == 1
    screen.set_good_only(True)
    assert _shown(screen) == [8] and screen.shown().good_count is None
    screen.search_cleared()
    assert not screen.searching and _shown(screen) == [8, 6, 4]
    assert not screen.search_done(Ranking(second, np.array([1])))  # still on its way: dropped


def test_a_folder_that_leaves_the_library_is_no_longer_chosen():
    screen = Screen()
    screen.photos_read(_listing(range(1, 5), generation=1))
    screen.choose_folder(2)
    screen.photos_read(_listing([2, 4], generation=2, folders=(1,)))
    assert screen.folder is None and _shown(screen) == [4, 2]


def test_photos_asked_to_go_leave_at_once_and_come_back_if_they_could_not():
    screen = Screen()
    screen.photos_read(_listing(range(1, 6), generation=1))
    assert screen.search_done(Ranking(screen.search_started(), np.array([5, 3, 1, 2]), good_count=2))
    screen.photos_leaving([3, 2])
    assert _shown(screen) == [5, 1] and screen.shown().good_count == 1
    screen.photos_stayed([2])  # could not be moved: shown again, in its place
    screen.photos_removed([3], generation=2)
    assert _shown(screen) == [5, 1, 2] and screen.shown().good_count == 1
    assert 3 not in screen.records
