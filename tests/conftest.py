"""Shared fixtures: tiny CLIP models (random and trained), settings in a temp data dir, devdata."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
# The fast start's export costs seconds after every index run; the tests of it turn it on
# (tests/core/test_fast_start.py, tests/ui/test_fast_start_window.py).
os.environ.setdefault("PHOTOSEEK_FAST_START", "0")
sys.path.insert(0, str(Path(__file__).parent))

from tiny_clip import shapes_config, tiny_config, write_model  # noqa: E402


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> tuple[Path, Path]:
    """(config JSON, checkpoint) of a tiny randomly initialised CLIP at the real 224 px input."""
    return write_model(tmp_path_factory.mktemp("random-model"), "tiny-random-clip", tiny_config(224, 32))


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> tuple[Path, Path]:
    """(config JSON, checkpoint) of a tiny CLIP trained here on coloured shapes.

    Training is deterministic, so the result is kept in a cache keyed by the training code and
    reused by later test runs on this machine (delete ~/.cache/photoseek-tests to retrain)."""
    import hashlib

    import tiny_clip

    key = hashlib.sha256(Path(tiny_clip.__file__).read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "photoseek-tests" / key
    name = "tiny-shapes-clip"
    if (cache / f"{name}.pt").exists():
        return cache / f"{name}.json", cache / f"{name}.pt"
    config, checkpoint = write_model(
        tmp_path_factory.mktemp("trained-model"), name, shapes_config(), train_steps=tiny_clip.TRAIN_STEPS
    )
    staging = None
    try:  # publish atomically: a concurrent run sees all of it or none
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache.parent))
        shutil.copy(config, staging / config.name)
        shutil.copy(checkpoint, staging / checkpoint.name)
        os.replace(staging, cache)
    except OSError:  # another run published first (the same bytes: training is deterministic)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return config, checkpoint


@pytest.fixture
def make_settings(tmp_path):
    """Settings in a fresh data dir for a (config, checkpoint) pair."""
    from app.core.config import Settings

    def make(model: tuple[Path, Path], **changes) -> Settings:
        config, checkpoint = model
        # OCR off unless a test asks for it: reading text costs seconds per test (tests/core/test_ocr.py)
        values = dict(
            data_dir=tmp_path / "data",
            model=str(config),
            pretrained=str(checkpoint),
            decode_threads=2,
            batch_size=8,
            ocr=False,
            fast_start=False,  # (as above)
        )
        values.update(changes)
        return Settings(**values)

    return make


@pytest.fixture
def library(make_settings, random_model):
    """An empty library on the tiny random model."""
    from app.core.library import Library

    lib = Library(make_settings(random_model))
    yield lib
    lib.close()


@pytest.fixture
def model_env(monkeypatch, tmp_path):
    """Point the environment (what a user would set) at a model and a temp data dir."""

    def apply(model: tuple[Path, Path]) -> dict[str, str]:
        config, checkpoint = model
        env = {
            "PHOTOSEEK_DATA_DIR": str(tmp_path / "data"),
            "PHOTOSEEK_MODEL": str(config),
            "PHOTOSEEK_PRETRAINED": str(checkpoint),
            "PHOTOSEEK_OCR": "0",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return apply
