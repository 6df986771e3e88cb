"""A synthetic photo library of any size, built in seconds through the real catalog code.

    python -m bench.synthetic --photos 100000 [--root DIR] [--model M --pretrained P] [--json]

What it makes (and caches, so the next benchmark run reuses it):

- a few hundred real photos (../shared/devdata/text2img, or generated shapes when that is absent),
  decoded once by the real imaging code into real thumbnails;
- a library folder of N photo files: hard links to those photos, in folders of 1,000, so a
  rescan walks N real files (all unchanged: same size and mtime as their catalog rows);
- N catalog rows (real `Catalog.put_files`), each with its own fingerprint, a capture date spread
  over ten years, and a float16 embedding (real `Catalog.put_embeddings`) drawn from a mixture of
  a few hundred Gaussian clusters on the unit sphere, like real CLIP embeddings;
- each row's thumbnail in the real thumbnail cache (a hard link to its base photo's thumbnail);
- the FAISS index built from the catalog and saved by the real `VectorIndex.open`.

The model is the tiny random CLIP of tests/tiny_clip.py by default (written once into the cache),
so the window can load it in a second; any open_clip name with `--pretrained none` works too.
The app has no synthetic code path: a benchmark opens this library exactly as a user's.

`clone(dest)` gives a benchmark a private, writable copy in well under a second (catalog and index
copied; photos and thumbnails shared), so every run starts from the same state.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEVDATA = ROOT.parent / "shared" / "devdata" / "text2img"
FORMAT_VERSION = 3  # bump when the layout changes: cached libraries are rebuilt (3: thumbnails by short side)
PER_FOLDER = 1000
TINY_NAME = "tiny-random-clip"

log = logging.getLogger(__name__)


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "photoseek-bench"


@dataclass
class Synthetic:
    """A built library: open it with `Library(settings)` or point the app at it with `env()`."""

    root: Path
    settings: object  # app.core.config.Settings
    photos_dir: Path
    count: int
    model_id: str
    dim: int
    build_s: float
    reused: bool

    def env(self) -> dict[str, str]:
        """The PHOTOSEEK_* variables that make the app (window or CLI) open this library."""
        s = self.settings
        return {"PHOTOSEEK_DATA_DIR": str(s.data_dir), "PHOTOSEEK_MODEL": s.model, "PHOTOSEEK_PRETRAINED": s.pretrained}

    def fast_start(self) -> Path:
        """The models dir of this library's fast start (app/core/model/fast_start.py): the model's
        ONNX export as an index run leaves it, written once by the real exporter (seconds: it loads
        the torch model) and kept beside the library until the export format or open_clip changes."""
        from app.core.model import export, fast_start
        from app.core.model.embedder import ModelSpec

        models = self.root / "fast-start"
        if fast_start.usable_export(models, self.model_id) is None:
            spec = ModelSpec(self.settings.model, self.settings.pretrained)
            export.write_fast_start(spec, models, base_photos(cache_root() / "base-photos")[:16])
        return models

    def clone(self, dest: Path, fast_start: bool = False) -> Synthetic:
        """A writable copy whose catalog and index are private; photos and thumbnails are shared
        (thumbnails are content-addressed, so a run that adds some never disturbs another).
        `fast_start`: with the model's fast start in its models dir (a returning user's library)."""
        dest = Path(dest)
        data = dest / "data"
        data.mkdir(parents=True, exist_ok=True)
        src = self.settings.data_dir
        _copy_sqlite(src / "catalog.sqlite3", data / "catalog.sqlite3")
        shutil.copytree(src / "index", data / "index", dirs_exist_ok=True)
        (data / "thumbs").symlink_to((src / "thumbs").resolve(), target_is_directory=True)
        (data / "models").mkdir(exist_ok=True)
        if fast_start:  # (copied: a run may write beside it)
            shutil.copytree(self.fast_start() / "onnx", data / "models" / "onnx")
        return Synthetic(
            dest, self.settings.with_(data_dir=data), self.photos_dir, self.count, self.model_id, self.dim, 0.0, True
        )


def _copy_sqlite(src: Path, dest: Path) -> None:
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    a.close()
    b.close()


# -- ingredients ---------------------------------------------------------------------------------


def tiny_model(folder: Path) -> tuple[Path, Path]:
    """(config JSON, checkpoint) of the tests' tiny random CLIP (224 px input), written once."""
    config, checkpoint = folder / f"{TINY_NAME}.json", folder / f"{TINY_NAME}.pt"
    if config.exists() and checkpoint.exists():
        return config, checkpoint
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_clip import tiny_config, write_model

    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    write_model(tmp, TINY_NAME, tiny_config(224, 32))
    try:  # publish atomically: a concurrent build sees all of it or none
        tmp.replace(folder)
    except OSError:
        shutil.rmtree(tmp)
    return config, checkpoint


