"""A model and its weights checked together (app/core/model_check.py), and searching a library
whose model cannot be loaded: names, folders, dates and quoted words still work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.model import model_check
from app.core.model.weights import ModelUnavailable
from tiny_clip import tiny_config, write_model, write_shapes


def test_a_matching_pair_is_built_and_embeds_a_picture(trained_model, tmp_path):
    embedder = model_check.check_choice(str(trained_model[0]), str(trained_model[1]), tmp_path, "cpu")
    assert embedder.embed_images([model_check.sample_picture(96)]).shape == (1, embedder.dim)


def test_weights_of_another_model_are_refused_with_a_sentence_naming_both(trained_model, tmp_path):
    other, _ = write_model(tmp_path / "other", "tiny-other-clip", tiny_config(224, 32))
    with pytest.raises(model_check.WeightsMismatch) as refused:
        model_check.check_choice(str(other), str(trained_model[1]), tmp_path, "cpu")
    assert str(refused.value) == "These weights are for tiny-shapes-clip, the chosen model is tiny-other-clip."


def test_the_weights_of_a_known_open_clip_model_are_named_by_their_shapes(tmp_path):
    shapes = model_check.model_shapes("ViT-B-16")  # (built on the meta device: no memory, no download)
    assert model_check.model_of(shapes, tmp_path / "weights.safetensors", exclude="ViT-B-32") == "ViT-B-16"
    assert not model_check.fits(shapes, model_check.model_shapes("ViT-B-32"))


def test_a_missing_weights_file_is_said_plainly(trained_model, tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        model_check.check_choice(str(trained_model[0]), str(tmp_path / "gone" / "w.pt"), tmp_path, "cpu")


def test_without_a_model_a_library_still_searches_names_folders_dates_and_quoted_words(
    trained_model, tmp_path, monkeypatch
):
    from app.core.config import Settings
    from app.core.library import Library

    write_shapes(tmp_path / "photos" / "trip", per_kind=1, size=64)
    write_shapes(tmp_path / "photos" / "home", per_kind=1, size=64, seed=2)
    for photo in (tmp_path / "photos" / "home").iterdir():
        os.utime(photo, (1_430_000_000, 1_430_000_000))  # 2015
    monkeypatch.setenv("PHOTOSEEK_PRETRAINED", str(tmp_path / "missing.pt"))
    settings = Settings.from_env(data_dir=tmp_path / "data", model=str(trained_model[0]), ocr=False)
    library = Library(settings)
    try:
        library.add_folder(tmp_path / "photos")
        library.update(require_model=False)  # the photos are catalogued without a model

        def found(query: str) -> set[str]:
            return {f"{Path(h.path).parent.name}/{Path(h.path).name}" for h in library.search(query)}

        assert found("red circle") == {"trip/red_circle_0.jpg", "home/red_circle_0.jpg"}
        assert len(found("folder:home")) == 12 and len(found("after:2020")) == 12
        assert found('"circle" before:2016 -blue') == {f"home/{c}_circle_0.jpg" for c in ("red", "green", "yellow")}
        assert "no search model yet" in " ".join(library.search("red circle").hints)
        assert not library.model_loaded and library.model_error is not None
    finally:
        library.close()
