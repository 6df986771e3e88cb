"""CLIP under ONNX Runtime, without torch: the packaged app's embedder.

It runs a folder written by `photoseek export-model` (`export.py`: open_clip's towers in ONNX, its
tokenizer's data, a manifest) and has the torch `Embedder`'s interface, so the indexer, the search
and the concepts use either. Its vectors are open_clip's (cosine >= 0.999 in float32, checked at
export and in tests/core/test_onnx.py), so it stores them under the same model id.

Imports only numpy, Pillow, onnxruntime and the torch-free tokenizer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .clip_tokenizer import TOKENIZER_FILE, ClipTokenizer
from .export_files import read_manifest
from .pixels import prepare_picture
from .recent_texts import RecentTexts
from .weights import ModelUnavailable

if TYPE_CHECKING:
    from .export_files import ModelSpecLike

log = logging.getLogger(__name__)
RESAMPLE = {"bicubic": 3, "bilinear": 2}  # Pillow's Image.Resampling values


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # no spinning: the decode threads need the cores between batches
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """A CLIP model exported to ONNX. Thread-safe: ONNX Runtime sessions run concurrent calls."""

    def __init__(self, folder: Path, spec: ModelSpecLike | None = None, precision: str = "auto", towers: str = "both"):
        """`towers`: "text" or "image" opens only that tower's session (a query), "both" both."""
        folder = Path(folder)
        self.towers = towers
        manifest = read_manifest(folder)
        self.folder, self.manifest = folder, manifest
        self.spec = spec
        self.model_id = str(manifest["model_id"])
        self.device = "cpu"
        self.dim = int(manifest["embed_dim"])
        pre = manifest["preprocess"]
        self.image_size = int(pre["size"])
        mean = np.asarray(pre["mean"], dtype=np.float32).reshape(3, 1, 1) * 255
        inv_std = 1 / (np.asarray(pre["std"], dtype=np.float32).reshape(3, 1, 1) * 255)
        self._input = (self.image_size, RESAMPLE[pre["interpolation"]], mean, inv_std)
        int8, fp32 = folder / "visual.int8.onnx", folder / "visual.onnx"
        use_int8 = int8.is_file() and (precision != "fp32" or not fp32.is_file())  # (an int8-only export)
        self.precision = "int8" if use_int8 else "fp32"
        self.fidelity = manifest["fidelity"].get("visual_int8", {}).get("mean") if use_int8 else None
        threads = os.cpu_count() or 1
        try:
            self._visual = _session(int8 if use_int8 else fp32, threads) if towers != "text" else None
            self._text = _session(folder / "text.onnx", threads) if towers != "image" else None
            self.tokenizer = ClipTokenizer.from_file(folder / TOKENIZER_FILE)
        except Exception as e:  # a missing or damaged file: say which export
            raise ModelUnavailable(f"the model export in {folder} cannot be loaded: {e}") from e
        self._trim = bool(manifest["text"].get("trimmed_padding"))
        self._recent_texts = RecentTexts()

    def has(self, towers: str) -> bool:
        """Whether this embedder keeps the towers that `towers` ("both", "text", "image") names."""
        return self.towers == "both" or self.towers == towers

    # -- images ------------------------------------------------------------------------------

    def prepare(self, image) -> np.ndarray:
        """The model input of one upright RGB picture (on a decode thread; `batch` finishes it)."""
        return prepare_picture(image, *self._input)

    def batch(self, prepared: Sequence) -> np.ndarray:
        return np.stack(prepared)

    def embed_tensors(self, batch) -> np.ndarray:
        """Model inputs [B, 3, H, W] -> unit vectors float32 [B, D]."""
        if self._visual is None:
            raise RuntimeError("this embedder was loaded for text only")
        features = self._visual.run(None, {"pixels": np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return _unit(features)

    def embed_images(self, images: Sequence) -> np.ndarray:
        return self.embed_tensors(self.batch([self.prepare(im) for im in images]))

    first_batch = None  # the precision was chosen at export: no first batch is embedded twice
    lanes = 1  # one ONNX Runtime call uses all the cores well (its threads do not wait on each other)

    @contextmanager
    def side_by_side(self, lanes: int) -> Iterator[None]:
        yield

    def quantise_now(self) -> None:
        """Nothing to do: the int8 tower was made at export."""

    # -- text --------------------------------------------------------------------------------

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> unit vectors float32 [N, D]; recent texts are served from a cache."""
        return self._recent_texts.vectors(texts, self._encode)

    def encode_texts(
        self, texts: Sequence[str], batch_size: int = 256, should_stop: Callable[[], bool] | None = None
    ) -> np.ndarray | None:
        """Many texts -> unit vectors float32 [N, D], in batches, bypassing the query cache.
        None when `should_stop()` says so between batches."""
        out = []
        for start in range(0, len(texts), batch_size):
            if should_stop is not None and should_stop():
                return None
            out.append(self._encode(list(texts[start : start + batch_size])))
        return np.concatenate(out) if out else np.empty((0, self.dim), dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts)
        if self._trim:  # a causal tower read at the end token: the padding after it changes nothing
            tokens = tokens[:, : max(1, int((tokens != 0).sum(axis=1).max()))]
        if self._text is None:
            raise RuntimeError("this embedder was loaded for images only")
        return _unit(self._text.run(None, {"tokens": tokens})[0])

    @property
    def logit_scale(self) -> float:
        return float(self.manifest.get("logit_scale", 100.0))


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
