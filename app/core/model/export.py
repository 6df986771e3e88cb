"""Export an open_clip model to a folder that ONNX Runtime runs without torch (`onnx_embedder.py`).

open_clip stays the source of truth: the model is loaded exactly as the app loads it (`Embedder`,
the same MODEL / PRETRAINED settings), and its towers are traced to ONNX. The folder holds:

- visual.onnx, text.onnx: the image and text towers, float32 (the text tower takes any number of
  tokens up to the context, so a query is not padded to 77);
- visual.int8.onnx: the image tower with int8 weights (dynamic quantisation), kept only when its
  vectors stay within cosine 0.99 of float32 on every sample photo;
- each tower as ONNX Runtime's optimised graph, its weights in `<tower>.data` beside it (memory-
  mapped at load: a session opens in a third of the time);
- tokenizer.json.gz: open_clip's BPE vocabulary and merges, its clean mode and context length;
- manifest.json: the model id (the torch backend's: both store the same vectors), the embedding
  size, logit scale, the preprocessing (size, mean, std, resize), opset, fidelity, sha256 and
  size of files.

Needs torch, open_clip and onnx (`photoseek export-model`).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import fast_start
from .clip_tokenizer import TOKENIZER_FILE
from .embedder import Embedder, ModelSpec, _quantisable_attention, _short_text_forward
from .export_files import FORMAT, MANIFEST, _sha256
from .weights import DownloadProgress, ModelUnavailable

log = logging.getLogger(__name__)
OPSET = 17
INT8_MIN_COSINE = 0.99
SAMPLE_TEXTS = ["a photo", "two dogs playing in the snow at night", "", "Ünïcödé straße 東京 🙂"]


class ExportError(ModelUnavailable):
    """The model cannot be exported; the message says why."""


def export_model(
    spec: ModelSpec,
    cache_dir: Path,
    out_dir: Path,
    photos: Sequence[Path] = (),
    progress: DownloadProgress | None = None,
    int8: bool = True,
    int8_only: bool = False,
) -> dict:
    """Export `spec` into `out_dir` (replaced whole, written beside it first); returns the manifest.
    `photos` are the pictures on which the int8 tower's fidelity is measured (made-up ones if none);
    `int8_only` leaves the float32 image tower out when the int8 one is kept (a smaller download)."""
    embedder = Embedder(spec, cache_dir, "cpu", progress, precision="fp32")
    _check_exportable(embedder)
    out_dir = Path(out_dir).expanduser()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    work.chmod(0o755)  # (mkdtemp's is 0700: an export installed for all users must be readable)
    try:
        manifest = _write_export(embedder, work, _sample_pictures(photos, embedder.image_size), int8, int8_only)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def write_fast_start(spec: ModelSpec, models_dir: Path, photos: Sequence[Path]) -> fast_start.Written:
    """Export `spec` into its fast-start folder (fast_start.py): the int8 image tower alone when it
    is kept, else the float32 one; `photos`: the sample on which int8's fidelity is measured."""
    started = time.monotonic()
    fast_start.remove_stale_work(models_dir)
    folder = fast_start.export_dir(models_dir, spec.model_id)
    export_model(spec, models_dir, folder, photos, int8=True, int8_only=True)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return fast_start.Written(folder, time.monotonic() - started, size)


def _check_exportable(embedder: Embedder) -> None:
    from open_clip.tokenizer import SimpleTokenizer, _clean_lower, _clean_whitespace

    name = embedder.spec.name
    tokenizer = embedder.tokenizer
    if embedder._input is None:
        raise ExportError(f"{name}: its preprocessing is not a plain resize + centre crop; it cannot be exported")
    if not isinstance(tokenizer, SimpleTokenizer) or tokenizer.reduction_fn is not None:
        raise ExportError(f"{name}: only models with CLIP's own tokenizer can be exported ({type(tokenizer).__name__})")
    if tokenizer.clean_fn not in (_clean_lower, _clean_whitespace):
        raise ExportError(f"{name}: its tokenizer's text cleaning is not supported")


