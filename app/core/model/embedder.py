"""CLIP through open_clip: load the chosen model, turn images and text into unit vectors.

The model is chosen by two settings. MODEL is an open_clip model name or the path of a
model-config JSON (its file stem becomes the name). PRETRAINED is an open_clip pretrained tag
(downloaded once into the app's data dir), the path of a local checkpoint, or "none" for random
weights (tests and benchmarks only).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from .. import process_tuning
from . import export_files, model_config, weights
from .choices import ModelChoices
from .fast_start import usable_export as fast_start_export
from .pixels import prepare_picture
from .recent_texts import RecentTexts
from .weights import DownloadProgress, ModelUnavailable  # noqa: F401 (the engine's names for them)

log = logging.getLogger(__name__)
FIDELITY_SAMPLE = 8  # photos of the first batch on which int8 is compared with float32 (precision "auto")
TOWERS = ("both", "text", "image")  # what an Embedder keeps: a text query needs only the text tower
_TEXT_PARTS = ("transformer", "token_embedding", "positional_embedding", "ln_final", "text_projection", "text")


@dataclass(frozen=True)
class ModelSpec:
    model: str
    pretrained: str

    @property
    def name(self) -> str:
        if (folder := self.export_dir) is not None:
            return str(export_files.read_manifest(folder)["name"])
        return Path(self.model).stem if self.model.endswith(".json") else self.model

    @property
    def export_dir(self) -> Path | None:
        """The folder of an ONNX export (`photoseek export-model`) when MODEL names one."""
        return export_files.export_folder(self.model)

    @property
    def is_random(self) -> bool:
        return self.pretrained.strip().lower() in ("none", "random", "")

    @property
    def is_local_file(self) -> bool:
        return not self.is_random and os.path.isfile(os.path.expanduser(self.pretrained))

    @property
    def model_id(self) -> str:
        """Identifies the weights: part of every stored embedding's key (an export keeps the id of
        the model it was made from: its vectors are the same)."""
        if (folder := self.export_dir) is not None:
            return str(export_files.read_manifest(folder)["model_id"])
        if self.is_random:
            return f"{self.name}/none"
        if self.is_local_file:
            return f"{self.name}/file-{_file_digest(Path(self.pretrained).expanduser())}"
        return f"{self.name}/{self.pretrained}"


def _file_digest(path: Path) -> str:
    from ..fingerprint import fingerprint

    return fingerprint(path)[:16]


def import_model_code(onnx: bool = False) -> None:
    """Import torch and open_clip (or ONNX Runtime, `onnx`: for an export, or where torch is not
    installed): seconds and most of the process's Python objects, once."""
    if onnx or not torch_installed():
        import onnxruntime  # noqa: F401

        return
    import open_clip  # noqa: F401
    import torch  # noqa: F401


def pick_device(preference: str = "auto") -> str:
    import torch

    if preference != "auto":
        return preference
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _register_config(model: str) -> None:
    import open_clip

    if model.endswith(".json"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"model config file not found: {path}")
        model_config.check_file(path)  # before open_clip reads it: it trusts every size it is given
        open_clip.add_model_config(path)


def _fast_input(preprocess):
    """(size, Pillow resample, mean, 1/std on the 0-255 scale) when `preprocess` is the usual open_clip
    transform: resize the short side, centre crop a square, to tensor, normalise. Else None."""
    from PIL import Image
    from torchvision.transforms import InterpolationMode

    steps = list(getattr(preprocess, "transforms", []))
    if len(steps) < 3 or [type(t).__name__ for t in (steps[0], steps[1], steps[-1])] != [
        "Resize",
        "CenterCrop",
        "Normalize",
    ]:
        return None
    resize, crop, norm = steps[0], steps[1], steps[-1]
    if not all(type(t).__name__ in ("MaybeConvertMode", "function", "ToTensor", "MaybeToTensor") for t in steps[2:-1]):
        return None
    size = resize.size if isinstance(resize.size, int) else (resize.size[0] if len(resize.size) == 1 else None)
    resample = {
        InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
        InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    }.get(resize.interpolation)
    if size is None or resample is None or resize.max_size is not None or tuple(crop.size) != (size, size):
        return None
    mean = np.asarray(norm.mean, dtype=np.float32).reshape(3, 1, 1) * 255
    inv_std = 1 / (np.asarray(norm.std, dtype=np.float32).reshape(3, 1, 1) * 255)
    return size, resample, mean, inv_std


