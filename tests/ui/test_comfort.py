"""Everyday comfort (issue 19, item 6), driven like a person: the status bar counts the
selection and keeps its time left honest, the keyboard goes from the search field into the
results, every icon button has a name, Show in Folder says what it did."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

N_SHAPES = 24


@pytest.fixture
def indexed(qtbot, make_window, shapes):
    """A window whose library holds the shapes folder, indexed, model loaded."""
    window = make_window(folders=[shapes])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, N_SHAPES)
    qtbot.waitUntil(lambda: window.idle, timeout=30000)
    return window


def _search(qtbot, window, text: str) -> None:
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        qtbot.keyClicks(window.search_bar.edit, text)
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)


def _click_row(qtbot, grid, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    rect = grid.visualRect(grid.photo_model().index(row))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


# -- the status bar ------------------------------------------------------------------------


def test_the_status_bar_counts_the_selection(qtbot, indexed):
    window, grid = indexed, indexed.grid
    _click_row(qtbot, grid, 0)
    assert "selected" not in window.status_label.text()  # one photo: nothing to count
    _click_row(qtbot, grid, 3, Qt.KeyboardModifier.ControlModifier)
    _click_row(qtbot, grid, 5, Qt.KeyboardModifier.ControlModifier)
    assert window.status_label.text().startswith("3 selected · ")
    qtbot.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # Select All
    assert window.status_label.text().startswith(f"{N_SHAPES} selected · ")
    _click_row(qtbot, grid, 2)
    assert "selected" not in window.status_label.text()


def test_the_time_left_agrees_with_the_rate_shown(qtbot):
    """ "Indexing 120 of 150 · 23/s · 29 s left" was shown with about a second left."""
    from app.core.ingest.indexer import Progress
    from app.ui.indexing import IndexStatus

    status = IndexStatus()
    qtbot.addWidget(status)
    status.run_started()
    for done in (10, 40, 80, 120):  # a slow start (the model warming up), then fast
        status.show_progress(Progress(done, 150, 5.0 if done == 10 else 23.0, ""))
        m = re.search(r"of 150 · ([\d.]+)/s · (\d+) s left", status.label.text())
        assert m, status.label.text()
        rate, left = float(m.group(1)), int(m.group(2))
        assert abs(left - (150 - done) / rate) <= 1.0, status.label.text()  # (both are rounded)


# -- the keyboard --------------------------------------------------------------------------


def test_down_arrow_goes_from_the_search_field_into_the_results_and_enter_opens(qtbot, indexed, monkeypatch):
    window = indexed
    opened = []
    monkeypatch.setattr(window.previewer, "open", lambda row: opened.append(row))
    window.grid.preview_requested.disconnect()
    window.grid.preview_requested.connect(window.previewer.open)
    window.search_bar.edit.setFocus()
    _search(qtbot, window, "red circle")
    assert window.search_bar.edit.hasFocus()
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Down)
    assert window.grid.hasFocus()
    assert window.grid.currentIndex().row() == 0
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert opened == [0]


def test_the_photos_are_the_next_tab_stop_after_the_search_field(qtbot, indexed):
    window = indexed
    window.activateWindow()
    window.search_bar.edit.setFocus()
    qtbot.waitUntil(window.search_bar.edit.hasFocus)
    qtbot.keyClicks(window.search_bar.edit, "red")  # (the clear button shows up)
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Tab)
    assert window.grid.hasFocus()
