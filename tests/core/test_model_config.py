"""Nonsense model configs are refused with one plain sentence naming the file and the field,
before open_clip or torch build anything; the tiny configs the tests use still load."""

import copy
import json

import pytest

from app.cli import main
from app.core.model.embedder import Embedder, ModelSpec, ModelUnavailable
from app.core.model.model_config import InvalidModelConfig, check
from tiny_clip import shapes_config, tiny_config


def _with(path: str, value):
    """tiny_config() with the dotted field `path` set to `value` (or removed, for ...)."""
    config = copy.deepcopy(tiny_config())
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return config


NONSENSE = [  # (file contents, a word the message must hold)
    ("", "empty"),
    ("   \n", "empty"),
    ("{not json", "not valid JSON"),
    ("[1, 2, 3]", "JSON object"),
    ('"ViT-B-32"', "JSON object"),
    ("42", "JSON object"),
    ("null", "JSON object"),
    (_with("embed_dim", ...), "embed_dim is missing"),
    (_with("vision_cfg", ...), "vision_cfg is missing"),
    (_with("text_cfg", [1]), "text_cfg is [1]"),
    (_with("embed_dim", "64"), 'embed_dim is "64"; it should be a whole number'),
    (_with("embed_dim", 0), "embed_dim is 0; it should be at least 1"),
    (_with("embed_dim", 12.5), "embed_dim is 12.5"),
    (_with("vision_cfg.layers", 100000), "vision_cfg.layers is 100000; at most 64 are supported"),
    (_with("vision_cfg.layers", -2), "vision_cfg.layers is -2"),
    (_with("vision_cfg.layers", True), "vision_cfg.layers is true"),
    (_with("vision_cfg.layers", [1, 1, 1]), "4 stages"),
    (_with("vision_cfg.width", 10**9), "vision_cfg.width is 1000000000; at most 8192"),
    (_with("vision_cfg.image_size", 100000), "vision_cfg.image_size is 100000"),
    (_with("vision_cfg.image_size", None), "vision_cfg.image_size is null"),
    (_with("vision_cfg.patch_size", 512), "vision_cfg.patch_size is 512, bigger than the image"),
    (_with("vision_cfg.head_width", 0), "vision_cfg.head_width is 0"),
    (_with("vision_cfg.mlp_ratio", -1), "vision_cfg.mlp_ratio is -1"),
    (_with("text_cfg.context_length", 0), "text_cfg.context_length is 0"),
    (_with("text_cfg.vocab_size", 100), "text_cfg.vocab_size is 100; it should be at least 49408"),
    (_with("text_cfg.heads", 3), "text_cfg.width is 64; it should be a multiple of its 3 heads"),
    (_with("text_cfg.heads", 128), "multiple of its 128 heads"),
    (_with("text_cfg.layers", "two"), 'text_cfg.layers is "two"'),
    (
        {
            **_with("vision_cfg.layers", 64),
            "vision_cfg": {**tiny_config()["vision_cfg"], "layers": 64, "width": 8192, "head_width": 64},
        },
        "billion parameters",
    ),
]


@pytest.mark.parametrize("contents, words", NONSENSE, ids=[str(i) for i in range(len(NONSENSE))])
def test_a_nonsense_config_is_refused_before_anything_is_built(tmp_path, contents, words):
    path = tmp_path / "nonsense.json"
    path.write_text(contents if isinstance(contents, str) else json.dumps(contents))
    with pytest.raises(InvalidModelConfig) as caught:
        Embedder(ModelSpec(str(path), "none"), tmp_path / "models", device="cpu")
    message = str(caught.value)
    assert message.startswith(f"model config {path}: ") and words in message, message
    assert "\n" not in message
    assert isinstance(caught.value, ModelUnavailable) and isinstance(caught.value, ValueError)


def test_the_tiny_configs_of_the_tests_pass():
    check(tiny_config())
    check(tiny_config(64, 16))
    check(shapes_config())


def test_the_cli_says_it_in_one_line_and_exits_3(capsys, tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(_with("vision_cfg.layers", 100000)))
    code = main(["--data-dir", str(tmp_path / "data"), "--model", str(path), "--pretrained", "none", "search", "x"])
    err = capsys.readouterr().err
    assert code == 3
    assert err == f"photoseek: model config {path}: vision_cfg.layers is 100000; at most 64 are supported\n"


def test_a_broken_config_does_not_break_the_next_good_one(tmp_path, random_model):
    """open_clip rescans every config it was given on each new one: a broken file it had been
    handed would fail every later model."""
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InvalidModelConfig):
        Embedder(ModelSpec(str(bad), "none"), tmp_path / "models", device="cpu")
    config, checkpoint = random_model
    assert Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path / "models", device="cpu").dim == 64


def test_every_config_open_clip_ships_passes():
    """The bounds refuse nonsense, not real models (ViT-e-14 and ViT-bigG-14 included)."""
    import open_clip

    for name in open_clip.list_models():
        check(open_clip.get_model_config(name))
