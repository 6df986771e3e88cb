"""The Duplicates view and the text-in-photos setting, driven the way a person drives them."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.organize.duplicates import KEEPER, LOOKS_ALIKE, MIN_THRESHOLD, NEAR_COPY
from app.ui.duplicates import PHOTO_ROLE
from helpers import wait_indexed, wait_ready
from pictures import cropped, recompressed, resized, scene, write_signs
from tiny_clip import write_shapes

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def duplicates_folder(tmp_path) -> Path:
    """Five scenes; scene 0 has a resized copy and an identical copy, scene 1 a slightly cropped one."""
    folder = tmp_path / "photos"
    folder.mkdir()
    images = [scene((480, 360), seed=300 + k) for k in range(5)]
    for k, im in enumerate(images):
        im.save(folder / f"scene_{k}.jpg", quality=92)
        os.utime(folder / f"scene_{k}.jpg", (1_600_000_000, 1_600_000_000))
    recompressed(resized(images[0], 0.5), 40).save(folder / "scene_0_small.jpg")
    shutil.copy(folder / "scene_0.jpg", folder / "scene_0_copy.jpg")
    cropped(images[1], 0.97).save(folder / "scene_1_crop.jpg", quality=90)
    return folder


def _duplicates_once_indexed(qtbot, window, photos: int):
    """The Duplicates view, opened when the window has indexed `photos` and done comparing them."""
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, photos)
    window.show_duplicates()
    dialog = window.duplicates_dialog
    qtbot.waitUntil(lambda: dialog.report is not None and not dialog.busy, timeout=20000)
    return dialog


def test_duplicates_view_groups_marks_keepers_and_trashes_the_others(
    qtbot, make_window, make_settings, random_model, duplicates_folder, tmp_path, monkeypatch
):
    window = make_window(make_settings(random_model), folders=[duplicates_folder])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, 8)

    window.duplicates_action.trigger()  # View > Find Duplicates…
    dialog = window.duplicates_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.report is not None and not dialog.busy, timeout=20000)
    names = [[Path(p).name for p in group] for group in dialog.groups()]
    assert names == [["scene_0.jpg", "scene_0_copy.jpg", "scene_0_small.jpg"], ["scene_1.jpg", "scene_1_crop.jpg"]]
    assert sorted(Path(p).name for p in dialog.keepers()) == ["scene_0.jpg", "scene_1.jpg"]
    assert sorted(Path(p.path).name for p in dialog.checked()) == [
        "scene_0_copy.jpg",
        "scene_0_small.jpg",
        "scene_1_crop.jpg",
    ]
    assert dialog.note.isVisible() and "image hash" in dialog.note.text()  # random weights: said so
    keeper_row = dialog.tree.topLevelItem(0).child(0)
    assert "Keep" in keeper_row.text(0) and keeper_row.checkState(0) == Qt.CheckState.Unchecked
    qtbot.waitUntil(lambda: not keeper_row.icon(0).isNull(), timeout=10000)  # thumbnails arrive

    # the user keeps the crop instead of scene_1.jpg, then thinks better of it
    crop_row = dialog.tree.topLevelItem(1).child(1)
    dialog.keep(crop_row)
    assert "scene_1_crop.jpg" in [Path(p).name for p in dialog.keepers()]
    dialog.keep(dialog.tree.topLevelItem(1).child(0))

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes)
    assert dialog.trash_button.isEnabled() and "3" in dialog.trash_button.text()
    qtbot.mouseClick(dialog.trash_button, Qt.MouseButton.LeftButton)
    assert asked and "3 photos" in asked[0][2]
    trash = tmp_path / "xdg-data" / "Trash" / "files"
    qtbot.waitUntil(lambda: trash.is_dir() and len(list(trash.iterdir())) == 3, timeout=20000)
    assert sorted(p.name for p in duplicates_folder.iterdir()) == [f"scene_{k}.jpg" for k in range(5)]
    qtbot.waitUntil(lambda: not dialog.busy and dialog.groups() == [], timeout=20000)
    assert "No duplicates" in dialog.status.text()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 5, timeout=20000)

    dialog.close()
    window.duplicates_action.trigger()  # opens again, fresh
    qtbot.waitUntil(lambda: window.duplicates_dialog.report is not None, timeout=20000)


def test_a_lower_threshold_is_asked_for_in_the_background(
    qtbot, make_window, make_settings, random_model, duplicates_folder
):
    window = make_window(make_settings(random_model), folders=[duplicates_folder])
    dialog = _duplicates_once_indexed(qtbot, window, 8)
    with qtbot.waitSignal(dialog.results_shown, timeout=20000):
        dialog.threshold_spin.setValue(1.0)  # identical files only
    assert [[Path(p).name for p in g] for g in dialog.groups()] == [["scene_0.jpg", "scene_0_copy.jpg"]]
    assert dialog.report.threshold == 1.0
    with qtbot.waitSignal(dialog.results_shown, timeout=20000):
        dialog.threshold_spin.setValue(0.5)  # refused: the loosest allowed is taken, and the range is shown
    assert dialog.report.threshold == MIN_THRESHOLD and "0.90–1.00" in dialog.threshold_spin.toolTip()


def test_look_alikes_are_offered_but_not_checked(qtbot, make_window, make_settings, trained_model, tmp_path):
    """With a model that tells the shapes apart, two pictures of one kind of shape look alike: they are
    grouped but left unchecked; a resized copy is a near copy and checked; after "Keep This One" on a
    look-alike, the photos that only look like it are unchecked."""
    folder = tmp_path / "shapes"
    write_shapes(folder, per_kind=2, size=256)
    os.utime(folder / "red_circle_0.jpg", (1_600_000_000, 1_600_000_000))  # the keeper: as large, older
    with Image.open(folder / "red_circle_0.jpg") as im:
        recompressed(resized(im.convert("RGB"), 0.5), 60).save(folder / "red_circle_0_small.jpg")
    window = make_window(make_settings(trained_model), folders=[folder])
    dialog = _duplicates_once_indexed(qtbot, window, 25)
    assert dialog.report.embeddings_used, dialog.report.note
    rows = {Path(item.data(0, PHOTO_ROLE).path).name: item for item in dialog._photo_items()}
    kinds = {name: item.data(0, PHOTO_ROLE).kind for name, item in rows.items()}
    assert kinds["red_circle_0_small.jpg"] == NEAR_COPY and kinds["red_circle_1.jpg"] == LOOKS_ALIKE
    for name, item in rows.items():  # only the same picture for sure starts checked
        assert (item.checkState(0) == Qt.CheckState.Checked) == (kinds[name] == NEAR_COPY), name
        assert ("Keep" if kinds[name] == KEEPER else kinds[name]) in item.text(0)
    titles = [dialog.tree.topLevelItem(g).text(0) for g in range(dialog.tree.topLevelItemCount())]
    assert any(title.startswith("Look-alikes") for title in titles), titles
    assert [Path(p.path).name for p in dialog.checked()] == ["red_circle_0_small.jpg"]

    dialog.keep(rows["red_circle_1.jpg"])  # the look-alike is kept: what only looks like it stays unchecked
    assert "Keep" in rows["red_circle_1.jpg"].text(0)
    assert rows["red_circle_0.jpg"].checkState(0) == Qt.CheckState.Unchecked
    assert "looks alike" in rows["red_circle_0.jpg"].text(0)
    assert dialog.checked() == [] and not dialog.trash_button.isEnabled()


def test_reading_text_is_a_setting_that_persists_and_the_text_shows_in_properties(
    qtbot, make_window, make_settings, random_model, tmp_path, monkeypatch
):
    from app.ui import prefs
    from app.ui.dialogs import SettingsDialog

    pytest.importorskip("rapidocr_onnxruntime")
    folder = tmp_path / "signs"
    write_signs(folder, ["Harbour"], size=(480, 360), blank=0)
    window = make_window(make_settings(random_model), folders=[folder])
    wait_ready(qtbot, window)
    wait_indexed(qtbot, window, 1)
    assert window.settings.ocr is False

    dialog = SettingsDialog(window.settings_values(), window)
    qtbot.addWidget(dialog)
    assert not dialog.ocr_check.isChecked()
    dialog.ocr_check.setChecked(True)
    assert dialog.values()["ocr"] is True
    window.apply_settings(dialog.values())  # turning it on reads the photos' text in the background
    assert window.settings.ocr and window.library.settings.ocr
    qtbot.waitUntil(lambda: window.library.catalog.ocr_counts()[1] == 1 and not window.indexing, timeout=60000)

    window.grid.setCurrentIndex(window.grid_model.index(0))
    window.show_properties()
    properties = window.properties
    qtbot.waitUntil(lambda: properties.found_text is not None, timeout=10000)
    assert "Harbour" in properties.text_label.text()
    properties.close()

    args = argparse.Namespace(data_dir=tmp_path / "data", model=None, pretrained=None, folders=[])
    assert prefs.build_settings(args).ocr is True  # saved
    monkeypatch.setenv("PHOTOSEEK_OCR", "0")
    assert prefs.build_settings(args).ocr is False  # the environment wins
    window.apply_settings(dict(window.settings_values(), ocr=False))
    monkeypatch.delenv("PHOTOSEEK_OCR")
    assert prefs.build_settings(args).ocr is False


def test_enter_in_the_similarity_box_applies_it_and_presses_no_button(
    qtbot, make_window, make_settings, random_model, duplicates_folder, monkeypatch
):
    """Typing a similarity and pressing Enter asked to move photos to the trash (the trash button
    was the dialog's default button)."""
    window = make_window(make_settings(random_model), folders=[duplicates_folder])
    dialog = _duplicates_once_indexed(qtbot, window, 8)
    assert dialog.trash_button.isEnabled()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    dialog.threshold_spin.setFocus()
    dialog.threshold_spin.lineEdit().selectAll()
    with qtbot.waitSignal(dialog.results_shown, timeout=20000):
        qtbot.keyClicks(dialog.threshold_spin, "1.00")
        qtbot.keyClick(dialog.threshold_spin, Qt.Key.Key_Return)
    assert asked == [] and dialog.isVisible()
    assert dialog.report.threshold == 1.0
