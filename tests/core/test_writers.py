"""Several PhotoSeek processes on one data dir: one indexes at a time, the others wait; files that
several may write at once never collide; what a killed writer left is cleaned up."""

import json
import os
import select
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from filelock import FileLock

from app.core.ingest.indexer import Control
from app.core.library import WRITER_LOCK, Library
from app.core.store.catalog import Catalog
from app.core.store.index import VectorIndex
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]
WAITING = "another PhotoSeek is indexing this library"


def _env(model, data_dir) -> dict:
    return dict(
        os.environ,
        PHOTOSEEK_DATA_DIR=str(data_dir),
        PHOTOSEEK_MODEL=str(model[0]),
        PHOTOSEEK_PRETRAINED=str(model[1]),
        PHOTOSEEK_BATCH_SIZE="8",
        PHOTOSEEK_OCR="0",
        PYTHONPATH=str(REPO),
    )


def _wait_for_line(proc: subprocess.Popen, text: str, timeout: float = 240) -> None:
    """Read `proc`'s stderr until a line holds `text` (fails at its end or after `timeout` s)."""
    seen = []
    while True:
        ready, _, _ = select.select([proc.stderr], [], [], timeout)
        assert ready, f"no {text!r} within {timeout} s: {seen}"
        line = proc.stderr.readline()
        assert line, f"exited ({proc.wait()}) without {text!r}: {seen}"
        if text in line:
            return
        seen.append(line)


def test_two_indexers_on_one_data_dir_do_the_work_once(random_model, tmp_path):
    lib, data = tmp_path / "lib", tmp_path / "data"
    write_shapes(lib, per_kind=2, size=128)  # 24 photos
    data.mkdir()
    env = _env(random_model, data)
    held = FileLock(data / WRITER_LOCK)
    held.acquire()  # a third writer holds the library, so the two surely overlap
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "index", str(lib), "--json"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            _wait_for_line(proc, WAITING)  # both say so, and wait
    finally:
        held.release()
    outs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outs]
    reports = [json.loads(out) for out, _ in outs]
    assert sorted(r["embedded"] for r in reports) == [0, 24]  # the second found it all done
    assert sorted(r["unchanged"] for r in reports) == [0, 24]
    with sqlite3.connect(data / "catalog.sqlite3") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM files").fetchone() == (24, 24)
        assert db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 24
    doctor = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    info = json.loads(doctor.stdout)
    assert info["index_ok"] and info["index_size"] == 24


def test_an_indexer_waiting_for_another_can_be_cancelled(make_settings, random_model, tmp_path):
    write_shapes(tmp_path / "lib", per_kind=1, size=64)
    library = Library(make_settings(random_model))
    held = FileLock(library.settings.data_dir / WRITER_LOCK)
    held.acquire()
    control, phases, result = Control(), [], []
    worker = threading.Thread(
        target=lambda: result.append(
            library.update([tmp_path / "lib"], progress=lambda p: phases.append(p.phase), control=control)
        )
    )
    worker.start()
    try:
        while "waiting" not in phases and worker.is_alive():
            time.sleep(0.05)
        control.cancel()
        worker.join(60)
    finally:
        held.release()
        library.close()
    assert phases == ["waiting"] and result[0].cancelled
    assert Catalog(library.settings.catalog_path).count() == 0  # it did nothing while it waited


SAVER = """
import sys
from pathlib import Path
import numpy as np
from app.core.store.index import VectorIndex
vectors = np.random.default_rng(int(sys.argv[2])).standard_normal((50, 8)).astype(np.float32)
index = VectorIndex(8)
index.add(np.arange(50), vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
for _ in range(150):
    index.save(Path(sys.argv[1]), "model", 7)
"""


def test_concurrent_index_saves_from_two_processes_never_fail(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(tmp_path), str(seed)], env=env, stderr=subprocess.PIPE, text=True
        )
        for seed in (1, 2)
    ]
    errors = [proc.communicate(timeout=300)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    loaded = VectorIndex.load(tmp_path, "model", 7)
    assert loaded is not None and len(loaded) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.faiss", "model.json"]  # no temp left


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_files_of_killed_writers_are_removed_on_start(library, tmp_path):
    write_shapes(tmp_path / "lib", per_kind=1, size=64)
    s, dead = library.settings, _dead_pid()
    stale = [
        s.index_dir / f"model.faiss.{dead}.k2j4ab_x.tmp",
        s.index_dir / "model.faiss.tmp",  # older name
        s.thumbs_dir / "ab" / f"ab12.{dead}.1407.tmp",
        s.data_dir / "concepts" / f"scores.npz.{dead}.q1.tmp",
    ]
    live = s.thumbs_dir / "cd" / f"cd34.{os.getpid()}.1407.tmp"  # a thumbnail this process is writing
    for path in [*stale, live]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    library.update([tmp_path / "lib"])
    assert [p for p in stale if p.exists()] == [] and live.exists()
