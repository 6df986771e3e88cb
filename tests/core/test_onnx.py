"""The ONNX Runtime backend (the packaged app's, without torch) against open_clip: the tiny models
exported as a user would (`photoseek export-model`), both backends run on the same photos and texts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.cli import main
from app.core.config import Settings
from app.core.library import Library
from app.core.model.clip_tokenizer import TOKENIZER_FILE, ClipTokenizer
from app.core.model.embedder import Embedder, ModelSpec, ModelUnavailable
from app.core.model.export import export_model
from app.core.model.export_files import EXPORT_URL_ENV, archive_export, find_export
from app.core.model.onnx_embedder import OnnxEmbedder
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["a red circle", "a blue square", "a green triangle", "yellow", "", "a photo of " + "a red circle " * 20]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    return sorted(Path(p) for p in write_shapes(tmp_path_factory.mktemp("onnx-photos"), per_kind=1, seed=7))


@pytest.fixture(scope="module")
def random_export(tmp_path_factory, random_model, photos) -> Path:
    config, checkpoint = random_model
    out = tmp_path_factory.mktemp("random-export") / "export"
    export_model(ModelSpec(str(config), str(checkpoint)), tmp_path_factory.mktemp("cache"), out, photos[:4])
    return out


@pytest.fixture(scope="module")
def trained_export(tmp_path_factory, trained_model, photos) -> Path:
    """The trained tiny model exported through the command line, with its archive."""
    config, checkpoint = trained_model
    out = tmp_path_factory.mktemp("trained-export") / "export"
    data = tmp_path_factory.mktemp("data")
    args = ["--data-dir", str(data), "--model", str(config), "--pretrained", str(checkpoint), "export-model"]
    assert main([*args, str(out), "--photos", str(photos[0].parent), "--archive"]) == 0
    return out


def _both(model: tuple[Path, Path], export: Path, tmp_path: Path, precision: str = "fp32"):
    config, checkpoint = model
    torch_side = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path, "cpu", precision="fp32")
    return torch_side, OnnxEmbedder(export, precision=precision)


@pytest.mark.parametrize("which", ["random", "trained"])
def test_float32_export_gives_open_clips_vectors(which, request, photos, tmp_path):
    model = request.getfixturevalue(f"{which}_model")
    reference, onnx = _both(model, request.getfixturevalue(f"{which}_export"), tmp_path)
    assert onnx.model_id == reference.model_id and onnx.dim == reference.dim
    assert onnx.image_size == reference.image_size
    assert onnx.logit_scale == pytest.approx(reference.logit_scale, rel=1e-6)
    pictures = [Image.open(p).convert("RGB") for p in photos]
    images = (reference.embed_images(pictures) * onnx.embed_images(pictures)).sum(axis=1)
    texts = (reference.embed_texts(TEXTS) * onnx.embed_texts(TEXTS)).sum(axis=1)
    assert images.min() >= 0.999 and texts.min() >= 0.999
    many = onnx.encode_texts(TEXTS * 3, batch_size=4)
    assert many is not None and np.allclose(many, onnx.embed_texts(TEXTS * 3), atol=1e-5)


def test_a_text_query_ranks_the_photos_the_same(trained_model, trained_export, photos, tmp_path):
    reference, onnx = _both(trained_model, trained_export, tmp_path)
    pictures = [Image.open(p).convert("RGB") for p in photos]
    for backend in (reference, onnx):
        backend.vectors = backend.embed_images(pictures)
    for query in ("a red circle", "a blue square", "green", "a triangle"):
        orders = [np.argsort(-(b.vectors @ b.embed_texts([query])[0]))[:5] for b in (reference, onnx)]
        assert list(orders[0]) == list(orders[1]), query


def test_the_int8_tower_is_kept_within_fidelity(trained_model, trained_export, photos, tmp_path):
    manifest = json.loads((trained_export / "manifest.json").read_text())
    int8 = manifest["fidelity"]["visual_int8"]
    assert int8["kept"] and int8["min"] >= 0.99 and (trained_export / "visual.int8.onnx").is_file()
    reference, onnx = _both(trained_model, trained_export, tmp_path, precision="auto")
    assert onnx.precision == "int8"
    pictures = [Image.open(p).convert("RGB") for p in photos]
    assert (reference.embed_images(pictures) * onnx.embed_images(pictures)).sum(axis=1).min() >= 0.99


def test_an_int8_only_export_runs_int8_whatever_is_asked(random_model, tmp_path):
    config, checkpoint = random_model
    out = tmp_path / "int8-only"
    args = ["--data-dir", str(tmp_path / "data"), "--model", str(config), "--pretrained", str(checkpoint)]
    assert main([*args, "export-model", str(out), "--int8-only"]) == 0
    assert not (out / "visual.onnx").exists()
    assert "visual.onnx" not in json.loads((out / "manifest.json").read_text())["files"]
    assert OnnxEmbedder(out, precision="fp32").precision == "int8"


def test_pixels_are_open_clips(random_model, random_export, photos, tmp_path):
    reference, onnx = _both(random_model, random_export, tmp_path)
    for path in photos[:3]:
        picture = Image.open(path).convert("RGB").resize((300, 257))
        ours = onnx.prepare(picture)
        assert np.array_equal(ours, reference.prepare(picture))  # the torch backend's own input
        # open_clip's torchvision transform resizes, then crops: a pixel's rounding may differ
        assert np.abs(ours - reference.preprocess(picture).numpy()).mean() < 0.02


def _open_clip_tokenizer(context_length: int):
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=context_length)


@pytest.fixture(scope="module")
def tokenizers(random_export):
    """(ours, open_clip's) at the export's context (16 tokens) and at CLIP's usual 77."""
    import gzip

    data = json.loads(gzip.decompress((random_export / TOKENIZER_FILE).read_bytes()))
    long = ClipTokenizer(data["vocab"], data["merges"], data["specials"], **{**data["options"], "context_length": 77})
    return [
        (ClipTokenizer.from_file(random_export / TOKENIZER_FILE), _open_clip_tokenizer(16)),
        (long, _open_clip_tokenizer(77)),
    ]


WORDS = [
    "",
    "   ",
    "a dog on a beach",
    "Two DOGS, playing in the snow at night!",
    "l'été à Montréal — café crème",
    "東京の夜景 🌃 and 北京",
    "Ünïcödé straße naïve façade",
    "&amp; &lt;b&gt; html entities",
    "mojibake: cafÃ©",
    "numbers 12345 and 3.14159",
    "<start_of_text> literally",
    "a " * 100,
    "supercalifragilisticexpialidocious " * 5,
]


def test_token_ids_are_open_clips(tokenizers):
    for ours, theirs in tokenizers:
        assert np.array_equal(ours(WORDS), theirs(WORDS).numpy())


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_token_ids_are_open_clips_on_any_text(tokenizers, text):
    for ours, theirs in tokenizers:
        assert np.array_equal(ours([text]), theirs([text]).numpy())


def test_the_onnx_embedder_runs_without_torch(random_export, photos):
    """In a process where torch and open_clip cannot be imported: the export loads and embeds."""
    script = (
        "import sys; sys.modules['torch'] = None; sys.modules['open_clip'] = None\n"
        "from pathlib import Path; from PIL import Image\n"
        "from app.core.model.onnx_embedder import OnnxEmbedder\n"
        f"e = OnnxEmbedder(Path({str(random_export)!r}))\n"
        f"v = e.embed_images([Image.open({str(photos[0])!r})]); t = e.embed_texts(['a red circle'])\n"
        "print(v.shape, t.shape, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'open_clip', 'torchvision') and sys.modules[m] is not None))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 64) (1, 64) []"


def test_without_torch_the_library_gets_the_models_export_once(trained_model, trained_export, photos, tmp_path):
    """The packaged app's first run: the model is named as usual, the export comes from the
    configured URL (here a local archive) into the models folder, and search works on it."""
    config, checkpoint = trained_model
    archive = trained_export.with_name("export.tar.gz")
    script = (
        "import sys; sys.modules['torch'] = None; sys.modules['open_clip'] = None\n"
        "from pathlib import Path\n"
        "from app.core.config import Settings; from app.core.library import Library\n"
        f"s = Settings(data_dir=Path({str(tmp_path / 'data')!r}), model={str(config)!r}, pretrained={str(checkpoint)!r},"
        " batch_size=4, decode_threads=1, ocr=False)\n"
        f"lib = Library(s); lib.update([Path({str(photos[0].parent)!r})])\n"
        "print(type(lib.load_model()).__name__, Path(lib.search('a red circle')[0].path).name.rsplit('_', 1)[0])\n"
    )
    env = {**os.environ, EXPORT_URL_ENV: archive.as_uri()}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OnnxEmbedder", "red_circle"]
    assert list((tmp_path / "data" / "models" / "onnx").glob("*/manifest.json"))


def test_a_library_on_an_export_folder_finds_what_torch_finds(make_settings, trained_model, trained_export, photos):
    settings = make_settings(trained_model)
    with_torch = Library(settings)
    with_torch.update([photos[0].parent])
    torch_top = [Path(h.path).name for h in with_torch.search("a red circle")[:3]]
    with_torch.close()
    onnx = Library(Settings(**{**settings.__dict__, "model": str(trained_export), "pretrained": ""}))
    assert onnx.model_id == with_torch.model_id  # the same vectors: nothing is indexed again
    assert isinstance(onnx.load_model(), OnnxEmbedder)
    assert [Path(h.path).name for h in onnx.search("a red circle")[:3]] == torch_top
    onnx.close()


def test_a_damaged_or_foreign_export_is_refused(trained_export, random_export, tmp_path, monkeypatch):
    broken = tmp_path / "broken.tar.gz"
    (tmp_path / "text.onnx").write_bytes(b"not a model")
    with tarfile.open(broken, "w:gz") as tar:
        for path in trained_export.iterdir():
            tar.add(tmp_path / "text.onnx" if path.name == "text.onnx" else path, arcname=path.name)
    trained = ModelSpec(str(trained_export), "")
    for source, message in ((broken, "damaged"), (archive_export(random_export), "not of")):
        monkeypatch.setenv(EXPORT_URL_ENV, str(source))
        with pytest.raises(ModelUnavailable, match=message):
            find_export(trained, tmp_path / "models")
    assert not list((tmp_path / "models" / "onnx").glob("*/manifest.json"))


def test_choose_model_accepts_an_export_folder(trained_export, tmp_path):
    """The window's Choose Model… check builds the chosen model and embeds a picture: an export too."""
    from app.core.model.model_check import check_choice

    embedder = check_choice(str(trained_export), "", tmp_path)
    assert isinstance(embedder, OnnxEmbedder) and embedder.dim == 64


def test_without_torch_and_without_an_export_the_message_says_what_to_do(trained_model, tmp_path):
    config, checkpoint = trained_model
    script = (
        "import sys; sys.modules['torch'] = None; sys.modules['open_clip'] = None\n"
        "from app.cli import main\n"
        f"sys.exit(main(['--data-dir', {str(tmp_path)!r}, '--model', {str(config)!r}, '--pretrained', {str(checkpoint)!r},"
        " 'search', 'a red circle']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != EXPORT_URL_ENV}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr
    assert "PyTorch is not installed" in done.stderr and "photoseek export-model" in done.stderr