def _write_export(embedder: Embedder, folder: Path, pictures: list, int8: bool, int8_only: bool) -> dict:
    import torch

    model = embedder.model
    _quantisable_attention(model)  # explicit attention: ONNX's shapes follow the batch and the text length
    pixels = torch.from_numpy(np.stack([embedder.prepare(p) for p in pictures]))
    _export(_Visual(model), pixels[:2], folder / "visual.onnx", "pixels", {0: "batch"})
    tokens = embedder.tokenizer(SAMPLE_TEXTS)
    dynamic_text = bool(embedder._short_text)
    text_axes = {0: "batch", 1: "length"} if dynamic_text else {0: "batch"}
    _export(_Text(model, dynamic_text), tokens, folder / "text.onnx", "tokens", text_axes)
    _write_tokenizer(embedder.tokenizer, folder / TOKENIZER_FILE)
    with torch.inference_mode():
        reference = _unit(model.visual(pixels).numpy())
        text_reference = _unit(model.encode_text(tokens).numpy())
    if int8:
        _quantise(folder)  # (from the traced graph: the quantiser reads plain ONNX operators)
    for tower in ("visual.onnx", "visual.int8.onnx", "text.onnx"):
        if (folder / tower).is_file():
            _optimise(folder / tower)
    # measured on the files as they are kept: what the runtime will load
    fidelity = {
        "visual_fp32": _cosines(reference, _unit(_run(folder / "visual.onnx", pixels.numpy()))),
        "text_fp32": _cosines(text_reference, _unit(_run(folder / "text.onnx", tokens.numpy()))),
    }
    if fidelity["visual_fp32"]["min"] < 0.999 or fidelity["text_fp32"]["min"] < 0.999:
        raise ExportError(f"{embedder.spec.name}: the ONNX towers do not reproduce open_clip's vectors: {fidelity}")
    if int8:
        fidelity["visual_int8"] = _int8_fidelity(folder, pixels.numpy(), reference)
        if int8_only and fidelity["visual_int8"]["kept"]:
            _remove_tower(folder / "visual.onnx")
    manifest = _manifest(embedder, folder, fidelity, dynamic_text, len(pictures))
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


class _Visual:  # (made a torch Module in `_export`: torch is imported only there)
    def __init__(self, model):
        self.model = model


class _Text:
    def __init__(self, model, short: bool):
        self.model, self.short = model, short


def _export(tower, example, path: Path, input_name: str, axes: dict) -> None:
    """Trace one tower to ONNX (the TorchScript exporter: no onnxscript needed)."""
    import warnings

    import torch

    class Tower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = tower.model

        def forward(self, x):
            if isinstance(tower, _Visual):
                return self.model.visual(x)
            return _short_text_forward(self.model, x) if tower.short else self.model.encode_text(x)

    module = Tower().eval()  # (export restores the wrapper's mode onto the model: eval, or BatchNorm drifts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            input_names=[input_name],
            output_names=["features"],
            dynamic_axes={input_name: axes, "features": {0: "batch"}},
            opset_version=OPSET,
        )


