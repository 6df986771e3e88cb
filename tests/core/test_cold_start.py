"""A command loads only what it needs: no model for a rescan that finds nothing to embed, one
tower for a query, the precision measured once per model, a repeated query without a model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from app.core.library import Library
from app.core.model.embedder import Embedder
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]

# The CLI in a fresh interpreter, then which heavy modules it imported (on stderr's last line).
CLI_AND_MODULES = (
    "import sys; from app.cli import main; code = main(sys.argv[1:]); "
    "print(json.dumps(sorted(m for m in ('torch', 'open_clip', 'faiss') if m in sys.modules)), file=sys.stderr); "
    "sys.exit(code)"
)


def _cli(model, data_dir, *args) -> tuple[dict, list[str]]:
    env = dict(
        os.environ,
        PHOTOSEEK_DATA_DIR=str(data_dir),
        PHOTOSEEK_MODEL=str(model[0]),
        PHOTOSEEK_PRETRAINED=str(model[1]),
        PHOTOSEEK_BATCH_SIZE="8",
        PHOTOSEEK_OCR="0",
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-c", "import json; " + CLI_AND_MODULES, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1])


def test_a_rescan_with_nothing_to_embed_loads_no_model(random_model, tmp_path):
    photos = tmp_path / "photos"
    write_shapes(photos, per_kind=1)
    first, _ = _cli(random_model, tmp_path / "data", "index", str(photos), "--json")
    assert first["embedded"] == 12 and first["model_loaded"] is True

    again, modules = _cli(random_model, tmp_path / "data", "index", "--json")
    assert again["unchanged"] == 12 and again["model_loaded"] is False
    assert "torch" not in modules and "open_clip" not in modules and "faiss" not in modules

    for p in sorted(photos.glob("*.jpg"))[:4]:  # renames are matched by content: still no model
        p.rename(p.with_name("renamed_" + p.name))
    renamed, modules = _cli(random_model, tmp_path / "data", "index", "--json")
    assert renamed["moved"] == 4 and renamed["embedded"] == 0 and renamed["model_loaded"] is False
    assert "torch" not in modules

    write_shapes(tmp_path / "more", per_kind=1, seed=7)
    new = next((tmp_path / "more").glob("*.jpg"))
    new.rename(photos / "new.jpg")
    added, _ = _cli(random_model, tmp_path / "data", "index", "--json")
    assert added["new"] == 1 and added["embedded"] == 1 and added["model_loaded"] is True


def _indexed(make_settings, model, photos, **settings) -> Library:
    library = Library(make_settings(model, **settings))
    library.update([photos])
    return library


def test_a_text_query_loads_only_the_text_tower_and_ranks_as_the_whole_model(make_settings, trained_model, photos):
    _indexed(make_settings, trained_model, photos).close()
    library = Library(make_settings(trained_model))  # a fresh process: nothing loaded yet
    hits = library.search("a red circle", n=None)
    assert library.load_model(towers="text").towers == "text"
    assert library.load_model(towers="text").model.visual is None  # the image tower was let go

    whole = Embedder(library.spec, library.settings.models_dir, "cpu")
    expected = library.search_vector(whole.embed_texts(["a red circle"])[0])
    assert [h.id for h in hits] == [h.id for h in expected]
    assert np.allclose([h.score for h in hits], [h.score for h in expected], atol=1e-5)
    assert Path(hits[0].path).name.startswith("red_circle")
    library.close()


def test_an_image_query_loads_only_the_image_tower_and_ranks_as_the_whole_model(
    make_settings, trained_model, photos, tmp_path
):
    _indexed(make_settings, trained_model, photos, precision="fp32").close()
    outside = tmp_path / "outside.jpg"
    Image.open(next(photos.glob("green_*.jpg"))).rotate(5).save(outside)
    library = Library(make_settings(trained_model, precision="fp32"))
    hits = library.search_image(outside, n=None)
    embedder = library.load_model(towers="image")
    assert embedder.towers == "image" and getattr(embedder.model, "transformer", None) is None

    whole = Embedder(library.spec, library.settings.models_dir, "cpu", precision="fp32")
    expected = library.search_vector(whole.embed_images([_decoded(outside, whole.image_size)])[0])
    assert [h.id for h in hits] == [h.id for h in expected]
    library.close()


def test_an_image_with_words_loads_the_model_once_and_ranks_as_the_whole_model(
    make_settings, trained_model, photos, tmp_path, monkeypatch
):
    """Not the image tower first and then the whole model again for the words."""
    from app.core import library as library_module

    _indexed(make_settings, trained_model, photos, precision="fp32").close()
    outside = tmp_path / "outside.jpg"
    Image.open(next(photos.glob("green_*.jpg"))).rotate(5).save(outside)
    library = Library(make_settings(trained_model, precision="fp32"))
    loads, load = [], library_module.load_embedder
    monkeypatch.setattr(library_module, "load_embedder", lambda *a, **k: loads.append(k["towers"]) or load(*a, **k))
    hits = library.search("a red circle", n=None, image=outside)
    assert loads == ["both"]

    library.close()

    again = Library(make_settings(trained_model, precision="fp32"))  # the words are cached now
    loads.clear()
    assert [h.id for h in again.search("a red circle", n=None, image=outside)] == [h.id for h in hits]
    assert loads == ["image"]
    again.close()

    whole = Library(make_settings(trained_model, precision="fp32"))
    whole.load_model()  # (the window: the whole model already in memory)
    assert [h.id for h in whole.search("a red circle", n=None, image=outside)] == [h.id for h in hits]
    whole.close()

    in_library = Library(make_settings(trained_model, precision="fp32"))  # its vector is the catalog's
    loads.clear()
    in_library.search("a blue square", n=None, image=next(photos.glob("green_*.jpg")))
    assert loads == ["text"]
    in_library.close()


def _decoded(path: Path, side: int):
    from app.core.ingest import imaging

    return imaging.decode(path, min_side=side).image


def test_a_repeated_query_needs_no_model(make_settings, trained_model, photos):
    _indexed(make_settings, trained_model, photos).close()
    library = Library(make_settings(trained_model))  # a command of its own: loads the text tower
    first = library.search("a blue square")
    assert library.model_loaded
    library.close()
    again = Library(make_settings(trained_model))
    second = again.search("a blue square")
    assert not again.model_loaded
    assert [h.id for h in second] == [h.id for h in first]
    again.close()


def test_the_precision_chosen_is_remembered_for_the_model(make_settings, random_model, photos):
    library = _indexed(make_settings, random_model, photos)
    chosen = library.load_model()
    assert chosen.precision in ("int8", "fp32") and chosen.first_batch is None
    library.close()

    again = Library(make_settings(random_model))
    embedder = again.load_model()
    assert embedder.first_batch is None  # no first batch set aside to compare int8 with float32
    assert embedder.precision == chosen.precision
    write_shapes(photos / "more", per_kind=1, seed=5)
    report = again.update()
    assert report.embedded == 12 and embedder.precision == chosen.precision
    again.close()
