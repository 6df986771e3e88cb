"""The window prepares the fast start once its indexing is idle (a worker, a status-bar note), and
the next window's model comes from it, without torch (app/core/model/fast_start.py)."""

from __future__ import annotations

import pytest

from app.core.model import fast_start
from app.core.model.onnx_embedder import OnnxEmbedder
from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_the_window_prepares_the_fast_start_after_indexing_and_starts_from_it(
    qtbot, make_window, make_settings, trained_model, shapes
):
    settings = make_settings(trained_model, fast_start=True)
    window = make_window(settings=settings, folders=[shapes])
    wait_indexed(qtbot, window, 24, timeout=120000)
    qtbot.waitUntil(lambda: "Fast start ready" in window.statusBar().currentMessage(), timeout=180000)
    model_id = window.library.model_id
    assert fast_start.usable_export(settings.models_dir, model_id) is not None
    window.close()

    again = make_window(settings=settings)
    wait_ready(qtbot, again, timeout=60000)
    assert isinstance(again.library.load_model(), OnnxEmbedder)  # the model it started with
    again.search_bar.edit.setText("a red circle")
    again.search_bar.search_now()
    qtbot.waitUntil(lambda: "red_circle" in again.grid_model.paths()[0], timeout=30000)


def test_a_fast_start_model_loads_beside_the_photo_list_not_after_it(
    qtbot, make_window, make_settings, trained_model, shapes, monkeypatch
):
    """The fast start's model (ONNX Runtime: little Python) does not wait for the photo list, which
    at 100k photos is most of a start: here the list is held until the model is ready. Indexing
    still follows both."""
    import threading

    from app.core.model import export
    from app.core.model.embedder import ModelSpec
    from app.ui import jobs

    settings = make_settings(trained_model, fast_start=True)
    sample = sorted(p for p in shapes.glob("*.jpg") if p.stat().st_size)[:4]
    export.write_fast_start(ModelSpec(settings.model, settings.pretrained), settings.models_dir, sample)
    held, browse = threading.Event(), jobs.browse_job

    def held_browse(*args, **kwargs):
        held.wait(60)
        return browse(*args, **kwargs)

    monkeypatch.setattr(jobs, "browse_job", held_browse)
    window = make_window(settings=settings, folders=[shapes])
    try:
        qtbot.waitUntil(lambda: window.model_state == "ready", timeout=30000)
        assert isinstance(window.library.load_model(), OnnxEmbedder)
        assert not window.indexing  # (waits for the photo list)
    finally:
        held.set()
    wait_indexed(qtbot, window, 24, timeout=60000)
