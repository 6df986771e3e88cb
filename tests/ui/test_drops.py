"""Drops do what the user means: a picture dropped on the search field becomes the picture chip,
a link stays words, every drop is a copy, and the bar and the grid light up while one hovers."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from helpers import wait_ready

EITHER = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction  # what a file manager offers


def _urls(*urls: QUrl) -> QMimeData:
    """Links as file managers and browsers drag them: a URL list, and the URLs as plain text (the
    format a QLineEdit takes, and types)."""
    mime = QMimeData()
    mime.setUrls(list(urls))
    mime.setText("\n".join(u.toString() for u in urls))
    return mime


def _enter(widget, mime: QMimeData) -> QDragEnterEvent:
    event = QDragEnterEvent(
        widget.rect().center(), EITHER, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)
    return event


def _drop(widget, mime: QMimeData) -> QDropEvent:
    _enter(widget, mime)
    event = QDropEvent(
        QPointF(widget.rect().center()), EITHER, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)
    return event


@pytest.fixture
def window(qtbot, make_window, random_model):
    window = make_window(model=random_model)
    wait_ready(qtbot, window)
    return window


def test_a_picture_dropped_on_the_text_field_becomes_the_chip_as_a_copy(qtbot, window, shapes):
    picture = shapes / "red_circle_0.jpg"
    edit = window.search_bar.edit
    drop = _drop(edit, _urls(QUrl.fromLocalFile(str(picture))))
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    qtbot.waitUntil(lambda: window.search_bar.chip.isVisible())
    assert window.search_bar.image_query.source == str(picture)
    assert edit.text() == ""  # no file:// URL typed into the field


def test_several_pictures_dropped_on_the_field_become_a_chip(qtbot, window, shapes):
    pictures = [QUrl.fromLocalFile(str(shapes / name)) for name in ("red_circle_0.jpg", "blue_square_1.jpg")]
    drop = _drop(window.search_bar.edit, _urls(*pictures))
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    qtbot.waitUntil(lambda: window.search_bar.chip.isVisible())
    assert window.search_bar.edit.text() == ""


def test_a_link_dropped_on_the_bar_is_text_and_a_copy(qtbot, window):
    link = "https://example.com/about"
    for target in (window.search_bar.edit, window.search_bar):
        window.search_bar.clear()
        drop = _drop(target, _urls(QUrl(link)))
        assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
        assert window.search_bar.edit.text() == link
        assert window.search_bar.image_query is None and not window.search_bar.chip.isVisible()


def test_a_file_that_is_not_a_picture_is_typed_as_its_path(qtbot, window, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    _drop(window.search_bar.edit, _urls(QUrl.fromLocalFile(str(notes))))
    assert window.search_bar.edit.text() == str(notes)
    assert window.search_bar.image_query is None


def test_the_bar_and_the_grid_light_up_while_a_drop_hovers(qtbot, window, shapes):
    mime = _urls(QUrl.fromLocalFile(str(shapes / "red_circle_0.jpg")))
    bar, grid = window.search_bar, window.grid
    for target, lit in ((bar.edit, bar), (bar, bar), (grid.viewport(), grid)):
        enter = _enter(target, mime)
        assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
        assert lit.property("dropTarget") is True
        QApplication.sendEvent(target, QDragLeaveEvent())
        assert not lit.property("dropTarget")
    _drop(grid.viewport(), mime)  # a drop clears it too
    assert not grid.property("dropTarget")
    qtbot.waitUntil(lambda: bar.chip.isVisible())
    _drop(bar.edit, mime)
    assert not bar.property("dropTarget")


def test_a_folder_dropped_on_the_field_joins_the_library(qtbot, window, shapes):
    drop = _drop(window.search_bar.edit, _urls(QUrl.fromLocalFile(str(shapes))))
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    assert window.search_bar.edit.text() == "" and window.search_bar.image_query is None
    qtbot.waitUntil(lambda: shapes.resolve() in window.screen_model.folders.values(), timeout=30000)
