"""`photoseek`: the window with no subcommand, the engine from a terminal with one."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from . import __version__


def _parser() -> argparse.ArgumentParser:
    # SUPPRESS: a flag given before the subcommand must not be reset by the subcommand's default.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--data-dir", type=Path, help="where the catalog, index and thumbnails live "
                        "(default: the platform's data dir; env PHOTOSEEK_DATA_DIR)")
    common.add_argument("--model", help="open_clip model name or model-config JSON (env PHOTOSEEK_MODEL)")
    common.add_argument("--pretrained", help="open_clip pretrained tag, checkpoint file, or 'none' "
                        "(env PHOTOSEEK_PRETRAINED)")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")

    parser = argparse.ArgumentParser(prog="photoseek", parents=[common], argument_default=None,
                                     description="Search your photos by what is in them.")
    parser.add_argument("--version", action="version", version=f"PhotoSeek {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="add folders and index new or changed photos")
    p.add_argument("folders", nargs="*", type=Path, help="folders to add (default: re-check the library)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")

    p = sub.add_parser("search", parents=[common], help="find photos by a description")
    p.add_argument("text")
    p.add_argument("-n", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("similar", parents=[common], help="find photos that look like an image")
    p.add_argument("path", type=Path, help="a library photo or any image file")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("doctor", parents=[common], help="model, device, counts and index health")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("gui", parents=[common], help="open the window")
    p.add_argument("folders", nargs="*", type=Path)
    return parser


class _ProgressBar:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and p.done != p.total:
            return
        self._last = now
        if p.phase == "scanning":
            sys.stderr.write("\rScanning folders...")
        else:
            width = 30
            filled = int(width * p.done / p.total) if p.total else width
            eta = f"{p.eta_s:.0f}s left" if p.eta_s is not None else ""
            name = os.path.basename(p.current)[-30:]
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} "
                             f"{p.rate:.1f}/s {eta} {name}\033[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _download_progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        pct = f"{100 * done / total:.0f}%" if total else f"{done / 1e6:.0f} MB"
        sys.stderr.write(f"\rDownloading model weights... {pct}\033[K")


def _print_hits(hits, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"path": h.path, "score": round(h.score, 6)} for h in hits], indent=1))
    else:
        for h in hits:
            print(f"{h.score:.3f}  {h.path}")


def _print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=1))
        return
    r = report
    state = "Cancelled" if r.cancelled else "Done"
    print(f"{state} in {r.seconds:.1f}s: {r.new} new, {r.changed} changed, {r.moved} moved, "
          f"{r.copied} copied, {r.removed} removed, {r.unchanged} unchanged, {len(r.skipped)} skipped; "
          f"{r.embedded} embedded.")
    for path, reason in r.skipped:
        print(f"  skipped {path}: {reason}")
    for folder in r.unavailable_folders:
        print(f"  folder not available (its photos are kept): {folder}")


COMMANDS = ("index", "search", "similar", "doctor", "gui")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        argv = ["gui", *argv]  # `photoseek ~/Pictures` opens the window on that folder
    args = _parser().parse_args(argv)
    for name in ("data_dir", "model", "pretrained", "verbose"):
        if not hasattr(args, name):
            setattr(args, name, None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command in (None, "gui"):
        return gui_main(args)

    from .core.config import Settings
    from .core.embedder import ModelUnavailable
    from .core.library import Library

    settings = Settings.from_env(data_dir=args.data_dir, model=args.model, pretrained=args.pretrained)
    library = Library(settings)
    try:
        if args.command == "index":
            bar = _ProgressBar()
            try:
                library.load_model(progress=_download_progress)
                report = library.update(args.folders, progress=bar)
            except KeyboardInterrupt:
                bar.close()
                print("Interrupted; the next run resumes where this one stopped.", file=sys.stderr)
                return 130
            bar.close()
            _print_report(report, args.json)
        elif args.command == "search":
            _print_hits(library.search(args.text, args.n), args.json)
        elif args.command == "similar":
            path = args.path.expanduser()
            if not path.is_file():
                print(f"photoseek: no such file: {path}", file=sys.stderr)
                return 2
            in_library = library.catalog.file_by_path(str(path.resolve())) is not None
            hits = library.similar(path, args.n) if in_library else library.search_image(path, n=args.n)
            _print_hits(hits, args.json)
        elif args.command == "doctor":
            info = library.doctor()
            try:
                library.load_model()
                info = library.doctor()
                info["model_status"] = "ok"
            except ModelUnavailable as e:
                info["model_status"] = str(e)
            if args.json:
                print(json.dumps(info, indent=1))
            else:
                for key, value in info.items():
                    print(f"{key:>20}: {value}")
    except ModelUnavailable as e:
        print(f"photoseek: {e}", file=sys.stderr)
        return 3
    except (KeyError, NotADirectoryError) as e:
        print(f"photoseek: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    finally:
        library.close()
    return 0


def gui_main(args: argparse.Namespace | None = None) -> int:
    """Open the main window (also the double-click entry point)."""
    try:
        from .ui.main import run
    except ImportError as e:
        print(f"photoseek: the window is not available ({e}); use a subcommand, see --help", file=sys.stderr)
        return 2
    if args is None:  # started from the desktop entry: files and folders may follow
        args = _parser().parse_args(["gui", *sys.argv[1:]])
    return run(args)