def _quantise(folder: Path) -> None:
    """visual.int8.onnx: the image tower with int8 weights (dynamic quantisation)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = _NoPreprocessAdvice()
    logging.getLogger().addFilter(quiet)  # its advice to pre-process the graph: shape inference, no gain here
    try:
        quantize_dynamic(str(folder / "visual.onnx"), str(folder / "visual.int8.onnx"), weight_type=QuantType.QInt8)
    finally:
        logging.getLogger().removeFilter(quiet)


def _int8_fidelity(folder: Path, pixels: np.ndarray, reference: np.ndarray) -> dict:
    """The int8 tower's cosines to float32; it is kept when every sample photo's is >= INT8_MIN_COSINE."""
    target = folder / "visual.int8.onnx"
    cosines = _cosines(reference, _unit(_run(target, pixels)))
    cosines["kept"] = cosines["min"] >= INT8_MIN_COSINE
    if not cosines["kept"]:
        log.info("int8 image tower dropped: cosine %s to float32", cosines)
        _remove_tower(target)
    return cosines


def _optimise(path: Path) -> None:
    """Rewrite one tower as ONNX Runtime's optimised graph, its weights in `<name>.data` beside it.

    A session then opens in about a third of the time (text tower, ViT-B-32: 0.55 -> 0.17 s): the
    weights are memory-mapped instead of parsed out of a 250 MB protobuf, and the fusions are not
    searched for again at every load. EXTENDED, not ALL: ALL adds layouts for this very processor,
    and an export may be copied to another computer."""
    import onnxruntime as ort

    work = path.with_name(".optimised-" + path.name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(work)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", path.name + ".data")
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    os.replace(work, path)  # (the weights file is named after the tower, which keeps its name)


def _remove_tower(path: Path) -> None:
    path.unlink()
    path.with_name(path.name + ".data").unlink(missing_ok=True)


class _NoPreprocessAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _run(path: Path, inputs: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: inputs})[0]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _cosines(a: np.ndarray, b: np.ndarray) -> dict:
    c = (a * b).sum(axis=1)
    return {"mean": round(float(c.mean()), 6), "min": round(float(c.min()), 6), "n": len(c)}


def _write_tokenizer(tokenizer, path: Path) -> None:
    """open_clip's vocabulary (in id order), merges (in rank order), special tokens and options."""
    from open_clip.tokenizer import _clean_lower

    vocab = sorted(tokenizer.encoder, key=tokenizer.encoder.__getitem__)
    merges = [list(m) for m in sorted(tokenizer.bpe_ranks, key=tokenizer.bpe_ranks.__getitem__)]
    specials = [tokenizer.decoder[i] for i in tokenizer.all_special_ids]
    options = {
        "context_length": tokenizer.context_length,
        "clean": "lower" if tokenizer.clean_fn is _clean_lower else "whitespace",
    }
    data = {"vocab": vocab, "merges": merges, "specials": specials, "options": options}
    path.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), mtime=0))


def _manifest(embedder: Embedder, folder: Path, fidelity: dict, dynamic_text: bool, photos: int) -> dict:
    import onnxruntime
    import open_clip
    import torch

    size, resample, _, _ = embedder._input
    normalise = embedder.preprocess.transforms[-1]  # (its own floats: the runtime's input is then bit-equal)
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    return {
        "format": FORMAT,
        "model_id": embedder.model_id,
        "name": embedder.spec.name,
        "pretrained": embedder.spec.pretrained,
        "embed_dim": embedder.dim,
        "logit_scale": embedder.logit_scale,
        "opset": OPSET,
        "preprocess": {
            "size": size,
            "resize": "shortest-side, centre crop",
            "interpolation": resample.name.lower(),
            "mean": [float(v) for v in normalise.mean],
            "std": [float(v) for v in normalise.std],
        },
        "text": {"context_length": embedder.tokenizer.context_length, "trimmed_padding": dynamic_text},
        "fidelity": {**fidelity, "photos": photos},
        "made_with": {
            "open_clip": open_clip.__version__,
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "files": {name: _sha256(folder / name) for name in files},
        "sizes": {name: (folder / name).stat().st_size for name in files},  # (the fast start's check at load)
    }


def _sample_pictures(photos: Sequence[Path], size: int) -> list:
    """The photos (upright RGB), or a few made-up pictures with some structure when none are given."""
    from PIL import Image, ImageOps

    pictures = []
    for path in photos:
        try:
            with Image.open(path) as im:
                pictures.append(ImageOps.exif_transpose(im).convert("RGB"))
        except OSError as e:
            log.info("%s skipped for the fidelity sample: %s", path, e)
    if len(pictures) >= 2:
        return pictures
    rng = np.random.default_rng(0)
    made = [Image.fromarray(rng.integers(0, 256, (size + 7 * i, size + 13 * i, 3), dtype=np.uint8)) for i in range(4)]
    return pictures + [Image.linear_gradient("L").resize((size, size)).convert("RGB"), *made]


def sample_photos(folder: Path, limit: int = 32) -> list[Path]:
    """Up to `limit` pictures under `folder` (sorted), for the int8 fidelity sample."""
    kinds = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
    return sorted(p for p in Path(folder).expanduser().rglob("*") if p.suffix.lower() in kinds)[:limit]
