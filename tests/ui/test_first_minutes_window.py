"""The first minutes in the window (issue 19): photos before the model, `#` while text is read,
status-bar notes that are never cut, messages that say what happened, a grid that stays put."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

N_SHAPES = 24


def _search(qtbot, window, text: str) -> None:
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        window.search_bar.edit.setText(text)
        window.search_bar.search_now()


@pytest.fixture
def slow_model(monkeypatch):
    """The model loads only once the test lets it (a download that takes its time)."""
    from app.core.library import Library

    gate = threading.Event()
    load = Library.load_model

    def slow_load(self, *args, **kwargs):
        gate.wait(60)
        return load(self, *args, **kwargs)

    monkeypatch.setattr(Library, "load_model", slow_load)
    yield gate
    gate.set()


def test_a_first_start_with_a_folder_shows_photos_before_the_model_loads(qtbot, make_window, shapes, slow_model):
    window = make_window(folders=[shapes])
    pages = []
    window.stack.currentChanged.connect(
        lambda i: pages.append((window.stack.widget(i) is window.empty, window.empty.adding))
    )
    assert window.stack.currentWidget() is window.empty and window.empty.adding  # "Adding Pictures…"
    assert not window.empty.button.isVisible()  # no "Add Folder…": a folder was given

    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_SHAPES, timeout=30000)
    assert window.model_state == "loading" and not window.library.model_loaded
    assert window.stack.currentWidget() is window.grid
    assert all(window.library.thumbnail(window.grid_model.record(r)).exists() for r in range(N_SHAPES))
    assert (True, False) not in pages  # the onboarding page never showed
    # browsable before the model: quoted words (file names) and filters, and the preview opens
    _search(qtbot, window, '"red"')
    assert window.grid_model.rowCount() == 6 and all("red_" in Path(p).name for p in window.grid_model.paths())
    for query in ("type:jpeg", f"folder:{shapes.name}", "after:2000-01-01"):
        _search(qtbot, window, query)
        assert window.grid_model.rowCount() == N_SHAPES, query
    window.search_bar.clear()
    window.open_preview(0)
    qtbot.waitUntil(lambda: window.preview is not None and window.preview.isVisible(), timeout=10000)
    window.preview.close()

    slow_model.set()  # the model arrives: the photos are embedded and search by meaning works
    wait_ready(qtbot, window, timeout=60000)
    wait_indexed(qtbot, window, N_SHAPES)
    assert len(window.library.catalog.embedded_fingerprints(window.library.model_id)) == N_SHAPES
    _search(qtbot, window, "a red circle")
    assert "red_circle" in window.grid_model.paths()[0]


def test_a_folder_added_while_the_model_loads_shows_its_photos_at_once(qtbot, make_window, shapes, slow_model):
    window = make_window()
    qtbot.waitUntil(lambda: window.library is not None and window.stack.currentWidget() is window.empty, timeout=30000)
    assert not window.empty.adding  # no folder given: the onboarding page
    window.add_folders([str(shapes)])
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_SHAPES, timeout=30000)
    assert window.model_state == "loading"
    slow_model.set()
    wait_ready(qtbot, window, timeout=60000)
    wait_indexed(qtbot, window, N_SHAPES)
    assert len(window.library.catalog.embedded_fingerprints(window.library.model_id)) == N_SHAPES


def test_the_adding_page_counts_the_photos_found(qtbot, make_window, shapes, slow_model):
    window = make_window(folders=[shapes])
    window.indexer.found.emit(1234)
    assert window.empty.text.text() == "1,234 found"
    assert window.empty.title.text() == "Adding Pictures…"


def test_concept_autocomplete_works_while_text_is_read(
    qtbot, make_window, make_settings, trained_model, shapes, monkeypatch
):
    from app.core.ingest import ocr

    reading, release = threading.Event(), threading.Event()

    class SlowReader:  # stands in for the OCR engine: ~0.3 s a photo, here until the test is done
        name = "slow-test-reader"

        def load(self):
            return self

        def read(self, image):
            reading.set()
            release.wait(30)
            return ""

    monkeypatch.setattr(ocr, "shared_engine", lambda threads=None: SlowReader())
    window = make_window(settings=make_settings(trained_model, ocr=True), folders=[shapes])
    try:
        with qtbot.waitSignal(window.concepts_ready, timeout=120000):
            qtbot.waitUntil(reading.is_set, timeout=60000)
        assert window.indexing and reading.is_set()  # text is still being read
        bar = window.search_bar
        bar.focus_search()
        qtbot.keyClicks(bar.edit, "#ci")
        qtbot.waitUntil(bar.completer.popup().isVisible)
        names = [
            bar.completion_model.item(r).data(Qt.ItemDataRole.UserRole) for r in range(bar.completion_model.rowCount())
        ]
        assert "circle" in names
        bar.completer.popup().hide()
        window.index_status.pause_button.click()  # text reading pauses like the rest
        assert window.index_status.label.text().endswith("(paused)")
        window.index_status.pause_button.click()
    finally:
        release.set()
    wait_indexed(qtbot, window, N_SHAPES, timeout=60000)


def test_a_query_note_is_never_cut_by_the_indexing_progress(qtbot, make_window, shapes):
    from app.core.ingest.indexer import Progress

    window = make_window(folders=[shapes])
    with qtbot.waitSignal(window.concepts_ready, timeout=120000):
        wait_ready(qtbot, window)
        wait_indexed(qtbot, window, N_SHAPES)
    qtbot.waitUntil(lambda: window.idle)
    window.resize(900, 500)
    window.statusBar().clearMessage()  # ("Added 24 photos…" stands in for the notes for a while)
    _search(qtbot, window, "#")
    note = window.status_label.text()
    assert "# needs a concept name" in note
    status = window.index_status
    status.run_started()
    status.show_progress(Progress(1234, 5000, 0.4, "", "ocr"))  # the longest line it shows
    qtbot.waitUntil(lambda: _fits_beside(window.statusBar(), window.status_label, status))
    assert window.status_label.text() == note
    assert status.label.text().startswith("Reading text in photos 1,234 of 5,000")  # it gives way instead
    status.hide()


def _fits_beside(bar, label, progress) -> bool:
    """`label` shows its whole text, left of `progress`, which is inside `bar`."""
    label_right = label.mapTo(bar, QPoint(label.width(), 0)).x()
    progress_left = progress.mapTo(bar, QPoint(0, 0)).x()
    return (
        label.isVisible()
        and progress.isVisible()
        and label.width() >= label.sizeHint().width()
        and label_right <= progress_left
        and progress_left + progress.width() <= bar.width()
    )


def test_messages_say_what_happened():
    from app.core.ingest.indexer import IndexReport
    from app.ui.indexing import report_text

    assert report_text(IndexReport(removed=20)) == "Removed 20 photos"
    assert (
        report_text(IndexReport(new=25, skipped=[("/p/broken.jpg", "empty file")]))
        == "Added 24 photos · Could not read broken.jpg (empty file)"
    )
    assert (
        report_text(IndexReport(new=3, skipped=[("/p/a.jpg", "truncated"), ("/p/b.jpg", "too big")]))
        == "Added 1 photo · Could not read a.jpg (truncated) and 1 other file"
    )
    assert report_text(IndexReport(unchanged=5)) == ""


def test_the_window_names_a_refused_photo(qtbot, make_window, shapes):
    window = make_window(folders=[shapes])
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, N_SHAPES)
    qtbot.waitUntil(lambda: any("broken.jpg" in m for m in messages), timeout=10000)
    assert any(m.startswith("Added 24 photos") and "Could not read broken.jpg (" in m for m in messages), messages
    assert not any("Library updated" in m for m in messages)


def _grid_of(qtbot, count: int, shown: list[int]):
    """A real grid (800x600) showing the photos `shown` of `count` records; (model, grid, records)."""
    from app.core.store.catalog import FileRecord
    from app.ui.grid import PhotoGrid, PhotoModel, ThumbnailLoader

    records = {i: FileRecord(i, f"/photos/{i}.jpg", f"fp{i}", 1, 1.0) for i in range(1, count + 1)}
    model = PhotoModel()
    grid = PhotoGrid(model, ThumbnailLoader(None))
    qtbot.addWidget(grid)
    grid.resize(800, 600)
    grid.show()
    model.set_order(shown, {i: records[i] for i in shown})
    return model, grid, records


def _insert(model, records, order: list[int]) -> None:
    """The photo list grows to `order` (photos come in while indexing)."""
    from app.core.screen import Order

    known = np.zeros(len(records) + 1, dtype=bool)
    known[order] = True
    model.set_order(Order(order, known), {i: records[i] for i in order}, known)


def test_photos_coming_in_above_keep_the_view_on_what_the_user_looks_at(qtbot):
    shown = list(range(800, 0, -1))  # newest first
    model, grid, records = _grid_of(qtbot, 1000, shown)
    grid.verticalScrollBar().setValue(grid.cell * 20 + 7)  # scrolled down, a bit into a row
    looked_at = model.ids()[grid.indexAt(QPoint(1, 8)).row()]
    top = grid.visualRect(model.index_of(looked_at)).top()

    # newer photos at the top and some among the others above the ones looked at
    order = [1000, 999, 998] + shown[:40] + [950, 951] + shown[40:]
    _insert(model, records, order)

    assert model.ids() == order
    assert grid.visualRect(model.index_of(looked_at)).top() == top  # the same line, where it was


def test_at_the_top_the_view_stays_at_the_top(qtbot):
    shown = list(range(200, 0, -1))
    model, grid, records = _grid_of(qtbot, 300, shown)
    _insert(model, records, [300, 299] + shown)
    assert grid.verticalScrollBar().value() == 0 and model.ids()[grid.indexAt(QPoint(1, 1)).row()] == 300
