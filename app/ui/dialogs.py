"""The small windows around the grid: properties, settings, skipped files, about (the preview is
in preview.py).

Pure Qt. The only engine code used is `app.core.ingest.imaging` (metadata, and decoding formats Qt
cannot read itself, such as HEIC).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from html import escape
from pathlib import Path

from PySide6.QtCore import QDateTime, QLocale, QSize, Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QImage,
    QImageIOHandler,
    QImageReader,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.names import shown

from .desktop import file_url, pictures_folder
from .workers import Task, run_task

APP_NAME = "PhotoSeek"


def human_size(num_bytes: int) -> str:
    """'2.4 MB' style sizes, in decimal units like the platform file managers."""
    size = float(num_bytes)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{num_bytes} bytes"  # not reached


def open_containing_folder(path: str) -> bool:
    """Show the folder holding `path` in the platform file manager."""
    return QDesktopServices.openUrl(file_url(os.path.dirname(os.path.abspath(path))))


# -- preview ---------------------------------------------------------------------------------


# Read by the engine's decoder even where Qt has a plugin for them: Qt's HEIF plugins may show a
# file's first image, where PhotoSeek indexes (and pillow-heif reads) its primary one.
_ENGINE_FORMATS = (b"heic", b"heif")


def read_image(path: str, bound: QSize = QSize()) -> tuple[QImage, str]:
    """Read `path` upright and no larger than `bound` (an invalid one: full size); (null image,
    reason) when it cannot be read.

    QImageReader shrinks while decoding (JPEG DCT scaling), so a 50 MP photo opens in a blink.
    HEIF, and formats Qt has no plugin for (AVIF on some systems), go through the engine's decoder.
    """
    reader = QImageReader(path)
    qt_error = ""
    # a QByteArray is a buffer, which PySide6's hints miss
    if bytes(reader.format()).lower() not in _ENGINE_FORMATS:  # type: ignore[call-overload]
        image = _read_with_qt(reader, bound)
        if not image.isNull():
            return image, ""
        qt_error = reader.errorString()
    return _read_with_engine(path, bound, qt_error)


def _read_with_qt(reader: QImageReader, bound: QSize) -> QImage:
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and bound.isValid():
        # The scaled size applies to the stored pixels, before the EXIF rotation.
        if reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90:
            bound = bound.transposed()
        if size.width() > bound.width() or size.height() > bound.height():
            reader.setScaledSize(size.scaled(bound, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def _read_with_engine(path: str, bound: QSize, qt_error: str) -> tuple[QImage, str]:
    big = 1 << 30  # no bound: sizes no photo reaches, so nothing is shrunk
    width, height = (bound.width(), bound.height()) if bound.isValid() else (big, big)
    from ..core.ingest import imaging  # (Pillow and numpy: not with the window's first paint)

    try:
        decoded = imaging.decode(path, min_side=max(min(width, height), 1), thumb_size=max(width, height, 1))
    except imaging.ImageError as e:
        return QImage(), str(e)
    except Exception:  # noqa: BLE001 - a preview must never take the window down
        return QImage(), qt_error or "unreadable"
    rgb = decoded.image
    rgb.thumbnail((max(width, 1), max(height, 1)))
    data = rgb.tobytes()
    # copy(): the QImage must own its pixels once `data` goes away.
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy(), ""


# -- properties ------------------------------------------------------------------------------


def map_url(lat: float, lon: float) -> QUrl:
    return QUrl(f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=15/{lat:.6f}/{lon:.6f}")


def _readable_error(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "The file no longer exists."
    if isinstance(error, PermissionError):
        return "PhotoSeek is not allowed to read this file."
    if isinstance(error, IsADirectoryError):
        return "This is a folder, not a photo."
    if type(error).__name__ == "UnidentifiedImageError":
        return "This is not an image, or it is in a format PhotoSeek cannot read."
    return f"This file cannot be read as a photo ({error or type(error).__name__})."


def date_text(iso: str | None) -> str:
    """An ISO date and time as the user's locale writes it (with its zone only when known)."""
    if not iso:
        return "—"
    when = QDateTime.fromString(iso, Qt.DateFormat.ISODate)
    if not when.isValid():
        return iso
    locale = QLocale()
    # The time as the camera showed it, and its time zone only when the file says (few do).
    offset = iso[19:]
    text = (
        f"{locale.toString(when.date(), QLocale.FormatType.LongFormat)}, "
        f"{locale.toString(when.time(), QLocale.FormatType.ShortFormat)}"
    )
    return f"{text} UTC{offset.replace('+00:00', '')}" if offset else text