class Embedder:
    """A loaded CLIP model. Thread-safe: text is encoded one call at a time; image batches may run
    side by side (see `side_by_side`).

    `towers`: "text" keeps only the text tower (a text query), "image" only the image tower (an
    image query); the other one is dropped as soon as the weights are loaded. `choices`: where the
    measured precision and text shortcut are remembered per model (ModelChoices), so that later
    loads skip measuring them."""

    def __init__(
        self,
        spec: ModelSpec,
        cache_dir: Path,
        device: str = "auto",
        progress: DownloadProgress | None = None,
        precision: str = "auto",
        towers: str = "both",
        choices: Path | None = None,
    ):
        try:
            import open_clip
        except ImportError as e:  # a build without PyTorch (packaging/photoseek.spec): browse, no model
            raise ModelUnavailable(f"this installation has no PyTorch model runtime ({e.name} is missing)") from e

        if towers not in TOWERS:
            raise ValueError(f"towers must be one of {TOWERS}, not {towers!r}")
        self.towers = towers
        self._choices = ModelChoices(choices) if choices is not None else None
        known = self._choices.get(spec.model_id) if self._choices is not None else {}

        self.spec = spec
        self.model_id = spec.model_id
        self.device = pick_device(device)
        _register_config(spec.model)
        if open_clip.get_model_config(spec.name) is None:
            raise ModelUnavailable(
                f"unknown model '{spec.model}': give an open_clip model name "
                "(see `python -c 'import open_clip; print(open_clip.list_models())'`) or a model-config JSON file"
            )
        model, image_size, preprocess = self._build(open_clip, cache_dir, progress)
        self.image_size = image_size
        self.model = model
        self.preprocess = preprocess  # open_clip's reference: one picture -> a float tensor
        self._input = _fast_input(preprocess)
        self.tokenizer = open_clip.get_tokenizer(spec.name)
        # A query's text is encoded while photos are being embedded (it waited ~0.9 s for a batch
        # when one lock guarded both towers, on 2 cores). Image batches run side by side; the image
        # lock only elects the batch that chooses the precision (`_embed_while_choosing`).
        self._image_lock = threading.Lock()
        self._choosing: threading.Event | None = None  # set once that batch has chosen
        self._quantise_lock = threading.Lock()
        self._text_lock = threading.Lock()
        self._recent_texts = RecentTexts()
        self._short_text = self.has("text") and self._short_text_check(known)
        self.dim = _embed_dim(open_clip, spec.name, model, self)
        self._set_precision(precision, known)

    def _build(self, open_clip, cache_dir: Path, progress: DownloadProgress | None):
        """(model in eval mode, image size, preprocess) for the spec's weights, the towers asked."""
        spec, towers = self.spec, self.towers
        checkpoint, tag = self._weights(cache_dir, progress)
        settings = tag.settings if tag else {}
        built = (
            _from_checkpoint(open_clip, spec.name, checkpoint, towers, self.device, settings) if checkpoint else None
        )
        try:
            model, image_size, preprocess = built or _built_and_loaded(
                open_clip, spec.name, checkpoint, towers, self.device, settings
            )
        except ModelUnavailable:
            raise
        except Exception as e:
            raise ModelUnavailable(f"cannot load {spec.name} with weights {spec.pretrained}: {e}") from e
        model.eval()
        return model, image_size, preprocess

    def _set_precision(self, precision: str, known: dict) -> None:
        """int8 image tower (CPU only): None = not decided yet, False = float32. An image query's
        one picture stays float32: quantising the tower would cost more than it saves, and float32
        is what int8 was measured against (cosine >= 0.99 to the library's vectors)."""
        query_only = self.towers == "image"
        self.precision = "fp32" if self.device != "cpu" or precision == "fp32" or query_only else precision
        self.fidelity: float | None = None  # mean cosine int8 vs float32, once measured
        self._fast_visual = None if self.precision != "fp32" else False
        self._int8: object = None  # the int8 tower made ahead of the decision (quantise_now), False if unavailable
        self._int8_remembered = False  # an earlier run chose int8: made when the first batch needs it
        if self.precision == "auto" and known.get("precision") in ("int8", "fp32"):
            self._decided(known["precision"], known.get("fidelity"))

    def has(self, towers: str) -> bool:
        """Whether this embedder keeps the towers that `towers` ("both", "text", "image") names."""
        return self.towers == "both" or self.towers == towers

    def _short_text_check(self, known: dict) -> bool:
        """`_short_text_works`, measured once per model (two full-context encodings: seconds on a
        busy CPU) and then remembered."""
        if isinstance(known.get("short_text"), bool):
            return known["short_text"]
        works = _short_text_works(self.model, self.tokenizer, self.device)
        if self._choices is not None:
            self._choices.remember(self.model_id, short_text=works)
        return works

    def _decided(self, precision: str, fidelity: float | None) -> None:
        """Use the precision an earlier run chose for this model: int8 replaces the float32 image
        tower (made when the first batch needs it), float32 never makes an int8 one."""
        self.precision = precision
        self.fidelity = fidelity if isinstance(fidelity, (int, float)) else None
        if precision == "fp32":
            self._fast_visual, self._int8 = False, False
        else:
            self._int8_remembered = True

    def _visual(self):
        """The image tower for a batch once the precision is decided (int8 made on first use)."""
        if self._fast_visual is None and self._int8_remembered:
            tower = self._int8_tower()
            self._keep_only(tower if tower is not False else None)
        return self._fast_visual or self.model.visual

    def _keep_only(self, int8_tower) -> None:
        """The precision is chosen: the int8 tower takes the float32 one's place (which then goes,
        but for the tensors they share), or float32 stays and the int8 copy goes."""
        if int8_tower is not None:
            self.model.visual = int8_tower
            self.precision = "int8"
        else:
            self.precision = "fp32"
        self._int8 = int8_tower if int8_tower is not None else False
        self._fast_visual = self._int8

    def _weights(
        self, cache_dir: Path, progress: DownloadProgress | None
    ) -> tuple[str | None, weights.Pretrained | None]:
        """(checkpoint file or None for random weights, the tag whose settings the weights need)."""
        import torch

        spec = self.spec
        if spec.is_random:
            warnings.warn(f"{spec.name} runs with random weights: search results are meaningless", stacklevel=3)
            torch.manual_seed(0)  # the same random model on every run, so stored vectors stay valid
            return None, None
        if spec.is_local_file:
            checkpoint = Path(spec.pretrained).expanduser()
            tag = weights.tag_of_file(spec.name, checkpoint)
            log.info("%s: settings of %s", checkpoint, f"{spec.name} {tag.tag}" if tag else "its model config")
            return str(checkpoint), tag
        tag = weights.pretrained_tag(spec.name, spec.pretrained)
        return str(weights.fetch(tag, cache_dir, progress)), tag

    def embed_tensors(self, batch) -> np.ndarray:
        """Image tensors [B, 3, H, W] (already preprocessed) -> unit vectors float32 [B, D]."""
        import torch

        if not self.has("image"):
            raise RuntimeError("this embedder was loaded for text only")
        process_tuning.all_torch_threads()
        with torch.inference_mode():
            batch = batch.to(self.device)
            if self._fast_visual is None and not self._int8_remembered:
                return self._embed_while_choosing(batch).cpu().numpy()
            return _unit(self._visual(), batch).cpu().numpy()

    @property
    def first_batch(self) -> int | None:
        """How many photos the first batch should hold while the precision is being chosen (they
        are embedded both ways), or None once it is chosen."""
        return FIDELITY_SAMPLE if self._fast_visual is None and not self._int8_remembered else None

    @property
    def lanes(self) -> int:
        """How many image batches to embed side by side on this machine (`side_by_side`)."""
        return process_tuning.embedding_lanes(self.device)

    def side_by_side(self, lanes: int) -> AbstractContextManager[None]:
        """While inside, `lanes` image batches may be embedded at once, each on its share of the
        cores (app/core/process_tuning.py says why)."""
        return process_tuning.split_torch_threads(lanes)

    def int8_visual(self):
        """A copy of the image tower with its linear layers dynamically quantised to int8."""
        import torch

        with warnings.catch_warnings():  # torch.ao.quantization warns that it is being superseded
            warnings.simplefilter("ignore")
            from torch.ao.quantization import quantize_dynamic

            # The copy shares the float32 tensors (only the linear layers get new, int8 ones):
            # 0.36 s where a deep copy took 0.51 (ViT-B/32, MLPs only), and 100 MB less held.
            visual = self.model.visual
            shared = {id(t): t for t in (*visual.parameters(), *visual.buffers())}
            tower = copy.deepcopy(visual, shared)
            _quantisable_attention(tower)
            return quantize_dynamic(tower, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)

    def quantise_now(self) -> None:
        """Make the int8 image tower ahead of the first batch (~0.5 s for ViT-B/32), so that indexing
        does not wait for it; a no-op where int8 is off or already decided."""
        if self._fast_visual is None and self.has("image"):
            self._int8_tower()

    def _int8_tower(self):
        """The int8 image tower, made once; False where this CPU or build has none."""
        with self._quantise_lock:
            if self._int8 is None:
                try:
                    self._int8 = self.int8_visual()
                except Exception as e:  # no quantised kernels on this CPU/build: stay exact
                    log.info("int8 image tower unavailable (%s); using float32", e)
                    self._int8 = False
            return self._int8

    def _embed_while_choosing(self, batch):
        """A batch embedded before the precision is chosen. The first one judges (`_choose_precision`);
        one arriving meanwhile (the other lane) is embedded with the int8 tower as soon as it exists
        and kept if the judge keeps int8, else embedded again in float32: no lane waits idle."""
        with self._image_lock:
            judge = self._choosing is None
            if judge:
                self._choosing = threading.Event()
            chosen = self._choosing
        if judge:
            # Nested 4 deep: whatever the judge does, the lock is taken to let the next batch judge again.
            try:
                return self._choose_precision(batch)
            finally:
                with self._image_lock:
                    if self._fast_visual is None:  # the judge failed: the next batch judges again
                        self._choosing = None
                chosen.set()
        fast = self._int8_tower()
        features = _unit(fast, batch, quiet=True) if fast is not False else None
        chosen.wait()
        if self._fast_visual is None:
            return self._embed_while_choosing(batch)
        if features is not None and self._fast_visual is fast:
            return features
        return _unit(self._fast_visual or self.model.visual, batch)

    def _choose_precision(self, batch):
        """Embed the first batch and choose the image tower: float32 on a sample of its photos (while
        `quantise_now` makes the int8 tower on a decode thread), int8 on all of them; int8 is kept if
        it stays within cosine 0.99 of float32 on the sample (or int8 was forced)."""
        import torch

        sample = min(FIDELITY_SAMPLE, len(batch))
        reference = _unit(self.model.visual, batch[:sample])
        fast = self._int8_tower()
        features = _unit(fast, batch, quiet=True) if fast is not False else None
        if features is not None:
            self.fidelity = float((reference * features[:sample]).sum(dim=-1).mean())
            log.info("int8 image tower: cosine %.4f to float32 on %d photos", self.fidelity, sample)
        keep = features is not None and (self.precision == "int8" or self.fidelity >= 0.99)
        measured = self.precision == "auto"
        self._keep_only(fast if keep else None)
        if measured and self._choices is not None:
            self._choices.remember(self.model_id, precision=self.precision, fidelity=self.fidelity)
        if keep:
            return features
        rest = _unit(self.model.visual, batch[sample:]) if sample < len(batch) else reference[:0]
        return torch.cat((reference, rest))

    def prepare(self, image):
        """The model input of one upright RGB picture (on a decode thread; `batch` finishes it).

        For the usual resize + centre crop, numpy and Pillow make it
        (`pixels.prepare_picture`). Other transforms go through open_clip's own preprocessing."""
        if self._input is None:
            return self.preprocess(image)
        return prepare_picture(image, *self._input)

    def batch(self, prepared: Sequence):
        """`prepare`d pictures -> the model's input tensor [B, 3, H, W]."""
        import torch

        if self._input is None:
            return torch.stack(list(prepared))
        return torch.from_numpy(np.stack(prepared))

    def embed_images(self, images: Sequence) -> np.ndarray:
        return self.embed_tensors(self.batch([self.prepare(im) for im in images]))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> unit vectors float32 [N, D]; recent texts are served from a cache."""
        import torch

        if not self.has("text"):
            raise RuntimeError("this embedder was loaded for images only")

        def encode(missing: list[str]) -> np.ndarray:
            tokens = self.tokenizer(missing)
            with self._text_lock, torch.inference_mode():
                features = self._encode_text(tokens.to(self.device))
                return torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()

        return self._recent_texts.vectors(texts, encode)

    def encode_texts(
        self, texts: Sequence[str], batch_size: int = 256, should_stop: Callable[[], bool] | None = None
    ) -> np.ndarray | None:
        """Many texts -> unit vectors float32 [N, D], in batches and bypassing the query cache
        (a vocabulary of prompts). None when `should_stop()` says so between batches."""
        import torch

        out = []
        for start in range(0, len(texts), batch_size):
            if should_stop is not None and should_stop():
                return None
            tokens = self.tokenizer(list(texts[start : start + batch_size]))
            with self._text_lock, torch.inference_mode():
                features = self._encode_text(tokens.to(self.device))
                out.append(torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, self.dim), dtype=np.float32)

    def _encode_text(self, tokens):
        """The text tower. CLIP's is causal and reads its vector at the end token, so the padding
        after the longest text of the batch changes nothing: cut it (a query is ~10 of the 77
        context tokens; measured 45 -> ~10 ms per query on 2 cores) when `_short_text_works`."""
        process_tuning.all_torch_threads()
        if self._short_text:
            used = max(1, int((tokens != 0).sum(dim=1).max()))  # 0 pads after the end token
            return _short_text_forward(self.model, tokens[:, :used])
        return self.model.encode_text(tokens)

    @property
    def logit_scale(self) -> float:
        """The model's trained softmax temperature (100 for the released CLIP models)."""
        scale = getattr(self.model, "logit_scale", None)
        try:
            return float(scale.detach().exp()) if scale is not None else 100.0
        except Exception:  # a model without one: CLIP's value
            return 100.0