def base_photos(folder: Path, limit: int = 300) -> list[Path]:
    """Up to `limit` real photos copied into `folder` once (generated shapes if devdata is absent)."""
    done = folder / ".complete"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        sources = (
            sorted(p for p in DEVDATA.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")) if DEVDATA.is_dir() else []
        )
        if sources:
            step = max(1, len(sources) // limit)
            for i, src in enumerate(sources[::step][:limit]):
                shutil.copy2(src, folder / f"base{i:04d}.jpg")
        else:
            sys.path.insert(0, str(ROOT / "tests"))
            from tiny_clip import write_shapes

            write_shapes(folder / "shapes", per_kind=max(1, limit // 12), size=512)
            for i, p in enumerate(sorted((folder / "shapes").glob("*.jpg"))):
                p.rename(folder / f"base{i:04d}.jpg")
            shutil.rmtree(folder / "shapes")
        done.touch()
    return sorted(folder.glob("base*.jpg"))


def base_thumbnails(photos: list[Path], folder: Path, thumb_size: int) -> list[tuple[Path, int, int]]:
    """The real thumbnail of each base photo, made by the real decoder: [(thumb, width, height)]."""
    from app.core.ingest import imaging

    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    out = []
    for p in photos:
        thumb = folder / f"{p.stem}-{thumb_size}.jpg"
        key = thumb.name
        if not thumb.exists() or key not in meta:
            d = imaging.decode(p, min_side=thumb_size, thumb_size=thumb_size)
            imaging.save_thumbnail(d.image, thumb, thumb_size)
            meta[key] = [d.width, d.height]
        out.append((thumb, *meta[key]))
    meta_path.write_text(json.dumps(meta))
    return out


def clustered_vectors(n: int, dim: int, clusters: int = 256, spread: float = 0.75, seed: int = 0) -> np.ndarray:
    """Unit vectors from a mixture of Gaussians on the sphere (uneven cluster sizes), float16."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.dirichlet(np.full(clusters, 0.5))
    labels = rng.choice(clusters, size=n, p=weights)
    out = np.empty((n, dim), dtype=np.float16)
    for start in range(0, n, 50_000):
        lab = labels[start : start + 50_000]
        v = centres[lab] + rng.standard_normal((len(lab), dim)).astype(np.float32) * (spread / np.sqrt(dim))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + len(lab)] = v
    return out


def _link(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another file system, or no hard links here
        os.symlink(src, dest)


# -- the library ---------------------------------------------------------------------------------


def _base_hashes(thumbs) -> list | None:
    """The base photos' image hashes as the indexer records them (duplicates), so no backfill runs
    on open; None in an older checkout without duplicates."""
    try:
        from PIL import Image

        from app.core.organize.duplicates import perceptual_hash

        hashes = []
        for thumb, *_ in thumbs:
            with Image.open(thumb) as im:
                hashes.append(perceptual_hash(im))
    except ImportError:  # an older checkout without duplicates
        hashes = None
    return hashes


def _write_photos(
    catalog,
    settings,
    model_id: str,
    photos: int,
    dim: int,
    seed: int,
    files: bool,
    sources,
    thumbs,
    hashes,
    folder_id,
    photos_dir,
) -> None:
    """The photos' rows, embeddings and hashes (and, with `files`, links to the base photos and
    their thumbnails), 10,000 to a transaction."""
    from app.core.store.catalog import OK, FileRecord

    stats = [p.stat() for p in sources]
    rng = np.random.default_rng(seed)
    # Capture dates over ten years; one photo in ten has none (the file time is used instead).
    start = np.datetime64("2015-01-01T00:00:00")
    offsets = np.sort(rng.integers(0, 10 * 365 * 86400, size=photos))[::-1]
    vectors = clustered_vectors(photos, dim, seed=seed)
    thumbs_dir = settings.thumbs_dir
    for shard in range(256):
        (thumbs_dir / f"{shard:02x}").mkdir(parents=True, exist_ok=True)

    chunk = 10_000
    for first in range(0, photos, chunk):
        records, embeddings = [], []
        # Nested 4 deep: photos are written 10,000 to a transaction, with or without their files.
        for i in range(first, min(photos, first + chunk)):
            b = i % len(sources)
            sub = photos_dir / f"{i // PER_FOLDER:04d}"
            path = sub / f"IMG_{i:06d}.jpg"
            fp = hashlib.blake2b(f"synthetic-{seed}-{i}".encode(), digest_size=16).hexdigest()
            if files:
                if i % PER_FOLDER == 0:
                    sub.mkdir()
                _link(sources[b], path)
                _link(thumbs[b][0], thumbs_dir / fp[:2] / f"{fp}.jpg")
            taken = None if rng.random() < 0.1 else str(start + np.timedelta64(int(offsets[i]), "s"))
            st = stats[b]
            records.append(
                FileRecord(
                    None,
                    str(path),
                    fp,
                    st.st_size,
                    st.st_mtime,
                    OK,
                    None,
                    thumbs[b][1],
                    thumbs[b][2],
                    taken,
                    "JPEG",
                    folder_id,
                )
            )
            embeddings.append((fp, vectors[i]))
        with catalog.transaction() as db:
            catalog.put_files(db, records)
            catalog.put_embeddings(db, model_id, embeddings)
            if hashes is not None:
                catalog.put_hashes(
                    db, [(r.fingerprint, hashes[i % len(sources)]) for i, r in enumerate(records, start=first)]
                )


def build(
    photos: int = 100_000,
    root: Path | None = None,
    model: str | None = None,
    pretrained: str | None = None,
    base: int = 300,
    seed: int = 0,
    force: bool = False,
    files: bool = True,
) -> Synthetic:
    """Build (or reuse, when an identical one is cached) a synthetic library of `photos` photos.

    `files=False` writes only the catalog and the index (rows whose photo files do not exist):
    enough for query benchmarks at a million photos without a million links on disk."""
    from app.core.config import Settings
    from app.core.model.embedder import ModelSpec
    from app.core.store.catalog import OK, Catalog
    from app.core.store.index import VectorIndex

    cache = cache_root()
    if model is None:
        config, checkpoint = tiny_model(cache / "tiny-model")
        model, pretrained = str(config), str(checkpoint)
    pretrained = pretrained or "none"
    spec = ModelSpec(model, pretrained)
    model_id = spec.model_id
    params = {"version": FORMAT_VERSION, "photos": photos, "model_id": model_id, "base": base, "seed": seed}
    if not files:
        params["files"] = False
    tag = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(root) if root else cache / f"library-{photos}-{tag}"
    data, photos_dir = root / "data", root / "photos"
    settings = Settings(data_dir=data, model=model, pretrained=pretrained)
    marker = root / "synthetic.json"

    if not force and marker.exists() and json.loads(marker.read_text()).get("params") == params:
        saved = json.loads(marker.read_text())
        return Synthetic(root, settings, photos_dir, photos, model_id, saved["dim"], saved["build_s"], True)

    started = time.perf_counter()
    if root.exists():
        shutil.rmtree(root)
    data.mkdir(parents=True)
    dim = _embed_dim(model)
    sources = base_photos(cache / "base-photos", base)
    thumbs = base_thumbnails(sources, cache / "base-thumbs", settings.thumb_size)
    hashes = _base_hashes(thumbs)

    catalog = Catalog(settings.catalog_path)
    photos_dir.mkdir()
    folder_id = catalog.add_folder(photos_dir)
    _write_photos(catalog, settings, model_id, photos, dim, seed, files, sources, thumbs, hashes, folder_id, photos_dir)
    VectorIndex.open(catalog, settings.index_dir, model_id)  # builds from the catalog and saves
    count = catalog.count(OK)
    catalog.close()
    assert count == photos, (count, photos)
    build_s = time.perf_counter() - started
    marker.write_text(json.dumps({"params": params, "dim": dim, "build_s": round(build_s, 2)}))
    return Synthetic(root, settings, photos_dir, photos, model_id, dim, build_s, False)


def _embed_dim(model: str) -> int:
    if model.endswith(".json"):
        return int(json.loads(Path(model).read_text())["embed_dim"])
    import open_clip

    config = open_clip.get_model_config(model)
    if config is None:
        raise SystemExit(f"unknown open_clip model: {model}")
    return int(config["embed_dim"])


def main(argv=None) -> dict:
    from .common import report

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=100_000)
    p.add_argument("--root", type=Path, default=None, help="where to build (default: a cache dir, reused)")
    p.add_argument("--model", default=None, help="default: the tiny random CLIP of tests/tiny_clip.py")
    p.add_argument("--pretrained", default=None)
    p.add_argument("--force", action="store_true", help="rebuild even when a cached copy exists")
    p.add_argument(
        "--rescan",
        action="store_true",
        help="then time a re-check of the unchanged library "
        "(the real indexer: walk, compare size and mtime, nothing decoded or hashed)",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    lib = build(args.photos, args.root, args.model, args.pretrained, force=args.force)
    result = {
        "photos": lib.count,
        "root": str(lib.root),
        "model_id": lib.model_id,
        "dim": lib.dim,
        "build_s": round(lib.build_s, 2),
        "reused": lib.reused,
    }
    if args.rescan:
        import time

        from app.core.ingest.indexer import Indexer
        from app.core.library import Library

        library = Library(lib.settings.with_(ocr=False))
        indexer = Indexer(library.catalog, library.settings, library.load_model())
        started = time.perf_counter()
        rescan = indexer.run()  # what `Library.update` starts with; the after-work (hashes, text) is its own
        seconds = time.perf_counter() - started
        result.update(
            rescan_s=round(seconds, 2),
            rescan_files_per_s=round(lib.count / seconds),
            rescan_embedded=rescan.embedded,
            rescan_unchanged=rescan.unchanged,
        )
        library.close()
    report(result, args.json, "Synthetic library")
    return result


if __name__ == "__main__":
    main()