def taken_text(path: str, iso: str | None, source: str | None) -> str:
    """The capture date and where it was read; the file time when the file holds none (as for
    sorting and date filters)."""
    if iso:
        return f"{date_text(iso)}  (from {source or 'EXIF'})"
    try:
        mtime = time.localtime(os.path.getmtime(path))
    except OSError:
        return "—"
    return f"{date_text(time.strftime('%Y-%m-%dT%H:%M:%S', mtime))}  (file time)"


def found_text_line(text: str | None, reading: bool = True) -> str:
    """The text read in a photo on one line ('' for none); None: not read (yet), `reading` says
    whether it will be."""
    if text is None:
        return "not read yet" if reading else "off (Settings: Read text in photos)"
    if not text.strip():
        return "—"
    return " · ".join(line.strip() for line in text.splitlines() if line.strip())


def tag_links(tags: list[tuple[str, float]] | None, color: str) -> str:
    """A photo's concepts as rich-text links (name -> href), with their scores; None: not known."""
    if not tags:
        return "—" if tags is not None else "not available until the model is loaded"
    chips = [
        f'<a href="{escape(name)}" style="text-decoration:none; color:{color}">'
        f"#{escape(name.replace(' ', '_'))}</a>&nbsp;<small>{round(100 * p)}%</small>"
        for name, p in tags
    ]
    return " &nbsp; ".join(chips)


