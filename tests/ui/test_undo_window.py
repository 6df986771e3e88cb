"""Undo in the window: photos moved to the trash and a removed folder come back with Edit > Undo
(Ctrl+Z), into the grid and into search results, with nothing embedded again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QMessageBox

from helpers import wait_indexed, wait_ready

N_SHAPES = 24  # the shapes fixture's pictures (its broken file is skipped)


@pytest.fixture
def indexed(qtbot, make_window, shapes, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window = make_window(folders=[shapes])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, N_SHAPES)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # Ctrl+Z is the window's shortcut
    return window


def _select(window, rows: list[int]) -> list[str]:
    model, selection = window.grid_model, window.grid.selectionModel()
    window.grid.setCurrentIndex(model.index(rows[0]))
    for row in rows:
        selection.select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
    return [model.paths()[row] for row in rows]


def _reindex(qtbot, window):
    with qtbot.waitSignal(window.indexing_finished, timeout=60000) as finished:
        window.start_indexing()
    return finished.args[0]


def test_trash_three_then_ctrl_z_puts_them_back_in_the_grid_and_in_search(qtbot, indexed):
    window = indexed
    victims = _select(window, [0, 3, 5])
    data = {p: Path(p).read_bytes() for p in victims}
    ids = {window.library.catalog.file_by_path(p).id for p in victims}
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)  # the grid's Move to Trash action
    qtbot.waitUntil(lambda: window.undo.label.isVisible())
    assert window.undo.label.text().startswith("3 photos moved to the trash · ")
    assert "Undo" in window.undo.label.text()
    assert window.undo.action.isEnabled() and window.undo.action.text() == "Undo Move to Trash"
    assert not any(Path(p).exists() for p in victims)
    assert not set(victims) & set(window.grid_model.paths())

    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: set(victims) <= set(window.grid_model.paths()), timeout=20000)
    assert {p: Path(p).read_bytes() for p in victims} == data  # the same files, at their places
    assert window.grid_model.rowCount() == N_SHAPES
    assert {window.library.catalog.file_by_path(p).id for p in victims} == ids
    assert not window.undo.action.isEnabled() and not window.undo.label.isVisible()
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        window.run_search("a red circle")
    assert set(victims) <= set(window.grid_model.paths())  # found again
    assert _reindex(qtbot, window).embedded == 0


def test_a_removed_folder_comes_back_with_undo(qtbot, indexed, shapes):
    window = indexed
    [folder_id] = window.screen_model.folders
    window.remove_folder(folder_id, confirm=False)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 0 and window.undo.label.isVisible())
    assert window.undo.label.text().startswith("“shapes” removed from the library")
    assert window.undo.action.text() == "Undo Remove Folder"
    window.undo.action.trigger()  # Edit > Undo
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_SHAPES, timeout=20000)
    assert window.screen_model.folders == {folder_id: shapes.resolve()}
    assert _reindex(qtbot, window).embedded == 0


def test_what_was_not_undone_is_released_when_the_window_closes(qtbot, indexed):
    window = indexed
    [path] = _select(window, [1])
    library = window.library
    fingerprint = library.catalog.file_by_path(path).fingerprint
    window.trash_selected()
    qtbot.waitUntil(lambda: window.undo.action.isEnabled())
    library.catalog.prune_embeddings()
    assert fingerprint in library.catalog.embedded_fingerprints(library.model_id)  # held for undo
    window.close()
    library.catalog.prune_embeddings()
    assert fingerprint not in library.catalog.embedded_fingerprints(library.model_id)
