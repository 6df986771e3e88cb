"""No model yet, said plainly: the banner offline, the dialog that checks a model and its weights
together before keeping them, and searching by names, folders, dates and text without a model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import wait_indexed
from tiny_clip import tiny_config, write_model, write_shapes

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _dialog(qtbot, model, weights, tmp_path):
    from app.ui.model_dialog import ModelDialog

    dialog = ModelDialog(str(model), "", tmp_path / "models", "cpu")
    qtbot.addWidget(dialog)
    dialog.weights_edit.setText(str(weights))
    dialog.show()
    return dialog


def test_the_model_dialog_refuses_weights_of_another_model_and_saves_only_a_pair_that_works(
    qtbot, trained_model, tmp_path
):
    from app.ui import prefs

    other_config, _ = write_model(tmp_path / "other", "tiny-other-clip", tiny_config(224, 32))
    dialog = _dialog(qtbot, other_config, trained_model[1], tmp_path)
    chosen = []
    dialog.chosen.connect(lambda *pair: chosen.append(pair))
    dialog.use_button.click()
    qtbot.waitUntil(lambda: dialog.use_button.isEnabled(), timeout=30000)
    assert dialog.status.text() == "These weights are for tiny-shapes-clip, the chosen model is tiny-other-clip."
    assert dialog.isVisible() and not chosen
    assert "model" not in prefs.persisted_engine_values()  # nothing broken was saved

    dialog.model_edit.setText(str(trained_model[0]))
    with qtbot.waitSignal(dialog.accepted, timeout=30000):
        dialog.use_button.click()
    assert chosen == [(str(trained_model[0]), str(trained_model[1]))]
    saved = prefs.persisted_engine_values()
    assert (saved["model"], saved["pretrained"]) == (str(trained_model[0]), str(trained_model[1]))


def test_the_model_dialog_says_when_the_weights_file_is_missing(qtbot, trained_model, tmp_path):
    from app.ui import prefs

    dialog = _dialog(qtbot, trained_model[0], tmp_path / "nowhere" / "weights.pt", tmp_path)
    dialog.use_button.click()
    qtbot.waitUntil(lambda: dialog.use_button.isEnabled(), timeout=30000)
    assert "does not exist" in dialog.status.text() and "model" not in prefs.persisted_engine_values()


def _library_of_two_folders(root: Path) -> Path:
    """trip/ (photos of now) and home/ (photos of 2015): 12 shape pictures each."""
    write_shapes(root / "trip", per_kind=1, size=96)
    write_shapes(root / "home", per_kind=1, size=96, seed=2)
    old = 1_430_000_000  # April 2015
    for photo in (root / "home").iterdir():
        os.utime(photo, (old, old))
    return root


def _search(qtbot, window, text: str) -> set[str]:
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        window.search_bar.edit.setText(text)
        window.search_bar.search_now()
    return {f"{Path(p).parent.name}/{Path(p).name}" for p in window.grid_model.paths()}


def test_offline_the_banner_names_the_file_and_search_still_finds_names_folders_dates_and_text(
    qtbot, make_window, make_settings, trained_model, tmp_path
):
    """The default model's weights cannot be downloaded here (the tests run offline)."""
    from app.core.config import DEFAULT_MODEL, DEFAULT_PRETRAINED

    photos = _library_of_two_folders(tmp_path / "photos")
    settings = make_settings((DEFAULT_MODEL, DEFAULT_PRETRAINED))
    window = make_window(settings=settings, folders=[photos])
    qtbot.waitUntil(lambda: window.model_state == "failed", timeout=60000)
    message = window.banner.message.text()
    assert window.banner.title.text() == "No search model yet"
    assert "open_clip_model.safetensors" in message and " MB" in message
    assert "https://huggingface.co/laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K/" in message
    assert "offline" in message and "Choose Model" in message
    for developer_words in ("Error", "Exception", "PHOTOSEEK_", "HF_", "Details", "--pretrained"):
        assert developer_words not in message
    assert "still work" in window.search_bar.edit.placeholderText()

    wait_indexed(qtbot, window, 24)
    assert _search(qtbot, window, "red circle") == {"trip/red_circle_0.jpg", "home/red_circle_0.jpg"}
    assert _search(qtbot, window, "folder:trip") == {f"trip/{p.name}" for p in (photos / "trip").iterdir()}
    assert _search(qtbot, window, "before:2016") == {f"home/{p.name}" for p in (photos / "home").iterdir()}
    assert _search(qtbot, window, '"square" after:2020') == {f"trip/{c}_square_0.jpg" for c in _colours(photos)}
    assert window.model_state == "failed" and "No search model" in window.banner.title.text()


def _colours(photos: Path) -> set[str]:
    return {p.name.split("_")[0] for p in (photos / "trip").iterdir()}
