"""The main window, driven the way a person drives it: add a folder, type, drop, right-click."""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QPushButton

from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

N_SHAPES = 24  # write_shapes(per_kind=2): 4 colours x 3 shapes x 2


def _names(window, n=None) -> list[str]:
    paths = window.grid_model.paths()
    return [Path(p).name for p in (paths if n is None else paths[:n])]


def _drop(widget, mime: QMimeData) -> None:
    """What a drag from the file manager or a browser delivers to `widget`."""
    pos = QPointF(widget.rect().center())
    enter = QDragEnterEvent(
        pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def _action(menu, text):
    found = [a for a in menu.actions() if a.text().startswith(text)]
    assert found, [a.text() for a in menu.actions()]
    return found[0]


@pytest.fixture
def indexed(qtbot, make_window, shapes):
    """A window whose library holds the shapes folder, indexed, model loaded."""
    window = make_window(folders=[shapes])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, N_SHAPES)
    return window


def test_a_new_user_adds_a_folder_and_photos_appear_while_the_window_stays_live(
    qtbot, make_window, shapes, heartbeat, monkeypatch
):
    window = make_window()
    assert window.windowTitle() == "PhotoSeek"
    wait_ready(qtbot, window)
    assert window.stack.currentWidget() is window.empty  # the friendly empty state

    seen_threads = set()
    from app.core.library import Library

    real_update = Library.update

    def update(self, *args, **kwargs):
        seen_threads.add(threading.current_thread() is threading.main_thread())
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(Library, "update", update)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(shapes))
    window.add_folder_action.trigger()  # File > Add Folder...
    assert window.indexing
    before = heartbeat[0]
    wait_indexed(qtbot, window, N_SHAPES)
    assert heartbeat[0] > before + 2, "the event loop must keep turning while indexing"
    assert seen_threads == {False}, "indexing runs on a worker thread"
    assert window.stack.currentWidget() is window.grid
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == ["All Photos", "shapes"]
    assert window.status_label.text() == f"{N_SHAPES} photos"
    assert window.grid_model.paths() == [r.path for r in window.library.photos()]  # library order
    # thumbnails of the visible cells load off the GUI thread
    qtbot.waitUntil(lambda: len(window.loader._cache) >= 4)


def test_typing_a_description_reorders_the_grid_and_escape_restores_it(qtbot, indexed):
    window = indexed
    library_order = window.grid_model.paths()
    window.search_bar.focus_search()
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        qtbot.keyClicks(window.search_bar.edit, "a red circle")  # debounced: one search after typing
    top = _names(window, 6)
    assert all(name.startswith("red_circle") for name in top[:2]), top  # both red circles first
    assert all(name.startswith("red") or "_circle" in name for name in top), top  # then red or round
    assert window.status_label.text().startswith(f"{N_SHAPES} results ·") and "ms" in window.status_label.text()

    with qtbot.waitSignal(window.search_finished, timeout=10000):
        window.search_bar.edit.selectAll()
        qtbot.keyClicks(window.search_bar.edit, "a blue square")
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)  # Enter searches at once
    top = _names(window, 4)
    assert top[0].startswith("blue") and any(n.startswith("blue_square") for n in top), top

    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Escape)
    assert window.grid_model.paths() == library_order
    assert window.search_bar.edit.text() == ""
    assert window.status_label.text() == f"{N_SHAPES} photos"


def test_sidebar_filters_by_folder_and_removes_a_folder(qtbot, make_window, shapes, tmp_path, monkeypatch):
    from tiny_clip import write_shapes

    more = tmp_path / "more"
    write_shapes(more, per_kind=1, size=96, seed=5)
    window = make_window(folders=[shapes, more])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, N_SHAPES + 12)
    item = next(
        window.sidebar.item(i) for i in range(window.sidebar.count()) if window.sidebar.item(i).text() == "more"
    )
    window.sidebar.setCurrentItem(item)
    assert window.grid_model.rowCount() == 12
    assert all("/more/" in p for p in window.grid_model.paths())

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.remove_folder_button.click()
    qtbot.waitUntil(lambda: window.sidebar.count() == 2 and window.grid_model.rowCount() == N_SHAPES)
    assert more.exists() and len(list(more.iterdir())) == 12  # the files stay on disk


def test_dropping_a_photo_on_the_search_bar_searches_by_it_and_words_refine(qtbot, indexed, shapes):
    window = indexed
    query = shapes / "green_triangle_1.jpg"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(query))])
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        _drop(window.search_bar, mime)
    assert window.search_bar.chip.isVisible()
    assert window.search_bar.image_query.source == str(query)
    assert _names(window, 1) == ["green_triangle_1.jpg"]  # the photo itself matches best
    first = _names(window)

    with qtbot.waitSignal(window.search_finished, timeout=10000):
        qtbot.keyClicks(window.search_bar.edit, "red")  # picture + words
    assert window.search_bar.chip.isVisible()
    assert _names(window) != first

    window.search_bar.chip.close_button.click()  # remove the picture, the words stay
    qtbot.waitUntil(lambda: window.search_bar.image_query is None)
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Escape)
    assert window.grid_model.paths() == [r.path for r in window.library.photos()]


