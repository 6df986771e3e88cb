"""Export folders (`photoseek export-model`, `export.py`): recognising one, reading its manifest,
and getting one from elsewhere (a URL, an archive, a folder) for a PhotoSeek without torch, checked
before it is used: the manifest's model id must be the one asked for and every file its sha256.
Torch-free."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from .weights import DownloadProgress, ModelUnavailable, _download

FORMAT = 1  # of an export folder; others are refused
MANIFEST = "manifest.json"
EXPORT_URL_ENV = "PHOTOSEEK_MODEL_EXPORT_URL"  # where a PhotoSeek without torch gets its model's export


class ModelSpecLike(Protocol):  # embedder.ModelSpec (which imports this module)
    @property
    def model(self) -> str: ...
    @property
    def pretrained(self) -> str: ...
    @property
    def model_id(self) -> str: ...


def export_folder(model: str) -> Path | None:
    """`model` as an export folder (one holding a manifest.json), else None."""
    if not model or model.endswith(".json"):
        return None
    path = Path(model).expanduser()
    return path if (path / MANIFEST).is_file() else None


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    return dict(_manifest_at(str(path), path.stat().st_mtime_ns))


@lru_cache(maxsize=8)
def _manifest_at(path: str, _mtime: int) -> dict:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"the model export's manifest {path} cannot be read: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelUnavailable(f"{path} is not a model export this PhotoSeek reads (format {FORMAT})")
    return manifest


def find_export(spec: ModelSpecLike, cache_dir: Path, progress: DownloadProgress | None = None) -> Path:
    """The export of `spec`'s model for a PhotoSeek without torch: in `cache_dir`/onnx/, else put
    there once from PHOTOSEEK_MODEL_EXPORT_URL ({model} in it stands for the model id, made safe
    for a file name): an http(s) or file URL of an export's .tar.gz, or a local .tar.gz or folder."""
    model_id = spec.model_id
    folder = Path(cache_dir) / "onnx" / _safe(model_id)
    if (folder / MANIFEST).is_file():
        return folder
    source = os.environ.get(EXPORT_URL_ENV, "").replace("{model}", _safe(model_id))
    if not source:
        raise ModelUnavailable(
            f"PyTorch is not installed here, so PhotoSeek runs models exported to ONNX, and {model_id} has no "
            f"export in {folder.parent}. Make one where PyTorch is installed: `photoseek export-model "
            f"--model {spec.model} --pretrained {spec.pretrained} FOLDER`, then point PhotoSeek at it: "
            f"--model FOLDER (or PHOTOSEEK_MODEL), or {EXPORT_URL_ENV} at its .tar.gz."
        )
    install_export(source, folder, model_id, progress)
    return folder


def _safe(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in model_id)


def install_export(source: str, folder: Path, model_id: str, progress: DownloadProgress | None = None) -> None:
    """Put the export at `source` (URL, .tar.gz or folder) in `folder`, checked; raises ModelUnavailable."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=folder.parent))
    staging.chmod(0o755)  # (mkdtemp's is 0700)
    try:
        local = Path(source).expanduser()
        if "://" in source:
            archive = folder.parent / f"{folder.name}.tar.gz"
            try:
                _download(source, archive, None, progress)
            except Exception as e:
                raise ModelUnavailable(f"Could not download the model export {source}: {e}. Are you offline?") from e
            _unpack(archive, staging)
            archive.unlink()
        elif local.is_dir():
            shutil.copytree(local, staging, dirs_exist_ok=True)
        elif local.is_file():
            _unpack(local, staging)
        else:
            raise ModelUnavailable(f"the model export {source} does not exist")
        root = _root(staging)
        check_export(root, model_id)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(root, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(archive: Path, into: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise ModelUnavailable(f"the model export {archive} cannot be unpacked: {e}") from e


def _root(staging: Path) -> Path:
    """The folder holding the manifest: the archive's top or its one folder."""
    if (staging / MANIFEST).is_file():
        return staging
    inner = [p for p in staging.iterdir() if p.is_dir()]
    if len(inner) == 1 and (inner[0] / MANIFEST).is_file():
        return inner[0]
    raise ModelUnavailable(f"no {MANIFEST} in the model export")


def check_export(folder: Path, model_id: str) -> None:
    """Raise ModelUnavailable unless `folder` is an intact export of `model_id`."""
    manifest = read_manifest(folder)
    if manifest.get("model_id") != model_id:
        raise ModelUnavailable(f"the model export is of {manifest.get('model_id')}, not of {model_id}")
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            raise ModelUnavailable(f"the model export's {name} is missing or damaged")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def archive_export(folder: Path) -> Path:
    """`folder`.tar.gz beside it: the export as it is served for PHOTOSEEK_MODEL_EXPORT_URL."""
    target = folder.with_name(folder.name + ".tar.gz")
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=f"{folder.name}/{path.name}")
    return target
