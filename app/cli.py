"""`photoseek`: the window with no subcommand, the engine from a terminal with one."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sqlite3
import sys
import time
import traceback
from pathlib import Path

from . import __version__
from .core.names import shown
from .core.process_tuning import idle_priority, tune_process

EXIT_CODES = """exit codes:
  0    done
  1    failed: the disk is full, or something unexpected (one line says what; -v shows the details)
  2    bad input: no such file, not a picture, wrong arguments
  3    the model cannot be loaded (the line says which file is needed and where it comes from),
       or its model-config JSON is refused (the line names the file and the field)
  4    the library's catalog cannot be opened (damaged, or written by a newer PhotoSeek);
       `photoseek doctor --repair` puts its newest good backup in its place
  5    doctor --repair/--restore changed nothing: not confirmed (answer y, or pass --yes), or
       another PhotoSeek is indexing the library
  130  interrupted (Ctrl-C): what was done is kept, the next run resumes"""


def _parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="photoseek",
        parents=[common],
        argument_default=None,
        description="Search your photos by what is in them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"PhotoSeek {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (
        _add_index,
        _add_search,
        _add_similar,
        _add_concepts,
        _add_saved,
        _add_duplicates,
        _add_relink,
        _add_doctor,
        _add_gui,
        _add_export,
        _add_fast_start,
    ):
        add(sub, common)
    return parser


def _common_options() -> argparse.ArgumentParser:
    """The options every command takes (before or after its name)."""
    # SUPPRESS: a flag given before the subcommand must not be reset by the subcommand's default.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--data-dir",
        type=Path,
        help="where the catalog, index and thumbnails live (default: the platform's data dir; env PHOTOSEEK_DATA_DIR)",
    )
    common.add_argument("--model", help="open_clip model name or model-config JSON (env PHOTOSEEK_MODEL)")
    common.add_argument(
        "--pretrained", help="open_clip pretrained tag, checkpoint file, or 'none' (env PHOTOSEEK_PRETRAINED)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")

    return common


def _add_index(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("index", parents=[common], help="add folders and index new or changed photos")
    p.add_argument("folders", nargs="*", type=Path, help="folders to add (default: re-check the library)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument("--no-concepts", action="store_true", help="do not score new photos against the concepts now")
    p.add_argument(
        "--no-ocr",
        action="store_true",
        help="do not read the text inside photos this time (env PHOTOSEEK_OCR=0 turns it off for good)",
    )


def _add_search(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "search",
        parents=[common],
        help="find photos by a description",
        description="Find photos by a query in the search language: words, -exclusions, "
        "2:weights, #concepts, folder:/after:/before:/type:/orientation: filters and "
        "\"quoted words\" (see README). Put -- before a query that starts with '-'.",
    )
    p.add_argument("text", nargs="*", help="the query (several words are joined)")
    p.add_argument("-n", type=int, default=20, help="how many results (default 20; 0 for all)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--image", type=Path, help="combine this picture with the words (a library photo or any file)")
    p.add_argument("--min-score", type=float, help="leave out results scoring below this")
    p.add_argument(
        "--good-only", action="store_true", help="only the good matches (where the scores drop away for this query)"
    )
    p.add_argument("--saved", metavar="NAME", help="run a saved search")
    p.add_argument(
        "--include-offline",
        action="store_true",
        help="also photos whose folder is not connected "
        "(an unplugged drive; left out otherwise, `is:offline` finds only them)",
    )


def _add_similar(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("similar", parents=[common], help="find photos that look like an image")
    p.add_argument("path", type=Path, help="a library photo or any image file")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--json", action="store_true")


def _add_concepts(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "concepts",
        parents=[common],
        help="list concepts, show a photo's, add your own",
        description="With no action: the concepts (most frequent in this library first).",
    )
    p.add_argument("action", nargs="?", default="list", choices=["list", "tags", "add", "remove"])
    p.add_argument(
        "args", nargs="*", help="list: a name prefix; tags: a photo; add: NAME PHRASE [PHRASE...]; remove: NAME"
    )
    p.add_argument("--json", action="store_true")


def _add_saved(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("saved", parents=[common], help="saved searches (smart albums)")
    p.add_argument("action", nargs="?", default="list", choices=["list", "add", "rename", "remove"])
    p.add_argument("args", nargs="*", help="add: NAME QUERY; rename: NAME NEW-NAME; remove: NAME")
    p.add_argument("--json", action="store_true")


def _add_duplicates(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "duplicates",
        parents=[common],
        help="groups of duplicate and near-duplicate photos",
        description="Identical files, and photos that look the same (resized, recompressed, "
        "slightly cropped copies), largest groups first, each with a suggested keeper "
        "(largest resolution, then oldest).",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="how similar counts as the same picture, 0.90-1.00 (default 0.95; lower finds more; "
        "1: identical files only)",
    )
    p.add_argument(
        "--hash-distance",
        type=int,
        default=None,
        help="image-hash bits that may differ, 0-6 (default: from the threshold, 6 at 0.95 and below)",
    )
    p.add_argument("--json", action="store_true")


def _add_relink(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "relink",
        parents=[common],
        help="a library folder moved: point it at its new place",
        description="The photos of library folder OLD are now in NEW (another drive, a renamed "
        "folder): find each by its content in NEW and keep it, with its id, embedding, text "
        "and tags; nothing is indexed again.",
    )
    p.add_argument("old", type=Path, help="the library folder as PhotoSeek knows it")
    p.add_argument("new", type=Path, help="the folder its photos are in now")


def _add_doctor(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="catalog, backups, model, counts and index health; repair or restore the catalog",
        description="Checks the catalog (it opens, its quick and integrity checks), its backups, "
        "the model and the index. --repair and --restore put a backup in place of the catalog, "
        "keep the catalog they replace aside in the data dir, and ask first.",
    )
    p.add_argument("--json", action="store_true")
    fix = p.add_mutually_exclusive_group()
    fix.add_argument(
        "--repair",
        action="store_true",
        help="when the catalog is damaged: move it aside, restore "
        "the newest good backup (or start an empty catalog), drop the index to rebuild it",
    )
    fix.add_argument(
        "--restore",
        nargs="?",
        const="",
        metavar="BACKUP",
        help="put this backup file (default: the "
        "newest good one) in place of the current catalog, which is moved aside",
    )
    p.add_argument("--yes", action="store_true", help="repair or restore without asking")


def _add_export(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export-model",
        parents=[common],
        help="export the model (--model/--pretrained) to ONNX, for a PhotoSeek without PyTorch",
        description="Writes the model's image and text towers in ONNX (and an int8 image tower when it "
        "stays within cosine 0.99 of float32), its tokenizer and a manifest into OUT_DIR. Run PhotoSeek "
        "on it with --model OUT_DIR (or PHOTOSEEK_MODEL). Needs PyTorch, open_clip and onnx.",
    )
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--photos", type=Path, help="a folder of photos to measure the int8 tower's fidelity on")
    int8 = p.add_mutually_exclusive_group()
    int8.add_argument("--no-int8", action="store_true", help="float32 towers only")
    int8.add_argument(
        "--int8-only", action="store_true", help="leave the float32 image tower out when the int8 one is kept"
    )
    p.add_argument("--archive", action="store_true", help="also write OUT_DIR.tar.gz (to serve it as a download)")


def _add_fast_start(sub, common: argparse.ArgumentParser) -> None:
    # no help: not listed (`index` starts it in a process of its own)
    p = sub.add_parser("prepare-fast-start", parents=[common])
    p.add_argument("--lock-fd", type=int, help="the writer's lock, held open by the process that started this one")


def _export_model(settings, args) -> int:
    from .core.model.embedder import ModelSpec, ModelUnavailable

    try:
        from .core.model.export import export_model, sample_photos
        from .core.model.export_files import archive_export
    except ImportError as e:
        print(f"photoseek: exporting needs PyTorch, open_clip and onnx ({e})", file=sys.stderr)
        return 3
    photos = sample_photos(args.photos) if args.photos else []
    spec = ModelSpec(settings.model, settings.pretrained)
    try:
        manifest = export_model(
            spec, settings.models_dir, args.out_dir, photos, int8=not args.no_int8, int8_only=args.int8_only
        )
    except ModelUnavailable as e:
        print(f"photoseek: {e}", file=sys.stderr)
        return 3
    fidelity = manifest["fidelity"]
    int8 = fidelity.get("visual_int8")
    print(f"{manifest['model_id']} exported to {args.out_dir}")
    print(f"float32: image cosine {fidelity['visual_fp32']['min']:.6f}, text {fidelity['text_fp32']['min']:.6f} (min)")
    if int8:
        verdict = "kept" if int8["kept"] else "dropped (under 0.99)"
        print(
            f"int8 image tower: cosine mean {int8['mean']:.4f}, min {int8['min']:.4f} on {int8['n']} photos: {verdict}"
        )
    if args.archive:
        print(f"archive: {archive_export(Path(args.out_dir).expanduser())}")
    return 0


def _add_gui(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("gui", parents=[common], help="open the window")
    p.add_argument("folders", nargs="*", type=Path, help="folders to add, or a photo to open (adds its folder)")


_PHASE_LABELS = {
    "ocr": "Reading text in photos",
    "hashing": "Hashing photos for duplicates",
    "prompts": "Learning tags",
    "concepts": "Scoring photos for concepts",
}
INTERRUPTED = "Interrupted; the next run resumes where this one stopped."


class _ProgressBar:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False  # a line was started: close() ends it

    def __call__(self, p) -> None:
        if p.phase == "waiting":  # said even without a terminal: the run is not stuck
            sys.stderr.write(
                "another PhotoSeek is indexing this library; waiting for it to finish (searching works meanwhile)\n"
            )
            sys.stderr.flush()
            return
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and p.done != p.total:
            return
        self._last = now
        self._shown = True
        if p.phase == "scanning":
            sys.stderr.write("\rScanning folders...")
        elif p.phase in _PHASE_LABELS and p.total:
            sys.stderr.write(
                f"\r{_PHASE_LABELS[p.phase]} {p.done:,}/{p.total:,} {os.path.basename(p.current)[-30:]}\033[K"
            )
        else:
            width = 30
            filled = int(width * p.done / p.total) if p.total else width
            eta = f"{p.eta_s:.0f}s left" if p.eta_s is not None else ""
            name = os.path.basename(p.current)[-30:]
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} {p.rate:.1f}/s {eta} {name}\033[K"
            )
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            self._shown = False


def _download_progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        pct = f"{100 * done / total:.0f}%" if total else f"{done / 1e6:.0f} MB"
        sys.stderr.write(f"\rDownloading model weights... {pct}\033[K")


def _print_hits(hits, as_json: bool) -> None:
    """Best first. A search result also says where the good matches end: a divider line (text) or
    `"good"` on each hit (JSON); its hints go to stderr."""
    good = getattr(hits, "good_count", None)
    for hint in getattr(hits, "hints", ()):
        print(f"note: {hint}", file=sys.stderr)
    if as_json:
        print(
            json.dumps(
                [
                    {"path": h.path, "score": round(h.score, 6), "good": good is None or i < good}
                    for i, h in enumerate(hits)
                ],
                indent=1,
            )
        )
        return
    for i, h in enumerate(hits):
        if i == good:
            print("-- weaker matches --" if good else "-- no clear matches --")
        print(f"{h.score:.3f}  {shown(h.path)}{'  [text]' if getattr(h, 'text_match', False) else ''}")


def _print_report(report, as_json: bool, concepts=None) -> None:
    """An index run's report, and the concept scoring that followed it (a ConceptReport) if any."""
    if as_json:
        data = report.as_dict()
        if concepts is not None:
            data["concepts"] = {"scored": concepts.scored, "seconds": round(concepts.seconds, 3)}
        print(json.dumps(data, indent=1))
        return
    r = report
    state = "Cancelled" if r.cancelled else "Done"
    print(
        f"{state} in {r.seconds:.1f}s: {r.new} new, {r.changed} changed, {r.moved} moved, "
        f"{r.copied} copied, {r.removed} removed, {r.unchanged} unchanged, {len(r.skipped)} skipped; "
        f"{r.embedded} embedded."
    )
    for path, reason in r.skipped:
        print(f"  skipped {shown(path)}: {reason}")
    for folder in r.unavailable_folders:
        print(f"  folder not available (its photos are kept): {shown(folder)}")
    for old, new, _count in getattr(r, "moved_folders", ()):
        print(f"Looks like {shown(old)} moved to {shown(new)}: run photoseek relink {_quoted(old)} {_quoted(new)}")
    if getattr(r, "ocr", 0):
        print(f"Text read in {r.ocr} photo{'s' * (r.ocr != 1)}.")
    if getattr(r, "ocr_error", ""):
        print(f"  {r.ocr_error}")
    if concepts is not None and concepts.scored:
        print(f"Concepts scored for {concepts.scored} photos in {concepts.seconds:.2f}s.")


