"""Decode threads share a pixel budget: huge pictures take turns instead of all being held in
memory at once, a picture bigger than the budget decodes alone, and results do not change."""

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from app.core.config import Settings
from app.core.ingest import imaging
from app.core.ingest.pixel_budget import PixelBudget
from app.core.library import Library
from tiny_clip import write_shapes


def test_a_request_waits_until_it_fits_and_an_oversized_one_takes_everything():
    budget = PixelBudget(100)
    first = budget.acquire(60)
    got = threading.Event()

    def second():
        budget.release(budget.acquire(60))
        got.set()

    t = threading.Thread(target=second)
    t.start()
    assert not got.is_set() and budget.held == 60  # 60 + 60 does not fit in 100
    budget.release(first)
    t.join()
    assert got.is_set() and budget.held == 0 and budget.peak == 60
    assert budget.acquire(1_000) == 100 and budget.held == 100  # alone: the whole budget
    budget.release(100)


class _Concurrent:
    """Counts the pixels of the pictures being decoded at once: from the load of a full picture
    to the end of its reduction (where decode lets it go)."""

    def __init__(self, monkeypatch):
        self.lock = threading.Lock()
        self.inside: dict[int, int] = {}
        self.peak = 0
        self.big_company: list[int] = []  # how many others were in while a big one was
        load, reduced, decode = ImageFile.ImageFile.load, imaging._reduced, imaging.decode
        decoding = threading.local()  # only the loads of decode() count

        def marked_decode(*args, **kwargs):
            decoding.now = True
            try:
                return decode(*args, **kwargs)
            finally:
                decoding.now = False

        def counting_load(im):
            with self.lock:
                if getattr(decoding, "now", False) and id(im) not in self.inside:
                    self.inside[id(im)] = im.size[0] * im.size[1]
                    self.peak = max(self.peak, sum(self.inside.values()))
                    if any(p > BIG_LIMIT for p in self.inside.values()):
                        self.big_company.append(len(self.inside) - 1)
            return load(im)

        def counting_reduced(im, *args):
            try:
                return reduced(im, *args)
            finally:
                with self.lock:
                    self.inside.pop(id(im), None)

        monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
        monkeypatch.setattr(imaging, "_reduced", counting_reduced)
        monkeypatch.setattr(imaging, "decode", marked_decode)


BIG_LIMIT = 2_000_000


def _noise_pngs(folder: Path, sizes: list[tuple[int, int]]) -> None:
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            folder / f"noise_{i}.png", compress_level=1
        )


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "lib"
    write_shapes(folder, per_kind=1)  # JPEGs: draft mode decodes them small
    _noise_pngs(folder, [(1200, 800)] * 8 + [(2000, 1500)])  # 0.96 MP each, and one of 3 MP
    return folder


def _index(make_settings, random_model, folder: Path, data_dir: Path, **changes) -> Library:
    library = Library(make_settings(random_model, data_dir=data_dir, decode_threads=4, **changes))
    report = library.update([folder])
    assert report.embedded == 21 and not report.skipped
    return library


def test_decodes_never_hold_more_than_the_budget(make_settings, random_model, photos, tmp_path, monkeypatch):
    counter = _Concurrent(monkeypatch)
    library = _index(make_settings, random_model, photos, tmp_path / "data", decode_pixels=BIG_LIMIT)
    library.close()
    assert 0 < counter.peak <= BIG_LIMIT or counter.peak == 3_000_000
    assert counter.big_company and set(counter.big_company) == {0}  # the 3 MP picture decoded alone
    assert not counter.inside


def test_the_budget_changes_nothing_that_is_stored(make_settings, random_model, photos, tmp_path):
    results = []
    for name, pixels in (("tight", 1), ("roomy", 10**9)):
        library = _index(make_settings, random_model, photos, tmp_path / name, decode_pixels=pixels)
        records = sorted(library.catalog.files(), key=lambda r: r.path)
        vectors = np.stack([library.catalog.vector(r.id, library.model_id) for r in records])
        thumbs = [imaging.thumbnail_path(library.settings.thumbs_dir, r.fingerprint).read_bytes() for r in records]
        results.append(([(r.path, r.fingerprint, r.width, r.height) for r in records], vectors, thumbs))
        library.close()
    (rows_a, vec_a, thumbs_a), (rows_b, vec_b, thumbs_b) = results
    assert rows_a == rows_b and thumbs_a == thumbs_b
    assert np.allclose(vec_a, vec_b, atol=1e-6)


def test_the_budget_is_a_setting(monkeypatch):
    monkeypatch.setenv("PHOTOSEEK_DECODE_PIXELS", "50000000")
    assert Settings.from_env().decode_pixels == 50_000_000
    monkeypatch.delenv("PHOTOSEEK_DECODE_PIXELS")
    assert Settings.from_env().decode_pixels == 200_000_000