def _image_size(model) -> int:
    size = model.visual.image_size
    return int(size if isinstance(size, int) else max(size))


def _built_and_loaded(open_clip, name: str, checkpoint: str | None, towers: str, device: str, settings: dict):
    """(model, image size, preprocess) as open_clip makes them: random initialisation, then the
    checkpoint's weights over it (random weights: both towers are drawn, in order, so that the
    text tower is the same one whatever is kept)."""
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=checkpoint, device=device, **settings)
    image_size = _image_size(model)
    _drop_unused_tower(model, towers)
    return model, image_size, preprocess


class _NotLoadedHere(Exception):
    """The fast path cannot load this checkpoint; open_clip's own loading will."""


def _from_checkpoint(open_clip, name: str, checkpoint: str, towers: str, device: str, settings: dict):
    """(model, image size, preprocess) with no random initialisation and no second copy of the
    weights: the model is built on the meta device, the tower not needed is dropped, and the
    checkpoint's tensors (memory-mapped from a torch zip or safetensors file) become its
    parameters. None where this cannot be done (open_clip's loading is used instead)."""
    import torch

    try:
        with _quiet_root_log():  # "initialized randomly": it is not, the weights come next
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, pretrained=None, device="meta", **settings
            )
        image_size = _image_size(model)
        state = _checkpoint_state(open_clip, model, checkpoint)
        _drop_unused_tower(model, towers)
        wanted = model.state_dict().keys()
        model.load_state_dict({k: v for k, v in state.items() if k in wanted}, strict=True, assign=True)
        if getattr(model, "attn_mask", None) is not None and model.attn_mask.is_meta:  # not in checkpoints
            n = model.attn_mask.shape[0]
            model.attn_mask = torch.full((n, n), float("-inf")).triu_(1)  # open_clip's build_causal_mask
        if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
            raise _NotLoadedHere("a tensor the checkpoint does not hold")
        return model.to(device), image_size, preprocess
    except Exception as e:  # an unusual checkpoint or architecture: the plain way
        log.info("loading %s the plain way (%s)", checkpoint, e)
        return None


