"""The first minutes of a library (issue 19): photos catalogued without the model, concepts
before the text-reading pass, text read at a low priority, a calm time-left estimate."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from app.core.ingest.indexer import SmoothEta
from app.core.library import Library
from app.core.model.embedder import ModelUnavailable


def test_without_embedding_photos_are_catalogued_and_thumbnailed_and_no_model_is_loaded(library, photos, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the catalog pass must not load the model")

    monkeypatch.setattr(Library, "load_model", no_model)
    seen = []
    report = library.update([photos], progress=seen.append, embed=False)
    assert (report.new, report.embedded) == (12, 0)
    records = library.photos()
    assert len(records) == 12 and not library.model_loaded
    assert all(library.thumbnail(r).exists() for r in records)
    assert any(p.phase == "scanning" and p.done == 12 for p in seen)  # "12 found"
    assert any(p.phase == "adding" and p.done == 12 for p in seen)


def test_a_run_with_the_model_then_embeds_what_the_catalog_pass_added(library, photos):
    library.update([photos], embed=False)
    report = library.update()
    assert report.embedded == 12
    assert library.doctor()["index_ok"]


def test_concepts_are_scored_before_text_is_read_and_text_is_read_at_a_low_priority(
    make_settings, random_model, photos, monkeypatch
):
    from app.core.ingest import ocr

    events = []

    def reader(catalog, settings, progress=None, control=None):
        events.append("text")
        if sys.platform.startswith("linux"):
            events.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return 0

    monkeypatch.setattr(ocr, "read_library", reader)
    lib = Library(make_settings(random_model, ocr=True))
    try:
        lib.update([photos], after_embedding=lambda: events.append("concepts") or lib.update_concepts())
        assert lib.concepts.is_current()
    finally:
        lib.close()
    assert events[:2] == ["concepts", "text"]
    if sys.platform.startswith("linux"):
        assert events[2] >= 10
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < 10  # the caller's stays


def test_a_pass_without_the_model_reads_no_text(make_settings, random_model, photos, monkeypatch):
    from app.core.ingest import ocr

    monkeypatch.setattr(ocr, "read_library", lambda *a, **k: pytest.fail("text read without embeddings"))
    lib = Library(make_settings(random_model, ocr=True))
    try:
        called = []
        lib.update([photos], embed=False, after_embedding=lambda: called.append(1))
    finally:
        lib.close()
    assert not called


def test_an_unavailable_model_still_catalogues_when_not_required(library, photos, monkeypatch):
    def unavailable(*args, **kwargs):
        raise ModelUnavailable("offline")

    monkeypatch.setattr(Library, "load_model", unavailable)
    assert library.update([photos], require_model=False).new == 12


# -- the time left ------------------------------------------------------------------------------


def test_the_time_left_never_jumps_up_more_than_twice_in_a_second():
    eta = SmoothEta()
    assert eta.update("indexing", 390, 140, 10.0, now=0.0) == (10.0, 25.0)
    rate, shown = eta.update("indexing", 390, 141, 140 / 53, now=0.5)  # the raw jump the issue saw
    assert shown <= 25.0 * 2**0.5
    previous, now, done = shown, 0.5, 141
    for raw in [53, 10, 80, 5, 60, 30, 30, 30]:  # a noisy run, a tenth of a second apart
        now, done = now + 0.1, done + 1
        rate, shown = eta.update("indexing", 390, done, (390 - done) / raw, now=now)
        assert shown <= previous * 2**0.1 + 1e-9
        assert shown == pytest.approx((390 - done) / rate)  # what the rate shown says
        previous = shown


def test_the_time_left_counts_down_and_follows_a_steady_rate():
    eta = SmoothEta()
    eta.update("indexing", 1000, 0, 10.0, now=0.0)
    shown = [eta.update("indexing", 1000, 10 * t, 10.0, now=float(t))[1] for t in range(1, 61)]
    assert all(b < a for a, b in zip(shown, shown[1:]))  # counts down
    assert shown[-1] == pytest.approx(40.0)
    for t in range(61, 121):  # the rate halves: the estimate gets there, gradually
        rate, last = eta.update("indexing", 1000, 600 + 5 * (t - 60), 5.0, now=float(t))
    assert rate == pytest.approx(5.0, rel=0.01) and last == pytest.approx(20.0, rel=0.01)


def test_after_a_slow_start_the_time_left_falls_with_the_rate_shown():
    """The status bar said "Indexing 120 of 150 · 23/s · 29 s left" when about a second was left:
    the run's first photos came slowly (the model warming up), then fast."""
    eta = SmoothEta()
    now, done = 0.0, 0
    while done < 120:
        now += 0.1
        done = min(120, int(5 * now) if now < 2 else 10 + int(34.4 * (now - 2)))
        rate, left = eta.update("indexing", 150, done, done / now, now=now)
    assert done / now == pytest.approx(23, abs=1)
    assert left == pytest.approx(30 / rate) and left < 3.0


def test_a_new_phase_starts_its_own_estimate():
    eta = SmoothEta()
    eta.update("indexing", 390, 0, 15.6, now=0.0)
    assert eta.update("ocr", 390, 0, 0.325, now=0.2) == (0.325, 1200.0)
    assert eta.update("ocr", 390, 0, 0.0, now=0.3) == (0.325, 1200.0)  # no new rate: the last one
    assert eta.update("hashing", 10, 0, 0.0, now=0.4) == (0.0, None)