def _search(library, args) -> int:
    text = " ".join(args.text)
    if args.saved:
        found = [q for _, name, q in library.saved_searches() if name.casefold() == args.saved.casefold()]
        if not found:
            print(f"photoseek: no saved search named {args.saved!r}", file=sys.stderr)
            return 2
        text = f"{found[0]} {text}".strip()
    image = None
    if args.image is not None:
        image = args.image.expanduser()
        if not image.is_file():
            print(f"photoseek: no such file: {image}", file=sys.stderr)
            return 2
    hits = library.search(
        text,
        args.n or None,
        image=image,
        min_score=args.min_score,
        good_only=args.good_only,
        include_offline=args.include_offline,
    )
    _print_hits(hits, args.json)
    return 0


def _quoted(path: str) -> str:
    """A path as a shell takes it back."""
    import shlex

    return shlex.quote(shown(path))


def _relink(library, args) -> int:
    done = library.relink(args.old, args.new)
    missing = f"; {done.missing} not found there" if done.missing else ""
    print(
        f"Relinked {done.relinked} photo{'s' * (done.relinked != 1)} from {shown(str(done.old))} "
        f"to {shown(str(done.new))}{missing}."
    )
    return 0


def _with_bar(job):
    """`job(progress=...)` with the progress bar, its line ended however it ends."""
    bar = _ProgressBar()
    try:
        return job(progress=bar)
    finally:
        bar.close()


