"""Never lose the library: two `photoseek index` processes on one data dir, SIGKILLed at random
moments (starting, waiting for the other, scanning, embedding, committing, saving the index,
backing up), round after round; then one run to the end. Whatever the moments, the library is
whole: every photo once (by path and by content), each with its embedding, the saved index holds
exactly the catalog's photos with the catalog's vectors, the catalog passes its integrity check
and no temp file is left.

The kills are random (a seeded schedule of delays, but the machine decides what each delay
catches); the assertions hold at any moment a process can die, which is the point.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.ingest import scanner
from app.core.store.catalog import Catalog
from app.core.store.index import VectorIndex
from pictures import scene
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 6
FIRST, PER_ROUND = 16, 4  # photos in the library at first, and joining it each round: 40 at the end
STARTED = "settings of"  # logged (-v) as the model loads: the process is past its imports
MAX_DELAY_S = 1.5  # a kill lands this long after STARTED at most
WAIT_S = 240  # the most any process is waited for: a test never hangs


@pytest.fixture
def pool(tmp_path) -> list[Path]:
    """40 small photos, every one different, outside the library (they join it round by round)."""
    folder = tmp_path / "pool"
    write_shapes(folder, per_kind=2, size=96)  # 24
    write_shapes(folder / "more", per_kind=1, seed=3, size=96)  # 12
    for k in range(4):
        scene((160, 120), seed=k).save(folder / "more" / f"scene_{k}.jpg", quality=90)
    return sorted(folder.rglob("*.jpg"))


def _change(library: Path, pool: list[Path], step: int, rng: random.Random) -> None:
    """What a user does between two runs, so that every round has work to be killed in: photos
    come in (PER_ROUND of them, in a new folder) and one photo is moved to another folder."""
    arrived = library / f"import_{step}"
    arrived.mkdir(parents=True)
    for photo in pool[FIRST + PER_ROUND * (step - 1) : FIRST + PER_ROUND * step]:
        photo.rename(arrived / f"{photo.parent.name}_{photo.name}")
    moved = rng.choice(sorted(library.rglob("*.jpg")))
    moved.rename(library / f"moved_{step}_{moved.name}")


class Indexer:
    """One `photoseek index` process, its output read as it comes (a full pipe would stall it)."""

    def __init__(self, env: dict, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "-v", "index", *args, "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started = threading.Event()
        self.lines: list[str] = []
        self.out: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=lambda: self.out.extend(self.proc.stdout), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            if STARTED in line:
                self.started.set()
        self.started.set()  # it ended: nothing more to wait for

    def kill_after(self, delay: float) -> None:
        """SIGKILL it `delay` s after it started working (if it is still running by then)."""
        self.started.wait(WAIT_S)
        time.sleep(delay)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def finish(self) -> tuple[int, str]:
        """Its exit status and output, once it ends (killed or done)."""
        try:
            self.proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:  # stuck: fail, and leave nothing running
            self.proc.kill()
            self.proc.wait(WAIT_S)
            raise
        for reader in self._readers:
            reader.join(WAIT_S)
        return self.proc.returncode, "".join(self.out)


def _env(model, data: Path) -> dict:
    return dict(
        os.environ,
        PHOTOSEEK_DATA_DIR=str(data),
        PHOTOSEEK_MODEL=str(model[0]),
        PHOTOSEEK_PRETRAINED=str(model[1]),
        PHOTOSEEK_BATCH_SIZE="4",
        PHOTOSEEK_THREADS="2",
        PHOTOSEEK_OCR="0",
        PYTHONPATH=str(REPO),
    )


def _round(env: dict, rng: random.Random, folder: Path) -> list[int]:
    """Two indexers at once; each is killed after a random delay, or (one time in four) let be."""
    delays = [rng.uniform(0, MAX_DELAY_S) if rng.random() < 0.75 else None for _ in range(2)]
    indexers = [Indexer(env, str(folder)) for _ in delays]
    killers = [threading.Thread(target=i.kill_after, args=(d,)) for i, d in zip(indexers, delays) if d is not None]
    for killer in killers:
        killer.start()
    for killer in killers:
        killer.join(WAIT_S)
    try:
        codes = [i.finish()[0] for i in indexers]
    finally:  # one stuck: the other is not left running either
        for i in indexers:
            if i.proc.poll() is None:
                i.proc.kill()
    for code, indexer in zip(codes, indexers):  # a run that was not killed ends well
        assert code in (0, -signal.SIGKILL), f"kills after {delays} s: " + "".join(indexer.lines[-20:])
    return codes


def _photos_on_disk(folder: Path) -> dict[str, str]:
    return {str(p.resolve()): scanner.fingerprint(str(p)) for p in folder.rglob("*.jpg")}


def test_random_kills_of_two_indexers_never_lose_or_double_a_photo(random_model, pool, tmp_path):
    data, library = tmp_path / "data", tmp_path / "photos"
    env = _env(random_model, data)
    rng = random.Random(22)
    library.mkdir()
    for photo in pool[:FIRST]:
        photo.rename(library / f"{photo.parent.name}_{photo.name}")
    for step in range(ROUNDS):
        if step:
            _change(library, pool, step, rng)
        _round(env, rng, library)
    _change(library, pool, ROUNDS, rng)  # the last photos, for the final run alone

    final = Indexer(env)
    code, out = final.finish()
    assert code == 0, "".join(final.lines[-20:])
    assert json.loads(out)["skipped"] == []
    doctor = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=WAIT_S
    )
    info = json.loads(doctor.stdout)
    assert (info["photos"], info["embedded"], info["index_size"]) == (40, 40, 40)
    assert info["index_ok"] and info["catalog_integrity"] == "ok"

    on_disk = _photos_on_disk(library)
    assert len(on_disk) == 40
    with sqlite3.connect(data / "catalog.sqlite3") as db:
        rows = db.execute("SELECT path, fingerprint, status FROM files").fetchall()
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(p for p, _, _ in rows) == sorted(on_disk)  # each photo once, by path
    assert sorted(fp for _, fp, _ in rows) == sorted(on_disk.values())  # ... and by content
    assert {status for _, _, status in rows} == {"ok"}
    _assert_saved_index_is_the_catalogs(data, info["model_id"])
    assert sorted(data.rglob("*.tmp")) == []  # what killed writers left was cleaned up


def _assert_saved_index_is_the_catalogs(data: Path, model_id: str) -> None:
    """The index file the final run saved vouches for this catalog state, and holds exactly the
    catalog's photos with the catalog's own vectors."""
    catalog = Catalog(data / "catalog.sqlite3")
    try:
        ids, vectors = catalog.vectors(model_id)
        saved = VectorIndex.load(data / "index", model_id, catalog.generation())
    finally:
        catalog.close()
    assert saved is not None
    assert sorted(saved.ids().tolist()) == sorted(ids.tolist()) and len(ids) == 40
    for file_id, truth in zip(ids.tolist(), vectors):  # the catalog keeps float16, the index float32
        np.testing.assert_allclose(saved.vector(file_id), truth, atol=1e-3)
