"""Everyday comfort (issue 19, item 6), driven like a person: the status bar counts the
selection and keeps its time left honest, the keyboard goes from the search field into the
results, every icon button has a name, Show in Folder says what it did."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QWidget

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


# -- what the review found -----------------------------------------------------------------


def test_good_matches_only_with_none_shows_all_and_says_so_unfaded(qtbot, indexed):
    window = indexed
    _search(qtbot, window, "red circle")
    good = window.grid_model.good_count
    assert good and window.good_only_button.isVisible()
    qtbot.mouseClick(window.good_only_button, Qt.MouseButton.LeftButton)  # Show Only Good Matches
    assert window.grid_model.rowCount() == good
    window.search_bar.edit.clear()
    _search(qtbot, window, "zebra")  # nothing stands out for this one
    assert window.grid_model.rowCount() == N_SHAPES  # not an empty grid
    assert window.status_label.text().startswith("No clear matches for “zebra” — showing all")
    assert not any(window.grid_model.is_weak(r) for r in range(N_SHAPES))  # not drawn as disabled


def test_no_clear_matches_leaves_the_grid_unfaded(qtbot, indexed):
    window = indexed
    _search(qtbot, window, "zebra")
    assert window.grid_model.good_count == 0 and "no clear matches" in window.status_label.text()
    assert not any(window.grid_model.is_weak(r) for r in range(N_SHAPES))


def test_a_picture_in_the_search_box_has_one_clear_button(qtbot, indexed, shapes):
    from PySide6.QtCore import QMimeData, QUrl

    window, bar = indexed, indexed.search_bar
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sorted(shapes.glob("red_*"))[0]))])
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        window.handle_mime(mime)  # a picture dropped on the window
    qtbot.waitUntil(bar.chip.isVisible)

    def clear_buttons():
        return [b for b in (bar.chip.close_button, bar.clear_button) if b.isVisible()]

    assert clear_buttons() == [bar.chip.close_button]
    qtbot.keyClicks(bar.edit, "outdoors")  # words refine the picture
    assert len(clear_buttons()) == 1
    qtbot.mouseClick(bar.chip.close_button, Qt.MouseButton.LeftButton)
    assert clear_buttons() == [bar.clear_button]  # the words stay, and their clear button


def test_the_folder_picker_opens_in_the_pictures_folder(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    home = tmp_path / "home"
    (home / "Pictures").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda parent, title, start: asked.append(start) or "")
    window = make_window()
    window.add_folder_action.trigger()  # File > Add Folder…
    (home / "Pictures").rmdir()
    window.add_folder_action.trigger()
    assert asked == [str(home / "Pictures"), str(home)]


def test_the_status_bar_fits_a_narrow_window_most_important_first(qtbot, indexed):
    window = indexed
    window.resize(700, 600)
    qtbot.waitUntil(lambda: window.width() <= 700)
    window.statusBar().clearMessage()  # ("Added 24 photos": a message hides the status text meanwhile)
    _search(qtbot, window, "-red")  # a query with a note about how it was read
    text = window.status_label.text()
    assert window.screen_model.ranking.hints and text.startswith(f"{window.grid_model.rowCount()} results")
    bar = window.statusBar()
    shown = [w for w in bar.children() if isinstance(w, QWidget) and w.isVisible()]
    assert window.status_label in shown and len(shown) > 2

    def fits() -> bool:  # nothing pushed out of the status bar, nothing drawn over another
        return all(
            bar.rect().contains(w.geometry())
            and not any(w.geometry().intersects(o.geometry()) for o in shown if o is not w)
            for w in shown
        )

    qtbot.waitUntil(fits)  # (once the status bar has laid out the new text)
    assert window.status_label.toolTip().startswith(text)  # the whole of it, where it is cut


def test_encoding_a_new_models_tags_is_said_in_words(qtbot):
    from app.core.ingest.indexer import Progress
    from app.ui.indexing import IndexStatus

    status = IndexStatus()
    qtbot.addWidget(status)
    status.show_side_work(Progress(3, 40, 1.0, "", "prompts"), indexing=False)
    assert status.label.text().startswith("Learning tags… 7%")  # (phrases, not photos: no count of them)


def test_photos_put_back_by_undo_are_selected_again(qtbot, indexed, monkeypatch):
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QMessageBox

    window, grid = indexed, indexed.grid
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    grid.setCurrentIndex(window.grid_model.index(0))
    for row in (0, 3, 5):
        grid.selectionModel().select(window.grid_model.index(row), QItemSelectionModel.SelectionFlag.Select)
    victims = {window.grid_model.record(r).id for r in (0, 3, 5)}
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: window.undo.label.isVisible(), timeout=20000)
    qtbot.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Edit > Undo
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_SHAPES and window.idle, timeout=20000)
    qtbot.waitUntil(lambda: {window.grid_model.record(r).id for r in grid.selected_rows()} == victims)
    assert window.status_label.text().startswith("3 selected")


# -- Show in Folder ------------------------------------------------------------------------


@pytest.fixture
def session_bus(tmp_path, monkeypatch):
    """A private D-Bus session bus (dbus-daemon) for the test; the window's connection to it is
    dropped after."""
    import shutil
    import subprocess

    from PySide6.QtDBus import QDBusConnection

    from app.ui import desktop

    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed")
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    address = daemon.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        daemon.terminate()
        daemon.wait(10)
        QDBusConnection.disconnectFromBus(desktop.BUS_NAME)


@pytest.fixture
def file_manager(session_bus, tmp_path):
    """A file manager on that bus; returns the file its ShowItems calls are written to."""
    import subprocess
    import sys
    from pathlib import Path

    calls = tmp_path / "calls.jsonl"
    script = Path(__file__).resolve().parents[1] / "fake_file_manager.py"
    manager = subprocess.Popen([sys.executable, str(script), str(calls)], stdout=subprocess.PIPE, text=True)
    try:
        assert manager.stdout.readline().strip() == "ready"
        yield calls
    finally:
        manager.terminate()
        manager.wait(10)


def _show_in_folder(window, row: int) -> str:
    window.grid.setCurrentIndex(window.grid_model.index(row))
    path = window.grid_model.record(row).path
    action = [a for a in window.photo_menu().actions() if a.text() == "Show in Folder"][0]
    action.trigger()  # right-click > Show in Folder
    return path


def test_show_in_folder_asks_the_file_manager_to_select_the_photo(qtbot, indexed, file_manager):
    import json
    from pathlib import Path

    path = _show_in_folder(indexed, 2)
    qtbot.waitUntil(lambda: file_manager.exists() and bool(file_manager.read_text().strip()), timeout=20000)
    uris, startup_id = json.loads(file_manager.read_text().splitlines()[0])
    assert uris == [Path(path).as_uri()] and startup_id == ""
    assert "No file manager" not in indexed.statusBar().currentMessage()


def test_without_a_file_manager_on_the_bus_the_folder_is_opened(qtbot, indexed, session_bus):
    from pathlib import Path

    from PySide6.QtCore import QObject, QUrl, Slot
    from PySide6.QtGui import QDesktopServices

    class Opener(QObject):
        def __init__(self):
            super().__init__()
            self.urls = []

        @Slot(QUrl)
        def open(self, url):
            self.urls.append(url)

    opener = Opener()
    QDesktopServices.setUrlHandler("file", opener, "open")
    try:
        path = _show_in_folder(indexed, 2)
        qtbot.waitUntil(lambda: bool(opener.urls), timeout=20000)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert Path(opener.urls[0].toLocalFile()) == Path(path).parent


def test_with_no_file_manager_at_all_the_status_bar_says_so(qtbot, indexed, session_bus, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("PATH", "/nonexistent")  # (no xdg-open to open the folder with either)
    path = _show_in_folder(indexed, 2)
    qtbot.waitUntil(lambda: indexed.statusBar().currentMessage().startswith("No file manager"), timeout=20000)
    assert f"“{Path(path).name}”" in indexed.statusBar().currentMessage()


# -- the View menu -------------------------------------------------------------------------


def _view_menu_action(window, start: str):
    view = [a.menu() for a in window.menuBar().actions() if a.text() == "&View"][0]
    return [a for a in view.actions() if a.text().replace("&", "").startswith(start)][0]


def test_the_skipped_files_are_listed_from_the_view_menu(qtbot, make_window, tmp_path):
    from tiny_clip import write_shapes

    clean = tmp_path / "clean"
    write_shapes(clean, per_kind=1, size=64)
    window = make_window(folders=[clean])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, 12)
    qtbot.waitUntil(lambda: window.idle)
    action = _view_menu_action(window, "Skipped Files")
    assert action.text().replace("&", "") == "Skipped Files (none)" and not action.isEnabled()

    (clean / "broken.jpg").write_bytes(b"not a photo")
    with qtbot.waitSignal(window.indexing_finished, timeout=60000):
        window.start_indexing()
    qtbot.waitUntil(action.isEnabled, timeout=20000)
    assert action.text().replace("&", "") == "Skipped Files (1)…"
    action.trigger()
    qtbot.waitUntil(lambda: window.skipped_dialog is not None and window.skipped_dialog.isVisible())
    assert [p for p, _ in window.skipped_items] == [str(clean / "broken.jpg")]


# -- an empty folder -----------------------------------------------------------------------


def test_an_empty_library_folder_explains_itself(qtbot, make_window, tmp_path):
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    window = make_window(folders=[pictures])
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.idle and window.stack.currentWidget() is window.grid, timeout=30000)
    label = window.grid.empty_label
    qtbot.waitUntil(label.isVisible)
    assert label.text() == "No photos in Pictures yet: JPEG, HEIC, PNG… files will appear here"
    assert window.grid.viewport().rect().contains(label.geometry())


# -- names for every control ---------------------------------------------------------------


def test_every_button_and_slider_has_a_name_a_screen_reader_can_say(qtbot, indexed, shapes):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtWidgets import QAbstractButton, QSlider

    window = indexed
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sorted(shapes.glob("red_*"))[0]))])
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        window.handle_mime(mime)  # (the picture chip and its button show)
    controls = window.findChildren(QAbstractButton) + window.findChildren(QSlider)
    controls = [c for c in controls if not c.objectName().startswith("qt_")]  # Qt's own, named by Qt

    def said(c) -> str:  # (a symbol alone, "✕" or "−", says nothing)
        text = c.text().replace("&", "") if isinstance(c, QAbstractButton) else ""
        return c.accessibleName() or (text if any(ch.isalpha() for ch in text) else "")

    unnamed = [c for c in controls if not said(c)]
    assert not unnamed, [(type(c).__name__, c.objectName(), c.toolTip(), c.parent()) for c in unnamed]
    icon_only = [c for c in controls if isinstance(c, QAbstractButton) and not c.text() and c.isVisible()]
    assert all(c.toolTip() for c in icon_only), [c.accessibleName() for c in icon_only if not c.toolTip()]


# -- the grid ------------------------------------------------------------------------------


def test_a_lone_hash_keeps_the_grid_while_the_concepts_are_offered(qtbot, indexed):
    window, bar = indexed, indexed.search_bar
    qtbot.waitUntil(lambda: bool(bar.completions("")), timeout=30000)  # the concepts are scored
    before = window.grid_model.ids()
    bar.edit.setFocus()
    with qtbot.assertNotEmitted(bar.search_requested, wait=1000):  # (4 times the typing pause)
        qtbot.keyClicks(bar.edit, "#")
        assert bar.completer.popup().isVisible()
    assert window.grid_model.ids() == before and window.screen_model.ranking is None
    with qtbot.waitSignal(window.search_finished, timeout=20000):  # Esc closes the list: "#" is searched
        qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Escape)


def test_the_weaker_matches_label_is_whole_at_the_smallest_size_and_a_narrow_window(qtbot, indexed):
    from app.ui import prefs

    window, grid = indexed, indexed.grid
    window.resize(560, 600)
    window.set_cell_size(prefs.MIN_CELL)
    _search(qtbot, window, "red circle")
    good = window.grid_model.good_count
    assert 0 < good < N_SHAPES
    first_weak = window.grid_model.index(good)
    for hint in (grid.ScrollHint.PositionAtTop, grid.ScrollHint.PositionAtBottom, grid.ScrollHint.PositionAtCenter):
        grid.scrollTo(first_weak, hint)
        label = grid.divider_label_rect()
        if grid.divider_segments():
            assert not label.isEmpty()
            assert QRectF(grid.viewport().rect()).contains(label), (hint, label, grid.viewport().rect())


def test_thumbnails_at_the_largest_size_are_decoded_for_the_cells_pixels(qtbot, make_window, tmp_path):
    """A cell larger than the cached thumbnail (the largest zoom, a 2x screen) is drawn from the
    photo, not the small thumbnail scaled up: fine detail survives."""
    import numpy as np
    from PIL import Image

    from app.ui import prefs

    folder = tmp_path / "detail"
    folder.mkdir()
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (900, 900, 3), dtype=np.uint8)).save(folder / "noise.png")
    window = make_window(folders=[folder])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, 1)
    window.set_cell_size(prefs.MAX_CELL)
    loader, record = window.loader, window.grid_model.record(0)
    side = loader.side
    assert side > window.settings.thumb_size
    qtbot.waitUntil(lambda: loader.lookup(record)[1], timeout=20000)
    picture = loader.cached(record)
    assert picture.width() == side

    def detail(image) -> float:  # mean difference between neighbouring pixels, in the middle
        middle = image.copy(side // 4, side // 4, side // 2, side // 2).convertToFormat(image.Format.Format_Grayscale8)
        a = np.frombuffer(middle.constBits(), np.uint8).reshape(middle.height(), middle.bytesPerLine())
        return float(np.abs(np.diff(a[:, : middle.width()].astype(int), axis=1)).mean())

    from app.ui.grid import cell_image

    scaled_up = cell_image(window.library.thumbnail(record), side)
    assert detail(picture) > 1.5 * detail(scaled_up)


# -- the Settings dialog checks a checkpoint like the model dialog -------------------------


def test_settings_refuse_a_checkpoint_of_another_model_with_a_sentence(qtbot, trained_model, tmp_path):
    from PySide6.QtWidgets import QDialogButtonBox

    from app.ui import dialogs
    from tiny_clip import tiny_config, write_model

    other_config, _ = write_model(tmp_path / "other", "tiny-other-clip", tiny_config(224, 32))
    values = {"model": "ViT-B-32", "pretrained": "openai", "thumb_size": 256, "decode_threads": 1, "folders": []}
    dialog = dialogs.SettingsDialog(values, None, tmp_path / "models", "cpu")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.model_combo.setCurrentText(dialogs.LOCAL_CHECKPOINT)
    dialog.checkpoint_edit.setText(str(trained_model[1]))
    dialog.local_model_edit.setText(str(other_config))
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    with qtbot.assertNotEmitted(dialog.accepted):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(ok.isEnabled, timeout=60000)
    assert dialog.model_hint.text() == "These weights are for tiny-shapes-clip, the chosen model is tiny-other-clip."
    assert dialog.isVisible()

    dialog.local_model_edit.setText(str(trained_model[0]))  # the model they were made for
    with qtbot.waitSignal(dialog.accepted, timeout=60000):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert (dialog.values()["model"], dialog.values()["pretrained"]) == (str(trained_model[0]), str(trained_model[1]))