def _concepts(library, args) -> int:
    a = args.args
    if args.action == "list":
        prefix = " ".join(a).lstrip("#").casefold().replace("_", " ")
        rows = [(n, c) for n, c in library.concept_names() if n.casefold().startswith(prefix)]
        user = {name.casefold() for name in library.user_concepts()}
        if args.json:
            print(json.dumps([{"name": n, "photos": c, "yours": n.casefold() in user} for n, c in rows], indent=1))
        else:
            for n, c in rows:
                print(f"{c:6d}  #{n.replace(' ', '_')}{'  (yours)' if n.casefold() in user else ''}")
    elif args.action == "tags":
        if len(a) != 1:
            print("photoseek: concepts tags needs one photo", file=sys.stderr)
            return 2
        record = library.catalog.file_by_path(str(Path(a[0]).expanduser().resolve()))
        if record is None:
            print(f"photoseek: not in the library: {a[0]}", file=sys.stderr)
            return 2
        _with_bar(library.update_concepts)  # the first time for a model: minutes, shown
        tags = library.concept_tags(record.id)
        if args.json:
            print(json.dumps([{"name": n, "score": round(p, 4)} for n, p in tags], indent=1))
        else:
            for n, p in tags:
                print(f"{p:.2f}  #{n.replace(' ', '_')}")
    elif args.action == "add":
        if len(a) < 2:
            print("photoseek: concepts add needs a name and at least one phrase", file=sys.stderr)
            return 2
        library.add_concept(a[0], a[1:])
        print(f"Added #{a[0].lstrip('#').replace(' ', '_')}; photos are scored for it on the next search or index.")
    else:
        if len(a) != 1 or not library.remove_concept(a[0]):
            print(f"photoseek: no concept of yours named {' '.join(a)!r}", file=sys.stderr)
            return 2
    return 0


