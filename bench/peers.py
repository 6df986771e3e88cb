"""PhotoSeek and rclip side by side: the same photos, the same weights, interleaved runs.

rclip (https://github.com/yurijmikhalevich/rclip) runs ViT-B-32-256 under ONNX Runtime. This
script installs nothing. Put rclip in a virtual environment of its own first (PyPI):

    python3 -m venv /tmp/rclipenv
    /tmp/rclipenv/bin/python -m pip install rclip          # rclip 3.x, onnxruntime, its tokenizer
    python3 -m bench.peers --images DIR --rclip /tmp/rclipenv/bin/rclip [--limit 300] [--rounds 2]

Both get the same random-weight ViT-B-32-256 (`torch.manual_seed(0)`, open_clip's own init):
PhotoSeek as a checkpoint file (PHOTOSEEK_PRETRAINED), rclip as the ONNX files it loads from
$RCLIP_DATADIR (`ViT-B-32-256-datacomp_s34b_b86k/visual.onnx` and `textual.onnx`, input "input",
one output, plus `tokenizer/bpe_simple_vocab_16e6.txt.gz`; see rclip/model_download.py), so it
downloads nothing. Without --rclip (or when it is missing), PhotoSeek's side alone is measured.

Steps, each process start to exit, rclip then PhotoSeek (the order swapped every round), peak
RSS of the process from wait4: first index (rclip indexes then answers a query; PhotoSeek with
OCR and concepts off, as rclip has neither; PhotoSeek's command ends when its photos are embedded
and writes its fast start, the model's ONNX export, in a process of its own at idle priority: the
next step waits for that, and its time is printed), re-index of the unchanged folder (rclip: its
re-check with one query), a text query, the same text query again, an image query (a file
outside the library), re-index after renaming 50 files. Ratio = PhotoSeek / rclip (< 1: faster).
The best of the rounds is shown for each step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.core.model import fast_start

MODEL = "ViT-B-32-256"
RCLIP_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"
REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = "vit-b-32-256-random.pt"
FIRST = "index, first time"
QUERIES = ["a dog running on grass", "a red car in a street", "children playing in water", "a bird on a branch"]


def export_weights(work: Path) -> tuple[Path, Path]:
    """(PhotoSeek's checkpoint, rclip's data dir) holding the same random ViT-B-32-256 weights."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model(MODEL, pretrained=None).eval()
    checkpoint = work / CHECKPOINT
    torch.save(model.state_dict(), checkpoint)
    rclip_dir = work / "rclip-data"
    onnx_dir = rclip_dir / RCLIP_SUBDIR
    onnx_dir.mkdir(parents=True, exist_ok=True)

    class Text(torch.nn.Module):
        def __init__(self, clip):
            super().__init__()
            self.clip = clip

        def forward(self, tokens):
            return self.clip.encode_text(tokens)

    size = model.visual.image_size
    side = size if isinstance(size, int) else size[0]
    torch.backends.mha.set_fastpath_enabled(False)  # its fused kernel has no ONNX form
    with torch.no_grad():
        for module, example, name in (
            (model.visual, torch.zeros(1, 3, side, side), "visual.onnx"),
            (Text(model), torch.zeros(1, 77, dtype=torch.int64), "textual.onnx"),
        ):
            torch.onnx.export(
                module,
                (example,),
                str(onnx_dir / name),
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
    check_export(model, onnx_dir, side)
    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    (rclip_dir / "tokenizer").mkdir(exist_ok=True)
    shutil.copy(vocab, rclip_dir / "tokenizer" / vocab.name)
    return checkpoint, rclip_dir


def check_export(model, onnx_dir: Path, side: int) -> None:
    """Say how close the ONNX files' vectors are to open_clip's (cosine), where onnxruntime is here."""
    try:
        import onnxruntime
    except ImportError:
        return
    import numpy as np
    import open_clip
    import torch

    tokens = open_clip.get_tokenizer(MODEL)(["a dog on a beach"])
    pixels = torch.rand(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = {"textual.onnx": (model.encode_text(tokens), tokens), "visual.onnx": (model.visual(pixels), pixels)}
    for name, (reference, given) in expected.items():
        session = onnxruntime.InferenceSession(str(onnx_dir / name), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {"input": given.numpy()})
        a, b = reference.numpy(), got
        cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        print(f"{name}: cosine to open_clip {cosine.min():.5f}")


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one process, start to exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux: KiB


def rename_some(folder: Path, count: int, round_no: int) -> None:
    """Rename `count` photos (there and back on alternate rounds: the same content each time)."""
    if round_no % 2 == 0:
        for p in sorted(folder.iterdir())[:count]:
            p.rename(p.with_name("renamed_" + p.name))
    else:
        for p in sorted(folder.glob("renamed_*")):
            p.rename(p.with_name(p.name[len("renamed_") :]))


def main(argv=None) -> dict:
    # Long on purpose: the two programs' steps are interleaved round by round in one place, so the
    # order of what is compared can be read (and changed) at a glance.
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=Path, required=True, help="a folder of photos (copied, never changed)")
    p.add_argument("--rclip", type=Path, default=None, help="the rclip executable (see above)")
    p.add_argument("--limit", type=int, default=300)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--renamed", type=int, default=50)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rclip = args.rclip if args.rclip is not None and args.rclip.exists() else None
    if args.rclip is not None and rclip is None:
        print(f"note: {args.rclip} not found: PhotoSeek's side only (see the docstring to install rclip)")

    work = Path(tempfile.mkdtemp(prefix="photoseek-peers-"))
    photos = work / "photos"
    photos.mkdir()
    sources = sorted(f for f in args.images.rglob("*") if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for k, f in enumerate(sources[: args.limit]):
        shutil.copy(f, photos / f"{k:05d}{f.suffix.lower()}")
    outside = work / "outside.jpg"
    shutil.copy(next(iter(sorted(photos.glob("*.jpg")))), outside)
    # In a process of its own: a child's peak RSS starts from its parent's at fork (wait4 would
    # report this process's gigabytes of exported model for every command).
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from pathlib import Path; from bench.peers import export_weights; export_weights(Path({str(work)!r}))",
        ],
        cwd=REPO,
        check=True,
    )
    checkpoint, rclip_dir = work / CHECKPOINT, work / "rclip-data"

    def ps_env(round_no: int) -> dict:
        return dict(
            os.environ,
            PYTHONPATH=str(REPO),
            PHOTOSEEK_DATA_DIR=str(work / f"photoseek-data-{round_no}"),
            PHOTOSEEK_MODEL=MODEL,
            PHOTOSEEK_PRETRAINED=str(checkpoint),
            PHOTOSEEK_OCR="0",
        )

    def rc_env() -> dict:
        return dict(os.environ, RCLIP_DATADIR=str(rclip_dir), HF_HUB_OFFLINE="1")

    ps = [sys.executable, "-m", "app"]
    rc = [str(rclip)] if rclip else []
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    waits: list[float] = []  # after PhotoSeek's first index, until its background export was written

    def step(name: str, round_no: int, ps_args: list[str], rc_args: list[str] | None) -> None:
        runs = [("photoseek", ps + ps_args, ps_env(round_no))]
        if rclip and rc_args is not None:
            runs.append(("rclip", rc + rc_args, rc_env()))
        if round_no % 2 == 0:
            runs.reverse()  # rclip first on even rounds
        for who, cmd, env in runs:
            results.setdefault(name, {}).setdefault(who, []).append(timed(cmd, env, photos))
            if who == "photoseek" and name == FIRST:
                # Its first index hands the fast start's export to a process of its own at idle
                # priority; the steps after it are timed once that is written, and its time shown.
                started = time.perf_counter()
                fast_start.wait_while_written(Path(env["PHOTOSEEK_DATA_DIR"]) / "models", timeout_s=900)
                waits.append(time.perf_counter() - started)

    for r in range(args.rounds):
        (rclip_dir / "db.sqlite3").unlink(missing_ok=True)
        query = QUERIES[r % len(QUERIES)]
        step(FIRST, r, ["index", str(photos), "--json", "--no-concepts"], ["-t", "1", "-f", "a photo"])
        step("re-index, unchanged", r, ["index", "--json", "--no-concepts"], ["-t", "1", "-f", "a photo"])
        step("text query", r, ["search", query, "-n", "20"], ["--no-indexing", "-t", "20", "-f", query])
        step("text query, repeated", r, ["search", query, "-n", "20"], ["--no-indexing", "-t", "20", "-f", query])
        step("image query", r, ["similar", str(outside), "-n", "20"], ["--no-indexing", "-t", "20", "-f", str(outside)])
        rename_some(photos, args.renamed, r)
        step(f"re-index, {args.renamed} renamed", r, ["index", "--json", "--no-concepts"], ["-t", "1", "-f", "a photo"])
    table = summarise(results)
    table[FIRST]["photoseek"]["background_export_s"] = [round(w, 2) for w in waits]
    if args.json:
        print(json.dumps(table, indent=1))
    else:
        print_table(table, len(sources[: args.limit]))
        print(
            f"PhotoSeek's background export after its first index ended: {table[FIRST]['photoseek']['background_export_s']} s more"
        )
    shutil.rmtree(work, ignore_errors=True)
    return table


