"""Check a chosen model and its weights together before the choice is kept: build the model with
the weights and embed one picture. Weights made for another architecture are refused with one
sentence that names both ("these weights are for ViT-B-16, the chosen model is ViT-B-32").
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from . import model_config
from .embedder import Embedder, ModelSpec, _register_config, load
from .weights import ModelUnavailable, _NoWeightsWarning

log = logging.getLogger(__name__)
MAX_CANDIDATES = 24  # architectures built (without memory, on the meta device) to name the weights' one


class WeightsMismatch(ModelUnavailable):
    """The weights file does not fit the chosen model; the message names what it is for."""


def check_pair(model: str, pretrained: str, cache_dir: Path, device: str) -> tuple[str, str]:
    """(model, pretrained) once they work together (for a worker thread); else the error says why.
    The one check behind both the model dialog and Settings."""
    check_choice(model, pretrained, cache_dir, device)
    return model, pretrained


def check_choice(model: str, pretrained: str, cache_dir: Path, device: str = "cpu") -> Embedder:
    """The model `model` (a name or config file) with `pretrained` (a tag or a checkpoint file),
    built and shown one picture. Raises WeightsMismatch or ModelUnavailable saying what is wrong."""
    spec = ModelSpec(model, pretrained)
    if not spec.is_random and not spec.is_local_file and os.sep in pretrained:
        raise ModelUnavailable(f"The weights file {pretrained} does not exist.")
    try:
        embedder = load(spec, cache_dir, device, precision="fp32")  # (an ONNX export folder too)
    except ModelUnavailable:
        sentence = explain_mismatch(spec) if spec.is_local_file else None
        if sentence:
            raise WeightsMismatch(sentence) from None
        raise
    vector = embedder.embed_images([sample_picture(embedder.image_size)])
    if vector.shape != (1, embedder.dim) or not np.isfinite(vector).all():
        raise ModelUnavailable(f"{spec.name} with these weights gives no usable picture vector.")
    return embedder


def sample_picture(size: int):
    """A small picture with some structure (a gradient and a square), made here: nothing to ship."""
    from PIL import Image, ImageDraw

    picture = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    ImageDraw.Draw(picture).rectangle((size // 4, size // 4, size // 2, size // 2), fill=(200, 40, 40))
    return picture


def explain_mismatch(spec: ModelSpec) -> str | None:
    """A sentence saying which model the checkpoint's weights are for, when they do not fit the
    chosen one; None when the file cannot be read as weights (another error explains it better)."""
    try:
        shapes = checkpoint_shapes(Path(spec.pretrained).expanduser())
        chosen = model_shapes(spec.name)
    except Exception as e:  # noqa: BLE001 - not a checkpoint, or an architecture that cannot be built on "meta"
        log.info("cannot compare %s with %s: %s", spec.pretrained, spec.name, e)
        return None
    if not shapes or fits(shapes, chosen):
        return None
    owner = model_of(shapes, Path(spec.pretrained).expanduser(), exclude=spec.name)
    if owner:
        return f"These weights are for {owner}, the chosen model is {spec.name}."
    return (
        f"These weights are not for {spec.name}: {first_difference(shapes, chosen)}. "
        "Choose the model they were made for, or the weights of this model."
    )


def checkpoint_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of a checkpoint, as open_clip reads it (a "state_dict" inside, "module."
    prefixes off). A safetensors file is read without loading its tensors."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (not a dict)
    else:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else {}
        shapes = {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}
    return {k.removeprefix("module."): v for k, v in shapes.items()}


def model_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of an open_clip model's weights, built on the meta device (no memory)."""
    import open_clip
    import torch

    quiet = _NoWeightsWarning()
    logging.getLogger().addFilter(quiet)  # open_clip logs that this model has no weights: none are wanted
    try:
        with torch.device("meta"):
            built = open_clip.create_model(name, device="meta")
        return {k: tuple(v.shape) for k, v in built.state_dict().items()}
    finally:
        logging.getLogger().removeFilter(quiet)


def fits(shapes: dict, model: dict) -> bool:
    """Whether every weight of the model is in the checkpoint, with the same shape."""
    return all(shapes.get(k) == v for k, v in model.items())


def first_difference(shapes: dict, model: dict) -> str:
    for key, shape in model.items():
        if key not in shapes:
            return f"the file has no {key}"
        if shapes[key] != shape:
            return f"{key} is {list(shapes[key])} in the file and {list(shape)} in the model"
    return "they differ"


def model_of(shapes: dict, checkpoint: Path, exclude: str = "") -> str | None:
    """The name of a model the weights fit: a model config beside the file, else a known open_clip
    model of the same sizes (the shortest name: "ViT-B-16" rather than "ViT-B-16-quickgelu")."""
    for name in _candidates(shapes, checkpoint, exclude):
        try:
            if fits(shapes, model_shapes(name)):
                return name
        except Exception as e:  # noqa: BLE001 - an architecture that cannot be built here
            log.info("cannot build %s to compare: %s", name, e)
    return None


def _candidates(shapes: dict, checkpoint: Path, exclude: str) -> list[str]:
    import open_clip

    beside = []
    for config in sorted(checkpoint.parent.glob("*.json")):
        try:
            model_config.check_file(config)
            _register_config(str(config))
            beside.append(config.stem)
        except (ModelUnavailable, OSError):
            continue
    known = [n for n in open_clip.list_models() if _same_sizes(shapes, open_clip.get_model_config(n) or {})]
    ordered = dict.fromkeys(beside + sorted(known, key=len))
    return [n for n in ordered if n != exclude][:MAX_CANDIDATES]


def _same_sizes(shapes: dict, config: dict) -> bool:
    """A quick look before building: the embedding size, text width and (for a ViT) patch and width."""
    projection = shapes.get("text_projection")
    if projection is not None and projection[-1] != config.get("embed_dim"):
        return False
    tokens = shapes.get("token_embedding.weight")
    if tokens is not None and tokens[-1] != config.get("text_cfg", {}).get("width", 512):
        return False
    conv = shapes.get("visual.conv1.weight")
    vision = config.get("vision_cfg", {})
    if conv is not None and "visual.class_embedding" in shapes:
        return conv[0] == vision.get("width", 768) and conv[-1] == vision.get("patch_size", 16)
    return True
