"""The dialog that picks the search model and its weights together.

Both are checked at once, off the GUI thread, by building the model with the weights and embedding
one picture (app/core/model/model_check.py); the choice is saved only when that worked. Weights made for
another model are refused with the sentence that says so.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.model.model_check import check_pair
from ..core.model.weights import ModelUnavailable
from . import prefs
from .workers import Task, run_task

WEIGHT_FILES = "Model weights (*.safetensors *.pt *.pth *.bin *.ckpt);;All files (*)"
INTRO = (
    "Choose a CLIP model, by its open_clip name (such as ViT-B-32) or its config file, and the weights "
    "file made for it. PhotoSeek checks them together, by building the model and looking at one picture, "
    "before using them."
)


def banner_text(error: BaseException) -> tuple[str, str]:
    """(title, message) of the banner when the model could not be loaded: in words for people, with
    no exception names or settings variables (those go to the log)."""
    missing = getattr(error, "missing", None)
    still = "Until then, file names, folders, dates and text in photos can still be searched."
    if missing is not None:
        return (
            "No search model yet",
            (
                f"Searching by what is in your photos needs the model file {missing.file} ({missing.size_text}), "
                f"from {missing.source}. It could not be downloaded: this computer seems to be offline. Press Retry "
                f"once it is online, or download the file on another computer and pick it with the Choose Model button. {still}"
            ),
        )
    if isinstance(error, ModelUnavailable):
        return "The search model could not be loaded", f"{error}\n{still} The Choose Model button picks another model."
    return (
        "The search model could not be loaded",
        f"Something unexpected went wrong while loading it ({error}). {still}",
    )


class ModelDialog(QDialog):
    """Model (name or config file) + weights file, checked together; `chosen` once they work."""

    chosen = Signal(str, str)  # model, pretrained: saved in the preferences before it is emitted

    def __init__(
        self, model: str, pretrained: str, cache_dir: Path, device: str = "auto", parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Choose the Search Model")
        self.cache_dir, self.device = cache_dir, device
        self._task: Task | None = None  # the check running, if any
        self.model_edit = QLineEdit(model, self)
        self.weights_edit = QLineEdit(pretrained if Path(pretrained).suffix else "", self)
        self.weights_edit.setPlaceholderText("the weights file, e.g. open_clip_model.safetensors")
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.use_button = self.buttons.addButton("Check and Use", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setDefault(True)
        self.buttons.accepted.connect(self.check_and_use)
        self.buttons.rejected.connect(self.reject)
        self._lay_out()

    def _lay_out(self) -> None:
        intro = QLabel(INTRO, self)
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Model:", self._row(self.model_edit, "Config File…", self._browse_config, "configBrowse"))
        form.addRow("Weights:", self._row(self.weights_edit, "Weights File…", self._browse_weights, "weightsBrowse"))
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

    def _row(self, edit: QLineEdit, label: str, browse, name: str) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        button = QPushButton(label, box)
        button.setObjectName(name)
        button.clicked.connect(browse)
        row.addWidget(edit, 1)
        row.addWidget(button)
        return box

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a Model Config", str(Path.home()), "Model configs (*.json);;All files (*)"
        )
        if path:
            self.model_edit.setText(path)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the Weights", str(Path.home()), WEIGHT_FILES)
        if path:
            self.weights_edit.setText(path)

    def check_and_use(self) -> None:
        """Check the pair on a worker; saved and `chosen` only if it works, else the reason shown."""
        model, weights = self.model_edit.text().strip(), self.weights_edit.text().strip()
        if not model or not weights:
            self.status.setText("Choose both the model and its weights file.")
            return
        self.use_button.setEnabled(False)
        self.status.setText("Checking the model with these weights…")
        self._task = run_task(
            QThreadPool.globalInstance(),
            check_pair,
            model,
            weights,
            self.cache_dir,
            self.device,
            on_result=self._worked,
            on_error=self._refused,
        )

    def _worked(self, pair: tuple[str, str]) -> None:
        model, weights = pair
        self._task = None
        prefs.save_engine_values({"model": model, "pretrained": weights})
        self.status.setText("This model works with these weights.")
        self.chosen.emit(model, weights)
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self._task = None
        self.use_button.setEnabled(True)
        self.status.setText(str(error))

    def done(self, result: int) -> None:
        if self._task is not None:  # a check still running when the dialog closes is forgotten
            self._task.cancel()
        super().done(result)