def summarise(results: dict) -> dict:
    """Per step: the best time of each program, its peak RSS in that run, and the ratio."""
    table = {}
    for name, by in results.items():
        row = {}
        for who, runs in by.items():
            seconds, rss = min(runs)
            row[who] = {"s": round(seconds, 2), "peak_rss_mb": round(rss), "runs": [round(s, 2) for s, _ in runs]}
        if "rclip" in row:
            row["ratio_s"] = round(row["photoseek"]["s"] / row["rclip"]["s"], 2)
            row["ratio_rss"] = round(row["photoseek"]["peak_rss_mb"] / row["rclip"]["peak_rss_mb"], 2)
        table[name] = row
    return table


def print_table(table: dict, photos: int) -> None:
    print(f"PhotoSeek vs rclip, {photos} photos, best of the rounds (process start to exit)")
    print(f"{'step':<24} {'rclip s':>8} {'PhotoSeek s':>12} {'ratio':>6} {'rclip MB':>9} {'PhotoSeek MB':>13}")
    for name, row in table.items():
        rc, ps = row.get("rclip"), row["photoseek"]
        print(
            f"{name:<24} {rc['s'] if rc else '-':>8} {ps['s']:>12} {row.get('ratio_s', '-'):>6} "
            f"{rc['peak_rss_mb'] if rc else '-':>9} {ps['peak_rss_mb']:>13}"
        )


if __name__ == "__main__":
    main()
