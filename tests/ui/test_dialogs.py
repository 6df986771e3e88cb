"""The dialogs around the grid: preview, properties, settings, skipped files, about."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox

from app.ui import dialogs
from app.ui.dialogs import PropertiesDialog, SettingsDialog, SkippedDialog
from app.ui.preview import PreviewDialog
from helpers import devdata


def _picture(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    arr[: h // 3, : w // 4] = (250, 20, 20)  # a red block top-left, so a rotation would show
    return Image.fromarray(arr, "RGB")


@pytest.fixture
def photos(tmp_path) -> list[str]:
    paths = []
    for i in range(4):
        path = tmp_path / f"photo{i}.jpg"
        _picture(160 + 20 * i, 120, seed=i).save(path, quality=85)
        paths.append(str(path))
    return paths


def _texts(widget) -> str:
    """Everything the dialog shows as text (labels and read-only fields)."""
    return "\n".join(w.text() for w in widget.findChildren(QLabel) + widget.findChildren(QLineEdit))


def _open_preview(qtbot, paths, index=0) -> PreviewDialog:
    dialog = PreviewDialog(paths, index)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.shown_index() == dialog.current_index(), timeout=5000)
    return dialog


# -- preview ---------------------------------------------------------------------------------


def test_preview_steps_with_arrow_keys_and_stays_in_range(qtbot, photos):
    dialog = _open_preview(qtbot, photos, 1)
    assert dialog.current_index() == 1
    assert not dialog.image().isNull()
    assert "photo1.jpg" in _texts(dialog) and "2 / 4" in _texts(dialog)

    with qtbot.waitSignal(dialog.current_changed) as signal:
        qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert signal.args == [2] and dialog.current_index() == 2
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    qtbot.keyClick(dialog, Qt.Key.Key_Right)  # already at the last one
    assert dialog.current_index() == 3
    qtbot.waitUntil(lambda: dialog.shown_index() == 3, timeout=5000)
    assert dialog.image().width() == 220  # photo3 is 220 px wide: the right picture is shown
    assert "4 / 4" in _texts(dialog)

    for _ in range(5):
        qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert dialog.current_index() == 0
    qtbot.waitUntil(lambda: dialog.shown_index() == 0, timeout=5000)
    assert dialog.image().width() == 160


def test_preview_buttons_step_and_escape_closes(qtbot, photos):
    dialog = _open_preview(qtbot, photos, 0)
    dialog._next.click()
    assert dialog.current_index() == 1
    dialog._prev.click()
    assert dialog.current_index() == 0
    assert not dialog._prev.isEnabled()  # nothing before the first photo
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_preview_shows_an_exif_rotated_jpeg_portrait(qtbot, tmp_path):
    upright = _picture(300, 400)  # portrait, as the person saw it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the sensor wrote landscape pixels
    path = tmp_path / "rotated.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, quality=95, exif=exif.tobytes())
    assert Image.open(path).size == (400, 300)

    dialog = _open_preview(qtbot, [str(path)], 0)
    image = dialog.image()
    assert image.width() < image.height()
    red = image.pixelColor(5, 5)  # the red block is back in the top-left corner
    assert red.red() > 200 and red.green() < 80


def test_large_photos_are_read_at_screen_size(tmp_path):
    path = tmp_path / "big.jpg"
    _picture(3000, 2000).save(path, quality=80)
    image, error = dialogs.read_image(str(path), QSize(800, 600))
    assert error == ""
    assert (image.width(), image.height()) == (800, 533)


def test_preview_of_an_unreadable_file_says_why(qtbot, tmp_path, photos):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    dialog = _open_preview(qtbot, [str(bad), photos[0]], 0)
    assert dialog.image().isNull()
    assert "Cannot show notes.jpg" in dialog.message()
    qtbot.keyClick(dialog, Qt.Key.Key_Right)  # and the next one still works
    qtbot.waitUntil(lambda: dialog.shown_index() == 1, timeout=5000)
    assert not dialog.image().isNull()


def test_preview_of_heic_goes_through_the_engine_decoder(qtbot):
    path = devdata("odd_files", "heic") / "arrow.heic"  # 3024x4032 iPhone photo, Orientation 6
    from app.core.ingest import imaging

    if imaging.HEIF_DECODER is None:
        pytest.skip("no HEIF decoder installed")
    image, error = dialogs.read_image(str(path), QSize(800, 600))
    assert error == "" and not image.isNull()
    assert image.width() < image.height() and image.height() <= 600


def _pixels(image) -> Image.Image:
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return Image.fromarray(rows[:, : 3 * rgb.width()].reshape(rgb.height(), rgb.width(), 3).copy(), "RGB")


def test_preview_of_a_heif_shows_its_primary_image_not_its_first(qtbot, tmp_path):
    pytest.importorskip("pillow_heif")
    from pictures import decoy_first_heif

    path = tmp_path / "burst.heic"
    primary = decoy_first_heif(path, (480, 640))
    dialog = _open_preview(qtbot, [str(path)])
    full, error = dialogs.read_image(str(path))  # no bound: full size (Copy Image)
    assert error == "" and (full.width(), full.height()) == (480, 640)
    for image in (dialog.image(), full):
        got = _pixels(image)
        want = primary.resize(got.size, Image.Resampling.BOX)
        assert np.abs(np.asarray(got, np.float32) - np.asarray(want, np.float32)).mean() < 8


# -- properties ------------------------------------------------------------------------------


def _rational(value: float) -> Fraction:
    return Fraction(value).limit_denominator(10000)


def test_properties_show_dimensions_camera_date_and_gps(qtbot, tmp_path, monkeypatch):
    exif = Image.Exif()
    exif[0x010F] = "Acme"  # Make
    exif[0x0110] = "Snapper 3000"  # Model
    exif.get_ifd(0x8769)[0x9003] = "2021:07:14 09:30:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (_rational(48), _rational(51), _rational(29.5))  # 48.858194 N
    gps[3], gps[4] = "E", (_rational(2), _rational(17), _rational(40.0))  # 2.294444 E
    path = tmp_path / "eiffel.jpg"
    _picture(640, 480).save(path, quality=90, exif=exif.tobytes())

    dialog = PropertiesDialog(str(path))
    qtbot.addWidget(dialog)
    dialog.show()
    text = _texts(dialog)
    assert str(path) in text
    assert "640 × 480" in text
    assert "JPEG" in text
    assert "Acme Snapper 3000" in text
    assert "2021" in text
    assert "48.858194, 2.294444" in text
    assert dialog.error is None
    assert "kB" in text  # a human-readable size

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    gps_label = dialog.findChild(QLabel, "gps")
    gps_label.linkActivated.emit(dialogs.map_url(*dialog.gps).toString())
    assert opened and "openstreetmap.org" in opened[0] and "48.858194" in opened[0]


def test_properties_say_where_the_date_came_from(qtbot, tmp_path):
    from pictures import xmp_packet

    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2021:07:14 09:30:00", 0x9011: "+02:00"})
    _picture(64, 48).save(tmp_path / "camera.jpg", exif=exif.tobytes())
    _picture(64, 48).save(tmp_path / "edited.jpg", xmp=xmp_packet(xmp_CreateDate="2010-07-03T18:30:05"))
    _picture(64, 48).save(tmp_path / "plain.png")
    os.utime(tmp_path / "plain.png", (1_465_000_000, 1_465_000_000))  # June 2016
    taken = {}
    for name in ("camera.jpg", "edited.jpg", "plain.png"):
        dialog = PropertiesDialog(str(tmp_path / name))
        qtbot.addWidget(dialog)
        taken[name] = next(line for line in _texts(dialog).splitlines() if "(from" in line or "(file time)" in line)
    assert "2021" in taken["camera.jpg"] and "09:30" in taken["camera.jpg"]
    assert taken["camera.jpg"].endswith("UTC+02:00  (from EXIF)")
    assert "2010" in taken["edited.jpg"] and taken["edited.jpg"].endswith("(from XMP)")
    assert "2016" in taken["plain.png"] and taken["plain.png"].endswith("(file time)")


def test_properties_of_a_text_file_named_jpg_say_so(qtbot, tmp_path):
    path = tmp_path / "not-a-photo.jpg"
    path.write_text("hello")
    dialog = PropertiesDialog(str(path))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.error and "not an image" in dialog.error
    assert dialog.findChild(QLabel, "error").text() == dialog.error
    assert str(path) in _texts(dialog)


def test_properties_of_a_missing_file_say_so(qtbot, tmp_path):
    dialog = PropertiesDialog(str(tmp_path / "gone.jpg"))
    qtbot.addWidget(dialog)
    assert dialog.error == "The file no longer exists."


def test_properties_of_a_real_camera_photo_with_gps(qtbot):
    path = devdata("odd_files", "exif_gps") / "DSCN0010.jpg"
    dialog = PropertiesDialog(str(path))
    qtbot.addWidget(dialog)
    text = _texts(dialog)
    assert "NIKON COOLPIX P6000" in text
    assert "640 × 480" in text
    assert dialog.gps == pytest.approx((43.467448, 11.885127), abs=1e-5)
    assert "43.467448, 11.885127" in text


# -- settings --------------------------------------------------------------------------------

VALUES = {
    "model": "ViT-B-16-SigLIP2",
    "pretrained": "webli",
    "thumb_size": 256,
    "decode_threads": 1,
    "folders": ["/photos/2023", "/photos/phone"],
    "batch_size": 32,
    "ocr": False,
}


def test_settings_round_trip(qtbot):
    dialog = SettingsDialog(dict(VALUES))
    qtbot.addWidget(dialog)
    assert dialog.model_combo.currentText().startswith("ViT-B-16-SigLIP2 / webli")
    assert not dialog.checkpoint_edit.isEnabled()
    assert dialog.values() == VALUES  # untouched keys pass through too


def test_settings_edits_come_back_split(qtbot):
    dialog = SettingsDialog(dict(VALUES))
    qtbot.addWidget(dialog)
    dialog.model_combo.setCurrentIndex(2)
    dialog.thumb_spin.setValue(384)
    dialog.add_folder("/photos/scans")
    dialog.folder_list.setCurrentRow(0)
    dialog.remove_button.click()
    values = dialog.values()
    assert (values["model"], values["pretrained"]) == ("xlm-roberta-base-ViT-B-32", "laion5b_s13b_b90k")
    assert values["thumb_size"] == 384
    assert values["folders"] == ["/photos/phone", "/photos/scans"]

    dialog.model_combo.setEditText("ViT-L-14 / openai")  # anything open_clip knows, typed in
    assert dialog.values()["model"] == "ViT-L-14" and dialog.values()["pretrained"] == "openai"
    dialog.model_combo.setEditText("ViT-L-14")  # no tag: OK waits for a complete choice
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()


def test_settings_local_checkpoint(qtbot, tmp_path):
    checkpoint = tmp_path / "open_clip_model.safetensors"
    checkpoint.write_bytes(b"weights")
    dialog = SettingsDialog(dict(VALUES))
    qtbot.addWidget(dialog)
    dialog.model_combo.setCurrentText(dialogs.LOCAL_CHECKPOINT)
    assert dialog.checkpoint_edit.isEnabled() and dialog.local_model_edit.isEnabled()
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # no file chosen yet
    dialog.checkpoint_edit.setText(str(checkpoint))
    dialog.local_model_edit.setText("ViT-B-32")
    assert ok.isEnabled()
    values = dialog.values()
    assert values["pretrained"] == str(checkpoint) and values["model"] == "ViT-B-32"

    # ...and the dialog reopens on the same local choice.
    again = SettingsDialog(values)
    qtbot.addWidget(again)
    assert again.is_local() and again.values() == values


def test_settings_thread_count_is_bounded_by_the_machine(qtbot):
    dialog = SettingsDialog(dict(VALUES, decode_threads=999))
    qtbot.addWidget(dialog)
    assert dialog.values()["decode_threads"] == (os.cpu_count() or 1)


# -- skipped files ---------------------------------------------------------------------------


def test_skipped_dialog_lists_sorts_copies_and_opens_folders(qtbot, tmp_path, monkeypatch):
    items = [
        (str(tmp_path / "b" / "zebra.jpg"), "file is truncated or damaged"),
        (str(tmp_path / "a" / "apple.heic"), "not an image, or a format PhotoSeek cannot read"),
    ]
    dialog = SkippedDialog(items)
    qtbot.addWidget(dialog)
    dialog.show()
    assert sorted(dialog.rows()) == sorted(items)
    dialog.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert dialog.rows()[0][0].endswith("apple.heic")

    dialog.copy_list()
    assert QGuiApplication.clipboard().text().splitlines()[0] == f"{items[1][0]}\t{items[1][1]}"

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    dialog.table.cellDoubleClicked.emit(0, 1)
    assert opened == [str(tmp_path / "a")]


def test_about_names_version_and_licences(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((title, text)))
    dialogs.show_about(None)
    title, text = shown[0]
    assert "PhotoSeek" in title
    from app import __version__

    assert __version__ in text and "MIT" in text and "libheif" in text