class PropertiesDialog(QDialog):
    """Where a photo is, how big it is, what its EXIF says (date, camera, location), and the
    concepts it shows (filled in by `set_tags` once they are known; a click searches for one).
    `offline`: the photo's folder is not connected, and this line says so (instead of "not found")."""

    tag_clicked = Signal(str)  # a concept name

    def __init__(self, path: str, parent: QWidget | None = None, offline: str | None = None) -> None:
        super().__init__(parent)
        self.path = os.fspath(path)
        self.offline = offline
        self.setWindowTitle(f"{shown(os.path.basename(self.path))} — Properties")
        self.error: str | None = None
        self.gps: tuple[float, float] | None = None
        self.tags: list[tuple[str, float]] | None = None
        self.tags_label: QLabel | None = None
        self.found_text: str | None = None
        self.text_label: QLabel | None = None

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._add_file_rows(form)
        meta = self._read_metadata()
        if meta is not None:
            self._add_metadata_rows(form, meta)
            self._add_found_rows(form)
        self._lay_out(form, offline)

    def _add_file_rows(self, form: QFormLayout) -> None:
        """Where the file is and how big."""
        # A read-only line edit: long paths scroll instead of being cut, and select like text.
        path_field = QLineEdit(shown(self.path), self)
        path_field.setReadOnly(True)
        path_field.setFrame(False)
        path_field.setCursorPosition(0)
        path_field.setObjectName("path")
        form.addRow("Path:", path_field)

        try:
            size = os.path.getsize(self.path)
        except OSError:
            size = None
        if size is not None:
            size_label = self._value(human_size(size))
            size_label.setToolTip(f"{size:,} bytes")
            form.addRow("File size:", size_label)

    def _read_metadata(self) -> dict | None:
        """The photo's metadata; None (and `error` set) when the file cannot be read."""
        try:
            if os.path.isdir(self.path):
                raise IsADirectoryError(self.path)
            from ..core.ingest import imaging

            meta = imaging.read_metadata(self.path)
        except Exception as e:  # noqa: BLE001 - any unreadable file gets a message, not a crash
            self.error = _readable_error(e)
            return None
        return meta

    def _add_metadata_rows(self, form: QFormLayout, meta: dict) -> None:
        """What the file says: dimensions, format, date, camera, location."""
        w, h = meta.get("width"), meta.get("height")
        if w and h:
            form.addRow("Dimensions:", self._value(f"{w} × {h} px ({w * h / 1e6:.1f} MP)"))
        form.addRow("Format:", self._value(meta.get("format") or "—"))
        form.addRow("Taken:", self._value(taken_text(self.path, meta.get("taken_at"), meta.get("taken_from"))))
        form.addRow("Camera:", self._value(meta.get("camera") or "—"))
        form.addRow("GPS:", self._gps_row(meta.get("gps")))

    def _add_found_rows(self, form: QFormLayout) -> None:
        """What PhotoSeek found in the photo (concepts, text), filled in once known."""
        self.tags_label = QLabel("…", self)
        self.tags_label.setObjectName("tags")
        self.tags_label.setWordWrap(True)
        self.tags_label.setTextFormat(Qt.TextFormat.RichText)
        self.tags_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.tags_label.linkActivated.connect(lambda name: self.tag_clicked.emit(name))
        self.tags_label.setToolTip("Concepts PhotoSeek sees in this photo; click one to find more like it")
        form.addRow("Concepts:", self.tags_label)
        self.text_label = QLabel("…", self)
        self.text_label.setObjectName("foundText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setToolTip("Text PhotoSeek read in this photo; searching for it finds the photo")
        form.addRow("Text in photo:", self.text_label)

    def _lay_out(self, form: QFormLayout, offline: str | None) -> None:
        layout = QVBoxLayout(self)
        if self.error or offline:  # an offline photo is "not found": say why instead
            message = QLabel(offline or self.error, self)
            message.setObjectName("offline" if offline else "error")
            message.setWordWrap(True)
            font = message.font()
            font.setBold(True)
            message.setFont(font)
            layout.addWidget(message)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def set_text(self, text: str | None, reading: bool = True) -> None:
        """The text read in the photo ('' for none); None: not read (yet), `reading` says whether
        it will be."""
        self.found_text = text
        if self.text_label is not None:
            self.text_label.setText(found_text_line(text, reading))

    def set_tags(self, tags: list[tuple[str, float]] | None) -> None:
        """The photo's top concepts as (name, calibrated score); None: not available."""
        self.tags = list(tags) if tags is not None else None
        if self.tags_label is not None:
            self.tags_label.setText(tag_links(tags, self.palette().color(QPalette.ColorRole.Highlight).name()))

    def _value(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _gps_row(self, gps: tuple[float, float] | None) -> QLabel:
        if not gps:
            return self._value("—")
        self.gps = (float(gps[0]), float(gps[1]))
        lat, lon = self.gps
        label = QLabel(f'{lat:.6f}, {lon:.6f} &nbsp; <a href="{map_url(lat, lon).toString()}">Show on map</a>', self)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        label.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        label.setObjectName("gps")
        return label


# -- settings --------------------------------------------------------------------------------

MODEL_CHOICES: list[tuple[str, str, str]] = [  # label, open_clip name, pretrained tag
    ("ViT-B-32-256 / datacomp_s34b_b86k (default, fast)", "ViT-B-32-256", "datacomp_s34b_b86k"),
    ("ViT-B-16-SigLIP2 / webli (higher quality)", "ViT-B-16-SigLIP2", "webli"),
    ("xlm-roberta-base-ViT-B-32 / laion5b_s13b_b90k (multilingual)", "xlm-roberta-base-ViT-B-32", "laion5b_s13b_b90k"),
]
LOCAL_CHECKPOINT = "Local checkpoint…"
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


def parse_model_text(text: str) -> tuple[str, str] | None:
    """'name / tag (any note)' -> (name, tag); None when it does not name both."""
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text).strip()  # drop a trailing "(note)"
    name, sep, tag = text.partition("/")
    name, tag = name.strip(), tag.strip()
    if not sep or not name or not tag or " " in name or " " in tag:
        return None
    return name, tag


def _looks_like_checkpoint(pretrained: str) -> bool:
    p = pretrained.strip()
    return bool(p) and (os.sep in p or "/" in p or p.lower().endswith(_CHECKPOINT_SUFFIXES) or p.startswith("~"))


class SettingsDialog(QDialog):
    """Model, thumbnails, decoding threads and library folders. `values()` gives the edited dict.
    A new local checkpoint is checked with its model before OK closes the dialog, as the model
    dialog does (app/core/model/model_check.py, on a worker; `models_dir`, `device`: where and how)."""

    def __init__(
        self, values: dict, parent: QWidget | None = None, models_dir: Path | None = None, device: str = "cpu"
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME} Settings")
        self._initial = dict(values)
        self._models_dir, self._device = models_dir, device
        self._checked: tuple[str, str] | None = None  # the local pair last found to work
        self._check: Task | None = None  # the check running, if any
        self._make_model_fields()
        self._make_indexing_fields(values)
        add = self._make_folder_list(values)
        self._lay_out(add)
        self._load_model(
            str(values.get("model", MODEL_CHOICES[0][1])), str(values.get("pretrained", MODEL_CHOICES[0][2]))
        )
        self.model_combo.currentTextChanged.connect(self._update_model_state)
        self.checkpoint_edit.textChanged.connect(self._update_model_state)
        self.local_model_edit.textChanged.connect(self._update_model_state)
        self._update_model_state()

    def _make_model_fields(self) -> None:
        # Model: a preset, any "name / tag" typed in, or a checkpoint file for offline use.
        self.model_combo = QComboBox(self)
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.addItems([label for label, _, _ in MODEL_CHOICES] + [LOCAL_CHECKPOINT])
        self.model_combo.setToolTip("An open_clip model as “name / pretrained tag”, or a local checkpoint")
        self.checkpoint_edit = QLineEdit(self)
        self.checkpoint_edit.setPlaceholderText("open_clip_model.safetensors")
        self.checkpoint_browse = QPushButton("Browse…", self)
        self.checkpoint_browse.clicked.connect(self._browse_checkpoint)
        self.local_model_edit = QLineEdit(self)
        self.local_model_edit.setPlaceholderText("model name (e.g. ViT-B-32) or model-config .json")
        self.local_model_browse = QPushButton("Browse…", self)
        self.local_model_browse.clicked.connect(self._browse_config)
        self.model_hint = QLabel(self)
        self.model_hint.setWordWrap(True)
        self.model_hint.setEnabled(False)  # greyed: a note, not a control

    def _make_indexing_fields(self, values: dict) -> None:
        self.thumb_spin = QSpinBox(self)
        self.thumb_spin.setRange(128, 512)
        self.thumb_spin.setSingleStep(32)
        self.thumb_spin.setSuffix(" px")
        self.thumb_spin.setValue(int(values.get("thumb_size", 256)))
        self.thumb_spin.setToolTip(
            "Short side of the thumbnails made from now on; the grid shows their centre squares."
        )

        self.threads_spin = QSpinBox(self)
        self.threads_spin.setRange(1, os.cpu_count() or 1)
        self.threads_spin.setValue(int(values.get("decode_threads", os.cpu_count() or 1)))
        self.threads_spin.setToolTip("How many photos are decoded at once while indexing")

        self.ocr_check = QCheckBox("Read text in photos (signs, documents, screenshots)", self)
        self.ocr_check.setChecked(bool(values.get("ocr", True)))
        self.ocr_check.setToolTip(
            "After indexing, PhotoSeek reads the text in each photo on this computer, so "
            "searching for a word finds the photos that show it. Turn off to index faster."
        )

    def _make_folder_list(self, values: dict) -> QPushButton:
        """The library's folders and their Remove button; returns the Add button."""
        self.folder_list = QListWidget(self)
        self.folder_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for folder in values.get("folders", []) or []:
            self.folder_list.addItem(os.fspath(folder))
        add = QPushButton("Add…", self)
        add.clicked.connect(self._add_folder)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self._remove_folders)
        self.folder_list.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.folder_list.selectedItems()))
        )
        self.remove_button.setEnabled(False)
        return add

    def _lay_out(self, add: QPushButton) -> None:
        form = QFormLayout()
        form.addRow("Model:", self.model_combo)
        form.addRow("Checkpoint:", self._row(self.checkpoint_edit, self.checkpoint_browse))
        form.addRow("Model name:", self._row(self.local_model_edit, self.local_model_browse))
        form.addRow("", self.model_hint)
        form.addRow("Thumbnail size:", self.thumb_spin)
        form.addRow("Decoding threads:", self.threads_spin)
        form.addRow("Text in photos:", self.ocr_check)
        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(self.remove_button)
        folder_buttons.addStretch(1)
        folders = QHBoxLayout()
        folders.addWidget(self.folder_list, 1)
        folders.addLayout(folder_buttons)
        form.addRow("Library folders:", folders)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def _row(self, edit: QLineEdit, button: QPushButton) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        row.addWidget(button)
        return box

    def _load_model(self, model: str, pretrained: str) -> None:
        for label, name, tag in MODEL_CHOICES:
            if (name, tag) == (model, pretrained):
                self.model_combo.setCurrentIndex(self.model_combo.findText(label))
                return
        if _looks_like_checkpoint(pretrained) or model.lower().endswith(".json"):
            self.model_combo.setCurrentIndex(self.model_combo.findText(LOCAL_CHECKPOINT))
            self.checkpoint_edit.setText(pretrained)
            self.local_model_edit.setText(model)
        else:
            self.model_combo.setCurrentText(f"{model} / {pretrained}")

    def is_local(self) -> bool:
        return self.model_combo.currentText() == LOCAL_CHECKPOINT

    def _model_pair(self) -> tuple[str, str] | None:
        if self.is_local():
            model, checkpoint = self.local_model_edit.text().strip(), self.checkpoint_edit.text().strip()
            return (model, checkpoint) if model and checkpoint else None
        return parse_model_text(self.model_combo.currentText())

    def _update_model_state(self) -> None:
        local = self.is_local()
        for widget in (self.checkpoint_edit, self.checkpoint_browse, self.local_model_edit, self.local_model_browse):
            widget.setEnabled(local)
        if local:
            hint = "Works offline: pick the weights file and the model it belongs to."
        elif self._model_pair() is None:
            hint = "Write the model as “name / pretrained tag”, e.g. ViT-L-14 / openai."
        else:
            hint = "Weights are downloaded once. Changing the model re-indexes the library in the background."
        self._say(hint, error=False)
        # OK only when the model is fully named, so values() never returns half a choice.
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._model_pair() is not None)

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a model checkpoint",
            os.path.dirname(self.checkpoint_edit.text()),
            "Checkpoints (*.safetensors *.pt *.pth *.bin *.ckpt);;All files (*)",
        )
        if path:
            self.checkpoint_edit.setText(path)

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a model config",
            os.path.dirname(self.checkpoint_edit.text()),
            "Model configs (*.json);;All files (*)",
        )
        if path:
            self.local_model_edit.setText(path)

    def accept(self) -> None:
        """OK: a new checkpoint (and its model) is checked first; closed only if they work."""
        pair = self._model_pair()
        unchanged = pair == (self._initial.get("model"), self._initial.get("pretrained"))
        if not self.is_local() or pair is None or unchanged or pair == self._checked:
            super().accept()
            return
        if self._check is not None:
            return
        from ..core.model.model_check import check_pair  # the model dialog's own check

        self._ok_button().setEnabled(False)
        self._say("Checking the model with these weights…", error=False)
        models_dir = self._models_dir or Path(tempfile.gettempdir())  # (a local file downloads nothing)
        self._check = run_task(
            QThreadPool.globalInstance(),
            check_pair,
            *pair,
            models_dir,
            self._device,
            on_result=self._checked_ok,
            on_error=self._check_refused,
        )

    def _checked_ok(self, pair: tuple[str, str]) -> None:
        self._check, self._checked = None, pair
        self._ok_button().setEnabled(True)
        if self._model_pair() == pair:  # (not edited meanwhile)
            self.accept()

    def _check_refused(self, error: BaseException) -> None:
        self._check = None
        self._ok_button().setEnabled(True)
        self._say(str(error), error=True)

    def _say(self, text: str, error: bool) -> None:
        self.model_hint.setText(text)
        self.model_hint.setEnabled(error)  # an error reads as text, not as a greyed note

    def _ok_button(self):
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def done(self, result: int) -> None:
        if self._check is not None:  # a check still running when the dialog closes is forgotten
            self._check.cancel()
            self._check = None
        super().done(result)

    def folders(self) -> list[str]:
        return [self.folder_list.item(i).text() for i in range(self.folder_list.count())]

    def add_folder(self, folder: str) -> None:
        folder = os.path.normpath(os.fspath(folder))
        if folder not in self.folders():
            self.folder_list.addItem(folder)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library", str(pictures_folder()))
        if folder:
            self.add_folder(folder)

    def _remove_folders(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))

    def values(self) -> dict:
        """The settings as edited: the dict passed in, with these keys replaced."""
        result = dict(self._initial)
        pair = self._model_pair()
        if pair is not None:
            result["model"], result["pretrained"] = pair
        result["thumb_size"] = self.thumb_spin.value()
        result["decode_threads"] = self.threads_spin.value()
        result["ocr"] = self.ocr_check.isChecked()
        result["folders"] = self.folders()
        return result


