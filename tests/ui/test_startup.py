"""Opening the window: it paints first; the engine (numpy, SQLite, the catalog) loads right after,
on a worker, and a library that cannot be opened is explained rather than crashing the app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_the_window_module_leaves_the_engine_for_later():
    code = (
        "import sys, app.ui.main\n"
        "print(sorted(m for m in ('numpy', 'PIL', 'torch', 'sqlite3', 'app.core.library') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_library_opens_after_the_first_paint_and_a_search_typed_meanwhile_waits(qtbot, make_window, shapes):
    from PySide6.QtCore import QEvent, QObject

    class FirstPaint(QObject):
        library_then = "not painted"

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and self.library_then == "not painted":
                self.library_then = window.library
            return False

    first_paint = FirstPaint()
    window = make_window(folders=[shapes])
    window.installEventFilter(first_paint)
    assert window.library is None  # shown, not yet painted: nothing heavy has run
    window.search_bar.edit.setText("a red circle")  # typed before the library was open
    window.search_bar.search_now()
    wait_ready(qtbot, window)
    assert window.library is not None
    assert first_paint.library_then is None  # the window had painted before the library opened
    wait_indexed(qtbot, window, 24)
    qtbot.waitUntil(
        lambda: (
            window.search_bar.text() == "a red circle"
            and window.grid_model.rowCount() == 24
            and "red_circle" in window.grid_model.paths()[0]
        ),
        timeout=30000,
    )


def test_a_library_that_cannot_be_opened_says_where_and_why(qtbot, make_window, make_settings, trained_model, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    window = make_window(settings=make_settings(trained_model, data_dir=blocker / "data"))
    qtbot.waitUntil(window.banner.isVisible, timeout=30000)
    assert window.banner.title.text() == "The library could not be opened"
    assert str(blocker) in window.banner.message.text()
    assert not window.banner.choose_button.isVisible()
    assert window.library is None
