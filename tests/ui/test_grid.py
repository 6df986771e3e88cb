"""The grid view on its own: a big library, the keyboard, the mouse and re-orders."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QPoint, Qt

from app.core.store.catalog import FileRecord
from app.ui.grid import Order, PhotoGrid, PhotoModel, ThumbnailDelegate, ThumbnailLoader

N = 100_000


def _grid(qtbot, n=N):
    records = {i: FileRecord(i, f"/photos/{i}.jpg", f"fp{i}", 1, 1.0) for i in range(1, n + 1)}
    model = PhotoModel()
    grid = PhotoGrid(model, ThumbnailLoader(None))
    qtbot.addWidget(grid)
    grid.resize(1000, 700)
    grid.show()
    qtbot.waitExposed(grid)
    model.set_order(list(records), records)
    return grid, model


def test_cells_tile_the_view_and_points_map_back_to_photos(qtbot):
    grid, model = _grid(qtbot)
    assert grid.columns >= 5 and grid.verticalScrollBar().maximum() > 0
    for row in (0, 1, grid.columns, grid.columns + 3):
        rect = grid.visualRect(model.index(row))
        assert grid.indexAt(rect.center()).row() == row
    grid.scrollTo(model.index(N - 1))  # the last photo of 100k is reachable
    assert grid.viewport().rect().contains(grid.visualRect(model.index(N - 1)).center())
    assert not grid.indexAt(QPoint(grid.columns * grid.cell + 2, 5)).isValid()  # right of the last column


def test_keyboard_moves_through_the_grid(qtbot):
    grid, model = _grid(qtbot, 50)
    grid.setFocus()
    grid.setCurrentIndex(model.index(0))
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.currentIndex().row() == 1
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    assert grid.currentIndex().row() == 1 + grid.columns
    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert grid.currentIndex().row() == 49
    qtbot.keyClick(grid, Qt.Key.Key_Home, Qt.KeyboardModifier.ShiftModifier)
    assert grid.currentIndex().row() == 0 and len(grid.selected_rows()) == 50


def test_dragging_across_cells_selects_a_rectangle_and_shift_click_a_run(qtbot):
    grid, model = _grid(qtbot, 60)
    cols, cell = grid.columns, grid.cell
    # a rubber band from the gap left of the first cell to the middle of row 2, column 2
    start, end = QPoint(2, 2), grid.visualRect(model.index(cols + 1)).center()
    qtbot.mousePress(grid.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(cols * cell + 5, 2))  # empty space
    grid.clearSelection()
    grid.setState(grid.State.DragSelectingState)
    grid.setSelection(
        grid.visualRect(model.index(0)).united(grid.visualRect(model.index(cols + 1))),
        grid.selectionModel().SelectionFlag.ClearAndSelect,
    )
    grid.setState(grid.State.NoState)
    assert grid.selected_rows() == [0, 1, cols, cols + 1]
    # click the second photo, Shift+click one two rows down: everything in between, in order
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualRect(model.index(1)).center())
    target = grid.visualRect(model.index(2 * cols)).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=target)
    assert grid.selected_rows() == list(range(1, 2 * cols + 1))
    assert start != end


def test_a_reorder_of_100k_photos_keeps_the_selection_on_the_same_photos(qtbot):
    grid, model = _grid(qtbot)
    grid.setCurrentIndex(model.index(5))
    chosen = model.ids()[5]
    order = np.random.default_rng(0).permutation(np.arange(1, N + 1))
    model.set_order(order)
    assert model.ids() == order.tolist()
    assert grid.currentIndex().row() == int(np.flatnonzero(order == chosen)[0])
    assert grid.selected_rows() == [grid.currentIndex().row()]
    model.set_order([3, 2, 2, 999_999, 1])  # repeats and unknown ids are dropped
    assert model.ids() == [3, 2, 1]


def test_an_order_worked_out_ahead_is_shown_and_one_for_other_photos_is_checked(qtbot):
    records = {i: FileRecord(i, f"/photos/{i}.jpg", f"fp{i}", 1, 1.0) for i in range(1, 6)}
    known = np.zeros(6, dtype=bool)
    known[1:] = True
    model = PhotoModel()
    model.set_order(list(records), records, known)
    model.set_order(Order([5, 3, 3, 42, 1, 2, 4], known))  # as a search job makes it, off the GUI thread
    assert model.ids() == [5, 3, 1, 2, 4] and model.row_of(1) == 2
    stale = Order([4, 3, 2, 1, 5], known)  # made before photo 2 was removed
    fewer = {i: r for i, r in records.items() if i != 2}
    model.set_order(model.ids(), fewer)
    model.set_order(stale)
    assert model.ids() == [4, 3, 1, 5] and model.row_of(2) is None


class _RedThumbnails:
    """A library whose every thumbnail is the same red picture."""

    settings = SimpleNamespace(thumb_size=256)  # (cells larger than this are read from the photo)

    def __init__(self, path):
        from PIL import Image

        self.path = path
        Image.new("RGB", (320, 320), (220, 30, 30)).save(path)

    def thumbnail(self, record):
        return self.path


def _shown_with(qtbot, library, records=None):
    """A grid showing `records` (default: photos 1 and 2), their thumbnails from `library`."""
    records = records or {i: FileRecord(i, f"/photos/{i}.jpg", f"fp{i}", 1, 1.0) for i in (1, 2)}
    model = PhotoModel()
    loader = ThumbnailLoader(library)
    grid = PhotoGrid(model, loader)
    qtbot.addWidget(grid)
    grid.resize(600, 400)
    grid.show()
    qtbot.waitExposed(grid)
    model.set_order(list(records), records)
    return grid, model, loader, records


def test_weaker_matches_are_faded_and_cells_have_rounded_corners(qtbot, tmp_path):
    from PySide6.QtGui import QPalette

    grid, model, loader, records = _shown_with(qtbot, _RedThumbnails(tmp_path / "red.jpg"))
    model.set_good_count(1)  # photo 1 matches well, photo 2 is a weaker match
    qtbot.waitUntil(lambda: all(loader.image(r) is not None for r in records.values()))
    shot = grid.viewport().grab().toImage()
    base = grid.palette().color(QPalette.ColorRole.Base)
    good, weak = (grid.visualRect(model.index(row)) for row in (0, 1))
    red = shot.pixelColor(good.center())
    assert red.red() > 200 and red.green() < 50
    faded = shot.pixelColor(weak.center())  # red blended toward the background
    assert abs(faded.green() - (30 + (base.green() - 30) * 110 / 255)) < 12
    corner = shot.pixelColor(good.topLeft() + QPoint(ThumbnailDelegate.MARGIN, ThumbnailDelegate.MARGIN))
    assert corner == base  # the picture's square corner is rounded off
    inside = shot.pixelColor(good.topLeft() + QPoint(ThumbnailDelegate.MARGIN + 8, ThumbnailDelegate.MARGIN + 8))
    assert inside.red() > 200


class _MixedThumbnails:
    """Photo 1: a small blue picture (smaller than a cell); photo 2: a thumbnail that cannot be read."""

    settings = SimpleNamespace(thumb_size=256)  # (cells larger than this are read from the photo)

    def __init__(self, folder):
        from PIL import Image

        self.small, self.broken = folder / "small.jpg", folder / "broken.jpg"
        Image.new("RGB", (40, 30), (20, 40, 230)).save(self.small)
        self.broken.write_bytes(b"not a jpeg")

    def thumbnail(self, record, remake=False):
        return self.small if record.id == 1 else self.broken  # the photo itself is unreadable too


def test_cells_show_small_pictures_whole_and_mark_unreadable_ones(qtbot, tmp_path):
    from PySide6.QtGui import QPalette

    grid, model, loader, records = _shown_with(qtbot, _MixedThumbnails(tmp_path))
    qtbot.waitUntil(lambda: loader.image(records[1]) is not None and loader.failed(records[2]))
    grid.selectionModel().select(model.index(0), grid.selectionModel().SelectionFlag.Select)
    shot = grid.viewport().grab().toImage()
    small, broken = (grid.visualRect(model.index(row)) for row in (0, 1))
    inset = ThumbnailDelegate.MARGIN + 12
    for point in (small.center(), small.topLeft() + QPoint(inset, inset), small.bottomRight() - QPoint(inset, inset)):
        color = shot.pixelColor(point)  # the 40x30 picture covers its whole cell, under the selection tint
        assert color.blue() > 150 and color.red() < 120, (point, color.name())
    edge = shot.pixelColor(small.left() + ThumbnailDelegate.MARGIN + 1, small.center().y())
    highlight = grid.palette().color(QPalette.ColorRole.Highlight)
    assert (
        abs(edge.red() - highlight.red()) + abs(edge.green() - highlight.green()) + abs(edge.blue() - highlight.blue())
        < 60
    )
    # the unreadable one: a plain placeholder square with a "?" in its middle
    base = grid.palette().color(QPalette.ColorRole.Base)
    fill = shot.pixelColor(broken.topLeft() + QPoint(inset, inset))
    assert fill != base and abs(fill.lightness() - base.lightness()) < 40
    middle = [shot.pixelColor(broken.center() + QPoint(dx, dy)) for dx in range(-6, 7) for dy in range(-8, 9)]
    assert any(abs(c.lightness() - fill.lightness()) > 60 for c in middle)  # the "?" is drawn


def test_a_damaged_cached_thumbnail_is_made_again_from_the_photo(qtbot, library, tmp_path):
    from PIL import Image

    from tiny_clip import write_shapes

    write_shapes(tmp_path / "lib", per_kind=1)
    library.update([tmp_path / "lib"])
    record = next(r for r in library.photos() if Path(r.path).name == "blue_circle_0.jpg")
    cached = library.thumbnail(record)
    cached.write_bytes(b"\0garbage left by a kill mid-write")
    _, _, loader, _ = _shown_with(qtbot, library, {record.id: record})
    qtbot.waitUntil(lambda: loader.image(record) is not None or loader.failed(record))
    assert not loader.failed(record)
    with Image.open(cached) as thumb, Image.open(record.path) as photo:  # the photo's picture again
        a, b = (np.asarray(im.convert("RGB").resize((32, 32)), dtype=np.float32) for im in (thumb, photo))
    assert np.abs(a - b).mean() < 8


def test_new_photos_go_in_where_they_belong_and_the_others_keep_selection_and_place(qtbot):
    records = {i: FileRecord(i, f"/photos/{i}.jpg", f"fp{i}", 1, 1.0) for i in range(1, 1001)}
    model = PhotoModel()
    grid = PhotoGrid(model, ThumbnailLoader(None))
    qtbot.addWidget(grid)
    grid.resize(800, 600)
    grid.show()
    shown = list(range(800, 0, -1))  # newest first
    model.set_order(shown, {i: records[i] for i in shown})
    grid.setCurrentIndex(model.index(model.row_of(500)))
    grid.selectionModel().select(model.index(model.row_of(300)), grid.selectionModel().SelectionFlag.Select)
    inserted, relaid = [], []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.layoutChanged.connect(lambda *args: relaid.append(True))

    # two new photos at the top (the newest) and three among the others (older dates)
    order = [1000, 999] + shown[:100] + [950, 951, 952] + shown[100:]
    known = np.zeros(1001, dtype=bool)
    known[order] = True
    model.set_order(Order(order, known), {i: records[i] for i in order}, known)

    assert model.ids() == order and model.row_of(952) == 104 and model.row_of(1) == len(order) - 1
    assert inserted == [(0, 1), (102, 104)] and not relaid  # put in place, nothing re-laid out
    assert model.ids()[grid.currentIndex().row()] == 500
    assert sorted(model.ids()[row] for row in grid.selected_rows()) == [300, 500]