# -- concepts of your own --------------------------------------------------------------------


class ConceptDialog(QDialog):
    """Add a concept of your own (a name and phrases that describe it, one per line), or remove
    one. `values()` is (name, phrases) to add; `removed` the names to forget."""

    def __init__(
        self, existing: dict[str, list[str]] | None = None, parent: QWidget | None = None, name: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Concept")
        self.existing = dict(existing or {})
        self.removed: list[str] = []
        intro = QLabel(
            "A concept is a name you can search with <b>#name</b>, described by a few phrases "
            "the way you would describe the photos: “my grey cat Miso”, “a grey cat on a sofa”.",
            self,
        )
        intro.setWordWrap(True)
        self.name_edit = QLineEdit(name, self)
        self.name_edit.setPlaceholderText("miso")
        self.phrases_edit = QPlainTextEdit(self)
        self.phrases_edit.setPlaceholderText("a grey cat\na grey cat sleeping on a sofa")
        self.phrases_edit.setTabChangesFocus(True)
        self.phrases_edit.setMinimumHeight(90)
        self.list = QListWidget(self)
        self.list.setMaximumHeight(110)
        self.list.itemClicked.connect(self._load)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove)
        self.list.itemSelectionChanged.connect(lambda: self.remove_button.setEnabled(bool(self.list.selectedItems())))
        for concept in sorted(self.existing):
            self.list.addItem(concept)
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Phrases:", self.phrases_edit)
        mine = QHBoxLayout()
        mine.addWidget(self.list, 1)
        mine.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        self.yours_label = QLabel("Your concepts:", self)
        form.addRow(self.yours_label, mine)
        self.yours_label.setVisible(bool(self.existing))
        self.list.setVisible(bool(self.existing))
        self.remove_button.setVisible(bool(self.existing))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)
        self.name_edit.textChanged.connect(self._update)
        self.phrases_edit.textChanged.connect(self._update)
        self._update()

    def phrases(self) -> list[str]:
        return [" ".join(line.split()) for line in self.phrases_edit.toPlainText().splitlines() if line.strip()]

    def name(self) -> str:
        return " ".join(self.name_edit.text().lstrip("#").replace("_", " ").split())

    def values(self) -> tuple[str, list[str]] | None:
        """(name, phrases) to save, or None when the form is not filled in."""
        return (self.name(), self.phrases()) if self.name() and self.phrases() else None

    def _update(self) -> None:
        # OK with a complete concept, or with nothing typed (only removals to apply)
        ok = self.values() is not None or (not self.name() and not self.phrases() and bool(self.removed))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def _load(self, item) -> None:
        self.name_edit.setText(item.text())
        self.phrases_edit.setPlainText("\n".join(self.existing.get(item.text(), [])))

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.removed.append(item.text())
            self.list.takeItem(self.list.row(item))
            if self.name() == item.text():
                self.name_edit.clear()
                self.phrases_edit.clear()
        self._update()


