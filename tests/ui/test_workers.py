"""Background jobs on Qt's thread pools (app/ui/workers.py) and what they share with the core."""

from __future__ import annotations

from PySide6.QtCore import QThreadPool

from app.core.catalog import Catalog
from app.ui.workers import building_long_lived, run_task


def test_jobs_on_a_pool_thread_reuse_its_catalog_connection(qtbot, tmp_path):
    # A Qt pool thread gets a new Python thread state for every job: a connection kept in a
    # threading.local was opened again by each job and the old ones were left to the garbage
    # collector, which closed them in bursts while the window waited.
    catalog = Catalog(tmp_path / "catalog.db")
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
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


def test_the_collector_waits_for_every_build_then_freezes_what_was_built():
    import gc

    frozen = gc.get_freeze_count()
    with building_long_lived():
        with building_long_lived():  # a second job building at the same time
            built = [[i] for i in range(1000)]
        assert not gc.isenabled()  # the first one is still building
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(built)
