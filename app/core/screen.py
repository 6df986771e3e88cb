"""What the window shows: which photos, in which order, and the counts beside them.

One object, `Screen`, decides it. It holds the library's photo list (as the catalog had it at a
known generation), the current search's ranking, the folder chosen in the sidebar and the
"good matches only" switch, and nothing else keeps a copy of them: the grid model, the status bar
and the dialogs read from it.

It changes only through events:
- `photos_read`: a photo list read from the catalog on a worker (a full read, or new photos merged
  into the list shown). A list read at an older generation than the one shown, or merged into a
  list that is no longer the one shown, is stale: it is ignored, never half-applied, and the
  caller reads again.
- `photos_leaving` / `photos_removed` / `photos_stayed`: photos asked to leave (the trash) are
  hidden at once; they leave the list when the catalog has removed them (at a generation), or come
  back if they could not be removed.
- `search_started` / `search_done` / `search_cleared`: the newest query wins; an older query's
  result is ignored.
- `choose_folder`, `set_good_only`: the user's view choices.

`shown()` then says what is on screen: the ranking (or the library's order), restricted to the
photos in the list and to the chosen folder, cut at the good matches if asked.

Qt-free and numpy-only, so that the work of ordering 100k photos can be done on a worker thread
(`Order`, `PhotoList`) and the GUI thread only swaps results in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .lazy import numpy as np  # the window builds a Screen before numpy has loaded

if TYPE_CHECKING:  # pragma: no cover
    from .store.catalog import FileRecord, OfflineFolder


# -- orders ----------------------------------------------------------------------------------------


class Order:
    """A display order worked out ahead: the ids that have a record in `known` (a bool array by
    id), each repeat left out after its first place, and each id's row."""

    __slots__ = ("ids", "known", "rows")

    def __init__(self, ids: Iterable[int], known: np.ndarray):
        new = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).reshape(-1)
        inside = (new >= 0) & (new < len(known))
        new = new[inside] if not inside.all() else new
        new = new[known[new]]
        if len(new) > 1 and np.bincount(new).max() > 1:
            new = new[np.sort(np.unique(new, return_index=True)[1])]
        self.ids, self.known, self.rows = new, known, rows_of(new)

    def row_of(self, ids: np.ndarray) -> np.ndarray:
        """Where each of `ids` is in this order, -1 where it is not."""
        return lookup(self.rows, ids)


def rows_of(ids: np.ndarray) -> np.ndarray:
    """rows[id] = its place in `ids`, -1 for ids not in it."""
    rows = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int64)
    rows[ids] = np.arange(len(ids))
    return rows