def _saved(library, args) -> int:
    a = args.args
    by_name = {name.casefold(): (i, name, q) for i, name, q in library.saved_searches()}
    if args.action == "list":
        rows = list(by_name.values())
        if args.json:
            print(json.dumps([{"name": n, "query": q} for _, n, q in rows], indent=1))
        else:
            for _, n, q in rows:
                print(f"{n}: {q}")
        return 0
    if args.action == "add" and len(a) >= 2:
        library.save_search(a[0], " ".join(a[1:]))
        return 0
    if args.action in ("rename", "remove") and len(a) == (2 if args.action == "rename" else 1):
        found = by_name.get(a[0].casefold())
        if found is None:
            print(f"photoseek: no saved search named {a[0]!r}", file=sys.stderr)
            return 2
        if args.action == "rename":
            library.rename_saved_search(found[0], a[1])
        else:
            library.remove_saved_search(found[0])
        return 0
    print(f"photoseek: saved {args.action}: wrong arguments (see --help)", file=sys.stderr)
    return 2


def _duplicates(library, args) -> int:
    from .core.organize import duplicates

    try:
        duplicates.check_settings(
            duplicates.DEFAULT_THRESHOLD if args.threshold is None else args.threshold, args.hash_distance
        )
    except ValueError as e:
        print(f"photoseek: {e}", file=sys.stderr)
        return 2
    report = library.duplicates(args.threshold, args.hash_distance)
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
        return 0
    if report.note:
        print(f"note: {report.note}", file=sys.stderr)
    if report.offline_folders:
        print(
            f"note: the photos of {report.offline_folders} offline folder{'s' * (report.offline_folders != 1)} "
            "were left out (connect them to include them)",
            file=sys.stderr,
        )
    print(
        f"{len(report.groups)} group{'s' * (len(report.groups) != 1)} of duplicates in {report.photos} photos; "
        f"{report.redundant} could go (threshold {report.threshold:g}, hash distance {report.hash_distance}, "
        f"{report.seconds:.2f}s)."
    )
    for group in report.groups:
        kind = group.kind if group.exact else f"{group.kind} {group.similarity:.3f}"
        print(f"\n[{kind}] {len(group.photos)} photos")
        for k, photo in enumerate(group.photos):
            size = f"{photo.width}x{photo.height}" if photo.width and photo.height else "?"
            print(f"  {'keep' if k == 0 else '    '}  {shown(photo.path)}  {size}{f'  ({photo.kind})' if k else ''}")
    return 0