def _checkpoint_state(open_clip, model, checkpoint: str) -> dict:
    """The checkpoint's state dict as open_clip's `load_checkpoint` massages it, tensors mapped."""
    import torch
    from open_clip.factory import convert_state_dict
    from open_clip.model import resize_pos_embed, resize_text_pos_embed

    if checkpoint.endswith(".safetensors"):
        from safetensors.torch import load_file

        loaded = load_file(checkpoint, device="cpu")
    elif checkpoint.endswith((".npz", ".npy")):
        raise _NotLoadedHere("big_vision weights")
    else:
        loaded = torch.load(checkpoint, map_location="cpu", mmap=True, weights_only=True)
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not state:
        raise _NotLoadedHere("not a state dict")
    if next(iter(state)).startswith("module"):
        state = {k[7:]: v for k, v in state.items()}
    state = convert_state_dict(model, state)
    if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
        raise _NotLoadedHere("an old text format")
    for key in ("logit_scale", "logit_bias"):
        if key in state and getattr(model, key, None) is not None and model.get_parameter(key).ndim != state[key].ndim:
            state[key] = state[key].reshape(model.get_parameter(key).shape)
    if getattr(model, "logit_bias", None) is not None and "logit_bias" not in state:
        raise _NotLoadedHere("no logit bias")
    resize_pos_embed(state, model)
    resize_text_pos_embed(state, model)
    return state


