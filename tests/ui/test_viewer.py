"""The viewer as a person uses it: fit, zoom (wheel, +/-, 0, 1, double-click), pan by dragging,
the info panel (I), its actions (Move to Trash with undo), Space like Quick Look, long names, and
the sharp read that replaces the thumbnail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui.preview import PreviewDialog
from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

N_SHAPES = 24


def _photo(path: Path, w: int, h: int, exif: Image.Exif | None = None) -> str:
    """A smooth picture (small files even when large) with a mark in its top-left corner."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    arr = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.full((h, w), 90.0)], -1)
    arr[: h // 8, : w // 8] = (250, 20, 20)
    Image.fromarray(arr.astype(np.uint8), "RGB").save(path, quality=90, **({"exif": exif.tobytes()} if exif else {}))
    return str(path)


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS R5"  # Model
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2021:07:14 18:30:05"  # DateTimeOriginal
    ifd[0xA434] = "RF24-105mm F4 L IS USM"  # LensModel
    ifd[0x829A] = 1 / 250  # ExposureTime
    ifd[0x829D] = 4.0  # FNumber
    ifd[0x8827] = 400  # ISO
    ifd[0x920A] = 35.0  # FocalLength
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 29.6), 3: "E", 4: (2.0, 17.0, 40.2)})
    return exif


def _open(qtbot, paths, index=0) -> PreviewDialog:
    dialog = PreviewDialog(paths, index)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)  # keys go where a person's would: to its focus
    qtbot.waitUntil(lambda: dialog.shown_index() == dialog.current_index(), timeout=10000)
    return dialog


