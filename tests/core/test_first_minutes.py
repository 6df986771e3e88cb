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


def test_the_time_left_never_jumps_more_than_twice_in_a_second():
    eta = SmoothEta()
    assert eta.update("indexing", 390, 25.0, now=0.0) == 25.0
    shown = eta.update("indexing", 390, 53.0, now=0.5)  # the jump the issue saw
    assert shown <= 25.0 * 2**0.5
    previous, now = shown, 0.5
    for raw in [53, 10, 80, 5, 60, 30, 30, 30]:  # a noisy run, a tenth of a second apart
        now += 0.1
        shown = eta.update("indexing", 390, float(raw), now=now)
        assert previous / 2**0.1 - 1e-9 <= shown <= max(previous * 2**0.1, 1.0) + 1e-9
        previous = shown


def test_the_time_left_counts_down_and_follows_a_steady_rate():
    eta = SmoothEta()
    eta.update("indexing", 1000, 100.0, now=0.0)
    shown = [eta.update("indexing", 1000, 100.0 - t, now=float(t)) for t in range(1, 61)]
    assert all(b < a for a, b in zip(shown, shown[1:]))  # counts down
    assert abs(shown[-1] - 40.0) < 1.0
    for t in range(61, 121):  # the rate halves: the estimate gets there, gradually
        last = eta.update("indexing", 1000, 2 * (160.0 - t), now=float(t))
    assert abs(last - 80.0) < 8.0


def test_a_new_phase_starts_its_own_estimate():
    eta = SmoothEta()
    eta.update("indexing", 390, 25.0, now=0.0)
    assert eta.update("ocr", 390, 1200.0, now=0.2) == 1200.0
    assert eta.update("ocr", 390, None, now=0.3) == 1200.0
    assert eta.update("hashing", 10, None, now=0.4) is None
