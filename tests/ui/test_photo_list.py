"""While indexing, the window adds new photos to its list instead of re-reading the library: the
result must be exactly the order the catalog gives."""

import random

from app.core.catalog import OK, FileRecord
from app.core.library import Library
from app.ui.window import PhotoList


def test_new_photos_land_where_a_full_read_puts_them(make_settings, random_model):
    library = Library(make_settings(random_model))
    rng = random.Random(3)
    folder = library.catalog.add_folder(library.settings.data_dir)

    def records(first, count):
        out = []
        for i in range(first, first + count):
            taken = None if rng.random() < 0.3 else f"20{rng.randint(10, 24)}:0{rng.randint(1, 9)}:1{rng.randint(0, 9)} 10:00:00"
            mtime = rng.choice([1.6e9, 1.7e9 + 0.5, 1.65e9 + rng.random() * 1e6])
            out.append(FileRecord(None, f"/p/{rng.choice('abé')}/{rng.randint(0, 50)}-{i}.jpg", f"fp{i}", 1, mtime,
                                  OK, None, 10, 10, taken, "jpeg", folder))
        return out

    with library.catalog.transaction() as db:
        library.catalog.put_files(db, records(0, 400))
    photos = PhotoList(library.photos(), library.folders())
    with library.catalog.transaction() as db:
        library.catalog.put_files(db, records(400, 60))
    new = library.photos(after_id=photos.max_id)
    assert len(new) == 60
    merged = photos.with_new(new)
    assert [r.id for r in merged.records] == [r.id for r in library.photos()]
    assert merged.known.sum() == 460 and list(merged.ids) == [r.id for r in merged.records]
    library.close()