@contextmanager
def _quiet_root_log() -> Iterator[None]:
    root = logging.getLogger()
    quiet = logging.Filter("nothing")  # (passes only records of a logger named "nothing")
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def _drop_unused_tower(model, towers: str) -> None:
    """Let go of the tower `towers` does not need (its weights are freed with it)."""
    if towers == "text":
        model.visual = None
    elif towers == "image":
        for name in _TEXT_PARTS:
            if getattr(model, name, None) is not None:
                setattr(model, name, None)
        if getattr(model, "attn_mask", None) is not None:
            model.attn_mask = None


def _embed_dim(open_clip, name: str, model, embedder: Embedder) -> int:
    """The width of the vectors: the model config's, else measured on a text."""
    config = open_clip.get_model_config(name) or {}
    if isinstance(config.get("embed_dim"), int):
        return int(config["embed_dim"])
    if embedder.has("text"):
        return int(embedder.embed_texts(["a photo"]).shape[1])
    return int(model.visual.output_dim)


def _quantisable_attention(tower) -> None:
    """Give each self-attention block of `tower` its projections as nn.Linear layers, which dynamic
    quantisation makes int8; it leaves nn.MultiheadAttention's own in float32, a third of a ViT's
    matrix products. With them: int8 ViT-B-32-256 46-50 photos/s where 38 (2 lanes, 2 cores),
    cosine to float32 0.9997 where 0.9999 (random weights, devdata)."""
    import torch
    from torch import nn

    class SelfAttention(nn.Module):
        """nn.MultiheadAttention at inference (batch first, self-attention, no weights returned)."""

        def __init__(self, attention: nn.MultiheadAttention):
            super().__init__()
            width = attention.embed_dim
            self.heads = attention.num_heads
            # made on the meta device: no weights of their own, the shared ones are put in
            self.qkv = nn.Linear(width, 3 * width, bias=attention.in_proj_bias is not None, device="meta")
            self.qkv.weight = attention.in_proj_weight  # shared, as the copy shares everything
            if attention.in_proj_bias is not None:
                self.qkv.bias = attention.in_proj_bias
            self.out = nn.Linear(width, width, bias=attention.out_proj.bias is not None, device="meta")
            self.out.weight = attention.out_proj.weight
            if attention.out_proj.bias is not None:
                self.out.bias = attention.out_proj.bias

        def forward(self, query, key, value, need_weights=False, attn_mask=None):
            if key is not query or value is not query or need_weights:
                raise ValueError("only self-attention")  # the tower is then unusable: float32 (`_unit`)
            batch, tokens, width = query.shape
            if attn_mask is not None:
                if attn_mask.dtype == torch.bool:  # True = masked in MultiheadAttention, kept in SDPA
                    attn_mask = torch.zeros_like(attn_mask, dtype=query.dtype).masked_fill(attn_mask, float("-inf"))
                if attn_mask.dim() == 3:  # (batch * heads, L, S)
                    attn_mask = attn_mask.view(batch, self.heads, tokens, tokens)
            q, k, v = self.qkv(query).view(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
            mixed = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            return self.out(mixed.transpose(1, 2).reshape(batch, tokens, width)), None

    for block in tower.modules():
        attention = getattr(block, "attn", None)
        if (
            type(attention) is nn.MultiheadAttention
            and attention.batch_first
            and attention._qkv_same_embed_dim
            and attention.bias_k is None
            and not attention.add_zero_attn
            and attention.dropout == 0
            and hasattr(block, "ln_1")
            and not hasattr(block, "ln_1_kv")
        ):  # open_clip's self-attention blocks
            block.attn = SelfAttention(attention)


def _unit(visual, pictures, quiet: bool = False):
    """`visual`'s unit vectors for a batch of pictures; None when `quiet` and the tower fails (an int8
    tower this architecture cannot run)."""
    import torch

    try:
        return torch.nn.functional.normalize(visual(pictures).float(), dim=-1)
    except Exception as e:
        if not quiet:
            raise
        log.info("int8 image tower unusable (%s); using float32", e)
        return None


def load(
    spec: ModelSpec,
    cache_dir: Path,
    device: str = "auto",
    progress: DownloadProgress | None = None,
    precision: str = "auto",
    towers: str = "both",
    choices: Path | None = None,
    fast_start: bool = False,
) -> Embedder:
    """The torch Embedder; the ONNX Runtime one (same interface) for an export folder, where torch
    is not installed (the packaged app) on the model's export (`export_files.find_export`), or, with
    `fast_start`, on the export of this model an earlier index run left (`fast_start.py`).
    `towers`, `choices`: as for Embedder."""
    folder = export_to_run(spec, cache_dir, device, precision, towers, fast_start)
    if folder is None and not torch_installed():
        folder = export_files.find_export(spec, cache_dir, progress)
    if folder is not None:
        from . import onnx_embedder

        # (not an Embedder subclass: it has its public interface; tests/core/test_onnx.py runs both)
        return cast(Embedder, onnx_embedder.OnnxEmbedder(folder, spec, precision, towers))
    return Embedder(spec, cache_dir, device, progress, precision, towers, choices)


def export_to_run(
    spec: ModelSpec,
    cache_dir: Path,
    device: str = "auto",
    precision: str = "auto",
    towers: str = "both",
    fast_start: bool = False,
) -> Path | None:
    """The export folder `load` runs with ONNX Runtime where torch is installed: the one MODEL
    names, or with `fast_start` the fast start's when it is usable (indexing on a GPU keeps torch);
    None: torch."""
    folder = spec.export_dir
    if folder is None and fast_start and torch_installed() and (towers != "both" or _cpu_only(device)):
        folder = fast_start_export(cache_dir, spec.model_id, towers, precision)
    return folder


def _cpu_only(device: str) -> bool:
    """Whether indexing would run on the CPU anyway (ONNX Runtime here runs there), told without
    importing torch: no NVIDIA driver, not a Mac (MPS)."""
    import sys

    if device != "auto":
        return device == "cpu"
    return sys.platform != "darwin" and not os.path.exists("/dev/nvidiactl")


def torch_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("open_clip") is not None
    except (ImportError, ValueError):  # sys.modules["torch"] = None (a test), or a broken install
        return False


def _short_text_forward(model, tokens):
    """open_clip's `CLIP.encode_text` for tokens shorter than the context (positions and causal
    mask cut to match)."""
    import torch
    from open_clip.transformer import text_global_pool

    n = tokens.shape[1]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask[:n, :n]))
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    projection = model.text_projection
    if projection is not None:
        x = projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection
    return x


def _short_text_works(model, tokenizer, device) -> bool:
    """Whether cutting the padding gives this model's own text vectors: a causal CLIP text tower
    pooled at the end token, checked on sample texts (any other tower keeps the full context)."""
    import torch

    try:
        from open_clip.model import CLIP

        if (
            not isinstance(model, CLIP)
            or getattr(model, "attn_mask", None) is None
            or getattr(model, "text_pool_type", "argmax") not in ("argmax", "eos")
        ):
            return False
        tokens = tokenizer(["a photo", "two dogs playing in the snow at night"]).to(device)
        with torch.inference_mode():
            full = torch.nn.functional.normalize(model.encode_text(tokens).float(), dim=-1)
            used = int((tokens != 0).sum(dim=1).max())
            short = torch.nn.functional.normalize(_short_text_forward(model, tokens[:, :used]).float(), dim=-1)
        return bool(used < tokens.shape[1] and (full * short).sum(dim=-1).min() > 0.9999)
    except Exception as e:  # another open_clip version or tower: the plain path is always right
        log.info("full-context text encoding (%s)", e)
        return False
