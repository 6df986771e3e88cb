"""A Hugging Face hub on loopback for the weights tests, and a tiny model reachable by a pretrained tag.

huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once, when it is imported, and the test session
runs offline; so a load that must reach the fake hub runs in a child process (`load_in_child`) with
HF_ENDPOINT pointing at it, exactly as a user's mirror setting would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Serves files under the hub's URL layout (/<repo>/resolve/main/<file>) or a plain path, answering
    HEAD and GET (with Range) with the headers huggingface_hub reads: ETag (the sha256, as for LFS
    files), X-Repo-Commit, Content-Length. Records every request as (method, path, Range header)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.cut_after: int | None = None  # the next GET sends only this many bytes, then hangs up

    def add(self, repo: str, filename: str, data: bytes) -> str:
        self.files[f"/{repo}/resolve/main/{filename}"] = data
        return f"/{repo}/resolve/main/{filename}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FakeHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.hub = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        hub: FakeHub = self.server.hub
        asked = self.headers.get("Range")
        hub.requests.append((self.command, self.path, asked))
        data = hub.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        match = re.fullmatch(r"bytes=(\d+)-", asked or "")
        start = int(match.group(1)) if match else 0
        self.send_response(206 if start else 200)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if body:
            part = data[start:]
            if hub.cut_after is not None:
                part, hub.cut_after = part[: hub.cut_after], None
            self.wfile.write(part)

    def log_message(self, *args) -> None:
        pass


def register_tag(config: Path, tag: str, cfg: dict, registry: dict | None = None) -> None:
    """Make the model of `config` (a model-config JSON) reachable as open_clip pretrained tag `tag`.
    `registry` is open_clip's table of tags; a test passes a copy it may change (see monkeypatch)."""
    import open_clip
    from open_clip import pretrained

    open_clip.add_model_config(config)
    table = pretrained._PRETRAINED if registry is None else registry
    table[config.stem] = {tag: cfg}


def load_in_child(hub: FakeHub, config: Path, tag: str, cfg: dict, cache: Path) -> dict:
    """Load the model of `config` by its pretrained tag in another Python, online against `hub`:
    {"model_id", "text" (vector of "a dog"), "quick_gelu", "mean", "progress"} or {"error", "progress"}."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HOME=str(cache.parent / "hf-home"),
        NO_PROXY="127.0.0.1",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
    )
    args = json.dumps(dict(config=str(config), tag=tag, cfg=cfg, cache=str(cache)))
    done = subprocess.run(
        [sys.executable, "-c", "import fake_hub; fake_hub._child()", args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child() -> None:
    from app.core.model import weights
    from app.core.model.embedder import Embedder, ModelSpec, ModelUnavailable

    weights.RETRY_DELAYS = ()  # a cut download fails at once: the tests resume it on the next load

    args = json.loads(sys.argv[1])
    register_tag(Path(args["config"]), args["tag"], args["cfg"])
    seen: list[tuple[int, int]] = []
    try:
        e = Embedder(
            ModelSpec(args["config"], args["tag"]),
            Path(args["cache"]),
            progress=lambda done, total: seen.append((done, total)),
        )
        out = dict(
            model_id=e.model_id,
            text=e.embed_texts(["a dog"])[0].tolist(),
            quick_gelu=uses_quick_gelu(e.model),
            mean=[float(m) for m in e.preprocess.transforms[-1].mean],
        )
    except ModelUnavailable as error:
        out = dict(error=str(error))
    print(json.dumps(dict(out, progress=seen)))


def uses_quick_gelu(model) -> bool:
    return any(type(m).__name__ == "QuickGELU" for m in model.modules())