def test_a_dropped_heifs_chip_shows_its_primary_image(qtbot, make_window, random_model, tmp_path):
    pytest.importorskip("pillow_heif")
    import numpy as np

    from pictures import decoy_first_heif

    window = make_window(model=random_model)
    wait_ready(qtbot, window)
    path = tmp_path / "burst.heic"
    primary = decoy_first_heif(path, (480, 640))  # its first image is another picture, landscape
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    _drop(window.search_bar, mime)
    qtbot.waitUntil(lambda: window.search_bar.image_query.thumb is not None, timeout=10000)
    thumb = window.search_bar.image_query.thumb
    assert thumb.width() < thumb.height()  # portrait, as the primary image
    want = primary.resize((thumb.width(), thumb.height()))
    for x, y in ((0.25, 0.25), (0.5, 0.5), (0.75, 0.75)):
        got = thumb.pixelColor(int(x * thumb.width()), int(y * thumb.height()))
        expected = want.getpixel((int(x * want.width), int(y * want.height)))
        assert np.abs(np.subtract((got.red(), got.green(), got.blue()), expected)).max() < 40


def test_pasting_picture_data_searches_by_it(qtbot, indexed, shapes):
    window = indexed
    image = QImage(str(shapes / "yellow_circle_0.jpg"))
    QGuiApplication.clipboard().setImage(image)
    window.search_bar.focus_search()
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.search_bar.chip.isVisible()
    assert isinstance(window.search_bar.image_query.source, QImage)
    assert _names(window, 1)[0].startswith("yellow"), _names(window, 6)


def test_dropping_image_data_from_a_browser_on_the_grid_searches_by_it(qtbot, indexed, shapes):
    window = indexed
    mime = QMimeData()
    mime.setImageData(QImage(str(shapes / "blue_circle_1.jpg")))
    mime.setUrls([QUrl("https://example.com/pictures/ball.jpg")])
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        _drop(window.grid.viewport(), mime)
    assert window.search_bar.chip.label.text() == "ball.jpg"
    assert _names(window, 1)[0].startswith("blue"), _names(window, 6)


def test_find_similar_from_the_context_menu(qtbot, indexed):
    window = indexed
    library_order = window.grid_model.paths()
    window.grid.setCurrentIndex(window.grid_model.index(3))
    chosen = library_order[3]
    menu = window.photo_menu()
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        _action(menu, "Find Similar").trigger()
    assert window.search_bar.chip.isVisible()
    assert window.search_bar.image_query.photo_id == window.library.catalog.file_by_path(chosen).id
    assert chosen not in window.grid_model.paths()  # the query photo itself is left out
    assert window.grid_model.rowCount() == N_SHAPES - 1
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    assert window.grid_model.paths() == library_order
    assert not window.search_bar.chip.isVisible()


def test_copy_path_and_drag_out_as_file_urls(qtbot, indexed):
    window = indexed
    window.grid.selectAll()
    mime = window.grid_model.mimeData(window.grid.selectionModel().selectedIndexes())
    assert sorted(u.toLocalFile() for u in mime.urls()) == sorted(window.grid_model.paths())
    window.grid.clearSelection()
    window.grid.setCurrentIndex(window.grid_model.index(0))
    _action(window.photo_menu(), "Copy Path").trigger()
    assert QGuiApplication.clipboard().text() == window.grid_model.paths()[0]


def test_move_to_trash_asks_then_removes_the_photo(qtbot, indexed, tmp_path, monkeypatch):
    window = indexed
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes)
    window.grid.setCurrentIndex(window.grid_model.index(1))
    victim = window.grid_model.paths()[1]
    _action(window.photo_menu(), "Move to Trash").trigger()
    assert asked
    assert victim not in window.grid_model.paths()  # leaves the grid at once
    qtbot.waitUntil(lambda: not Path(victim).exists() and not window.indexing)
    assert (tmp_path / "xdg-data" / "Trash" / "files" / Path(victim).name).exists()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_SHAPES - 1)
    # the catalog follows on the worker, just after the file moved
    qtbot.waitUntil(lambda: window.library.catalog.file_by_path(victim) is None)


