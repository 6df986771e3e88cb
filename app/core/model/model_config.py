"""A local open_clip model config (JSON) checked before anything is built from it.

open_clip trusts its configs: a string where a size belongs, a zero or a negative ends in a
traceback from deep inside torch, and 100,000 layers allocate until memory runs out. Here every
size the model is built from is checked (type, bounds, how sizes must fit together) and the
parameter count is estimated from them, so a config that cannot work is refused with one plain
sentence naming the file and the field, before a single tensor exists.
"""

from __future__ import annotations

import json
from pathlib import Path

from .weights import ModelUnavailable

MAX_LAYERS = 64
MAX_WIDTH = 8192
MAX_IMAGE_SIZE = 1024
MAX_CONTEXT = 1024
MAX_VOCAB = 1_000_000
MAX_MLP_RATIO = 16
MAX_PARAMETERS = 5_000_000_000  # ViT-e-14, the largest open_clip config, is ~4.6 billion
CLIP_TOKENIZER_VOCAB = 49408  # open_clip's default tokenizer emits ids below this


class InvalidModelConfig(ModelUnavailable, ValueError):
    """A model config that cannot be built; the message names the file and the field."""


def check_file(path: Path) -> dict:
    """The config at `path`, parsed and checked; raises InvalidModelConfig saying what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidModelConfig(f"model config {path}: cannot be read ({e})") from None
    if not text.strip():
        raise InvalidModelConfig(f"model config {path}: the file is empty")
    try:
        config = json.loads(text)
    except ValueError as e:
        raise InvalidModelConfig(f"model config {path}: not valid JSON ({e})") from None
    try:
        check(config)
    except ValueError as e:
        raise InvalidModelConfig(f"model config {path}: {e}") from None
    return config


def check(config) -> None:
    """Raise ValueError ("vision_cfg.layers is 100000; at most 64 are supported") for a config
    open_clip cannot build, or one too big to load."""
    if not isinstance(config, dict):
        raise ValueError(f"should be a JSON object, not {_json_type(config)}")
    _integer(config, "embed_dim", "embed_dim", 1, MAX_WIDTH, required=True)
    vision = _section(config, "vision_cfg")
    text = _section(config, "text_cfg")
    for name in ("quick_gelu",):
        if name in config and not isinstance(config[name], bool):
            raise ValueError(f"{name} is {_shown(config[name])}; it should be true or false")
    vision_params = _check_vision(vision)
    text_params = _check_text(text)
    total = vision_params + text_params
    if total > MAX_PARAMETERS:
        raise ValueError(
            f"describes a model of about {total / 1e9:.1f} billion parameters; "
            f"at most {MAX_PARAMETERS / 1e9:g} billion are supported"
        )


def _check_vision(cfg: dict) -> int:
    """Checks vision_cfg; returns its estimated parameter count (0 for a timm tower)."""
    where = "vision_cfg"
    if cfg.get("timm_model_name"):
        return 0  # timm builds and checks its own towers
    layers = cfg.get("layers", 12)
    resnet = isinstance(layers, (list, tuple))
    if resnet:
        if len(layers) != 4:
            raise ValueError(f"{where}.layers is {_shown(layers)}; a ResNet tower has 4 stages")
        for i in range(4):
            _integer(layers, i, f"{where}.layers[{i}]", 1, MAX_LAYERS)
    else:
        _integer(cfg, "layers", f"{where}.layers", 1, MAX_LAYERS)
    width = _integer(cfg, "width", f"{where}.width", 1, MAX_WIDTH, default=768)
    head_width = _integer(cfg, "head_width", f"{where}.head_width", 1, MAX_WIDTH, default=64)
    _number(cfg, "mlp_ratio", f"{where}.mlp_ratio", MAX_MLP_RATIO)
    size = _image_size(cfg, where)
    if resnet:
        return _check_resnet(cfg, layers, width, head_width, size)
    patch = _integer(cfg, "patch_size", f"{where}.patch_size", 1, MAX_IMAGE_SIZE, default=16)
    if patch > size:
        raise ValueError(f"{where}.patch_size is {patch}, bigger than the image ({size} px)")
    if head_width > width:
        raise ValueError(f"{where}.head_width is {head_width}, more than the width ({width})")
    heads = width // head_width
    if width % heads:
        raise ValueError(f"{where}.width is {width}; it should be a multiple of its {heads} heads (width / head_width)")
    ratio = float(cfg.get("mlp_ratio", 4.0))
    grid = (size // patch) ** 2 + 1
    return int(layers * (4 + 2 * ratio) * width * width + 3 * patch * patch * width + grid * width)


def _check_resnet(cfg: dict, layers, width: int, head_width: int, size: int) -> int:
    where = "vision_cfg"
    if size % 32:
        raise ValueError(f"{where}.image_size is {size}; a ResNet tower needs a multiple of 32")
    if head_width > width * 32:
        raise ValueError(f"{where}.head_width is {head_width}, more than the pooled width ({width * 32})")
    heads = width * 32 // head_width
    if (width * 32) % heads:
        raise ValueError(f"{where}.width is {width}; 32 times it should be a multiple of its {heads} heads")
    # a bottleneck of `planes` has about 17 planes^2 weights; the attention pool 4 (32 width)^2
    stages = sum(n * 17 * (width * 2**i) ** 2 for i, n in enumerate(layers))
    return int(stages + 4 * (width * 32) ** 2)


def _check_text(cfg: dict) -> int:
    """Checks text_cfg; returns its estimated parameter count (0 for a Hugging Face tower)."""
    where = "text_cfg"
    context = _integer(cfg, "context_length", f"{where}.context_length", 2, MAX_CONTEXT, default=77)
    minimum = 1 if cfg.get("hf_tokenizer_name") else CLIP_TOKENIZER_VOCAB
    vocab = _integer(cfg, "vocab_size", f"{where}.vocab_size", minimum, MAX_VOCAB, default=CLIP_TOKENIZER_VOCAB)
    if cfg.get("hf_model_name"):
        return 0  # a Hugging Face tower: its own config sizes it
    layers = _integer(cfg, "layers", f"{where}.layers", 1, MAX_LAYERS, default=12)
    width = _integer(cfg, "width", f"{where}.width", 1, MAX_WIDTH, default=512)
    heads = _integer(cfg, "heads", f"{where}.heads", 1, MAX_WIDTH, default=8)
    _number(cfg, "mlp_ratio", f"{where}.mlp_ratio", MAX_MLP_RATIO)
    if heads > width or width % heads:
        raise ValueError(f"{where}.width is {width}; it should be a multiple of its {heads} heads")
    ratio = float(cfg.get("mlp_ratio", 4.0))
    return int(layers * (4 + 2 * ratio) * width * width + (vocab + context) * width)


def _section(config: dict, name: str) -> dict:
    if name not in config:
        raise ValueError(f"{name} is missing")
    value = config[name]
    if not isinstance(value, dict):
        raise ValueError(f"{name} is {_shown(value)}; it should be a JSON object")
    return value


def _image_size(cfg: dict, where: str) -> int:
    """The larger side of vision_cfg.image_size (a number, or [height, width])."""
    value = cfg.get("image_size", 224)
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{where}.image_size is {_shown(value)}; it should be a number or [height, width]")
        return max(_integer(value, i, f"{where}.image_size[{i}]", 1, MAX_IMAGE_SIZE) for i in range(2))
    return _integer(cfg, "image_size", f"{where}.image_size", 1, MAX_IMAGE_SIZE, default=224)


def _integer(container, key, name: str, low: int, high: int, default: int | None = None, required: bool = False) -> int:
    """container[key] as a whole number in [low, high] (`default` when absent and not required)."""
    if isinstance(container, dict) and key not in container:
        if required:
            raise ValueError(f"{name} is missing")
        return default
    value = container[key]
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise ValueError(f"{name} is {_shown(value)}; it should be a whole number")
    value = int(value)
    if value < low:
        raise ValueError(f"{name} is {value}; it should be at least {low}")
    if value > high:
        raise ValueError(f"{name} is {value}; at most {high} {'are' if 'layers' in name else 'is'} supported")
    return value


def _number(cfg: dict, key: str, name: str, high: float) -> None:
    if key not in cfg:
        return
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= high:  # NaN fails too
        raise ValueError(f"{name} is {_shown(value)}; it should be a number above 0 and at most {high}")


def _shown(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _json_type(value) -> str:
    return {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(type(value), "a number")


__all__ = ["InvalidModelConfig", "check", "check_file", "MAX_LAYERS", "MAX_PARAMETERS"]
