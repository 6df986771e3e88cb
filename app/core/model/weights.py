"""Pretrained weights: which checkpoint an open_clip tag names, finding it in the cache or downloading
it (with progress, resuming a partial download), and the settings the weights must run with.

A tag's checkpoint is resolved as open_clip resolves it: its `hf_hub` entry is "org/repo/" (open_clip's
default file names, safetensors first) or "org/repo/file"; a `url` entry is used where there is no
`hf_hub`. Hub files are kept in the layout huggingface_hub writes (models--org--repo/snapshots/...),
so a cache filled by huggingface_hub or `huggingface-cli download --cache-dir` is found as it is.
"""

from __future__ import annotations

import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# (bytes done, bytes total or 0 when unknown) while weights download
DownloadProgress = Callable[[int, int], None]
CHUNK = 1 << 20


class ModelUnavailable(RuntimeError):
    """The model cannot be loaded; the message says why and what the user can do. `missing`: the
    weights file that could not be downloaded, when that is why (the window words it for people)."""

    def __init__(self, message: str, missing: MissingWeights | None = None):
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class MissingWeights:
    """A checkpoint that is not here and could not be downloaded."""

    model: str
    file: str
    size: int  # bytes, 0 when unknown
    source: str  # the URL it comes from
    folder: Path  # where a copy downloaded by hand is found

    @property
    def size_text(self) -> str:
        return f"about {self.size / 1e6:,.0f} MB" if self.size else "size unknown"


def backoff_delays(tries: int = 4, first: float = 2.0, factor: float = 3.0, cap: float = 60.0) -> tuple[float, ...]:
    """Seconds to wait before each new try of a download (tries - 1 waits, growing, at most `cap`)."""
    return tuple(min(cap, first * factor**i) for i in range(max(0, tries - 1)))


RETRY_DELAYS = backoff_delays()  # a download cut short is tried again after 2, 6, 18 s
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_sleep = time.sleep  # (tests count the waits instead)


@dataclass(frozen=True)
class Pretrained:
    """One open_clip pretrained tag of a model: where its checkpoint comes from, how to run it."""

    model: str
    tag: str
    cfg: dict  # open_clip's pretrained cfg of the tag

    @property
    def hub_repo(self) -> str:
        return os.path.split(self.cfg.get("hf_hub", ""))[0]

    @property
    def hub_files(self) -> list[str]:
        """The file names to look for in the hub repo, best first (open_clip's order)."""
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        name = os.path.split(self.cfg.get("hf_hub", ""))[1] or HF_WEIGHTS_NAME
        if name == HF_WEIGHTS_NAME:
            return [HF_SAFE_WEIGHTS_NAME, name]
        if name.endswith((".bin", ".pth")):
            return [name[:-4] + ".safetensors", name]
        return [name]

    @property
    def url(self) -> str:
        return self.cfg.get("url", "")

    @property
    def settings(self) -> dict:
        """Keyword arguments of open_clip's create_model_and_transforms that run these weights as they
        were trained: QuickGELU, normalisation, resampling (open_clip itself drops these for a file)."""
        values = dict(
            force_quick_gelu=bool(self.cfg.get("quick_gelu", False)),
            image_mean=self.cfg.get("mean"),
            image_std=self.cfg.get("std"),
            image_interpolation=self.cfg.get("interpolation"),
            image_resize_mode=self.cfg.get("resize_mode"),
        )
        return {k: v for k, v in values.items() if v is not None}


def tags_of(model: str) -> list[Pretrained]:
    import open_clip

    return [
        Pretrained(model, tag, open_clip.get_pretrained_cfg(model, tag))
        for tag in open_clip.list_pretrained_tags_by_model(model)
    ]


def pretrained_tag(model: str, tag: str) -> Pretrained:
    """The tag `tag` of `model`; ModelUnavailable listing the known tags when there is none."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        tags = ", ".join(p.tag for p in tags_of(model)) or "none known"
        raise ModelUnavailable(
            f"'{tag}' is neither a pretrained tag of {model} (tags: {tags}) nor an existing checkpoint file"
        )
    return Pretrained(model, tag, cfg)


def tag_of_file(model: str, path: Path) -> Pretrained | None:
    """The tag whose weights a local checkpoint holds, so that it runs with that tag's settings: the
    tag whose hub repo holds the file (huggingface_hub's cache, or a folder org/repo/ as the download
    hint says), or whose download URL has the file's name; else any tag when all tags of `model` run
    the same way. None: the model config's own settings, as open_clip does for a file."""
    tags = tags_of(model)
    repos = _hub_repos_of(path)
    for p in tags:
        if (p.hub_repo and p.hub_repo in repos) or (p.url and os.path.basename(p.url) == path.name):
            return p
    if tags and all(p.settings == tags[0].settings for p in tags):
        return tags[0]
    return None


