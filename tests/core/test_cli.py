"""The command line end to end, with the same settings a user would give it."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_text_finds_the_right_pictures(capsys, model_env, trained_model, tmp_path):
    """With a CLIP trained on captioned shapes, "a red circle" ranks red circles above the rest."""
    model_env(trained_model)
    write_shapes(tmp_path / "lib", per_kind=3, seed=5)
    code, out, _ = run_cli(capsys, "index", str(tmp_path / "lib"), "--json")
    assert code == 0 and json.loads(out)["embedded"] == 36
    for query, expected in [("a red circle", "red_circle"), ("a blue square", "blue_square")]:
        code, out, _ = run_cli(capsys, "search", query, "-n", "36", "--json")
        hits = json.loads(out)
        assert code == 0 and len(hits) == 36
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
        top = [Path(h["path"]).name.rsplit("_", 1)[0] for h in hits[:3]]
        assert top == [expected] * 3, (query, top)


def test_similar_with_a_library_photo_and_an_outside_image(capsys, model_env, trained_model, tmp_path):
    model_env(trained_model)
    write_shapes(tmp_path / "lib", per_kind=3, seed=5)
    run_cli(capsys, "index", str(tmp_path / "lib"))
    code, out, _ = run_cli(capsys, "similar", str(tmp_path / "lib" / "yellow_triangle_0.jpg"), "-n", "2", "--json")
    hits = [Path(h["path"]).name for h in json.loads(out)]
    assert code == 0 and "yellow_triangle_0.jpg" not in hits
    assert all(h.startswith("yellow_triangle") for h in hits)
    outside = write_shapes(tmp_path / "outside", per_kind=1, seed=99)
    query = next(p for p in outside if "green_circle" in p)
    code, out, _ = run_cli(capsys, "similar", query, "-n", "2", "--json")
    assert code == 0 and all("green_circle" in h["path"] for h in json.loads(out))


def test_index_reports_skipped_files_and_doctor_is_healthy(capsys, model_env, random_model, tmp_path):
    model_env(random_model)
    write_shapes(tmp_path / "lib", per_kind=1)
    (tmp_path / "lib" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    code, out, _ = run_cli(capsys, "index", str(tmp_path / "lib"), "--json")
    report = json.loads(out)
    assert code == 0 and report["new"] == 13 and report["embedded"] == 12
    assert [Path(s["path"]).name for s in report["skipped"]] == ["broken.png"] and report["skipped"][0]["reason"]
    code, out, _ = run_cli(capsys, "doctor", "--json")
    info = json.loads(out)
    assert info["index_ok"] and info["photos"] == 12 and info["skipped"] == 1 and info["catalog_integrity"] == "ok"
    code, out, _ = run_cli(capsys, "index")
    assert "0 new" in out and "13 unchanged" in out and "0 embedded" in out


def test_errors_are_clear(capsys, model_env, random_model, tmp_path):
    model_env(random_model)
    code, _, err = run_cli(capsys, "similar", str(tmp_path / "nope.jpg"))
    assert code == 2 and "no such file" in err
    code, _, err = run_cli(capsys, "index", str(tmp_path / "missing-folder"))
    assert code == 2 and "not a folder" in err
    code, _, err = run_cli(capsys, "--model", "No-Such-Model", "--pretrained", "none", "search", "x")
    assert code == 3 and "unknown model" in err


def _env(model, data_dir):
    env = dict(
        os.environ,
        PHOTOSEEK_DATA_DIR=str(data_dir),
        PHOTOSEEK_MODEL=str(model[0]),
        PHOTOSEEK_PRETRAINED=str(model[1]),
        PHOTOSEEK_BATCH_SIZE="8",
        PYTHONPATH=str(REPO),
    )
    return env


def test_entry_point_runs_headless(random_model, tmp_path):
    write_shapes(tmp_path / "lib", per_kind=1)
    env = _env(random_model, tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "app", "index", str(tmp_path / "lib"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["embedded"] == 12


def test_killed_mid_run_resumes_without_duplicates(random_model, tmp_path):
    """SIGKILL while indexing loses at most the batch in flight; the next run completes cleanly."""
    from app.core.store.catalog import Catalog

    lib = tmp_path / "lib"
    write_shapes(lib, per_kind=12, size=512)  # 144 photos, 18 batches of 8
    data = tmp_path / "data"
    env = _env(random_model, data)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "index", str(lib)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    catalog_file = data / "catalog.sqlite3"
    deadline = time.monotonic() + 240
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if catalog_file.exists():
            try:
                with sqlite3.connect(catalog_file, timeout=1) as db:
                    committed = db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
            except sqlite3.Error:
                continue
            if committed >= 16:
                break
    if proc.poll() is not None:
        pytest.fail("the indexer finished before it could be killed; make the library bigger")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 16 <= committed < 144
    done = subprocess.run(
        [sys.executable, "-m", "app", "index", "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # Every committed photo is kept; only the rest is embedded now.
    assert report["unchanged"] >= 16 and report["unchanged"] + report["embedded"] == 144
    assert report["skipped"] == []
    catalog = Catalog(catalog_file)
    assert catalog.integrity_check() == "ok"
    assert catalog.db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM files").fetchone() == (144, 144)
    assert catalog.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 144
    doctor = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    info = json.loads(doctor.stdout)
    assert info["index_ok"] and info["index_size"] == 144 == info["embedded"]


def test_failures_are_one_plain_line_with_the_cause(capsys, model_env, random_model, tmp_path):
    """No traceback: a file that is not a picture, a damaged catalog, an unexpected error each end in
    one line naming the cause, with the exit code `--help` documents."""
    env = model_env(random_model)
    text = tmp_path / "notes.txt"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    code, out, err = run_cli(capsys, "similar", str(text))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"photoseek: cannot use {text}: not an image, or a format PhotoSeek cannot read"
    ]

    catalog = Path(env["PHOTOSEEK_DATA_DIR"]) / "catalog.sqlite3"
    catalog.write_bytes(b"not a database, garbage header " * 200)
    code, _, err = run_cli(capsys, "search", "dog")
    assert code == 4 and len(err.strip().splitlines()) == 1
    assert str(catalog) in err and "file is not a database" in err and "Traceback" not in err
    assert catalog.read_bytes().startswith(b"not a database")  # left as it was

    catalog.unlink()
    from app.core.library import Library

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Library, "search", broken)
        code, _, err = run_cli(capsys, "search", "dog")
    assert code == 1 and err.strip().splitlines()[-1].startswith("photoseek: unexpected error, RuntimeError: boom")
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "concepts", "tags", str(text))  # not in the library: bad input
    assert code == 2 and err.strip() == f"photoseek: not in the library: {text}"
    assert (
        "exit codes:"
        in subprocess.run([sys.executable, "-m", "app", "--help"], cwd=REPO, capture_output=True, text=True).stdout
    )


def test_an_emptied_catalog_is_refused_not_taken_for_a_new_library(capsys, model_env, random_model, tmp_path):
    env = model_env(random_model)
    write_shapes(tmp_path / "lib", per_kind=1)
    assert run_cli(capsys, "index", str(tmp_path / "lib"))[0] == 0
    catalog = Path(env["PHOTOSEEK_DATA_DIR"]) / "catalog.sqlite3"
    catalog.write_bytes(b"")  # what a crash, a full disk or a sync tool can leave
    index_files = {p: p.read_bytes() for p in (Path(env["PHOTOSEEK_DATA_DIR"]) / "index").iterdir()}
    code, _, err = run_cli(capsys, "index")
    assert code == 4 and len(err.strip().splitlines()) == 1 and "empty (0 bytes)" in err
    assert catalog.stat().st_size == 0  # nothing written over it
    assert {p: p.read_bytes() for p in index_files} == index_files
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "catalog.sqlite3").write_bytes(b"")  # a data dir that never held a library starts anew
    code, _, _ = run_cli(capsys, "--data-dir", str(fresh), "index", str(tmp_path / "lib"))
    assert code == 0
