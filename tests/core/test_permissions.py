"""Real permissions (chmod 000), not an injected PermissionError: a subfolder that cannot be listed
and files that cannot be read are named in the run's skipped list with the reason, their photos
are kept as they were, and once the permissions are put right nothing is embedded again.

chmod 000 does not stop root (CAP_DAC_OVERRIDE), so when the tests run as root the indexer runs
without that capability (setpriv); where that cannot be done the test is skipped with the reason.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]
NO_OVERRIDE = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


def _probe(prefix: list[str], tmp_path: Path) -> str | None:
    """Why `prefix` does not run a process that chmod 000 stops, or None when it does."""
    locked = tmp_path / "probe"
    locked.write_text("x")
    locked.chmod(0)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", "import sys; open(sys.argv[1]).close()", str(locked)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        locked.chmod(0o644)
    if "PermissionError" in done.stderr:
        return None
    if done.returncode == 0:
        return "a process started with setpriv still reads a chmod 000 file"
    return f"setpriv cannot drop CAP_DAC_OVERRIDE here: {done.stderr.strip()[-200:]}"


@pytest.fixture
def unprivileged(tmp_path) -> list[str]:
    """The command prefix that runs the indexer as a process that chmod 000 stops; skips when none."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip(
            "running as root, where chmod 000 stops nothing, and setpriv (util-linux) is not "
            "there to drop CAP_DAC_OVERRIDE"
        )
    prefix = [setpriv, *NO_OVERRIDE]
    why = _probe(prefix, tmp_path)
    if why is not None:
        pytest.skip(f"running as root, where chmod 000 stops nothing, and {why}")
    return prefix


def _index(prefix: list[str], model, data: Path, *folders: Path) -> dict:
    env = dict(
        os.environ,
        PHOTOSEEK_DATA_DIR=str(data),
        PHOTOSEEK_MODEL=str(model[0]),
        PHOTOSEEK_PRETRAINED=str(model[1]),
        PHOTOSEEK_OCR="0",
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "app", "index", *map(str, folders), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _catalog(data: Path) -> tuple[list, list]:
    """Every file row and every stored embedding, as they are in the catalog."""
    with sqlite3.connect(data / "catalog.sqlite3") as db:
        return (
            db.execute("SELECT id, path, fingerprint, status FROM files ORDER BY id").fetchall(),
            db.execute("SELECT fingerprint, model_id, vector FROM embeddings ORDER BY 1, 2").fetchall(),
        )


def test_an_unlistable_folder_and_unreadable_files_are_named_and_their_photos_kept(
    unprivileged, random_model, photos, tmp_path
):
    data, trips = tmp_path / "data", photos / "trips"
    first = _index(unprivileged, random_model, data, photos)
    assert (first["new"], first["embedded"], first["skipped"]) == (12, 12, [])
    rows, embeddings = _catalog(data)

    edited = photos / "red_circle_0.jpg"  # replaced by a copy its user cannot read: it must be read again
    os.utime(edited, (edited.stat().st_mtime + 60,) * 2)
    write_shapes(tmp_path / "more", per_kind=1, seed=11)
    added = photos / "new.jpg"
    shutil.copy(tmp_path / "more" / "green_circle_0.jpg", added)
    locked = [trips, edited, added]
    for path in locked:
        path.chmod(0)
    try:
        report = _index(unprivileged, random_model, data)
    finally:
        trips.chmod(0o755)
        for path in (edited, added):
            path.chmod(0o644)
    reasons = {Path(s["path"]): s["reason"] for s in report["skipped"]}
    assert set(reasons) == {trips.resolve(), edited.resolve(), added.resolve()}
    assert all("Permission denied" in why for why in reasons.values()), reasons
    assert "its photos are kept" in reasons[trips.resolve()]
    assert (report["removed"], report["embedded"], report["new"], report["unavailable_folders"]) == (0, 0, 0, [])
    assert _catalog(data) == (rows, embeddings)  # the photos out of reach are kept as they were

    again = _index(unprivileged, random_model, data)  # permissions put right
    assert (again["new"], again["embedded"], again["removed"], again["skipped"]) == (1, 1, 0, [])
    after_rows, after_embeddings = _catalog(data)
    assert after_rows[:-1] == rows and Path(after_rows[-1][1]) == added.resolve()
    assert set(embeddings) <= set(after_embeddings) and len(after_embeddings) == len(embeddings) + 1