def _hub_repos_of(path: Path) -> set[str]:
    """The "org/repo" names `path` may be a file of: its folder and the one above it (org/repo/file),
    and huggingface_hub's cache folder (models--org--repo/snapshots/<commit>/file, or blobs/<etag>)."""
    folders = list(path.parents)[:3]
    repos = {f"{folders[1].name}/{folders[0].name}"} if len(folders) > 1 else set()
    repos.update(f.name[len("models--") :].replace("--", "/") for f in folders if f.name.startswith("models--"))
    return repos


def plain_copy(p: Pretrained, cache_dir: Path) -> Path:
    """The folder where a checkpoint downloaded by hand is found as this tag: <cache>/org/repo/ (or the
    cache itself for a `url` tag, under the URL's file name)."""
    return cache_dir / p.hub_repo if p.cfg.get("hf_hub") else cache_dir


def fetch(p: Pretrained, cache_dir: Path, progress: DownloadProgress | None = None) -> Path:
    """The checkpoint file of `p`: from the cache without any network, else downloaded into it (a
    download cut short is continued where it stopped on the next call). Raises ModelUnavailable."""
    if p.cfg.get("hf_hub"):
        return _fetch_from_hub(p, cache_dir, progress)
    if p.url:
        target = plain_copy(p, cache_dir) / os.path.basename(p.url)
        if not target.is_file():
            try:
                _download(p.url, target, None, progress)
            except Exception as e:
                raise _unavailable(p, os.path.basename(p.url), p.url, None, e, cache_dir) from None
        return target
    raise ModelUnavailable(f"No download source is known for {p.model} ({p.tag}).")


def _fetch_from_hub(p: Pretrained, cache_dir: Path, progress: DownloadProgress | None) -> Path:
    from huggingface_hub import try_to_load_from_cache

    for name in p.hub_files:  # already here: no network at all
        cached = try_to_load_from_cache(p.hub_repo, name, cache_dir=str(cache_dir))
        if isinstance(cached, str):
            return Path(cached)
        if (plain_copy(p, cache_dir) / name).is_file():
            return plain_copy(p, cache_dir) / name
    name, url, meta = _hub_file(p, cache_dir)
    repo_dir = cache_dir / ("models--" + p.hub_repo.replace("/", "--"))  # huggingface_hub's cache layout
    blob = repo_dir / "blobs" / meta.etag
    if not blob.is_file():
        try:
            _download(meta.location, blob, meta.size, progress)
        except Exception as e:
            raise _unavailable(p, name, url, meta.size, e, cache_dir) from None
    return _add_to_snapshot(repo_dir, meta.commit_hash, name, blob)


