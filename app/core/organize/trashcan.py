"""Putting files back from the system trash (the freedesktop trash of Linux desktops).

send2trash moves a file to the trash but cannot take it back. On Linux the trash is the
freedesktop one (https://specifications.freedesktop.org/trash-spec/): `files/NAME` holds the file,
`info/NAME.trashinfo` its original `Path=` (URL-quoted; relative paths are relative to the
trash's top directory) and `DeletionDate=`. The trash is the home one, `$XDG_DATA_HOME/Trash`, or
a volume's `$topdir/.Trash/$uid` or `$topdir/.Trash-$uid`. `locate` finds where a file just went;
`restore` moves it back, never over a file that is at its old place now.

Elsewhere (macOS, Windows) the system's trash keeps its own records: `locate` raises
`RestoreUnsupported`, and restoring is done from the Finder's Trash or the Recycle Bin.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

INFO_SUFFIX = ".trashinfo"


class RestoreUnsupported(OSError):
    """This platform's trash cannot be read here: restore from the system's trash instead."""


@dataclass(frozen=True)
class Trashed:
    """A file in the trash: where it was, where it is now, and its .trashinfo."""

    original: str
    file: str
    info: str


def supported() -> bool:
    return sys.platform not in ("darwin", "win32")


def _unsupported() -> RestoreUnsupported:
    where = "the Finder's Trash" if sys.platform == "darwin" else "the Recycle Bin"
    return RestoreUnsupported(f"PhotoSeek cannot take files back from the trash here: restore them from {where}")


# -- where the trash is ---------------------------------------------------------------------------


def home_trash() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data) / "Trash"


def _mount_point(path: str) -> str:
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def trash_dirs(original: str) -> list[tuple[Path, Path]]:
    """(trash dir, the top dir its relative paths start from) that may hold `original`."""
    home = home_trash()
    dirs = [(home, home.parent)]
    parent = os.path.dirname(os.path.abspath(original))
    if os.path.isdir(parent):
        top = Path(_mount_point(parent))
        uid = str(os.getuid())
        dirs += [(top / ".Trash" / uid, top), (top / f".Trash-{uid}", top)]
    return dirs


# -- reading .trashinfo ---------------------------------------------------------------------------


def read_info(info: Path, top: Path) -> tuple[str, str] | None:
    """(original path, deletion date) of a .trashinfo file, None when it is not one."""
    try:
        lines = info.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return None
    if not lines or lines[0].strip() != "[Trash Info]":
        return None
    values = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    if "Path" not in values:
        return None
    path = os.fsdecode(unquote(values["Path"].strip(), encoding="utf-8", errors="surrogateescape"))
    return os.path.join(top, path), values.get("DeletionDate", "").strip()


def locate(original: str | Path) -> Trashed:
    """Where a file just sent to the trash went: the entry whose Path is `original`, the most
    recently deleted one if there are several. FileNotFoundError when there is none."""
    if not supported():
        raise _unsupported()
    original = os.path.abspath(original)
    stem = os.path.splitext(os.path.basename(original))[0]
    best: tuple[str, Trashed] | None = None
    for trash, top in trash_dirs(original):
        for info in _infos_named_like(trash / "info", stem):
            found = read_info(info, top)
            name = info.name[: -len(INFO_SUFFIX)]
            file = trash / "files" / name
            if found is None or os.path.normpath(found[0]) != original or not os.path.lexists(file):
                continue
            if best is None or found[1] > best[0]:
                best = (found[1], Trashed(original, str(file), str(info)))
    if best is None:
        raise FileNotFoundError(errno.ENOENT, "not found in the trash", original)
    return best[1]


def _infos_named_like(info_dir: Path, stem: str) -> list[Path]:
    """The .trashinfo files whose name starts like the file's (trashers add " 2", ".2", ...)."""
    try:
        with os.scandir(info_dir) as entries:
            return [Path(e.path) for e in entries if e.name.startswith(stem) and e.name.endswith(INFO_SUFFIX)]
    except OSError:
        return []


# -- putting back ---------------------------------------------------------------------------------


def restore(item: Trashed) -> None:
    """Move a trashed file back to where it was, then forget its .trashinfo. Refuses
    (FileExistsError) when something is at the original path now: nothing is overwritten.
    The folder it was in is made again if it went."""
    if not supported():
        raise _unsupported()
    if not os.path.lexists(item.file):
        raise FileNotFoundError(errno.ENOENT, "no longer in the trash", item.original)
    if os.path.lexists(item.original):
        raise FileExistsError(errno.EEXIST, "another file is at its place now", item.original)
    os.makedirs(os.path.dirname(item.original), exist_ok=True)
    _move_exclusive(item.file, item.original)
    try:
        os.unlink(item.info)
    except FileNotFoundError:
        pass


def _move_exclusive(source: str, target: str) -> None:
    """Move `source` to `target`, failing if `target` appears meanwhile: a hard link (atomic,
    refuses an existing target), else (another volume, a file system without links) an
    exclusive copy with its times."""
    try:
        os.link(source, target)
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP):
            raise
        _copy_exclusive(source, target)
    os.unlink(source)


def _copy_exclusive(source: str, target: str) -> None:
    with open(source, "rb") as src, open(target, "xb") as dst:  # "xb": never over another file
        try:
            shutil.copyfileobj(src, dst, 1 << 20)
        except BaseException:
            dst.close()
            os.unlink(target)  # ours, half written
            raise
    shutil.copystat(source, target)