# -- skipped files ---------------------------------------------------------------------------


class SkippedDialog(QDialog):
    """The files indexing could not use, and why. Double-click a row to open its folder."""

    def __init__(self, items: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items = [(os.fspath(path), reason) for path, reason in items]
        self.setWindowTitle("Skipped files")

        count = len(self.items)
        summary = QLabel(
            "No files were skipped."
            if not count
            else f"{count} file{'s were' if count != 1 else ' was'} not indexed. "
            "Double-click a row to open its folder.",
            self,
        )
        summary.setWordWrap(True)

        self.table = QTableWidget(count, 2, self)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep both ends of long paths
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        for row, (path, reason) in enumerate(self.items):
            file_item = QTableWidgetItem(shown(path))
            file_item.setToolTip(shown(path))
            file_item.setData(Qt.ItemDataRole.UserRole, path)
            reason_item = QTableWidgetItem(reason)
            reason_item.setToolTip(reason)
            self.table.setItem(row, 0, file_item)
            self.table.setItem(row, 1, reason_item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 380)
        self.table.setSortingEnabled(True)  # after filling, so rows are not re-sorted while inserted
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.cellDoubleClicked.connect(lambda row, _column: self.open_folder(row))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton("Copy list", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_list)
        copy.setEnabled(bool(count))
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(760, 420)

    def rows(self) -> list[tuple[str, str]]:
        """The rows in their current (possibly sorted) order."""
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]

    def as_text(self) -> str:
        """Tab-separated lines, which paste cleanly into a spreadsheet or a bug report."""
        return "\n".join(f"{path}\t{reason}" for path, reason in self.rows())

    def copy_list(self) -> None:
        QGuiApplication.clipboard().setText(self.as_text())

    def open_folder(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            open_containing_folder(item.data(Qt.ItemDataRole.UserRole))


# -- about -----------------------------------------------------------------------------------


def about_text() -> str:
    return (
        f"<h3>{APP_NAME} {__version__}</h3>"
        "<p>A desktop photo organizer whose search understands what is in the pictures.</p>"
        "<p>Released under the MIT licence.</p>"
        "<p>HEIC/HEIF photos are decoded with "
        '<a href="https://github.com/strukturag/libheif">libheif</a> (LGPL).</p>'
    )


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, f"About {APP_NAME}", about_text())