def _hub_file(p: Pretrained, cache_dir: Path):
    """(name, URL, huggingface_hub's metadata) of the first of `p.hub_files` that the hub has."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    for name in p.hub_files:
        url = hf_hub_url(p.hub_repo, name)  # HF_ENDPOINT's
        try:
            meta = get_hf_file_metadata(url)
        except HfHubHTTPError as e:
            if e.response is not None and e.response.status_code == 404 and name != p.hub_files[-1]:
                continue  # the repo has the next name instead (e.g. only a .bin)
            raise _unavailable(p, name, url, None, e, cache_dir) from None
        except Exception as e:  # offline, no such host, HF_HUB_OFFLINE
            raise _unavailable(p, name, url, None, e, cache_dir) from None
        if not meta.etag or not meta.commit_hash:
            raise _unavailable(p, name, url, None, OSError("no ETag or commit: not a Hugging Face hub"), cache_dir)
        return name, url, meta
    raise ModelUnavailable(f"{p.model} ({p.tag}) names no file")  # (hub_files is never empty)


def _add_to_snapshot(repo_dir: Path, commit: str, name: str, blob: Path) -> Path:
    """Link a downloaded blob into huggingface_hub's layout (snapshots/<commit>/<name>, refs/main), where
    `try_to_load_from_cache` finds it; moved there where links are not allowed, as huggingface_hub does."""
    pointer = repo_dir / "snapshots" / commit / name
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if not pointer.exists():
        try:
            pointer.symlink_to(os.path.relpath(blob, pointer.parent))
        except OSError:
            os.replace(blob, pointer)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return pointer


def _download(url: str, target: Path, size: int | None, progress: DownloadProgress | None) -> None:
    """Download `url` to `target` through `target`.incomplete, which a later call continues with a
    Range request; the length (`size`, else the server's) is checked before the file is put in place.
    One download at a time (the window and `photoseek index` may both start one)."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        for delay in (*RETRY_DELAYS, None):
            if target.is_file():  # (another process may have finished it meanwhile)
                return
            # Nested 4 deep: one retry loop around one download, the target's lock held throughout.
            try:
                return _continue_download(url, target, size, progress)
            except Exception as e:
                if delay is None or not worth_retrying(e):
                    raise
                log.info("the download of %s failed (%s); trying again in %g s", url, e, delay)
                _sleep(delay)


def worth_retrying(error: Exception) -> bool:
    """A cut connection, a timeout or a busy server may pass; a missing file or no network does not."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code in RETRY_STATUS
    if isinstance(error, urllib.error.URLError):  # no such host, refused: offline, not worth waiting
        return isinstance(error.reason, (TimeoutError, ConnectionResetError))
    return isinstance(error, (OSError, http.client.HTTPException))


def _continue_download(url: str, target: Path, size: int | None, progress: DownloadProgress | None) -> None:
    """`_download` under its lock: from where the .incomplete file ends."""
    partial = target.with_name(target.name + ".incomplete")
    done = partial.stat().st_size if partial.is_file() else 0
    if size is not None and done > size:
        done = 0
    total = size or 0
    if size is None or done < size:
        request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
        try:
            response = urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as e:
            if e.code != 416 or not done:
                raise
            partial.unlink()  # what we hold is not a beginning of this file: start again
            return _continue_download(url, target, size, progress)
        with response, open(partial, "r+b" if done else "wb") as out:
            if response.status != 206:  # the server sent the whole file
                done = 0
            out.seek(done)
            out.truncate()
            total = size or _total_length(response, done)
            log.info("downloading %s (%d of %d bytes here already)", url, done, total)
            if progress:
                progress(done, total)
            # Nested 4 deep: the lock and the open response are held while the body streams to disk.
            while chunk := response.read(CHUNK):  # (a cut connection only ends the body early)
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    if total and done != total:
        raise OSError(f"the download of {url} stopped at {done} of {total} bytes")
    os.replace(partial, target)


def _total_length(response, done: int) -> int:
    """The whole file's length from a (partial) response, 0 when the server does not say."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return done + int(length) if length and length.isdigit() else 0


def _unavailable(
    p: Pretrained, name: str, url: str, size: int | None, error: Exception, cache_dir: Path
) -> ModelUnavailable:
    """What an offline user needs: which file, about how big, from where, and what to do with it
    (the error itself goes to the log: it helps a developer, not the user)."""
    missing = MissingWeights(p.model, name, size or _checkpoint_size(p.model), url, plain_copy(p, cache_dir))
    log.info("cannot download %s: %s: %s", url, type(error).__name__, str(error)[:400])
    return ModelUnavailable(
        f"Could not download the weights of {p.model} ({p.tag}): {name}, {missing.size_text}, from {url}. "
        f"Are you offline? Download that file on a connected machine and put it in {missing.folder}{os.sep}, "
        "or point PhotoSeek at it: --pretrained /path/to/the/file (or PHOTOSEEK_PRETRAINED, or Choose Model… in "
        "the window).",
        missing,
    )


class _NoWeightsWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


def _checkpoint_size(model: str) -> int:
    """Bytes of `model`'s float32 weights, counted on an unallocated ("meta") model; 0 if unknown."""
    import open_clip
    import torch

    quiet = _NoWeightsWarning()
    logging.getLogger().addFilter(quiet)  # open_clip logs that this model has no weights: none are wanted
    try:
        with torch.device("meta"):
            model_ = open_clip.create_model(model, device="meta")
        return sum(t.numel() * 4 for t in model_.state_dict().values())
    except Exception as e:  # an architecture that cannot be built on the meta device
        log.info("size of %s unknown (%s)", model, e)
        return 0
    finally:
        logging.getLogger().removeFilter(quiet)
