"""The fast start: an index run that embedded photos with torch leaves the model exported to ONNX
in the models dir, and later commands (a text or image query) run it without importing torch or
open_clip, ranking as the torch model does; a damaged or foreign export is not used."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from app.cli import main
from app.core.library import Library
from app.core.model import fast_start
from app.core.model.embedder import Embedder, ModelSpec
from app.core.model.onnx_embedder import OnnxEmbedder
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]
# The CLI in a fresh interpreter, then which heavy modules it imported (on stderr's last line).
CLI_AND_MODULES = (
    "import json, sys; from app.cli import main; code = main(sys.argv[1:]); "
    "print(json.dumps(sorted(m for m in ('torch', 'open_clip') if m in sys.modules)), file=sys.stderr); "
    "sys.exit(code)"
)


def _env(model, data_dir: Path, **more) -> dict:
    return (
        dict(
            os.environ,
            PHOTOSEEK_DATA_DIR=str(data_dir),
            PHOTOSEEK_MODEL=str(model[0]),
            PHOTOSEEK_PRETRAINED=str(model[1]),
            PHOTOSEEK_BATCH_SIZE="8",
            PHOTOSEEK_OCR="0",
            PYTHONPATH=str(REPO),
            PHOTOSEEK_FAST_START="1",  # (off by default in the tests: tests/conftest.py)
        )
        | more
    )


def _cli(model, data_dir: Path, *args, **env: str) -> tuple[object, list[str], str]:
    """(stdout as JSON, heavy modules imported, stderr) of one command in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", CLI_AND_MODULES, *args],
        env=_env(model, data_dir, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1]), done.stderr


def _export_of(model, data_dir: Path) -> Path:
    """The fast start's folder, once the process an index run started to write it is done."""
    assert fast_start.wait_while_written(data_dir / "models", timeout_s=600)
    spec = ModelSpec(str(model[0]), str(model[1]))
    return fast_start.export_dir(data_dir / "models", spec.model_id)


def _torch_library(make_settings, model) -> Library:
    """The library as a process with the fast start off and the whole torch model loaded sees it."""
    library = Library(make_settings(model, fast_start=False))
    assert isinstance(library.load_model(), Embedder)
    return library


def test_an_index_run_leaves_an_export_that_queries_use_without_torch(trained_model, make_settings, photos, tmp_path):
    data = tmp_path / "data"
    report, _, stderr = _cli(trained_model, data, "index", str(photos), "--json")
    assert report["embedded"] == 12
    assert "Preparing fast start for" in stderr and "in the background" in stderr  # the command did not wait
    export = _export_of(trained_model, data)
    assert "fast start for" in (data / "models" / "onnx" / fast_start.LOG_FILE).read_text()
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["model_id"] == ModelSpec(str(trained_model[0]), str(trained_model[1])).model_id

    hits, modules, _ = _cli(trained_model, data, "search", "a red circle", "--json", "-n", "12")
    assert modules == []  # neither torch nor open_clip
    outside = tmp_path / "outside.jpg"
    Image.open(next(photos.glob("green_*.jpg"))).rotate(5).save(outside)
    similar, modules, _ = _cli(trained_model, data, "similar", str(outside), "--json", "-n", "12")
    assert modules == []

    library = _torch_library(make_settings, trained_model)
    expected = library.search("a red circle", n=12)
    assert [h["path"] for h in hits][:3] == [h.path for h in expected][:3]
    assert np.allclose([h["score"] for h in hits], [h.score for h in expected], atol=0.01)
    expected_similar = library.search_image(outside, n=12)
    assert [h["path"] for h in similar][:3] == [h.path for h in expected_similar][:3]
    library.close()


def test_with_the_fast_start_off_no_export_is_written(trained_model, photos, tmp_path):
    data = tmp_path / "data"
    _, _, stderr = _cli(trained_model, data, "index", str(photos), "--json", PHOTOSEEK_FAST_START="0")
    assert not _export_of(trained_model, data).exists()
    assert "fast start" not in stderr


def _index(model, data: Path, *folders: Path) -> None:
    """`photoseek index` in this process (PHOTOSEEK_FAST_START=1 set by the test)."""
    args = ["--data-dir", str(data), "--model", str(model[0]), "--pretrained", str(model[1])]
    assert main([*args, "index", *map(str, folders), "--json"]) == 0


def _text_tower(make_settings, model) -> object:
    library = Library(make_settings(model, fast_start=True))
    embedder = library.load_model(towers="text")
    library.close()
    return embedder


def test_a_damaged_or_foreign_export_is_not_used_and_the_next_index_run_replaces_it(
    trained_model, make_settings, photos, tmp_path, monkeypatch
):
    monkeypatch.setenv("PHOTOSEEK_OCR", "0")
    monkeypatch.setenv("PHOTOSEEK_FAST_START", "1")
    data = tmp_path / "data"
    _index(trained_model, data, photos)
    export = _export_of(trained_model, data)
    assert isinstance(_text_tower(make_settings, trained_model), OnnxEmbedder)

    text = export / "text.onnx"
    text.write_bytes(text.read_bytes()[:-100])  # cut short
    assert isinstance(_text_tower(make_settings, trained_model), Embedder)  # torch, not the damaged file
    more = tmp_path / "more"
    write_shapes(more, per_kind=1, seed=9)
    stale = export.parent / ".export-left-by-a-killed-process"
    stale.mkdir()
    os.utime(stale, (0, 0))
    _index(trained_model, data, more)  # torch embeds the new photos, then writes the export again
    _export_of(trained_model, data)
    assert not stale.exists()
    assert isinstance(_text_tower(make_settings, trained_model), OnnxEmbedder)

    manifest = json.loads((export / "manifest.json").read_text())
    (export / "manifest.json").write_text(json.dumps({**manifest, "model_id": "other-weights/none"}))
    assert isinstance(_text_tower(make_settings, trained_model), Embedder)
    (more / "red_circle_0.jpg").rename(more / "moved.jpg")
    Image.open(next(photos.glob("red_*.jpg"))).rotate(30).save(more / "new.jpg")
    _index(trained_model, data)
    assert (
        json.loads((_export_of(trained_model, data) / "manifest.json").read_text())["model_id"] == manifest["model_id"]
    )
    assert isinstance(_text_tower(make_settings, trained_model), OnnxEmbedder)


def test_an_export_by_another_open_clip_is_not_used(trained_model, make_settings, photos, tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOSEEK_OCR", "0")
    monkeypatch.setenv("PHOTOSEEK_FAST_START", "1")
    data = tmp_path / "data"
    _index(trained_model, data, photos)
    manifest_path = _export_of(trained_model, data) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["made_with"]["open_clip"] = "0.1"
    manifest_path.write_text(json.dumps(manifest))
    assert isinstance(_text_tower(make_settings, trained_model), Embedder)


def test_one_process_writes_the_fast_start_at_a_time_and_others_can_wait_for_it(tmp_path):
    models = tmp_path / "models"
    assert fast_start.wait_while_written(models, timeout_s=0)  # nothing was ever written here
    held = fast_start.claim_writing(models)
    assert held is not None
    assert fast_start.claim_writing(models) is None  # a second index run does not write beside it
    assert not fast_start.wait_while_written(models, timeout_s=0.2)
    os.close(held)
    assert fast_start.wait_while_written(models, timeout_s=0)
    again = fast_start.claim_writing(models)
    assert again is not None
    os.close(again)
