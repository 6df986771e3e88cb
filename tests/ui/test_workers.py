"""Background jobs on Qt's thread pools (app/ui/workers.py) and what they share with the core."""

from __future__ import annotations

import os

from PySide6.QtCore import QThreadPool

from app.core.store.catalog import Catalog
from app.ui.workers import run_task


def test_jobs_on_a_pool_thread_reuse_its_catalog_connection(qtbot, tmp_path):
    # A Qt pool thread gets a new Python thread state for every job: a connection kept in a
    # threading.local was opened again by each job and the old ones were left to the garbage
    # collector, which closed them in bursts while the window waited.
    catalog = Catalog(tmp_path / "catalog.db")
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    pool.setExpiryTimeout(-1)  # as the window's pools
    used = []

    def job():
        assert catalog.db.execute("SELECT COUNT(*) FROM files").fetchone() == (0,)
        used.append(catalog.db)

    for n in range(1, 4):  # one after the other, on the pool's one thread (waitForDone would end it)
        run_task(pool, job)
        qtbot.waitUntil(lambda: len(used) == n, timeout=10_000)
    pool.waitForDone()
    assert all(conn is used[0] for conn in used)
    assert used[0] is not catalog.db  # the GUI thread has its own
    catalog.close()


WORKER_CALLS = r"""
import sys
from pathlib import Path
import PySide6.QtCore, PySide6.QtGui, PySide6.QtWidgets
from app.ui.main import create_app
from app.ui import dialogs, grid, jobs, window
from PySide6.QtCore import QSize

app = create_app()
modules = (PySide6.QtCore, PySide6.QtGui, PySide6.QtWidgets)
corners = grid.corner_mask(64, 12.0)  # made on the GUI thread (ThumbnailLoader.set_side)
big_corners = grid.corner_mask(400, 6.0)
made = [set(vars(m)) for m in modules]
photo = sys.argv[1]
grid.read_square_thumbnail(Path(photo), 64)
grid.cell_image(Path(photo), 64, corners, 2.0)
grid.cell_image(Path(photo), 400, big_corners)  # a photo smaller than its cell: scaled up
grid.cell_image(Path(photo), 64)  # square corners
jobs.qimage_to_pil(jobs.read_image(photo))
dialogs.read_image(photo, QSize(200, 200))
try:
    grid.read_square_thumbnail(Path(photo + ".missing"), 64)
except OSError:
    pass
print(sorted(set().union(*(set(vars(m)) - before for m, before in zip(modules, made)))))
"""


def test_worker_calls_make_no_qt_types(tmp_path):
    # A fresh interpreter, as the app starts: every Python type the calls made on worker threads
    # need exists once the window's modules are imported (see app/ui/workers.py).
    import subprocess
    import sys

    from PIL import Image

    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (120, 80), "teal").save(photo)
    out = subprocess.run(
        [sys.executable, "-c", WORKER_CALLS, str(photo)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
