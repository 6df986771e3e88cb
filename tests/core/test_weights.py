"""Pretrained weights by tag: downloaded from a hub (a fake one on loopback) with progress, resumed
after a cut, found in a cache huggingface_hub filled, and run with their tag's settings."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.model import weights
from app.core.model.embedder import Embedder, ModelSpec, ModelUnavailable
from fake_hub import FakeHub, load_in_child, register_tag, uses_quick_gelu

REPO = "photoseek-tests/tiny-hub-clip"
TAG = "tiny_s1"
# settings a model config cannot know: QuickGELU and its own normalisation and resampling
TAG_CFG = {
    "url": "",
    "hf_hub": f"{REPO}/",
    "quick_gelu": True,
    "mean": [0.5, 0.4, 0.3],
    "std": [0.2, 0.25, 0.3],
    "interpolation": "bilinear",
    "resize_mode": "shortest",
}


@pytest.fixture(scope="module")
def hub_model(tmp_path_factory, random_model):
    """(config JSON named tiny-hub-clip, its weights as safetensors bytes, as torch .bin bytes)."""
    import safetensors.torch
    import torch

    folder = tmp_path_factory.mktemp("hub-model")
    config = folder / "tiny-hub-clip.json"
    shutil.copy(random_model[0], config)
    state = torch.load(random_model[1], weights_only=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, folder / "w.safetensors")
    return config, (folder / "w.safetensors").read_bytes(), random_model[1].read_bytes()


@pytest.fixture
def tag_registered(hub_model, monkeypatch):
    """The tiny model reachable here as `tiny-hub-clip` / TAG, for this test only."""
    from open_clip import pretrained

    registry = dict(pretrained._PRETRAINED)
    monkeypatch.setattr(pretrained, "_PRETRAINED", registry)
    register_tag(hub_model[0], TAG, TAG_CFG, registry)
    return hub_model


def _reference_text(config, checkpoint) -> np.ndarray:
    """open_clip's own vector of "a dog" for these weights run with QuickGELU (as the tag says)."""
    import open_clip
    import torch

    open_clip.add_model_config(config)
    model = open_clip.create_model(config.stem, pretrained=str(checkpoint), force_quick_gelu=True).eval()
    with torch.inference_mode():
        vector = model.encode_text(open_clip.get_tokenizer(config.stem)(["a dog"]))
    return torch.nn.functional.normalize(vector, dim=-1)[0].numpy()


def _assert_progress(seen, size: int, start: int = 0) -> None:
    assert seen and all(total == size for _, total in seen)
    done = [d for d, _ in seen]
    assert done[0] == start and done[-1] == size and all(a < b for a, b in zip(done, done[1:]))


def test_a_tag_downloads_from_the_hub_with_progress_and_its_settings(hub_model, tmp_path):
    """The default path for a pretrained tag (hf_hub "org/repo/"): the hub is asked for the repo's
    open_clip_model.safetensors, progress counts up to its size, and the model runs as the tag says."""
    config, safetensors_bytes, _ = hub_model
    cache = tmp_path / "models"
    with FakeHub() as hub:
        path = hub.add(REPO, "open_clip_model.safetensors", safetensors_bytes)
        loaded = load_in_child(hub, config, TAG, TAG_CFG, cache)
    assert "error" not in loaded, loaded.get("error")
    assert [m for m, p, _ in hub.requests if p == path] == ["HEAD", "GET"]  # (it also asks for /api/...)
    _assert_progress(loaded["progress"], len(safetensors_bytes))
    assert loaded["model_id"] == f"tiny-hub-clip/{TAG}"
    assert loaded["quick_gelu"] and np.allclose(loaded["mean"], TAG_CFG["mean"])
    (stored,) = cache.rglob("snapshots/*/open_clip_model.safetensors")
    assert stored.read_bytes() == safetensors_bytes
    assert np.allclose(loaded["text"], _reference_text(config, stored), atol=1e-5)


