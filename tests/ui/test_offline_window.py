"""Offline photos in the window: dimmed and marked in the grid, said so in Properties, the
sidebar and when opened; a moved library is offered a relink that keeps every photo's id."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel

from app.core.store.catalog import FileRecord, OfflineFolder
from app.ui.grid import OfflineRole, PhotoGrid, PhotoModel, ThumbnailDelegate, ThumbnailLoader
from helpers import wait_indexed, wait_ready
from tiny_clip import write_shapes


class _RedThumbnails:
    """A library whose every thumbnail is the same red picture (cached: the photos need not be there)."""

    settings = SimpleNamespace(thumb_size=256)  # (cells larger than this are read from the photo)

    def __init__(self, path):
        from PIL import Image

        self.path = path
        Image.new("RGB", (320, 320), (220, 30, 30)).save(path)

    def thumbnail(self, record, remake=False):
        return self.path


def test_offline_photos_are_dimmed_and_marked_but_keep_their_picture(qtbot, tmp_path):
    from PySide6.QtGui import QPalette

    records = {
        1: FileRecord(1, "/drive/1.jpg", "fp1", 1, 1.0, folder_id=7),
        2: FileRecord(2, "/home/2.jpg", "fp2", 1, 1.0, folder_id=8),
    }
    model = PhotoModel()
    loader = ThumbnailLoader(_RedThumbnails(tmp_path / "red.jpg"))
    grid = PhotoGrid(model, loader)
    qtbot.addWidget(grid)
    grid.resize(600, 400)
    grid.show()
    qtbot.waitExposed(grid)
    model.set_order([1, 2], records)
    model.set_offline({7: OfflineFolder(7, Path("/drive"), time.time(), "not found")})
    assert [model.index(row).data(OfflineRole) for row in (0, 1)] == [True, False]
    assert "Offline: /drive is not connected" in model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: all(loader.image(r) is not None for r in records.values()))
    shot = grid.viewport().grab().toImage()
    base = grid.palette().color(QPalette.ColorRole.Base)
    offline, online = (grid.visualRect(model.index(row)) for row in (0, 1))
    assert shot.pixelColor(online.center()).red() > 200
    dimmed = shot.pixelColor(offline.center())  # its red picture, blended toward the background
    assert abs(dimmed.green() - (30 + (base.green() - 30) * (1 - ThumbnailDelegate.OFFLINE))) < 12
    assert dimmed.red() > dimmed.green() + 40  # still the picture, not a placeholder
    side, h, m = grid.delegate.picture_side, ThumbnailDelegate.BADGE[1], ThumbnailDelegate.MARGIN
    where = QPoint(m + 4 + 2, m + side - 4 - h // 2)  # the left end of the mark, bottom left of the picture
    assert shot.pixelColor(offline.topLeft() + where).lightness() < 80  # dark: the "offline" mark
    assert shot.pixelColor(online.topLeft() + where).red() > 200  # no mark


def test_an_unplugged_folder_shows_offline_then_a_moved_one_is_relinked(
    qtbot, make_settings, random_model, tmp_path, monkeypatch
):
    from app.ui import desktop
    from app.ui.window import MainWindow

    folder = tmp_path / "Pictures"
    write_shapes(folder, per_kind=1, size=128)
    window = MainWindow(make_settings(random_model), folders=[str(folder)])
    qtbot.addWidget(window)
    window.show()
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, 12)
    ids = {Path(r.path).name: r.id for r in window.grid_model.records().values()}

    moved = tmp_path / "media" / "usb" / "Pictures"
    moved.parent.mkdir(parents=True)
    folder.rename(moved)  # the drive is unplugged: the folder is gone
    with qtbot.waitSignal(window.indexing_finished, timeout=30000):
        window.start_indexing()
    qtbot.waitUntil(lambda: bool(window.grid_model.offline), timeout=10000)
    model = window.grid_model
    assert model.rowCount() == 12 and all(model.index(row).data(OfflineRole) for row in range(12))
    item = next(
        window.sidebar.item(i)
        for i in range(window.sidebar.count())
        if window.sidebar.item(i).text().startswith("Pictures")
    )
    assert item.text() == "Pictures (offline)" and "not connected" in item.toolTip()

    window.grid.setCurrentIndex(model.index(0))
    name = Path(model.record(0).path).name
    window.show_properties()
    status = window.properties.findChild(QLabel, "offline").text()
    assert status.startswith(f"Offline — {folder.resolve()} is not connected (since ")
    window.properties.close()
    opened = []
    monkeypatch.setattr(desktop, "open_file", opened.append)
    window.grid.selectionModel().select(model.index(0), window.grid.selectionModel().SelectionFlag.ClearAndSelect)
    window.open_selected()
    assert (
        opened == []
        and window.statusBar().currentMessage() == f"{name} is on {folder.resolve()}, which is not connected"
    )

    window.add_folders([str(moved)])  # its photos are there: offered a relink
    qtbot.waitUntil(
        lambda: getattr(window, "relink_bar", None) is not None and window.relink_bar.isVisible(), timeout=30000
    )
    assert f"moved to {moved.resolve()}?" in window.relink_bar.label.text()
    assert window.last_report.embedded == 0
    qtbot.mouseClick(window.relink_bar.relink_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not model.offline and model.rowCount() == 12 and window.sidebar.count() == 2, timeout=30000)
    assert {Path(r.path).name: r.id for r in model.records().values()} == ids  # the same photos
    assert all(Path(r.path).parent == moved.resolve() for r in model.records().values())
    window.close()
