""" "Open with PhotoSeek" from a file manager: the desktop entry runs `photoseek-gui %F` with a photo,
and the window opens on that photo's folder with the photo in the viewer."""

from __future__ import annotations

import argparse

from helpers import wait_ready


def _window_for(qtbot, paths, trained_model, tmp_path, monkeypatch):
    from app.ui.main import create_window

    monkeypatch.setenv("PHOTOSEEK_OCR", "0")  # reading text costs seconds and is not the point here
    config, checkpoint = trained_model
    args = argparse.Namespace(data_dir=tmp_path / "data", model=str(config), pretrained=str(checkpoint), folders=paths)
    window = create_window(args)
    qtbot.addWidget(window)
    window.show()
    return window


def _viewer_shows(window, photo) -> bool:
    return window.preview is not None and window.preview.isVisible() and window.preview.current_path() == str(photo)


def test_a_photo_given_adds_its_folder_and_opens_in_the_viewer(qtbot, shapes, trained_model, tmp_path, monkeypatch):
    photo = shapes / "blue_square_1.jpg"
    window = _window_for(qtbot, [photo], trained_model, tmp_path, monkeypatch)
    try:
        qtbot.waitUntil(lambda: _viewer_shows(window, photo), timeout=30000)
        assert list(window.screen_model.folders.values()) == [shapes.resolve()]
        assert window.grid_model.paths()[window.grid.currentIndex().row()] == str(photo)  # the grid follows
        wait_ready(qtbot, window, timeout=120000)  # (generous: model load and indexing on a busy machine)
        assert _viewer_shows(window, photo)  # still the same photo once indexing is done
    finally:
        window.close()


def test_a_photo_of_a_library_folder_opens_without_adding_it_again(qtbot, shapes, trained_model, tmp_path, monkeypatch):
    from tiny_clip import write_shapes

    other = tmp_path / "other"
    write_shapes(other, per_kind=1, size=64)
    first = _window_for(qtbot, [shapes, other], trained_model, tmp_path, monkeypatch)
    wait_ready(qtbot, first, timeout=120000)
    first.close()

    photo = other / "red_circle_0.jpg"
    window = _window_for(qtbot, [photo], trained_model, tmp_path, monkeypatch)
    try:
        qtbot.waitUntil(lambda: _viewer_shows(window, photo), timeout=30000)
        assert sorted(window.screen_model.folders.values()) == sorted([shapes.resolve(), other.resolve()])
    finally:
        window.close()


def test_a_photo_in_a_subfolder_of_a_library_folder_adds_no_folder(qtbot, shapes, trained_model, tmp_path, monkeypatch):
    # ~/Pictures is in the library and the user opens ~/Pictures/2024/x.jpg: no "2024" folder appears
    from tiny_clip import write_shapes

    library_folder = tmp_path / "Pictures"
    write_shapes(library_folder / "2024", per_kind=1, size=64)
    first = _window_for(qtbot, [library_folder], trained_model, tmp_path, monkeypatch)
    wait_ready(qtbot, first, timeout=120000)
    first.close()

    photo = library_folder / "2024" / "red_circle_0.jpg"
    window = _window_for(qtbot, [photo], trained_model, tmp_path, monkeypatch)
    try:
        qtbot.waitUntil(lambda: _viewer_shows(window, photo), timeout=30000)
        wait_ready(qtbot, window, timeout=120000)
        assert list(window.screen_model.folders.values()) == [library_folder.resolve()]
    finally:
        window.close()


def test_the_application_names_its_desktop_entry(qtbot):
    # Wayland shells find the window's menu entry and icon (packaging/*.desktop) by this id
    from app.ui.main import create_app

    assert create_app().desktopFileName() == "io.github.photoseek.PhotoSeek"
