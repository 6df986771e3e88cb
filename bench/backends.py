"""The two embedding backends side by side: torch + open_clip (pip installs) and ONNX Runtime on an
export (the packaged app), on the same photos.

    python -m bench.backends --images DIR [--model ViT-B-32-256 --pretrained none] [--count 100] [--json]

- load_s: a fresh interpreter, from before its first import to the model loaded (imports included);
- *_ips: images embedded per second, model alone (pictures decoded and prepared beforehand,
  batches of 32, one call at a time);
- pipeline_*_ips: `Library.update` on a folder of those photos, empty catalog, OCR off (decoding,
  thumbnails, hashing and writes included; the torch backend with its default precision, "auto");
- cosine_*: each backend's image vectors against open_clip's float32 ones (mean and min);
- installed_mb: what each backend installs into site-packages (its packages and their dependencies,
  less those the rest of PhotoSeek needs anyway), from the installed files' sizes.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from packaging.requirements import Requirement

from .common import report

LOAD = """
import time; t = time.perf_counter()
import sys, warnings; warnings.simplefilter("ignore")
from pathlib import Path
from app.core.model.embedder import ModelSpec, load
e = load(ModelSpec(sys.argv[1], sys.argv[2]), Path(sys.argv[3]), "cpu", precision=sys.argv[4])
e.embed_texts(["a photo"])
print(time.perf_counter() - t)
"""
BATCH = 32


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--model", default="ViT-B-32-256")
    p.add_argument("--pretrained", default="none")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--export", type=Path, help="the export folder (made here when it has none)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    from app.core.model.embedder import Embedder, ModelSpec
    from app.core.model.export import export_model, sample_photos
    from app.core.model.onnx_embedder import OnnxEmbedder

    cache = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    photos = sample_photos(args.images, args.count)
    spec = ModelSpec(args.model, args.pretrained)
    export = args.export or cache / "export"
    t = time.perf_counter()
    if not (export / "manifest.json").is_file():
        export_model(spec, cache, export, photos[:32])
    result: dict = {"model": spec.model_id, "photos": len(photos), "export_s": time.perf_counter() - t}
    pictures = [_picture(path) for path in photos]
    reference = Embedder(spec, cache, "cpu", precision="fp32")
    truth = _embed(reference, pictures, result, "torch_fp32")
    _embed(Embedder(spec, cache, "cpu", precision="int8"), pictures, result, "torch_int8", truth)
    _embed(OnnxEmbedder(export, precision="fp32"), pictures, result, "onnx_fp32", truth)
    if (export / "visual.int8.onnx").is_file():
        _embed(OnnxEmbedder(export, precision="int8"), pictures, result, "onnx_int8", truth)
    result["pipeline_torch_ips"] = _pipeline_ips(args.model, args.pretrained, photos, cache / "torch")
    result["pipeline_onnx_ips"] = _pipeline_ips(str(export), "", photos, cache / "onnx")
    result["load_torch_s"] = _load_s(args.model, args.pretrained, cache)
    result["load_onnx_s"] = _load_s(str(export), "", cache)
    result["export_mb"] = {f.name: round(f.stat().st_size / 1e6, 1) for f in sorted(export.iterdir())}
    result["installed_mb_torch"] = _installed_mb(["torch", "torchvision", "open_clip_torch"])
    result["installed_mb_onnx"] = _installed_mb(["onnxruntime", "regex", "ftfy"])
    report(result, args.json, "embedding backends")
    return result


def _picture(path: Path):
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _embed(backend, pictures: list, result: dict, name: str, truth=None) -> np.ndarray:
    prepared = [backend.prepare(p) for p in pictures]
    backend.embed_tensors(backend.batch(prepared[:BATCH]))  # the first batch chooses / warms up
    t = time.perf_counter()
    vectors = np.concatenate(
        [backend.embed_tensors(backend.batch(prepared[i : i + BATCH])) for i in range(0, len(prepared), BATCH)]
    )
    result[f"{name}_ips"] = len(pictures) / (time.perf_counter() - t)
    if truth is not None:
        cosines = (vectors * truth).sum(axis=1)
        result[f"cosine_{name}"] = f"mean {cosines.mean():.5f} min {cosines.min():.5f}"
    return vectors


def _pipeline_ips(model: str, pretrained: str, photos: list[Path], work: Path) -> float:
    import shutil

    from app.core.config import Settings
    from app.core.library import Library

    folder = work / "photos"
    folder.mkdir(parents=True)
    for i, path in enumerate(photos):
        shutil.copy(path, folder / f"{i:04d}{path.suffix}")
    library = Library(Settings(data_dir=work / "data", model=model, pretrained=pretrained, ocr=False))
    library.load_model()
    t = time.perf_counter()
    library.update([folder])
    seconds = time.perf_counter() - t
    library.close()
    return len(photos) / seconds


def _load_s(model: str, pretrained: str, cache: Path, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", LOAD, model, pretrained, str(cache), "auto"], capture_output=True, text=True
        )
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        times.append(float(out.stdout.split()[-1]))
    return sorted(times)[len(times) // 2]


def _installed_mb(roots: list[str]) -> float:
    """MB of the installed files of `roots` and what they need, less what the rest of the app needs."""
    app = _closure(["PySide6", "faiss-cpu", "pillow", "pillow-heif", "numpy", "huggingface_hub", "platformdirs"])
    app |= _closure(["send2trash", "filelock", "defusedxml", "rapidocr-onnxruntime"]) - _closure(["onnxruntime"])
    total = 0
    for name in _closure(roots) - app:
        files = metadata.distribution(name).files or []
        total += sum(f.locate().stat().st_size for f in files if f.locate().is_file())
    return round(total / 1e6, 1)


def _closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


if __name__ == "__main__":
    main()