def test_a_cut_download_is_resumed_with_a_range_request(hub_model, tmp_path):
    config, safetensors_bytes, _ = hub_model
    size, cache = len(safetensors_bytes), tmp_path / "models"
    with FakeHub() as hub:
        path = hub.add(REPO, "open_clip_model.safetensors", safetensors_bytes)
        hub.cut_after = size * 3 // 5
        failed = load_in_child(hub, config, TAG, TAG_CFG, cache)
        (partial,) = cache.rglob("*.incomplete")
        kept = partial.read_bytes()
        hub.requests.clear()
        resumed = load_in_child(hub, config, TAG, TAG_CFG, cache)
    # the offline message: which file, how big, from where
    assert "open_clip_model.safetensors" in failed["error"] and f"{size / 1e6:,.0f} MB" in failed["error"]
    assert f"{hub.endpoint}/{REPO}/resolve/main/open_clip_model.safetensors" in failed["error"]
    assert 0 < len(kept) < size and safetensors_bytes.startswith(kept)  # all that came before the cut
    assert "error" not in resumed, resumed.get("error")
    assert [r for m, p, r in hub.requests if m == "GET" and p == path] == [f"bytes={len(kept)}-"]
    _assert_progress(resumed["progress"], size, start=len(kept))
    (stored,) = cache.rglob("snapshots/*/open_clip_model.safetensors")
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(safetensors_bytes).digest()
    assert not list(cache.rglob("*.incomplete"))


def test_a_cache_filled_by_huggingface_hub_is_used_offline(tag_registered, tmp_path):
    """huggingface_hub itself downloads the repo's only file (a .bin, open_clip's second name) into
    the cache; the app, offline, then loads the tag from there."""
    config, _, bin_bytes = tag_registered
    cache = tmp_path / "models"
    with FakeHub() as hub:
        hub.add(REPO, "open_clip_pytorch_model.bin", bin_bytes)
        fill = (
            "import sys; from huggingface_hub import hf_hub_download; "
            "hf_hub_download(sys.argv[1], 'open_clip_pytorch_model.bin', cache_dir=sys.argv[2])"
        )
        env = {
            "HF_ENDPOINT": hub.endpoint,
            "HF_HOME": str(tmp_path / "hf-home"),
            "NO_PROXY": "127.0.0.1",
            "PATH": "/usr/bin:/bin",
        }
        subprocess.run([sys.executable, "-c", fill, REPO, str(cache)], env=env, check=True, timeout=300)
    e = Embedder(ModelSpec(str(config), TAG), cache)  # the session is offline (conftest: HF_HUB_OFFLINE)
    assert e.model_id == f"tiny-hub-clip/{TAG}" and uses_quick_gelu(e.model)
    (stored,) = cache.rglob("snapshots/*/open_clip_pytorch_model.bin")
    assert np.allclose(e.embed_texts(["a dog"])[0], _reference_text(config, stored), atol=1e-5)


def test_a_url_tag_downloads_with_progress_and_resumes(hub_model, tmp_path, monkeypatch):
    """A tag with only a `url` (no hub repo) is fetched by plain HTTP, also resumable."""
    from open_clip import pretrained

    config, _, bin_bytes = hub_model
    cache = tmp_path / "models"
    with FakeHub() as hub:
        hub.files["/weights/tiny-hub-clip-s1.pt"] = bin_bytes
        cfg = dict(TAG_CFG, hf_hub="", url=f"{hub.endpoint}/weights/tiny-hub-clip-s1.pt")
        registry = dict(pretrained._PRETRAINED)
        monkeypatch.setattr(pretrained, "_PRETRAINED", registry)
        register_tag(config, TAG, cfg, registry)
        hub.cut_after = len(bin_bytes) // 2
        monkeypatch.setattr(weights, "RETRY_DELAYS", ())  # no second try: the next load resumes it
        with pytest.raises(ModelUnavailable, match="tiny-hub-clip-s1.pt"):
            Embedder(ModelSpec(str(config), TAG), cache)
        kept = (cache / "tiny-hub-clip-s1.pt.incomplete").stat().st_size
        seen = []
        e = Embedder(ModelSpec(str(config), TAG), cache, progress=lambda done, total: seen.append((done, total)))
    assert 0 < kept < len(bin_bytes)
    assert [r for m, _, r in hub.requests if m == "GET"] == [None, f"bytes={kept}-"]
    _assert_progress(seen, len(bin_bytes), start=kept)
    assert (cache / "tiny-hub-clip-s1.pt").read_bytes() == bin_bytes
    assert uses_quick_gelu(e.model) and e.model_id == f"tiny-hub-clip/{TAG}"


