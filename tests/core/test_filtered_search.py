"""Filters on a library big enough for the approximate (IVF) index: every photo that passes the
filters is ranked, not just those among the index's best few. The limit between exact and
approximate search is lowered so that 30,000 synthetic photos are "big"."""

import numpy as np
import pytest

from app.core.config import Settings
from app.core.library import Library
from app.core.model.embedder import ModelSpec
from app.core.store import index as index_module
from app.core.store.catalog import OK, Catalog, FileRecord

N = 30_000
PER_FOLDER = 1_000
EXACT_LIMIT = 8_000  # filters passing at most this many photos are ranked exactly
FORMATS = ["JPEG"] * 7 + ["PNG"] * 2 + ["HEIF"]  # by photo number: 70 % jpeg, 20 % png, 10 % heif
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "HEIF": ".heic"}


@pytest.fixture(scope="module")
def big(tmp_path_factory, random_model):
    """(library, rows): N photos in folders of 1,000 with dates over ten years, three formats and
    both orientations; their vectors come from 40 clusters on the sphere."""
    patch = pytest.MonkeyPatch()
    patch.setattr(index_module, "EXACT_LIMIT", EXACT_LIMIT)
    patch.setattr(index_module, "FLAT_AGAIN_BELOW", EXACT_LIMIT // 2)
    root = tmp_path_factory.mktemp("big")
    settings = Settings(data_dir=root / "data", model=str(random_model[0]), pretrained=str(random_model[1]), ocr=False)
    model_id = ModelSpec(settings.model, settings.pretrained).model_id
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((40, 64))
    vectors = centres[rng.integers(40, size=N)] + rng.standard_normal((N, 64)) * 0.6
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)
    seconds = rng.integers(0, 10 * 365 * 86400, size=N)
    catalog = Catalog(settings.catalog_path)
    folder_id = catalog.add_folder(root / "photos")
    rows = []
    for i in range(N):
        fmt = FORMATS[i % len(FORMATS)]
        taken = str(np.datetime64("2015-01-01T00:00:00") + np.timedelta64(int(seconds[i]), "s")).replace("T", " ")
        size = (300, 400) if i % 4 == 0 else (400, 300)
        rows.append(
            FileRecord(
                None,
                str(root / "photos" / f"{i // PER_FOLDER:04d}" / f"IMG_{i:06d}{EXTENSIONS[fmt]}"),
                f"fp{i}",
                1,
                1.0,
                OK,
                None,
                *size,
                taken,
                fmt,
                folder_id,
            )
        )
    with catalog.transaction() as db:
        catalog.put_files(db, rows)
        catalog.put_embeddings(db, model_id, [(f"fp{i}", vectors[i]) for i in range(N)])
    catalog.close()
    library = Library(settings)
    assert library.index.kind == "ivf"
    ids = {r.path: r.id for r in library.photos()}
    yield library, [(ids[r.path], r) for r in rows], vectors.astype(np.float32)
    library.close()
    patch.undo()


PASSES = {  # what each filter means, written out on the photo's row
    "folder:0007": lambda r: "/0007/" in r.path,
    "folder:0007 after:2020": lambda r: "/0007/" in r.path and r.taken_at >= "2020",
    "type:heic": lambda r: r.format == "HEIF",
    "type:png before:2017-06": lambda r: r.format == "PNG" and r.taken_at < "2017-06",
    "orientation:portrait -type:jpg": lambda r: r.width < r.height and r.format != "JPEG",
    "-folder:0001 -folder:0002 after:2016 before:2017 -type:png": lambda r: (
        "/0001/" not in r.path and "/0002/" not in r.path and "2016" <= r.taken_at < "2017" and r.format != "PNG"
    ),
    "folder:0999": lambda r: False,
}


@pytest.mark.parametrize("filters", PASSES)
def test_words_and_filters_rank_every_photo_that_passes(big, filters):
    library, rows, vectors = big
    expected = {file_id for file_id, r in rows if PASSES[filters](r)}
    assert len(expected) <= EXACT_LIMIT
    hits = library.search(f"a red car {filters}")
    assert {h.id for h in hits} == expected
    # ranked by cosine with the query: the same order as ranking just these photos exactly
    q = library.text_vector("a red car")
    got = np.array([h.score for h in hits])
    assert np.all(np.diff(got) <= 1e-6)
    exact = np.array([vectors[h.id - 1] @ q for h in hits])
    assert np.allclose(got, exact, atol=2e-3)
    assert np.allclose(got, np.sort(exact)[::-1], atol=2e-3)


def test_a_filter_that_passes_many_photos_still_finds_the_best_of_them(big):
    library, rows, vectors = big
    passing = np.array([file_id for file_id, r in rows if r.taken_at >= "2019"])
    assert len(passing) > EXACT_LIMIT
    q = library.text_vector("a red car")
    ids = library.search("a red car after:2019", paths=False).ids
    assert len(ids) == index_module.APPROX_RESULTS and np.isin(ids, passing).all()
    best = passing[np.argsort(-(vectors[passing - 1] @ q))[:100]]
    assert len(set(ids[:100].tolist()) & set(best.tolist())) >= 95


def test_a_filter_only_query_lists_a_page_newest_first(big):
    library, rows, _ = big
    passing = sorted(((r.taken_at, r.path, file_id) for file_id, r in rows if r.taken_at >= "2019"), reverse=True)
    page = library.search("after:2019", n=20)
    assert [h.id for h in page] == [file_id for *_, file_id in passing[:20]]
    assert page.total == len(passing)
    everything = library.search("after:2019", paths=False)  # what the window asks for: every id
    assert everything.ids.tolist() == [file_id for *_, file_id in passing]