def _disk_full(e: BaseException) -> bool:
    if isinstance(e, sqlite3.OperationalError):
        return getattr(e, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(e)
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


def _kept(library) -> str:
    """What survived a failed write: every batch committed before it (the catalog is all or nothing)."""
    try:
        photos, searchable = library.catalog.count(), library.catalog.embedding_count(library.model_id)
    except sqlite3.Error:
        return "everything committed before it was kept; free some space and run `photoseek index` again"
    return (
        f"kept: {photos:,} photos in the library, {searchable:,} of them searchable; "
        "free some space and run `photoseek index` again to go on"
    )


COMMANDS = (
    "index",
    "search",
    "similar",
    "concepts",
    "saved",
    "duplicates",
    "relink",
    "doctor",
    "gui",
    "export-model",
    "prepare-fast-start",
)


def main(argv: list[str] | None = None) -> int:
    """The command line; Ctrl-C anywhere ends with one line and exit 130 (what was done is kept:
    batches are committed, the concept prompts saved a chunk at a time)."""
    tune_process("cli")  # the process-wide levers (app/core/process_tuning.py)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130


def _parsed(argv: list[str] | None) -> argparse.Namespace:
    """The command line's arguments (logging set up as they ask)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        argv = ["gui", *argv]  # `photoseek ~/Pictures` opens the window on that folder
    args = _parser().parse_args(argv)
    for name in ("data_dir", "model", "pretrained", "verbose"):
        if not hasattr(args, name):
            setattr(args, name, None)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return args


def _main(argv: list[str] | None) -> int:
    args = _parsed(argv)
    if args.command in (None, "gui"):
        return gui_main(args)

    from .core.config import Settings
    from .core.library import Library
    from .core.model.embedder import ModelUnavailable
    from .core.store.catalog import CatalogError

    settings = Settings.from_env(
        data_dir=args.data_dir,
        model=args.model,
        pretrained=args.pretrained,
        ocr=False if getattr(args, "no_ocr", False) else None,
    )
    if args.command == "export-model":
        return _export_model(settings, args)
    if args.command == "doctor":
        done = _doctor_catalog(settings, args)
        if done is not None:
            return done
    try:
        library = Library(settings)
    except (sqlite3.DatabaseError, CatalogError) as e:
        _details(args)
        print(_damaged_line(settings.catalog_path, e), file=sys.stderr)
        return 4
    try:
        return _run_command(library, args)
    except ModelUnavailable as e:
        print(f"photoseek: {e}", file=sys.stderr)
        return 3
    except (KeyError, NotADirectoryError, ValueError) as e:
        print(f"photoseek: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except (sqlite3.OperationalError, OSError) as e:
        _details(args)
        if not _disk_full(e):
            print(f"photoseek: {_plainly(e)}", file=sys.stderr)
            return 1
        print(f"photoseek: disk full: {e} (in {library.settings.data_dir}); {_kept(library)}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as e:  # the catalog opened, but is damaged inside
        _details(args)
        if not _damaged(e):
            print(f"photoseek: {_plainly(e)}", file=sys.stderr)
            return 1
        print(_damaged_line(settings.catalog_path, e), file=sys.stderr)
        return 4
    except Exception as e:  # one plain line, never a traceback unless asked (-v)
        _details(args)
        print(f"photoseek: {_plainly(e)}", file=sys.stderr)
        return 1
    finally:
        library.close()


def _run_command(library, args) -> int:
    commands = {
        "index": _index,
        "search": _search,
        "concepts": _concepts,
        "saved": _saved,
        "duplicates": _duplicates,
        "relink": _relink,
        "similar": _similar,
        "doctor": _doctor,
        "prepare-fast-start": _write_fast_start,
    }
    return commands[args.command](library, args) or 0


def _index(library, args) -> int:
    bar = _ProgressBar()
    try:
        scored = []  # concepts right after the embeddings, before the slow text-reading pass
        score = None if args.no_concepts else lambda: scored.append(library.update_concepts(progress=bar))
        report = library.update(args.folders, progress=bar, after_embedding=score, download=_download_progress)
    finally:
        bar.close()  # what is said next starts a line of its own
    _print_report(report, args.json, scored[0] if scored else None)
    if not report.cancelled:
        _prepare_fast_start(library)
    return 0


def _prepare_fast_start(library) -> None:
    """After torch embedded photos: export the model once, so that later commands start without
    torch. In a process of its own at idle priority that outlives this one, so the command ends
    when its photos are indexed (ViT-B-32's export takes about as long as embedding 300 photos)."""
    if not library.fast_start_due():
        return
    from .core.model import fast_start

    name, models_dir = library.spec.name, library.settings.models_dir
    if os.name != "posix" or getattr(sys, "frozen", False):  # (no flock to hand over; no `-m app`)
        print(f"Preparing fast start for {name} (once)…", end="", file=sys.stderr, flush=True)
        written = library.prepare_fast_start(release_model=True)  # (its own model: one in memory, not two)
        done = f" done in {written.seconds:.1f}s ({written.bytes / 1e6:.1f} MB)." if written else " not possible."
        print(done, file=sys.stderr)
        return
    import subprocess  # (here: not on every command's start)

    lock = fast_start.claim_writing(models_dir)
    if lock is None:
        return  # another process is writing it
    try:
        with open(fast_start.log_path(models_dir), "w", encoding="utf-8") as log_file:
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "prepare-fast-start",
                    "--lock-fd",
                    str(lock),
                    *_settings_options(library),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=(lock,),
                start_new_session=True,  # (Ctrl-C in this terminal later does not stop it)
            )
    finally:
        os.close(lock)  # (the child holds it until it is done)
    print(
        f"Preparing fast start for {name} in the background (once, process {child.pid}): "
        "later commands start without PyTorch when it is done.",
        file=sys.stderr,
    )


def _settings_options(library) -> list[str]:
    """The options that give a child process this one's data dir and model."""
    settings = library.settings
    options = ["--data-dir", str(settings.data_dir), "--model", settings.model]
    return [*options, "--pretrained", settings.pretrained] if settings.pretrained else options


def _write_fast_start(library, args) -> int:
    """`prepare-fast-start` (unlisted: `index` starts it): write the fast start's export, at idle
    priority, and say how it went (in the log that `index` opened for it)."""
    idle_priority()
    try:
        written = library.write_missing_fast_start()
    finally:
        if args.lock_fd is not None:
            os.close(args.lock_fd)  # the writer's lock, handed over by `index`
    if written is None:
        print(f"no fast start written for {library.spec.name} (not needed, or see above)")
    else:
        print(f"fast start for {library.spec.name} written in {written.seconds:.1f}s ({written.bytes / 1e6:.1f} MB)")
    return 0


def _similar(library, args) -> int:
    from .core.ingest.imaging import ImageError

    path = args.path.expanduser()
    if not path.is_file():
        print(f"photoseek: no such file: {path}", file=sys.stderr)
        return 2
    in_library = library.catalog.file_by_path(str(path.resolve())) is not None
    try:
        hits = library.similar(path, args.n) if in_library else library.search_image(path, n=args.n)
    except ImageError as e:
        print(f"photoseek: cannot use {shown(str(path))}: {e}", file=sys.stderr)
        return 2
    _print_hits(hits, args.json)
    return 0


def _doctor(library, args) -> int:
    from .core.model.embedder import ModelUnavailable

    info = library.doctor()
    try:
        library.load_model()
        info = library.doctor()
        info["model_status"] = "ok"
    except ModelUnavailable as e:
        info["model_status"] = str(e)
    _print_info(info, args.json)
    return 0


def _print_info(info: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(info, indent=1))
    else:
        for key, value in info.items():
            print(f"{key:>20}: {value}")


def _damaged(e: sqlite3.DatabaseError) -> bool:
    """SQLite's words for a damaged file ("database disk image is malformed", "file is not a database")."""
    return type(e) is sqlite3.DatabaseError or getattr(e, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _damaged_line(path: Path, reason) -> str:
    return (
        f"photoseek: the library's catalog {path} cannot be opened: {reason}. Nothing was changed; "
        "`photoseek doctor --repair` moves it aside and puts its newest good backup in its place."
    )


def _doctor_catalog(settings, args) -> int | None:
    """The catalog part of `doctor`: --repair and --restore end here, and so does a damaged catalog
    (reported with its backups; the rest of the report needs it open). None: go on."""
    from .core.store import backups, repair

    if args.repair or args.restore is not None:
        return _fix_catalog(settings, args)
    problem = repair.diagnose(settings)
    if problem is None:
        return None
    _print_info(
        {
            "data_dir": str(settings.data_dir),
            "catalog": str(settings.catalog_path),
            "catalog_problem": problem,
            **backups.summary(settings.catalog_path),
        },
        args.json,
    )
    print(_damaged_line(settings.catalog_path, problem), file=sys.stderr)
    return 4


def _fix_catalog(settings, args) -> int:
    """`doctor --repair` and `doctor --restore [BACKUP]`: plan, ask, do, one line per step."""
    from .core.store import backups, repair
    from .core.store.catalog import CatalogError

    given = Path(args.restore).expanduser() if args.restore else None
    try:
        with repair.hold_writer(settings):
            plan = repair.plan_repair(settings) if args.repair else repair.plan_restore(settings, given)
            if args.repair and plan.problem is None:
                print(f"The catalog {settings.catalog_path} opens and passes its quick check: nothing needed repair.")
                return 0
            if plan.problem is not None:
                print(f"The catalog {settings.catalog_path} is damaged: {plan.problem}.")
            if not _consent(plan.steps(), args.yes):
                return 5
            repair.carry_out(plan, settings, print)
    except repair.Busy as e:
        print(f"photoseek: nothing was changed: {e}", file=sys.stderr)
        return 5
    except repair.RepairError as e:
        print(f"photoseek: {e}", file=sys.stderr)
        return 2 if given is not None else 1
    except (sqlite3.Error, OSError, backups.BackupError, CatalogError) as e:
        _details(args)
        print(f"photoseek: stopped: {e} (what was done is said above)", file=sys.stderr)
        return 1
    return 0


def _consent(steps: list[str], yes: bool) -> bool:
    """--yes, or a y typed at the prompt on a terminal; without a terminal nothing is asked."""
    print("This will:")
    for step in steps:
        print(f"  - {step}")
    if yes:
        return True
    if not sys.stdin.isatty():
        print("photoseek: nothing was changed: run again with --yes to do it", file=sys.stderr)
        return False
    try:
        answer = input("Go ahead? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("Nothing was changed.")
    return False


def _details(args) -> None:
    """The traceback of the exception being handled, with -v."""
    if args.verbose:
        traceback.print_exc()


def _plainly(e: BaseException) -> str:
    hint = "" if logging.getLogger().isEnabledFor(logging.INFO) else " (run again with -v for the details)"
    return f"{e}{hint}" if isinstance(e, OSError) else f"unexpected error, {type(e).__name__}: {e}{hint}"


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