def test_preview_opens_on_space_and_steps_with_the_grid(qtbot, indexed):
    window = indexed
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid_model.index(2))
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    preview = window.preview
    assert preview is not None and preview.isVisible()
    assert preview.current_path() == window.grid_model.paths()[2]
    qtbot.keyClick(preview, Qt.Key.Key_Right)
    assert preview.current_index() == 3
    assert window.grid.currentIndex().row() == 3  # the grid follows
    qtbot.keyClick(preview, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.preview is None or not window.preview.isVisible())


def test_skipped_files_show_their_reasons(qtbot, indexed):
    window = indexed
    qtbot.waitUntil(lambda: window.skipped_label.isVisible())
    assert "1 skipped" in window.skipped_label.text()
    qtbot.mouseClick(window.skipped_label, Qt.MouseButton.LeftButton)
    dialog = window.skipped_dialog
    assert dialog.isVisible()
    [(path, reason)] = dialog.rows()
    assert path.endswith("broken.jpg") and reason
    dialog.close()


def test_a_slow_old_query_never_overwrites_a_newer_one(qtbot, indexed, monkeypatch):
    window = indexed
    library = window.library
    real_search = library.search
    started = threading.Event()

    def search(text, n=None, **options):
        if text == "slow":
            started.set()
            time.sleep(0.8)
        return real_search(text, n, **options)

    monkeypatch.setattr(library, "search", search)
    window.run_search("slow")
    assert started.wait(5)
    window.run_search("a red circle")
    with qtbot.waitSignal(window.search_finished, timeout=10000) as newest:
        pass
    expected = [h.path for h in real_search("a red circle")]
    assert window.grid_model.paths() == expected
    qtbot.wait(1200)  # the slow one has come back by now, and was dropped
    assert window.grid_model.paths() == expected
    assert newest.args == [window.screen_model.query_seq]


def test_thumbnail_size_from_the_slider_and_ctrl_wheel(qtbot, indexed):
    window = indexed
    window.size_slider.setValue(120)
    assert window.grid.target_cell == 120
    small = window.grid.delegate.cell
    window.zoom(+1)
    assert window.grid.delegate.cell > small
    assert window.size_slider.value() == window.cell_size


def test_settings_survive_a_restart_and_flags_win(
    qtbot, make_window, make_settings, trained_model, monkeypatch, tmp_path
):
    from app.ui import prefs
    from app.ui.main import create_window

    window = make_window()
    wait_ready(qtbot, window)
    values = window.settings_values()
    values.update(thumb_size=256, decode_threads=3)
    window.apply_settings(values)
    window.set_cell_size(240)
    window.close()

    args = argparse.Namespace(data_dir=tmp_path / "data", model=None, pretrained=None, folders=[])
    settings = prefs.build_settings(args)
    assert (settings.thumb_size, settings.decode_threads) == (256, 3)
    assert settings.model == str(trained_model[0])  # saved by apply_settings
    monkeypatch.setenv("PHOTOSEEK_THREADS", "5")
    assert prefs.build_settings(args).decode_threads == 5  # environment beats saved preferences
    args.pretrained = "none"
    assert prefs.build_settings(args).pretrained == "none"  # flags beat everything

    args.pretrained = None
    again = create_window(args)
    qtbot.addWidget(again)
    try:
        assert again.cell_size == 240
        assert again.settings.thumb_size == 256
    finally:
        again.close()


def test_without_a_model_browsing_works_and_a_local_checkpoint_fixes_search(
    qtbot, make_window, make_settings, trained_model, shapes, monkeypatch
):
    from app.ui import prefs

    settings = make_settings(trained_model, pretrained="no-such-weights-tag")
    window = make_window(settings=settings, folders=[shapes])
    qtbot.waitUntil(lambda: window.model_state == "failed", timeout=20000)
    assert window.banner.isVisible()
    assert "no-such-weights-tag" in window.banner.message.text()
    wait_indexed(qtbot, window, N_SHAPES)  # browsing works without a model

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(trained_model[1]), ""))
    window.banner.choose_button.click()  # the model dialog: the model is kept, the weights picked
    window.model_dialog.findChild(QPushButton, "weightsBrowse").click()
    window.model_dialog.use_button.click()
    wait_ready(qtbot, window)
    assert not window.banner.isVisible()
    assert prefs.persisted_engine_values()["pretrained"] == str(trained_model[1])
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        window.run_search("a red circle")
    assert _names(window, 1)[0].startswith("red_circle")  # now embedded and searchable


def test_changing_the_model_reindexes_in_the_background_then_swaps(qtbot, indexed, random_model):
    window = indexed
    old = window.library
    values = window.settings_values()
    values.update(model=str(random_model[0]), pretrained=str(random_model[1]))
    with qtbot.waitSignal(window.library_swapped, timeout=60000):
        window.apply_settings(values)
        assert window.library is old  # search keeps using the old model meanwhile
    assert window.library is not old
    assert window.library.model_loaded
    assert window.library.catalog.embedding_count(window.library.model_id) == N_SHAPES
    with qtbot.waitSignal(window.search_finished, timeout=10000):
        window.run_search("anything")
    assert window.grid_model.rowCount() == N_SHAPES