def test_a_local_checkpoint_runs_with_the_settings_of_the_tag_it_holds(tag_registered, tmp_path):
    """A checkpoint file gets its tag's settings when it can be told apart: it lies in the tag's repo
    folder (org/repo/, or huggingface_hub's cache); elsewhere, with two tags that run differently,
    it runs as the model config says (as open_clip runs a file)."""
    from open_clip import pretrained

    config, _, bin_bytes = tag_registered
    known = tmp_path / REPO / "open_clip_pytorch_model.bin"
    known.parent.mkdir(parents=True)
    known.write_bytes(bin_bytes)
    e = Embedder(ModelSpec(str(config), str(known)), tmp_path / "models")
    assert uses_quick_gelu(e.model) and np.allclose(e.preprocess.transforms[-1].mean, TAG_CFG["mean"])
    assert e.model_id.startswith("tiny-hub-clip/file-")  # the weights' identity, as for any file
    assert np.allclose(e.embed_texts(["a dog"])[0], _reference_text(config, known), atol=1e-5)

    anywhere = tmp_path / "Downloads" / "open_clip_pytorch_model.bin"
    anywhere.parent.mkdir()
    anywhere.write_bytes(bin_bytes)
    assert weights.tag_of_file("tiny-hub-clip", anywhere).tag == TAG  # the model's only tag
    pretrained._PRETRAINED["tiny-hub-clip"]["plain"] = dict(TAG_CFG, hf_hub="other/repo/", quick_gelu=False)
    assert weights.tag_of_file("tiny-hub-clip", anywhere) is None
    plain = Embedder(ModelSpec(str(config), str(anywhere)), tmp_path / "models")
    assert not uses_quick_gelu(plain.model) and plain.model_id == e.model_id


def test_open_clip_tags_resolve_to_their_hub_repo_and_files():
    """The bug this module fixes: "org/repo/" is a repo id and open_clip's default file names."""
    default = weights.pretrained_tag("ViT-B-32-256", "datacomp_s34b_b86k")
    assert default.hub_repo == "laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K"
    assert default.hub_files == ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    assert not default.settings["force_quick_gelu"]
    openai = weights.pretrained_tag("ViT-B-32", "openai")
    assert openai.hub_repo == "timm/vit_base_patch32_clip_224.openai" and openai.settings["force_quick_gelu"]
    # the -quickgelu name runs QuickGELU by its own config; a file of it gets its tags' settings too
    assert weights.tag_of_file("ViT-B-32-quickgelu", Path("open_clip_model.safetensors")).settings["force_quick_gelu"]


def test_the_backoff_schedule_grows_and_is_capped():
    assert weights.backoff_delays(4, first=2, factor=3, cap=60) == (2, 6, 18)
    assert weights.backoff_delays(6, first=2, factor=3, cap=60) == (2, 6, 18, 54, 60)
    assert weights.backoff_delays(1) == () and weights.backoff_delays() == weights.RETRY_DELAYS


def test_a_cut_download_is_tried_again_after_a_backoff_wait(hub_model, tmp_path, monkeypatch):
    """A connection cut mid-download is continued in the same load after a wait (a fake clock here),
    with a Range request from where it stopped; a missing file is not tried again."""
    from open_clip import pretrained

    config, _, bin_bytes = hub_model
    waits: list[float] = []
    monkeypatch.setattr(weights, "_sleep", waits.append)
    with FakeHub() as hub:
        hub.files["/weights/tiny-hub-clip-s1.pt"] = bin_bytes
        cfg = dict(TAG_CFG, hf_hub="", url=f"{hub.endpoint}/weights/tiny-hub-clip-s1.pt")
        registry = dict(pretrained._PRETRAINED)
        monkeypatch.setattr(pretrained, "_PRETRAINED", registry)
        register_tag(config, TAG, cfg, registry)
        hub.cut_after = len(bin_bytes) // 2
        e = Embedder(ModelSpec(str(config), TAG), tmp_path / "models")
        ranges = [r for m, _, r in hub.requests if m == "GET"]
        hub.requests.clear()
        register_tag(config, TAG, dict(cfg, url=f"{hub.endpoint}/weights/gone.pt"), registry)
        with pytest.raises(ModelUnavailable, match="gone.pt"):
            Embedder(ModelSpec(str(config), TAG), tmp_path / "models")
    assert waits == [weights.RETRY_DELAYS[0]]  # one wait, for the cut; none for the missing file
    assert ranges[0] is None and ranges[1].startswith("bytes=") and len(ranges) == 2
    assert (tmp_path / "models" / "tiny-hub-clip-s1.pt").read_bytes() == bin_bytes
    assert e.model_id == f"tiny-hub-clip/{TAG}"
    assert [m for m, _, _ in hub.requests] == ["GET"]


def test_worth_retrying_tells_passing_trouble_from_lasting():
    import urllib.error

    assert weights.worth_retrying(ConnectionResetError("cut"))
    assert weights.worth_retrying(urllib.error.HTTPError("u", 503, "busy", {}, None))
    assert not weights.worth_retrying(urllib.error.HTTPError("u", 404, "gone", {}, None))
    assert not weights.worth_retrying(urllib.error.URLError(OSError("no such host")))
