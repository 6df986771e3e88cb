"""Tiny open_clip models for tests: a random one for plumbing, and one trained in a few minutes on
synthetic captioned pictures ("a red circle", "a circle", "red") so tests can prove that text,
concepts and exclusions find the right photos.

No trained CLIP weights can be downloaded where the tests run; these go through exactly the
MODEL / PRETRAINED settings a user would use (a config JSON and a checkpoint file).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 210, 20),
}
SHAPES = ["circle", "square", "triangle"]


def tiny_config(image_size: int = 224, patch_size: int = 32) -> dict:
    return {
        "embed_dim": 64,
        "vision_cfg": {"image_size": image_size, "layers": 2, "width": 64, "patch_size": patch_size, "head_width": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
    }


def shapes_config(image_size: int = 64) -> dict:
    """A tiny ModifiedResNet CLIP: convolutions learn shapes in a few hundred steps, where a
    two-layer ViT of the same cost only learns colours."""
    return {
        "embed_dim": 64,
        "vision_cfg": {"image_size": image_size, "layers": [1, 1, 1, 1], "width": 16, "head_width": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
    }


def write_model(folder: Path, name: str, config: dict, train_steps: int = 0, seed: int = 0) -> tuple[Path, Path]:
    """Write `<name>.json` and `<name>.pt`; train on shapes first when train_steps > 0."""
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{name}.json"
    config_path.write_text(json.dumps(config))
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    if train_steps > 0:
        _train(model, preprocess, open_clip.get_tokenizer(name), train_steps, seed)
    checkpoint = folder / f"{name}.pt"
    torch.save(model.state_dict(), checkpoint)
    return config_path, checkpoint


def shape_image(colour: str, shape: str, rng: random.Random, size: int = 256) -> Image.Image:
    """A coloured shape at a random place and size on a noisy light background."""
    bg = tuple(rng.randint(170, 250) for _ in range(3))
    im = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(im)
    r = rng.randint(size // 6, size // 3)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
    fill = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in COLOURS[colour])
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    return im.filter(ImageFilter.GaussianBlur(0.7))


def write_shapes(folder: Path, per_kind: int = 3, seed: int = 1, size: int = 256) -> dict[str, str]:
    """Write per_kind JPEGs of every colour x shape; returns {file path: caption}."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    captions = {}
    for colour in COLOURS:
        for shape in SHAPES:
            for k in range(per_kind):
                path = folder / f"{colour}_{shape}_{k}.jpg"
                shape_image(colour, shape, rng, size).save(path, quality=92)
                captions[str(path)] = f"a {colour} {shape}"
    return captions


# Captions the model learns, so tests can ask for a colour, a shape or both the way people and the
# concept vocabulary (resources/concepts.json) phrase them: "a red circle", "a photo of a circle",
# "a red shape", "red". Each training step draws one template per class.
FULL_TEMPLATES = ["a {c} {s}", "a photo of a {c} {s}", "a picture of a {c} {s}"]
SHAPE_TEMPLATES = [
    "a {s}",
    "{s}",
    "a photo of a {s}",
    "a picture of a {s}",
    "a {s} shape",
    "a photo of the {s}",
    "a close-up photo of a {s}",
]
COLOUR_TEMPLATES = ["a {c} shape", "{c}", "something {c}", "a {c} thing", "a photo of something {c}"]
PARTIAL_WEIGHT = 1.0  # shape-only and colour-only captions count as much as full ones (0.25 left "red" and
# "a circle" at ~0.5-0.9 precision; 1.0 with 500 steps reaches ~0.97 on a fresh set of shapes)
TRAIN_STEPS = 500  # what the `trained_model` fixture trains for (part of its cache key: this file)


def _contrastive(logits, targets):
    """CLIP's symmetric loss for captions of classes: each picture against the captions, and each
    caption against the pictures of the batch (every picture of its class is a positive). The
    second half is what ranks all circles above all non-circles for "a circle", across colours."""
    import torch
    import torch.nn.functional as F

    image_to_text = F.cross_entropy(logits, targets)
    positive = F.one_hot(targets, logits.shape[1]).T.bool()  # [captions, pictures]
    by_caption = logits.T
    present = positive.any(dim=1)
    text_to_image = -(
        torch.logsumexp(by_caption.masked_fill(~positive, float("-inf")), dim=1) - torch.logsumexp(by_caption, dim=1)
    )[present].mean()
    return image_to_text + text_to_image


def _train(model, preprocess, tokenizer, steps: int, seed: int) -> None:
    """Contrastive training against three caption groups at once: full captions (12 classes),
    shape-only captions (3 classes) and colour-only captions (4 classes)."""
    import torch
    import torch.nn.functional as F

    rng = random.Random(seed)
    kinds = [(c, s) for c in COLOURS for s in SHAPES]
    colours = list(COLOURS)
    # A fixed pool of pictures, preprocessed once: the time goes to learning, not drawing.
    pool_images, pool_labels = [], []
    for i in range(720):
        colour, shape = kinds[i % len(kinds)]
        pool_images.append(preprocess(shape_image(colour, shape, rng)))
        pool_labels.append(i % len(kinds))
    images = torch.stack(pool_images)
    labels = torch.tensor(pool_labels)
    shape_of = torch.tensor([SHAPES.index(s) for _, s in kinds])
    colour_of = torch.tensor([colours.index(c) for c, _ in kinds])
    # every caption tokenised once; each step picks one template per class
    full = tokenizer([t.format(c=c, s=s) for t in FULL_TEMPLATES for c, s in kinds])
    by_shape = tokenizer([t.format(s=s) for t in SHAPE_TEMPLATES for s in SHAPES])
    by_colour = tokenizer([t.format(c=c) for t in COLOUR_TEMPLATES for c in colours])
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    torch.manual_seed(seed)
    model.train()

    def pick(tokens, n_classes, n_templates):
        choice = torch.randint(0, n_templates, (n_classes,))
        return tokens[choice * n_classes + torch.arange(n_classes)]

    a, b = len(kinds), len(kinds) + len(SHAPES)
    for _ in range(steps):  # a fixed number of steps: the same model whatever the machine's load
        picks = torch.randint(0, len(images), (64,))
        texts = torch.cat(
            [
                pick(full, len(kinds), len(FULL_TEMPLATES)),
                pick(by_shape, len(SHAPES), len(SHAPE_TEMPLATES)),
                pick(by_colour, len(colours), len(COLOUR_TEMPLATES)),
            ]
        )
        image_features = F.normalize(model.encode_image(images[picks]), dim=-1)
        text_features = F.normalize(model.encode_text(texts), dim=-1)
        logits = model.logit_scale.exp() * image_features @ text_features.T
        y = labels[picks]
        loss = _contrastive(logits[:, :a], y) + PARTIAL_WEIGHT * (
            _contrastive(logits[:, a:b], shape_of[y]) + _contrastive(logits[:, b:], colour_of[y])
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