def test_dropping_a_folder_on_the_window_adds_it(qtbot, make_window, shapes):
    window = make_window()
    wait_ready(qtbot, window)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(shapes))])
    _drop(window.empty, mime)
    wait_indexed(qtbot, window, N_SHAPES)


def test_the_model_handles_100k_photos_without_touching_their_images(qtbot):
    from app.core.store.catalog import FileRecord
    from app.ui.grid import PhotoGrid, PhotoModel, ThumbnailLoader

    records = {i: FileRecord(i, f"/photos/{i}.jpg", f"{i:040x}", 1, 0.0) for i in range(1, 100_001)}
    model = PhotoModel()
    loader = ThumbnailLoader(None)
    requested = []
    loader.request = lambda record: requested.append(record.id)
    grid = PhotoGrid(model, loader)
    qtbot.addWidget(grid)
    grid.resize(900, 700)
    grid.show()
    started = time.perf_counter()
    model.set_order(list(records), records)
    grid.selectionModel().select(model.index(50_000), grid.selectionModel().SelectionFlag.Select)
    model.set_order(list(reversed(records)))  # a search: a pure re-order keeps the selection
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    assert model.ids()[0] == 100_000
    assert [i.row() for i in grid.selectionModel().selectedIndexes()] == [100_000 - 50_001]
    qtbot.waitExposed(grid)
    grid.viewport().update()
    qtbot.waitUntil(lambda: len(requested) > 0)
    assert len(set(requested)) < 200  # only what is on screen asks for a thumbnail
    assert set(requested) <= set(model.ids()[:200])
    before = len(set(requested))
    grid.verticalScrollBar().setValue(grid.verticalScrollBar().maximum() // 2)
    qtbot.waitUntil(lambda: len(set(requested)) > before)
    assert len(set(requested)) < 400


def test_renames_deletions_and_new_times_on_disk_reach_the_grid_after_a_recheck(qtbot, indexed, shapes):
    window = indexed
    names = sorted(p.name for p in shapes.glob("*.jpg") if p.stat().st_size)
    gone, renamed, touched = names[0], names[1], names[2]
    (shapes / gone).unlink()
    (shapes / renamed).rename(shapes / f"renamed_{renamed}")
    future = time.time() + 86400
    os.utime(shapes / touched, (future, future))  # now the newest: first in the grid
    with qtbot.waitSignal(window.indexing_finished, timeout=30000):
        window.start_indexing()
    qtbot.waitUntil(
        lambda: _names(window, 1) == [touched] and window.grid_model.rowCount() == N_SHAPES - 1, timeout=10000
    )
    shown = _names(window)
    assert gone not in shown and renamed not in shown and f"renamed_{renamed}" in shown


def test_a_photo_whose_name_is_not_utf8_is_shown_opened_and_dragged_out(qtbot, make_settings, random_model, tmp_path):
    from PySide6.QtWidgets import QLineEdit

    from app.ui.window import MainWindow
    from tiny_clip import write_shapes

    folder = tmp_path / "odd"
    write_shapes(folder, per_kind=1, size=128)
    odd = os.path.join(os.fsencode(folder), b"Urlaub_M\xfcnchen.jpg")  # Latin-1, as on an old drive
    os.rename(os.fsencode(folder / "red_circle_0.jpg"), odd)
    window = MainWindow(make_settings(random_model), folders=[str(folder)])  # no trained model needed
    qtbot.addWidget(window)
    window.show()
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, 12)
    row = [os.fsencode(p) for p in window.grid_model.paths()].index(odd)
    index = window.grid_model.index(row)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "Urlaub_M\ufffdnchen.jpg"
    assert index.data(Qt.ItemDataRole.ToolTipRole).startswith("Urlaub_M\ufffdnchen.jpg\n")
    [url] = window.grid_model.mimeData([index]).urls()
    assert bytes(url.toEncoded()).endswith(b"/Urlaub_M%FCnchen.jpg")  # the file's own bytes, not a lookalike
    window.grid.setCurrentIndex(index)
    window.show_properties()
    dialog = window.properties
    assert dialog.findChild(QLineEdit, "path").text() == os.fsdecode(odd).encode("utf-8", "surrogateescape").decode(
        "utf-8", "replace"
    )
    assert dialog.error is None and "Urlaub_M\ufffdnchen.jpg" in dialog.windowTitle()  # read by its real path
    dialog.close()
    window.close()