def lookup(rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """rows[ids], -1 for ids past the end of `rows`."""
    if len(ids) and int(ids.max()) < len(rows):
        return rows[ids]
    out = np.full(len(ids), -1, dtype=np.int64)
    inside = ids < len(rows)
    out[inside] = rows[ids[inside]]
    return out


# -- the library's photos --------------------------------------------------------------------------


class PhotoList:
    """The library's photos, newest first, as the catalog had them at `generation`, in the forms
    the window needs. Built on a worker, so the GUI thread only swaps it in (100k records take a
    tenth of a second to index by id). Never changed once built: a change makes a new list."""

    def __init__(
        self,
        records: list[FileRecord],
        folders: dict[int, Path],
        generation: int,
        ids: np.ndarray | None = None,
        offline: dict[int, OfflineFolder] | None = None,
    ):
        """`ids`: the records' ids, when known (`with_new`); `offline`: the folders not connected
        (`Library.offline_folders()`), whose photos are shown greyed."""
        self.records, self.folders, self.generation = records, folders, generation
        self.offline = offline or {}
        self.by_id = {r.id: r for r in records}
        if ids is None:
            ids = np.fromiter((r.id for r in records), dtype=np.int64, count=len(records))
        self.known = np.zeros(int(ids.max()) + 1 if len(ids) else 0, dtype=bool)  # by id
        self.known[ids] = True
        self.max_id = len(self.known) - 1
        self.order = Order(ids, self.known)  # the grid's order, worked out here
        self.ids = self.order.ids

    def dispose(self) -> None:
        """Drop the records (call on a worker: freeing 100k of them holds the interpreter ~25 ms)."""
        self.records.clear()
        self.by_id.clear()

    def with_new(
        self,
        new: list[FileRecord],
        folders: dict[int, Path],
        generation: int,
        offline: dict[int, OfflineFolder] | None = None,
    ) -> PhotoList:
        """This list with a few new photos, each put in its place (binary search, then one merge:
        no re-sort, and the ids are put in too rather than read again from 100k records)."""
        new = sorted(sorted(new, key=lambda r: r.path), key=when, reverse=True)  # this list's order
        places = [_place(self.records, record) for record in new]  # ascending, as `new` is sorted
        records, start = [], 0
        for place, record in zip(places, new):
            records += self.records[start:place]
            records.append(record)
            start = place
        records += self.records[start:]
        ids = np.insert(self.ids, places, [r.id for r in new]) if new else self.ids
        return PhotoList(records, folders, generation, ids, offline)

    def without(self, ids: Iterable[int], generation: int) -> PhotoList:
        """This list less the photos `ids` (they left the catalog at `generation`)."""
        gone = set(ids)
        kept = [r for r in self.records if r.id not in gone]
        order = np.fromiter((r.id for r in kept), dtype=np.int64, count=len(kept))
        return PhotoList(kept, self.folders, generation, order, self.offline)


def when(record: FileRecord) -> str:
    """What the catalog's browse order sorts by: the capture time, else the file time (as
    SQLite writes it). The same as `Library.when`."""
    from .library import Library

    return Library.when(record)


def _place(records: list[FileRecord], record: FileRecord) -> int:
    """Where `record` goes among `records` (newest first, then by path: `Library.photos` order)."""
    key, path = when(record), record.path
    lo, hi = 0, len(records)
    while lo < hi:
        mid = (lo + hi) // 2
        other = records[mid]
        other_key = when(other)
        if other_key > key or (other_key == key and other.path < path):
            lo = mid + 1
        else:
            hi = mid
    return lo


# -- searches ------------------------------------------------------------------------------------


@dataclass
class Ranking:
    """A search's result: ids best first (maybe with their `Order` worked out on the worker
    against `known`), how many of them are good matches, and hints about the query."""

    seq: int
    ids: np.ndarray
    good_count: int | None = None
    hints: list[str] = field(default_factory=list)
    seconds: float = 0.0
    order: Order | None = None


@dataclass
class Shown:
    """What the grid shows: `order` (an `Order` over the list's photos, or ids), where the good
    matches end (None: no divider), and whether these are search results."""

    order: Order | np.ndarray
    good_count: int | None
    searching: bool

    def __len__(self) -> int:
        return len(self.order.ids if isinstance(self.order, Order) else self.order)


# -- the screen ----------------------------------------------------------------------------------


class Screen:
    """The one model of what the window shows (see the module's docstring)."""

    def __init__(self) -> None:
        self.photos: PhotoList | None = None  # None: not read yet
        self.generation = -1  # the catalog's generation the photos are as of
        self.ranking: Ranking | None = None  # None: no search results on screen
        self.query_seq = 0  # the newest query asked for; only its results are shown
        self.folder: int | None = None  # the sidebar's choice (None: all photos)
        self.good_only = False
        self._leaving: set[int] = set()  # asked to go to the trash, not gone yet: hidden

    # -- events from the engine --------------------------------------------------------------

    def photos_read(self, photos: PhotoList, base: PhotoList | None = None) -> bool:
        """A photo list read from the catalog; `base`: the list it was made from by merging new
        photos into it (None: read in full). False (and nothing changes) when it is stale."""
        if photos.generation < self.generation or (base is not None and base is not self.photos):
            return False
        self.photos, self.generation = photos, photos.generation
        if self.folder is not None and self.folder not in photos.folders:
            self.folder = None  # the folder left the library
        return True

    def photos_removed(self, ids: Iterable[int], generation: int) -> PhotoList | None:
        """Photos left the catalog at `generation`; returns the list they were removed from (to
        be disposed of), None when no list is shown."""
        self._leaving.difference_update(ids)
        previous = self.photos
        if previous is None:
            return None
        self.photos = previous.without(ids, max(generation, previous.generation))
        self.generation = self.photos.generation
        return previous

    def photos_leaving(self, ids: Iterable[int]) -> None:
        """Photos on their way to the trash: off the screen now, gone for good once removed."""
        self._leaving.update(ids)

    def photos_stayed(self, ids: Iterable[int]) -> None:
        """Photos that could not be moved to the trash: on the screen again."""
        self._leaving.difference_update(ids)

    # -- search --------------------------------------------------------------------------------

    def search_started(self) -> int:
        """A new query: its sequence number. Results of earlier queries are now ignored."""
        self.query_seq += 1
        return self.query_seq

    def search_done(self, ranking: Ranking) -> bool:
        """The results of a query; False (ignored) when a newer query was asked for since."""
        if ranking.seq != self.query_seq:
            return False
        self.ranking = ranking
        return True

    def search_cleared(self) -> None:
        self.query_seq += 1  # results still on their way are dropped
        self.ranking = None

    @property
    def searching(self) -> bool:
        return self.ranking is not None

    # -- view choices --------------------------------------------------------------------------

    def choose_folder(self, folder_id: int | None) -> None:
        self.folder = folder_id if self.photos is None or folder_id in self.photos.folders else None

    def set_good_only(self, on: bool) -> None:
        self.good_only = on

    # -- what is shown -------------------------------------------------------------------------

    @property
    def records(self) -> dict[int, FileRecord]:
        return self.photos.by_id if self.photos is not None else {}

    @property
    def folders(self) -> dict[int, Path]:
        return self.photos.folders if self.photos is not None else {}

    @property
    def offline(self) -> dict[int, OfflineFolder]:
        return self.photos.offline if self.photos is not None else {}

    @property
    def known(self) -> np.ndarray | None:
        return self.photos.known if self.photos is not None else None

    def record(self, file_id: int) -> FileRecord | None:
        return self.records.get(file_id)

    def has_library(self) -> bool:
        return bool(self.folders) or bool(self.records)

    def shown(self) -> Shown | None:
        """The photos on screen in their order (None: nothing read yet)."""
        photos = self.photos
        if photos is None:
            return None
        ranking = self.ranking
        order: Order | np.ndarray  # ids alone once filtered below
        if ranking is None:
            order, good = photos.order, None
        elif ranking.order is not None and ranking.order.known is photos.known:
            order, good = ranking.order, ranking.good_count
        else:  # worked out against another list (photos came or went since): again, here
            order = Order(ranking.ids, photos.known)
            good = (
                None if ranking.good_count is None else len(Order(ranking.ids[: ranking.good_count], photos.known).ids)
            )
        if self._leaving:
            order, good = _keep(order.ids, ~np.isin(order.ids, np.fromiter(self._leaving, np.int64)), good)
        if self.folder is not None:
            order, good = self._in_folder(order.ids if isinstance(order, Order) else order, good)
        if good and self.good_only:  # (no good match at all: all of them, never an empty grid)
            ids = order.ids if isinstance(order, Order) else order
            order, good = ids[:good], None
        return Shown(order, good, ranking is not None)

    def _in_folder(self, ids: np.ndarray, good: int | None) -> tuple[np.ndarray, int | None]:
        fid, records = self.folder, self.records
        keep = np.fromiter(
            ((r := records.get(i)) is not None and r.folder_id == fid for i in ids.tolist()), dtype=bool, count=len(ids)
        )
        return _keep(ids, keep, good)


def _keep(ids: np.ndarray, keep: np.ndarray, good: int | None) -> tuple[np.ndarray, int | None]:
    """`ids[keep]`, and how many of the first `good` are kept (the good ones come first)."""
    return ids[keep], None if good is None else int(keep[:good].sum())
