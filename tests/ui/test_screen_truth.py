"""The window shows only what is true: a stateful, property-based test (hypothesis) drives the real
window through random sequences of what a person does (add and remove folders, move photos to
the trash, undo either, rename and delete files on disk and re-index, search, clear, good matches
only), and
after every step checks the screen against the catalog and the files:

- the grid's rows are exactly the catalog's photos, in the order the screen model defines;
- no photo that left the catalog or the disk is anywhere on screen;
- every painted cell shows its own photo's picture (each photo is one flat colour: the pixels
  painted in its cell are compared with the colour in its file, not with ids);
- the status bar counts what the grid shows.

Two bugs this found in the window before it had one model of the screen: photos added after a
folder was removed got the removed photos' ids and were painted with their pictures, and a photo
moved to the trash came back when a folder was added.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

from app.core.screen import Order

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

# Flat colours far apart, one a photo: a cell painted with another photo's picture cannot pass.
PALETTE = [
    (220, 30, 30),
    (30, 190, 40),
    (30, 50, 220),
    (230, 220, 40),
    (210, 40, 210),
    (40, 210, 210),
    (120, 60, 20),
    (250, 150, 40),
    (128, 128, 128),
    (25, 25, 25),
    (140, 90, 230),
    (70, 130, 70),
]
FOLDERS = {"trip": 4, "home": 4, "work": 4}  # photos in each source folder (12 colours in all)
QUERIES = ["a red circle", "green", "something blue", "a photo of a square"]


def _write_sources(root: Path) -> dict[str, list[Path]]:
    """The folders a person can add: each photo a flat colour of its own."""
    colours = iter(PALETTE)
    made = {}
    for name, count in FOLDERS.items():
        folder = root / name
        folder.mkdir(parents=True)
        made[name] = []
        for k in range(count):
            path = folder / f"{name}_{k}.png"
            Image.new("RGB", (96, 72), next(colours)).save(path)
            made[name].append(path)
    return made


def _file_colour(path: str) -> tuple[int, int, int]:
    with Image.open(path) as image:
        return image.convert("RGB").getpixel((image.width // 2, image.height // 2))


class ScreenTruth(RuleBasedStateMachine):
    qtbot = None  # set by the test
    make_settings = None
    model = None

    def __init__(self):
        super().__init__()
        from app.ui.window import MainWindow

        self.root = Path(tempfile.mkdtemp(prefix="screen-truth-"))
        self.sources = _write_sources(self.root / "photos")
        settings = type(self).make_settings(type(self).model).with_(data_dir=self.root / "data")
        self.window = MainWindow(settings)
        self.window.resize(1000, 800)
        self.window.set_cell_size(120)
        self.qtbot.addWidget(self.window)
        self.window.show()
        self.qtbot.waitUntil(lambda: self.window.model_state == "ready" and self._idle(), timeout=60000)
        self.added: list[str] = []  # the source folders in the library
        self.query: str | None = None

    def teardown(self):
        self.window.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------------

    @property
    def library(self):
        return self.window.library

    def _idle(self) -> bool:
        return self.window.idle

    def _settle(self) -> None:
        self.qtbot.waitUntil(self._idle, timeout=60000)

    def _expected_ids(self) -> list[int]:
        """What the screen must show, worked out from the catalog (not from the window)."""
        library, window = self.library, self.window
        live = library.photos()
        known = np.zeros(max((r.id for r in live), default=-1) + 1, dtype=bool)
        known[[r.id for r in live]] = True
        good = None
        if self.query is None:
            ids = [r.id for r in live]
        else:
            result = library.search(self.query, paths=False)
            ids = list(Order(result.ids, known).ids)
            if result.good_count is not None:
                good = len(Order(result.ids[: result.good_count], known).ids)
        chosen = window.sidebar.currentItem()
        folder = chosen.data(Qt.ItemDataRole.UserRole) if chosen is not None else None
        if folder is not None and folder >= 0:  # (-1: All Photos)
            in_folder = {r.id for r in live if r.folder_id == folder}
            keep = [i in in_folder for i in ids]
            good = None if good is None else sum(keep[:good])
            ids = [i for i, k in zip(ids, keep) if k]
        if self.query is not None and window.good_only_action.isChecked() and good:  # (none: all shown)
            ids = ids[:good]
        return ids

    # -- what a person does --------------------------------------------------------------------

    @rule(name=st.sampled_from(sorted(FOLDERS)))
    def add_folder(self, name):
        if name in self.added:
            return
        self.window.add_folders([str(self.root / "photos" / name)])
        self.added.append(name)
        self._settle()

    @precondition(lambda self: self.added)
    @rule(data=st.data())
    def remove_folder(self, data):
        name = data.draw(st.sampled_from(self.added))
        path = (self.root / "photos" / name).resolve()
        folder_id = next(fid for fid, p in self.library.folders().items() if p == path)
        self.window.remove_folder(folder_id, confirm=False)
        self.added.remove(name)
        self._settle()

    @precondition(lambda self: self.window.grid_model.rowCount() > 0)
    @rule(data=st.data())
    def trash_selected(self, data):
        window = self.window
        rows = data.draw(st.sets(st.integers(0, window.grid_model.rowCount() - 1), min_size=1, max_size=3))
        window.grid.clearSelection()
        for row in sorted(rows):
            window.grid.selectionModel().select(
                window.grid_model.index(row), window.grid.selectionModel().SelectionFlag.Select
            )
        window.grid.setCurrentIndex(window.grid_model.index(min(rows)))
        window.grid.selectionModel().select(
            window.grid_model.index(min(rows)), window.grid.selectionModel().SelectionFlag.Select
        )
        original = QMessageBox.question
        QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Yes
        try:
            window.trash_selected()
        finally:
            QMessageBox.question = original
        self._settle()

    @precondition(lambda self: self.added)
    @rule(data=st.data(), delete=st.booleans())
    def change_a_file_on_disk_and_reindex(self, data, delete):
        files = sorted(p for name in self.added for p in (self.root / "photos" / name).iterdir())
        if files:
            path = data.draw(st.sampled_from(files))
            if delete:
                path.unlink()
            else:
                path.rename(path.with_name("renamed_" + path.name))
        self.window.start_indexing()
        self._settle()

    @precondition(lambda self: self.window.undo.action.isEnabled())
    @rule()
    def undo(self):
        """Edit > Undo: the newest move to the trash or folder removal is put back."""
        receipt = self.window.undo.receipts[-1][1]
        self.window.undo.action.trigger()
        self._settle()
        for item in receipt.trashed:  # back at its place, or left in the trash: another file took it
            assert Path(item.original).exists()
        if receipt.folder is not None:
            assert Path(receipt.folder) in self.library.folders().values()
        folders = set(self.library.folders().values())
        self.added = [
            name for name in self.added + sorted(FOLDERS) if (self.root / "photos" / name).resolve() in folders
        ]
        self.added = list(dict.fromkeys(self.added))

    @rule(query=st.sampled_from(QUERIES))
    def search(self, query):
        self.window.search_bar.edit.setText(query)
        self.window.search_bar.search_now()
        self.query = query
        self._settle()

    @rule()
    def clear_search(self):
        self.window.search_bar.clear()
        self.query = None
        self._settle()

    @rule()
    def toggle_good_matches_only(self):
        self.window.good_only_action.trigger()
        self._settle()

    # -- what must hold after every step -------------------------------------------------------

    @invariant()
    def the_grid_shows_exactly_the_catalogs_photos_in_order(self):
        assert self.window.grid_model.ids() == self._expected_ids()

    @invariant()
    def nothing_gone_is_on_screen(self):
        catalog = {r.id: r for r in self.library.photos()}
        for row in range(self.window.grid_model.rowCount()):
            record = self.window.grid_model.record(row)
            assert record.id in catalog and catalog[record.id].path == record.path
            assert Path(record.path).exists(), record.path

    @invariant()
    def only_what_can_be_undone_is_held(self):
        offered = [receipt.hold for _library, receipt in self.window.undo.receipts]
        assert self.library.catalog.holds() == offered

    @invariant()
    def the_status_bar_counts_what_is_shown(self):
        n = self.window.grid_model.rowCount()
        text = self.window.status_label.text()
        if self.window.stack.currentWidget() is self.window.grid:
            word = "result" if self.query is not None else "photo"
            assert f"{n:,} {word}{'' if n == 1 else 's'}" in text.split(" · "), text  # (maybe after "3 selected")

    @invariant()
    def every_cell_shows_its_own_photo(self):
        window, model = self.window, self.window.grid_model
        if window.stack.currentWidget() is not window.grid or not model.rowCount():
            return
        grid = window.grid
        rows = [r for r in range(model.rowCount()) if grid.viewport().rect().contains(grid.visualRect(model.index(r)))]
        self.qtbot.waitUntil(lambda: all(window.loader.lookup(model.record(r))[1] for r in rows), timeout=20000)
        grid.clearSelection()
        shot = grid.viewport().grab().toImage()
        base = grid.palette().color(grid.palette().ColorRole.Base)
        faded = grid.delegate.FADED
        choices = [(c, alpha) for c in PALETTE for alpha in (1.0, faded)]
        for row in rows:
            painted = shot.pixelColor(grid.visualRect(model.index(row)).center())
            nearest = min(choices, key=lambda ca: _distance(painted, _blend(ca[0], ca[1], base)))
            assert nearest[0] == _file_colour(model.record(row).path), (row, model.record(row).path, painted.name())


def _blend(colour, alpha: float, base: QColor) -> tuple[float, float, float]:
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(colour, (base.red(), base.green(), base.blue())))


def _distance(painted: QColor, colour) -> float:
    return sum((a - b) ** 2 for a, b in zip((painted.red(), painted.green(), painted.blue()), colour))


def test_the_window_shows_only_what_is_true(qtbot, make_settings, random_model):
    ScreenTruth.qtbot, ScreenTruth.make_settings, ScreenTruth.model = qtbot, make_settings, random_model
    run_state_machine_as_test(
        ScreenTruth,
        settings=settings(
            max_examples=12,
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