def _press(qtbot, viewer: PreviewDialog, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed as a person presses it: into the widget that has the keyboard focus."""
    qtbot.keyClick(QApplication.focusWidget() or viewer, key, modifier)


def _wheel(widget, pos: QPointF, notches: int = 1) -> None:
    event = QWheelEvent(
        pos,
        QPointF(widget.mapToGlobal(pos)),
        QPoint(),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def _close(a: QPointF, b: QPointF, tolerance: float = 1.5) -> bool:
    return abs(a.x() - b.x()) <= tolerance and abs(a.y() - b.y()) <= tolerance


# -- zoom and pan ----------------------------------------------------------------------------


def test_a_photo_opens_fitted_and_zooms_with_the_wheel_about_the_cursor_and_with_keys(qtbot, tmp_path):
    dialog = _open(qtbot, [_photo(tmp_path / "big.jpg", 2400, 1600)])
    view = dialog.view()
    assert dialog.zoom_text().startswith("Fit") and view.is_fitted()
    fit = view.zoom()
    assert fit < 1.0  # larger than the window: shrunk to fit

    cursor = QPointF(view.width() * 0.3, view.height() * 0.5)  # (nearer an edge, the edge stops it)
    under = view.photo_point(cursor)
    _wheel(view, cursor, 2)
    assert view.zoom() == pytest.approx(fit * 1.25**2)
    assert dialog.zoom_text() == f"{round(100 * view.zoom())} %"
    assert _close(view.photo_point(cursor), under)  # the point under the cursor stayed there

    before = view.zoom()
    _press(qtbot, dialog, Qt.Key.Key_Plus, Qt.KeyboardModifier.NoModifier)
    assert view.zoom() == pytest.approx(before * 1.25)
    _press(qtbot, dialog, Qt.Key.Key_Minus)
    _press(qtbot, dialog, Qt.Key.Key_Minus)
    assert view.zoom() == pytest.approx(before / 1.25)
    _press(qtbot, dialog, Qt.Key.Key_1)
    assert view.zoom() == 1.0 and dialog.zoom_text() == "100 %"
    assert dialog.actual_button.isChecked() and not dialog.fit_button.isChecked()
    _press(qtbot, dialog, Qt.Key.Key_0)
    assert view.is_fitted() and dialog.zoom_text() == f"Fit ({round(100 * fit)} %)"
    assert dialog.fit_button.isChecked() and not dialog.actual_button.isChecked()
    _wheel(view, cursor, -3)  # no smaller than fitted
    assert view.is_fitted() and view.zoom() == pytest.approx(fit)
    dialog.actual_button.click()
    assert dialog.zoom_text() == "100 %"
    dialog.fit_button.click()
    assert dialog.zoom_text().startswith("Fit")


def test_double_click_toggles_fit_and_100_percent_and_a_drag_pans(qtbot, tmp_path):
    dialog = _open(qtbot, [_photo(tmp_path / "big.jpg", 2400, 1600)])
    view = dialog.view()
    spot = QPoint(view.width() // 3, view.height() // 3)
    under = view.photo_point(QPointF(spot))
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=spot)
    assert view.zoom() == 1.0 and dialog.zoom_text() == "100 %"
    assert _close(view.photo_point(QPointF(spot)), under)  # zoomed in where it was clicked

    start = view.centre()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 200))
    qtbot.mouseMove(view, QPoint(260, 170))
    qtbot.mouseMove(view, QPoint(200, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    assert _close(view.centre(), start + QPointF(100, 50) * view.devicePixelRatioF())  # the photo follows the hand

    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=spot)
    assert view.is_fitted() and dialog.zoom_text().startswith("Fit")


def test_a_small_photo_is_shown_at_100_percent_never_blown_up(qtbot, tmp_path):
    dialog = _open(qtbot, [_photo(tmp_path / "small.jpg", 160, 120)])
    view = dialog.view()
    assert view.is_fitted() and view.zoom() == 1.0 and dialog.zoom_text() == "Fit (100 %)"
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))  # already at 100 %: stays
    assert view.zoom() == 1.0
    _wheel(view, QPointF(view.width() / 2, view.height() / 2))
    assert view.zoom() == pytest.approx(1.25)  # but it can be zoomed into


def test_left_and_right_step_even_when_zoomed_and_the_next_photo_opens_fitted(qtbot, tmp_path):
    paths = [_photo(tmp_path / f"p{i}.jpg", 1600 + 100 * i, 1200) for i in range(3)]
    dialog = _open(qtbot, paths, 1)
    _press(qtbot, dialog, Qt.Key.Key_1)
    assert dialog.zoom_text() == "100 %"
    _press(qtbot, dialog, Qt.Key.Key_Right)
    assert dialog.current_index() == 2
    qtbot.waitUntil(lambda: dialog.shown_index() == 2, timeout=10000)
    assert dialog.zoom_text().startswith("Fit")
    _press(qtbot, dialog, Qt.Key.Key_Left)
    assert dialog.current_index() == 1


# -- info, names, screen ---------------------------------------------------------------------


def test_i_shows_date_camera_lens_exposure_size_and_place_read_from_exif(qtbot, tmp_path):
    path = _photo(tmp_path / "IMG_0042.jpg", 2400, 1600, _camera_exif())
    dialog = _open(qtbot, [path])
    assert not dialog.info.isVisible()
    _press(qtbot, dialog, Qt.Key.Key_I)
    assert dialog.info.isVisible() and dialog.info_button.isChecked()
    qtbot.waitUntil(lambda: "Canon EOS R5" in dialog.info.text(), timeout=10000)
    info = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in dialog.info.text().splitlines()}
    assert "2021" in info["Taken"] and "from EXIF" in info["Taken"]
    assert info["Camera"] == "Canon Canon EOS R5"  # as the file says (make, model)
    assert info["Lens"] == "RF24-105mm F4 L IS USM"
    assert info["Exposure"] == "1/250 s · f/4 · ISO 400 · 35 mm"
    assert info["Size"] == "2400 × 1600 px (3.8 MP)"
    assert info["File size"].endswith("kB")
    assert "48.85822, 2.29450" in info["Place"]
    assert info["Name"] == "IMG_0042.jpg" and str(tmp_path).replace("/", "") in info["Folder"].replace("/\u200b", "")
    assert info["Concepts"] == "…"  # no catalog here: the window's viewer fills these
    dialog.info_button.click()
    assert not dialog.info.isVisible()


def test_a_long_name_is_elided_and_the_viewer_never_grows_past_the_screen(qtbot, tmp_path):
    name = "holiday " * 30 + "final.jpg"
    dialog = _open(qtbot, [_photo(tmp_path / name, 900, 600)])
    _press(qtbot, dialog, Qt.Key.Key_I)
    qtbot.waitUntil(lambda: "900 × 600" in dialog.info.text(), timeout=10000)
    avail = (dialog.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    assert dialog.width() <= avail.width() and dialog.height() <= avail.height()
    assert dialog.minimumSizeHint().width() <= avail.width()
    assert "…" in dialog.windowTitle() and len(dialog.windowTitle()) < 80
    caption = dialog.findChild(type(dialog._caption), "caption")
    assert "…" in caption.text() and caption.full_text().startswith(name)


def test_space_and_escape_close_the_viewer(qtbot, tmp_path):
    dialog = _open(qtbot, [_photo(tmp_path / "a.jpg", 300, 200)])
    _press(qtbot, dialog, Qt.Key.Key_Space)
    assert not dialog.isVisible()
    dialog = _open(qtbot, [_photo(tmp_path / "b.jpg", 300, 200)])
    _press(qtbot, dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


# -- in the window ---------------------------------------------------------------------------


@pytest.fixture
def indexed(qtbot, make_window, shapes, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window = make_window(folders=[shapes])
    with qtbot.waitSignal(window.concepts_ready, timeout=120000):
        wait_ready(qtbot, window)
        wait_indexed(qtbot, window, N_SHAPES)
    qtbot.waitUntil(lambda: window.idle, timeout=60000)
    return window


def _open_in_window(qtbot, window, row: int) -> PreviewDialog:
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid_model.index(row))
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.preview is not None and window.preview.isVisible(), timeout=10000)
    viewer = window.preview
    viewer.activateWindow()
    qtbot.waitUntil(viewer.isActiveWindow)  # Ctrl+Z is a shortcut of the active window
    qtbot.waitUntil(lambda: viewer.shown_index() == row, timeout=10000)
    return viewer


def test_space_opens_the_viewer_on_the_current_photo_and_space_closes_it(qtbot, indexed):
    window = indexed
    viewer = _open_in_window(qtbot, window, 2)
    assert viewer.current_path() == window.grid_model.paths()[2]
    _press(qtbot, viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.preview is None or not window.preview.isVisible())


def test_the_info_panel_shows_the_text_found_and_the_concepts_from_the_catalog(qtbot, indexed):
    window = indexed
    lib = window.library
    row, tags = next((r, t) for r in range(N_SHAPES - 1) if (t := lib.concept_tags(window.grid_model.record(r).id)))
    record = window.grid_model.record(row)
    lib.catalog.put_ocr([(record.fingerprint, "HARBOUR ROAD\n12")], "test", 1)
    viewer = _open_in_window(qtbot, window, row)
    viewer.info_button.click()
    qtbot.waitUntil(lambda: "HARBOUR ROAD · 12" in viewer.info.text(), timeout=10000)
    qtbot.waitUntil(lambda: "#" + tags[0][0].replace(" ", "_") in viewer.info.fields["Concepts"].text(), timeout=10000)
    for active in (window, viewer):  # to the main window and back: the keys still step photos
        active.activateWindow()
        qtbot.waitUntil(active.isActiveWindow)
    _press(qtbot, viewer, Qt.Key.Key_Right)  # it follows the photo shown
    found = viewer.info.fields["Text in photo"]
    qtbot.waitUntil(lambda: found.text() not in ("…", "HARBOUR ROAD · 12"), timeout=10000)
    assert found.text().startswith("off")  # not read, and text reading is off in Settings
    assert viewer.info.fields["Name"].text() == Path(window.grid_model.paths()[row + 1]).name

    shown = viewer.current_path()
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        viewer.action_buttons["similar"].click()
    qtbot.waitUntil(lambda: window.preview is None)  # closed: the similar photos are in the grid
    kind = Path(shown).name.rsplit("_", 1)[0]  # its twin (same colour and shape) comes first
    assert Path(window.grid_model.paths()[0]).name.rsplit("_", 1)[0] == kind, window.grid_model.paths()[:3]


def test_move_to_trash_from_the_viewer_shows_the_next_photo_and_ctrl_z_brings_it_back(qtbot, indexed):
    window = indexed
    viewer = _open_in_window(qtbot, window, 3)
    paths = window.grid_model.paths()
    victim, following = paths[3], paths[4]
    viewer.action_buttons["trash"].click()
    qtbot.waitUntil(lambda: victim not in window.grid_model.paths() and window.undo.action.isEnabled(), timeout=20000)
    assert not Path(victim).exists()
    assert viewer.isVisible() and viewer.current_path() == following
    qtbot.waitUntil(lambda: viewer.shown_index() == viewer.current_index(), timeout=10000)
    assert window.grid_model.paths()[window.grid.currentIndex().row()] == following  # the grid too

    _press(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # in the viewer
    qtbot.waitUntil(lambda: victim in window.grid_model.paths(), timeout=20000)
    assert Path(victim).exists() and window.grid_model.rowCount() == N_SHAPES
    qtbot.waitUntil(lambda: viewer.current_path() == victim)  # the photo put back is shown again
    assert window.grid_model.paths()[window.grid.currentIndex().row()] == victim


def test_a_large_photo_shows_its_thumbnail_at_once_then_a_sharp_read_then_full_size(qtbot, make_window, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    _photo(folder / "wide.jpg", 3000, 2000)
    window = make_window(folders=[folder])
    wait_indexed(qtbot, window, 1)
    window.grid.setCurrentIndex(window.grid_model.index(0))
    window.open_preview(0)
    viewer = window.preview
    seen: list[tuple[str, int]] = []
    viewer.image_changed.connect(lambda: seen.append((viewer.quality(), viewer.image().width())))
    qtbot.waitUntil(lambda: viewer.quality() == "screen", timeout=20000)
    thumb = window.library.settings.thumb_size
    assert seen[0][0] == "thumbnail" and seen[0][1] <= 4 * thumb  # shown before the photo was read
    bound = viewer._bound.width()
    assert seen[-1] == ("screen", min(3000, bound)) and seen[-1][1] > seen[0][1]
    assert viewer.view().is_fitted()
    _press(qtbot, viewer, Qt.Key.Key_1)  # 100 %: more pixels than the screen read holds
    if bound < 3000:
        qtbot.waitUntil(lambda: viewer.quality() == "full", timeout=20000)
    assert viewer.image().width() == 3000 and viewer.zoom_text() == "100 %"
    red = viewer.image().pixelColor(10, 10)
    assert red.red() > 200 and red.green() < 60  # upright, the right picture
