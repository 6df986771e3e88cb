"""The main window: search bar, folder sidebar, thumbnail grid, status bar with indexing progress.

Every engine call runs on a worker thread (see workers.py); this module only routes signals and
keeps the grid model's list of ids in the right order.

Threads: `jobs` runs reads (photo lists, searches, model loading); `writer` runs, one at a time,
everything that changes the library (indexing, adding/removing folders, moving to the trash).
A change requested while indexing runs cancels the indexing, which resumes right after it.

The window is a composition of parts, each with one job; they talk through signals and the
calls and callables they are given, never through each other's fields:

- `screen_model` (app/core/screen.py): what is on screen, the one model of it (photos, order,
  search, filters); the widgets read it. (Not `screen`: QWidget.screen() is the display it is on.)
- `search_bar` (searchbar.py): the query typed or dropped; says what to search.
- `side` (sidebar.py): the folders and saved searches; says what the user chose.
- `grid`, `grid_model`, `loader` (grid.py): paint the photos the screen model holds.
- `indexer`, `index_status`, `skipped_label` (indexing.py): index runs on the writer thread, their
  progress and the files they skipped in the status bar; `finished` says when a run ends, the
  window decides what follows.
- `previewer` (preview.py): the viewer (zoom, info, actions), kept in step with the grid's current photo.
- `photo_actions` (actions.py): the context menu and what it does to the selected photos.
- `saved`, `concepts` (albums.py): the saved searches and concepts, read and changed in the library.
- banner, empty state, relink bar (widgets.py, offline.py); jobs run on workers (jobs.py).

The window itself holds the task plumbing (`_run`, `_write`), the library (open, model, swap),
the photo list reads, searching, folders, and the menus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Types used on worker threads are imported here, on the GUI thread (see app/ui/workers.py)
from PySide6.QtCore import QEvent, QSize, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.config import Settings
from ..core.process_tuning import heavy_imports, settle_long_lived
from ..core.screen import PhotoList, Ranking, Screen
from . import desktop, jobs, prefs
from .actions import PhotoActions
from .albums import Concepts, SavedSearches
from .grid import PhotoGrid, PhotoModel, ThumbnailLoader
from .indexing import ElidedLabel, IndexingController, IndexStatus, SkippedFiles
from .lazy import numpy as np
from .offline import RelinkBar
from .preview import PhotoPreview
from .searchbar import ImageQuery, SearchBar, image_extensions, image_query_from_mime, line_icon
from .sidebar import Sidebar
from .undo import UndoOffer
from .widgets import Banner, EmptyState, app_icon, plural
from .workers import Task, Throttle, run_task

# The engine (numpy, SQLite, Pillow, torch) is imported where it is used, on workers or after the
# window has painted: importing it first would double the time to the first paint.
if TYPE_CHECKING:  # pragma: no cover
    from ..core.ingest.indexer import IndexReport
    from ..core.library import Library
    from ..core.store.catalog import FileRecord

try:
    from shiboken6 import isValid as shiboken_valid
except ImportError:  # pragma: no cover

    def shiboken_valid(obj) -> bool:  # type: ignore[misc]  # shiboken's is `isValid(arg__1)`
        return obj is not None


log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    library_swapped = Signal()
    indexing_finished = Signal(object)  # IndexReport or exception
    search_finished = Signal(int)  # sequence number shown
    concepts_ready = Signal()  # concept scores computed; '#' autocomplete knows the library
    saved_searches_changed = Signal()
    model_state_changed = Signal(str)  # "loading", "ready", "failed"
    photos_shown = Signal()  # a photo list read from the catalog is on screen

    def __init__(
        self, settings: Settings, folders: list[str] | None = None, library: Library | None = None, start: bool = True
    ):
        super().__init__()
        self.settings = settings
        self.library: Library | None = library  # else opened on a worker once the window has painted
        self.setWindowTitle("PhotoSeek")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.jobs = QThreadPool(self)
        self.jobs.setMaxThreadCount(3)
        self.writer = QThreadPool(self)
        self.writer.setMaxThreadCount(1)
        for pool in (self.jobs, self.writer):  # threads live with the window: each keeps its
            pool.setExpiryTimeout(-1)  # catalog connection (Catalog.db)
        self._tasks: set[Task] = set()
        self._closing = False
        self._fast_start_task: Task | None = None  # the model being exported for the fast start

        # what is on screen: the photos, their order, the search and the filters (app/core/screen.py)
        self.screen_model = Screen()
        # the folders the sidebar lists, and which are offline (it is rebuilt when they change)
        self._shown_folders: dict[int, Path] = {}
        self._shown_offline: dict = {}
        self._after_browse: list[Callable[[], None]] = []
        self._browse_running = False
        self._browse_again: str | None = None  # "new" or "full": read again after the running read
        self.model_state = "loading"
        self._pending_library: Library | None = None
        self._after_open: list[Callable[[], None]] = []  # asked for before the library was open
        self._index_waits: set[str] = set()  # what the start's first index run still waits for

        self._build_ui()
        self._build_parts(folders)
        if folders:  # never the onboarding page when folders were given: their photos come
            self.empty.show_adding()
            self.stack.setCurrentWidget(self.empty)
        self._build_menus()
        self._connect()
        self._keyboard_order()
        self._fill_sidebar()
        self._restore_geometry()
        self.set_cell_size(prefs.cell_size())
        self._start_pending = start
        if start:  # at the first paint (see paintEvent); a window never painted (minimised) starts anyway
            QTimer.singleShot(300, self._start_once)

    # -- construction --------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self._build_search_toolbar()  # top
        self.side = Sidebar(self)  # left: folders and saved searches
        # (the widgets tests and menus look at)
        self.sidebar, self.saved_list, self.remove_folder_button = (
            self.side.folder_list,
            self.side.saved_list,
            self.side.remove_button,
        )
        self._build_splitter(self._build_centre())
        self._build_status_bar()  # bottom

    def _build_search_toolbar(self) -> None:
        """The search bar in a toolbar, centred."""
        self.search_bar = SearchBar(self)
        self.search_bar.setMaximumWidth(720)
        self.search_bar.setMinimumWidth(360)
        self.search_bar.set_loading(True)
        toolbar = QToolBar("Search", self)
        toolbar.setObjectName("searchToolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.toggleViewAction().setVisible(False)
        holder = QWidget(toolbar)
        row = QHBoxLayout(holder)
        row.setContentsMargins(8, 6, 8, 6)
        row.addStretch(1)
        row.addWidget(self.search_bar, 4)
        row.addStretch(1)
        toolbar.addWidget(holder)
        holder.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _build_centre(self) -> QWidget:
        """The banner above (the empty state | the grid)."""
        self.grid_model = PhotoModel(self)
        self.loader = ThumbnailLoader(self.library, parent=self)
        self.grid = PhotoGrid(self.grid_model, self.loader, self)
        self.empty = EmptyState(self.add_folder_dialog, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.grid)
        self.stack.setCurrentWidget(self.grid)  # blank until the catalog says whether there are photos
        self.banner = Banner(self)
        self.banner.hide()
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(0)
        centre_layout.addWidget(self.banner)
        centre_layout.addWidget(self.stack, 1)
        return centre

    def _build_splitter(self, centre: QWidget) -> None:
        self.splitter = QSplitter(self)
        self.splitter.addWidget(self.side)
        self.splitter.addWidget(centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([220, 980])
        self.setCentralWidget(self.splitter)
        self.setStyleSheet(
            "#sidePanel, #sidebar { background: palette(window); }"
            "#sidebar::item { padding: 5px 6px; border-radius: 6px; }"
            "#sidebar::item:selected { background: palette(highlight); color: palette(highlighted-text); }"
            "#sidebarHeader { color: palette(placeholder-text); font-size: 11px; font-weight: 600;"
            " letter-spacing: 1px; padding-left: 4px; }"
            "QToolBar#searchToolbar { border: none; }"
        )

    def _build_status_bar(self) -> None:
        """The count (or search timing), Good Matches, indexing progress, skipped files, zoom."""
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        self.status_label = ElidedLabel(self)
        self.status_label.setContentsMargins(6, 0, 0, 0)
        # cut last: the notes about how a query was read; the indexing progress gives way (_fit_status)
        status.addWidget(self.status_label, 1)
        self.good_only_button = QToolButton(self)
        self.good_only_button.setAutoRaise(True)
        self.good_only_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.good_only_button.hide()  # shown while search results are on screen
        status.addPermanentWidget(self.good_only_button)
        self.index_status = IndexStatus(self)
        status.addPermanentWidget(self.index_status)
        self.skipped_label = SkippedFiles(partial(self._run, self.jobs), lambda: self.library, self)
        status.addPermanentWidget(self.skipped_label)
        status.addPermanentWidget(self._build_zoom_slider())
        status.installEventFilter(self)  # (_fit_status when its parts change)

    def _build_zoom_slider(self) -> QWidget:
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.size_slider.setRange(prefs.MIN_CELL, prefs.MAX_CELL)
        self.size_slider.setFixedWidth(110)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+wheel)")
        self.size_slider.setAccessibleName("Thumbnail Size")
        small, large = QLabel(self), QLabel(self)
        small.setPixmap(line_icon("small", 14).pixmap(14, 14))
        large.setPixmap(line_icon("large", 14).pixmap(14, 14))
        zoom = QWidget(self)
        zl = QHBoxLayout(zoom)
        zl.setContentsMargins(12, 0, 6, 0)
        zl.setSpacing(4)
        zl.addWidget(small)
        zl.addWidget(self.size_slider)
        zl.addWidget(large)
        zoom.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        return zoom

    def _build_parts(self, folders: list[str] | None) -> None:
        """The parts that do the work behind the widgets: indexing, the preview, the photo actions,
        saved searches and concepts."""
        self.indexer = IndexingController(
            self.index_status, partial(self._run, self.writer), self.notify, folders, self
        )
        self.previewer = PhotoPreview(self.grid, self.grid_model, self)
        self.photo_actions = PhotoActions(
            self.grid,
            self.grid_model,
            self.loader,
            run=partial(self._run, self.jobs),
            notify=self.notify,
            library=lambda: self.library,
            settings=lambda: self.settings,
            model_ready=lambda: self.model_state == "ready",
            preview=self.previewer.open,
            trash=self.trash_selected,
            parent=self,
        )
        common: dict[str, Any] = dict(
            library=lambda: self.library,
            run=partial(self._run, self.jobs),
            notify=self.notify,
            when_open=self._when_open,
            parent=self,
        )
        self.saved = SavedSearches(**common)
        self.concepts = Concepts(closing=lambda: self._closing, **common)

    def _connect(self) -> None:
        """What each part asks for, to the window's handler (or the part) that carries it out."""
        self.search_bar.search_requested.connect(self.run_search)
        self.search_bar.cleared.connect(self.clear_search)
        self.search_bar.mime_dropped.connect(self.handle_mime)
        self.search_bar.save_requested.connect(self.save_search_dialog)
        self.search_bar.concept_requested.connect(self.new_concept_dialog)
        self.search_bar.search_requested.connect(self.side.search_typed)
        self.search_bar.results_requested.connect(self.focus_results)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_count())
        self.side.folder_chosen.connect(self._folder_chosen)
        self.side.add_folder_requested.connect(self.add_folder_dialog)
        self.side.remove_folder_requested.connect(self.remove_folder)
        self.side.saved_search_chosen.connect(self._show_saved_search)
        self.side.saved_search_renamed.connect(self.saved.rename)
        self.side.saved_search_removed.connect(self.saved.remove)
        self.side.saved_search_replace_requested.connect(lambda name: self.save_search(name, self.search_bar.text()))
        self.grid.zoom_requested.connect(self.zoom)
        self.grid.preview_requested.connect(self.previewer.open)
        self.grid.external_drop.connect(self.handle_mime)
        self.grid.escape_pressed.connect(self._escape)
        self.banner.choose_button.clicked.connect(self.choose_model)
        self.banner.retry_button.clicked.connect(self._retry)
        self.size_slider.valueChanged.connect(self.set_cell_size)
        self.indexer.photos_changed.connect(lambda: self.refresh_photos(new_only=True))  # while indexing
        self.indexer.finished.connect(self._index_finished)
        self.indexer.relink_offered.connect(self._offer_relink)
        self.indexer.found.connect(lambda n: self.empty.show_adding(n) if self.empty.adding else None)
        self.indexer.concepts_scored.connect(self.refresh_concepts)  # '#' works while text is read
        self.photo_actions.similar_requested.connect(self._find_similar)
        # the viewer's buttons are the photo actions; Ctrl+Z undoes a trash in it too
        self.previewer.attach(self.photo_actions, lambda: self.library, [self.undo.action])
        self.photo_actions.concept_clicked.connect(self.search_concept)
        self.saved.changed.connect(self._saved_searches_read)
        self.concepts.ready.connect(self._concepts_read)
        self.concepts.prompts_progress.connect(lambda p: self.index_status.show_side_work(p, self.indexer.running))
        self.concepts.prompts_done.connect(lambda: self.index_status.download_done(self.indexer.running))

    def _keyboard_order(self) -> None:
        """Tab from the search field goes to the photos (then the bar's buttons, the sidebar)."""
        QWidget.setTabOrder(self.search_bar.edit, self.grid)

    def focus_results(self) -> None:
        """Down arrow in the search field: into the grid, on its first photo (Enter opens it)."""
        if not self.grid_model.rowCount() or self.stack.currentWidget() is not self.grid:
            return
        current = self.grid_model.index(0)
        self.grid.setCurrentIndex(current)  # (selects it: the view's current photo is chosen)
        self.grid.scrollTo(current)
        self.grid.setFocus(Qt.FocusReason.TabFocusReason)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self._build_file_menu(bar.addMenu("&File"))
        self._build_edit_menu(bar.addMenu("&Edit"))
        self._build_view_menu(bar.addMenu("&View"))
        help_menu = bar.addMenu("&Help")
        about = help_menu.addAction("&About PhotoSeek", self.show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)

    def _build_file_menu(self, file_menu: QMenu) -> None:
        self.add_folder_action = file_menu.addAction("&Add Folder…", self.add_folder_dialog)
        self.add_folder_action.setShortcut(QKeySequence.StandardKey.Open)
        file_menu.addSeparator()
        self.settings_action = file_menu.addAction("&Settings…", self.open_settings)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        file_menu.addAction("Choose &Model…", self.choose_model)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)

    def _build_edit_menu(self, edit: QMenu) -> None:
        # Undo Move to Trash / Remove Folder (app/ui/undo.py)
        self.undo = UndoOffer(
            self,
            write=self._write,
            changed=self._after_change,
            failed=self._task_failed,
            notify=self.notify,
            put_back=self._put_back,
        )
        edit.addAction(self.undo.action)
        edit.addSeparator()
        find = edit.addAction("&Find", self.search_bar.focus_search)
        find.setShortcut(QKeySequence.StandardKey.Find)
        paste = edit.addAction("&Search by Pasted Picture", self.paste_query)
        paste.setShortcut(QKeySequence.StandardKey.Paste)
        self.save_search_action = edit.addAction("Sa&ve Search…", self.save_search_dialog)
        self.save_search_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.new_concept_action = edit.addAction("New &Concept…", self.new_concept_dialog)
        edit.addSeparator()
        select_all = edit.addAction("Select &All", self.grid.selectAll)
        select_all.setShortcut(QKeySequence.StandardKey.SelectAll)
        select_all.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.grid.addAction(select_all)
        trash = QAction("Move to Trash", self.grid)
        trash.setShortcut(QKeySequence.StandardKey.Delete)
        trash.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        trash.triggered.connect(self.trash_selected)
        self.grid.addAction(trash)

    def _build_view_menu(self, view: QMenu) -> None:
        larger = view.addAction("&Larger Thumbnails", lambda: self.zoom(1))
        larger.setShortcuts([QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")])
        smaller = view.addAction("&Smaller Thumbnails", lambda: self.zoom(-1))
        smaller.setShortcut(QKeySequence.StandardKey.ZoomOut)
        reset = view.addAction("&Default Size", lambda: self.set_cell_size(prefs.DEFAULT_CELL))
        reset.setShortcut(QKeySequence("Ctrl+0"))
        view.addSeparator()
        sidebar = view.addAction("Show &Folders")
        sidebar.setCheckable(True)
        sidebar.setChecked(True)
        sidebar.toggled.connect(self.side.setVisible)
        view.addSeparator()
        self.duplicates_action = view.addAction("Find &Duplicates…", self.show_duplicates)
        self.duplicates_action.setShortcut(QKeySequence("Ctrl+Shift+D"))
        self.duplicates_action.setToolTip("Identical and near-identical photos, with a keeper suggested in each group")
        self.skipped_action = view.addAction("S&kipped Files (none)", self.skipped_label.show_dialog)
        self.skipped_action.setEnabled(False)
        self.skipped_action.setToolTip("The files indexing could not read, and why")
        self.skipped_label.counted.connect(self._skipped_counted)
        view.addSeparator()
        self.good_only_action = view.addAction("Show Only &Good Matches")
        self.good_only_action.setCheckable(True)
        self.good_only_action.setShortcut(QKeySequence("Ctrl+G"))
        self.good_only_action.setToolTip("Hide the search results below the line where the matches get weaker")
        self.good_only_action.toggled.connect(self.set_good_only)
        self.good_only_button.setDefaultAction(self.good_only_action)

    def _restore_geometry(self) -> None:
        store = prefs.qsettings()
        geometry = store.value(prefs.GEOMETRY_KEY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 800)
        splitter = store.value(prefs.SPLITTER_KEY)
        if splitter is not None:
            self.splitter.restoreState(splitter)

    # -- task plumbing -------------------------------------------------------------------------

    def _run(
        self, pool: QThreadPool, fn: Callable, *args, on_result=None, on_error=None, on_progress=None, **kwargs
    ) -> Task | None:
        if self._closing:
            return None
        holder: list[Task] = []

        def finish(callback):
            def call(value):
                if holder:
                    self._tasks.discard(holder[0])
                if callback is not None and not self._closing:
                    callback(value)

            return call

        task = run_task(
            pool,
            fn,
            *args,
            on_result=finish(on_result),
            on_error=finish(on_error or self._task_failed),
            on_progress=on_progress,
            **kwargs,
        )
        holder.append(task)
        self._tasks.add(task)
        return task

    def _task_failed(self, error: BaseException) -> None:
        log.error("background task failed: %s\n%s", error, getattr(error, "__traceback_text__", ""))
        self.notify(f"Something went wrong: {error}")

    def run_job(self, fn: Callable, *args, **kwargs) -> Task | None:
        """Run `fn(*args)` on the background pool; its result comes back on the GUI thread (the
        keywords of `_run`). For parts and dialogs that read the library (Duplicates)."""
        return self._run(self.jobs, fn, *args, **kwargs)

    def _write(self, fn: Callable, *args, on_result=None, on_error=None) -> Task | None:
        """Run a library change on the writer thread; interrupts indexing, which resumes after."""
        self.indexer.interrupt()
        return self._run(self.writer, fn, *args, on_result=on_result, on_error=on_error)

    def notify(self, text: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(text, ms)

    # -- startup and model ---------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._start_pending:  # painted once: now the heavy part
            QTimer.singleShot(0, self._start_once)

    def _start_once(self) -> None:
        if self._start_pending:
            self._start_pending = False
            self.start()

    def _when_open(self, action: Callable[[], None]) -> bool:
        """True if the library is open; else `action` runs once it is (the first moments after start)."""
        if self.library is not None:
            return True
        self._after_open.append(action)
        return False

    def start(self) -> None:
        """Open the library, show what the catalog has, load the model, then re-check every folder."""
        if self.library is None:
            # on a worker: the engine's imports, and a catalog upgrade that may take a while
            self.status_label.setText("Opening the library…")
            self._run(
                self.jobs,
                jobs.open_library,
                self.settings,
                on_result=self._library_opened,
                on_error=self._library_failed,
            )
            return
        # indexing waits for both the photo list and the model. The model loads beside the list
        # when it runs under ONNX Runtime (the fast start: at 100k photos the list is most of its
        # second); torch's imports are seconds of Python that would hold the grid back: after it
        self._index_waits = {"photos", "model"}
        if self.library.model_runs_onnx():
            self.load_model(then_index=True)
            self.refresh_photos(then=self._photos_then_index)
        else:
            self.refresh_photos(then=self._photos_then_torch)
        self.refresh_skipped()
        self.refresh_saved_searches()

    def _photos_then_index(self) -> None:
        """The photo list is on screen: index once the model has loaded. Folders given (or a
        library with folders and no photos yet, a first start cut short) while the model is still
        loading: their photos are catalogued and thumbnailed first, without it: photos in
        seconds, not after the model (20-75 s)."""
        if self.indexer.queued_new_folders(self.screen_model.folders) or (
            self.screen_model.folders and not self.screen_model.records
        ):
            self._photos_first()
        self._ready_to_index("photos")

    def _photos_then_torch(self) -> None:
        self._photos_then_index()
        self.load_model(then_index=True)

    def _ready_to_index(self, part: str) -> None:
        """`part` ("photos", "model") of the start is done: index when the other is too."""
        self._index_waits.discard(part)
        if not self._index_waits:
            self.start_indexing()

    def _photos_first(self) -> None:
        """Without the model yet: a pass that only catalogues and thumbnails the photos (seconds),
        so they are on screen while the model loads; the run that embeds them follows it."""
        if not self.library.model_loaded and not self.indexer.running:
            self.indexer.start_run(self.library, load_model=False, embed=False)

    def _library_opened(self, library: Library) -> None:
        self.library = library
        self.loader.set_library(library)
        self.start()
        waiting, self._after_open = self._after_open, []
        for action in waiting:
            action()

    def _library_failed(self, error: BaseException) -> None:
        self.status_label.setText("")
        self.search_bar.set_loading(False)
        self.search_bar.edit.setPlaceholderText("Search is unavailable: the library could not be opened")
        self.banner.show_error(
            "The library could not be opened", f"{self.settings.catalog_path}: {error}", can_choose_model=False
        )
        log.error("cannot open the library: %s\n%s", error, getattr(error, "__traceback_text__", ""))

    def _retry(self) -> None:
        if self.library is None:
            self.banner.hide()
            self.start()
        else:
            self.load_model()

    def load_model(self, then_index: bool = False) -> None:
        self.banner.hide()
        self.model_state = "loading"
        self.search_bar.set_loading(True)
        self.model_state_changed.emit("loading")
        library = self.library

        def job(progress):
            throttled = Throttle(progress, 10, final=lambda v: v[1] and v[0] >= v[1])
            with heavy_imports():
                library.import_model_code()  # (torch, or ONNX Runtime for the fast start)
            library.load_model(progress=lambda done, total: throttled((done, total)))
            settle_long_lived()
            return library

        def done(lib):
            if lib is not self.library:
                return
            self.model_state = "ready"
            self.search_bar.set_loading(False)
            self.index_status.download_done(self.indexer.running)
            self.model_state_changed.emit("ready")
            if not self.search_bar.is_empty():
                self.search_bar.search_now()
            if then_index:
                self._ready_to_index("model")

        def failed(error):
            self.index_status.download_done(self.indexer.running)
            self._model_failed(error)
            if then_index:
                self._ready_to_index("model")

        self._run(
            self.jobs,
            job,
            report_kw="progress",
            on_result=done,
            on_error=failed,
            on_progress=self.index_status.show_download,
        )

    def _model_failed(self, error: BaseException) -> None:
        from .model_dialog import banner_text

        self.model_state = "failed"
        self.search_bar.set_loading(False)
        self.search_bar.set_no_model()
        if not jobs.is_model_unavailable(error):
            log.error("cannot load the model: %s\n%s", error, getattr(error, "__traceback_text__", ""))
        self.banner.show_error(*banner_text(error))
        self.model_state_changed.emit("failed")

    def choose_model(self) -> None:
        """The dialog that picks a model and its weights together; used once they are checked."""
        from .model_dialog import ModelDialog

        s = self.settings
        self.model_dialog = ModelDialog(s.model, s.pretrained, s.models_dir, s.device, self)
        self.model_dialog.chosen.connect(
            lambda model, weights: self.switch_library(self.settings.with_(model=model, pretrained=weights))
        )
        self.model_dialog.open()

    # -- browsing ------------------------------------------------------------------------------

    def refresh_photos(self, then: Callable[[], None] | None = None, new_only: bool = False) -> None:
        """Re-read the photo list and folders from the catalog (worker thread); `then` runs after
        the grid has them (or the read failed). `new_only`: just add the photos indexed since."""
        if then is not None:
            self._after_browse.append(then)
        if self.library is None:  # start() reads them once the library is open
            return
        if self._browse_running:  # once more when it is done (a full read wins over new photos only)
            self._browse_again = "new" if new_only and self._browse_again in (None, "new") else "full"
            return
        self._browse_running = True
        library = self.library

        def finished():
            self._browse_running = False
            if self._browse_again:
                again, self._browse_again = self._browse_again, None
                self.refresh_photos(new_only=again == "new")
                return
            waiting, self._after_browse = self._after_browse, []
            for callback in waiting:
                callback()

        def done(result):
            photos, base = result
            if library is self.library and photos is not None and not self._photos_read(photos, base):
                self._browse_again = self._browse_again or "full"  # stale: read again
            finished()

        def failed(error):
            self._task_failed(error)
            finished()

        self._run(
            self.jobs, jobs.browse_job, library, self.screen_model.photos, new_only, on_result=done, on_error=failed
        )

    def _photos_read(self, photos: PhotoList, base: PhotoList | None) -> bool:
        """A photo list from the catalog: on screen unless stale (then False)."""
        previous = self.screen_model.photos
        if not self.screen_model.photos_read(photos, base):
            self._run(self.jobs, photos.dispose)
            return False
        if photos.offline is not self.grid_model.offline:
            self.grid_model.set_offline(photos.offline)
        if photos.folders != self._shown_folders or photos.offline != self._shown_offline:
            self._fill_sidebar()
        self._apply_view()
        same_photos = previous is not None and np.array_equal(previous.known, photos.known)
        if self.screen_model.searching and not self.search_bar.is_empty() and not same_photos:
            self.run_search(self.search_bar.text(), live=True)  # results follow the library
        if previous is not None:  # nothing here refers to it any more: free it off this thread
            self._run(self.jobs, previous.dispose)
        self.photos_shown.emit()
        return True

    def _photos_removed(self, ids: list[int], generation: int) -> None:
        """Photos left the catalog (the trash, a folder removed): off the screen at once."""
        previous = self.screen_model.photos_removed(ids, generation)
        self._apply_view()
        if self.screen_model.searching and not self.search_bar.is_empty():
            self.run_search(self.search_bar.text(), live=True)  # results follow the library
        if previous is not None:
            self._run(self.jobs, previous.dispose)

    def _fill_sidebar(self) -> None:
        self._shown_folders, self._shown_offline = self.screen_model.folders, self.screen_model.offline
        self.side.set_folders(self.screen_model.folders, self.screen_model.folder, self.screen_model.offline)
        self.screen_model.choose_folder(self.side.chosen_folder())

    def _folder_chosen(self, folder_id: int | None) -> None:
        self.screen_model.choose_folder(folder_id)
        self._apply_view()
        self.grid.scrollToTop()

    def select_folder(self, folder_id: int | None) -> None:
        self.side.select_folder(folder_id)

    def _apply_view(self) -> None:
        """Show what the screen model says: its photos in its order, its good-matches divider."""
        shown = self.screen_model.shown()
        if shown is None:  # nothing read yet
            return
        records = self.screen_model.records
        changed = records is not self.grid_model.records()
        self.grid_model.set_order(
            shown.order, records if changed else None, self.screen_model.known if changed else None
        )
        self.grid_model.set_good_count(shown.good_count)
        self.grid.set_empty_text(self._empty_text())
        self.grid.viewport().update()
        self.stack.setCurrentWidget(self.empty if self._show_empty() else self.grid)
        self._update_count()

    def _empty_text(self) -> str:
        """What the grid says with no photo to show: a folder (or library) with none yet."""
        if self.screen_model.searching or not self.screen_model.folders:
            return ""
        folders = self.screen_model.folders
        chosen = folders.get(self.screen_model.folder) if self.screen_model.folder is not None else None
        if chosen is None and len(folders) == 1:
            chosen = next(iter(folders.values()))
        where = chosen.name if chosen is not None else "your folders"
        return f"No photos in {where} yet: JPEG, HEIC, PNG… files will appear here"

    def _show_empty(self) -> bool:
        """The empty state: "Adding Pictures…" while given folders are listed and none of their
        photos is in yet; the onboarding page when there is no library at all."""
        if self.screen_model.records:
            return False
        if self.indexer.adding or self.indexer.has_queued_folders:
            if not self.empty.adding:
                self.empty.show_adding()
            return True
        if self.screen_model.has_library():
            return False
        if self.empty.adding:  # the folders given could not be added
            self.empty.show_welcome()
        return True

    def _update_count(self) -> None:
        n = self.grid_model.rowCount()
        ranking = self.screen_model.ranking
        if ranking is not None:
            text = plural(n, "result") + f" · {ranking.seconds * 1000:.0f} ms"
            good = self.grid_model.good_count
            if good == 0 and self.screen_model.good_only:  # good matches only, and there are none
                what = self.search_bar.text() or "this picture"
                text = f"No clear matches for “{what}” — showing all · " + text
            elif good is not None:
                text += " · " + (f"{good:,} good match{'es' if good != 1 else ''}" if good else "no clear matches")
            if ranking.hints:
                text += " · " + "; ".join(ranking.hints)
        else:
            text = plural(n, "photo") if self.stack.currentWidget() is self.grid else ""
        selected = self.grid.selected_count() if text else 0
        if selected > 1:  # what the user is doing first: a narrow status bar cuts the end
            text = f"{selected:,} selected · {text}"
        self.status_label.setText(text)
        if ranking is not None and ranking.hints:
            self.status_label.setToolTip(text + "\n" + "\n".join(ranking.hints))
        # (with no good match it would show nothing, unless it is on and has to be turned off)
        good_total = ranking.good_count if ranking is not None else None
        self.good_only_button.setVisible(good_total is not None and (good_total > 0 or self.screen_model.good_only))
        self._fit_status()

    def _fit_status(self) -> None:
        """The status text keeps its whole width while the window has room (the progress gives
        way), and what the other widgets leave when it has not: then its end is cut, with an
        ellipsis (what matters most comes first; the whole text is its tooltip)."""
        bar = self.statusBar()
        others = [
            w for w in bar.children() if isinstance(w, QWidget) and not w.isHidden() and w is not self.status_label
        ]
        room = self.width() - sum(w.minimumSizeHint().width() + 10 for w in others) - 10
        self.status_label.setMinimumWidth(max(80, min(self.status_label.sizeHint().width(), room)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_status()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and watched is self.statusBar():
            self._fit_status()  # a part of it came or went (the indexing progress, the undo offer)
        return super().eventFilter(watched, event)

    # -- search ------------------------------------------------------------------------------

    def run_search(self, text: str, live: bool = False) -> None:
        """Search for the bar's words and picture; the newest query always wins. `live`: the same
        query again because the library changed (the view keeps its place)."""
        image = self.search_bar.image_query
        if not text and image is None:
            self.clear_search()
            return
        if not self._when_open(lambda: self.run_search(self.search_bar.text())):
            return
        seq, library = self.screen_model.search_started(), self.library
        if not live:
            self.status_label.setText("Searching…")

        def done(ranking: Ranking):
            if not self.screen_model.search_done(ranking):  # a newer query was issued: never let an old one win
                return
            self._apply_view()
            if not live:
                self.grid.scrollToTop()
                if self.grid_model.rowCount():
                    self.grid.setCurrentIndex(self.grid_model.index(0))
                    self.grid.clearSelection()
            self.search_finished.emit(ranking.seq)

        def failed(error):
            if seq != self.screen_model.query_seq:
                return
            if jobs.is_model_unavailable(error):
                self.status_label.setText("Search needs a model")
                self._model_failed(error)
            elif isinstance(error, KeyError):
                self.status_label.setText(str(error.args[0]) if error.args else "Not found")
            else:
                self._task_failed(error)
            self.search_finished.emit(seq)

        self._run(
            self.jobs,
            jobs.search_job,
            library,
            seq,
            lambda: self.screen_model.query_seq,
            text,
            image,
            self.screen_model.known,
            on_result=done,
            on_error=failed,
        )

    def clear_search(self) -> None:
        searching = self.screen_model.searching
        self.screen_model.search_cleared()
        self.side.clear_saved_selection()
        if not searching:
            self._update_count()
            return
        self._apply_view()
        self.grid.scrollToTop()

    def _escape(self) -> None:
        if not self.search_bar.is_empty() or self.screen_model.searching:
            self.search_bar.clear()
        else:
            self.grid.clearSelection()

    def set_image_query(self, query: ImageQuery) -> None:
        self.search_bar.set_image(query, search=False)
        if query.thumb is None and isinstance(query.source, str):
            source = query.source
            self._run(
                self.jobs,
                jobs.read_image,
                source,
                QSize(176, 176),  # the chip shows its centre square
                on_result=lambda image: (
                    self.search_bar.set_chip_thumb(image) if self.search_bar.image_query is query else None
                ),
                on_error=lambda e: None,
            )
        self.search_bar.search_now()

    def handle_mime(self, mime) -> None:
        """A drop or a paste: folders join the library, a picture becomes the query."""
        query, folders = image_query_from_mime(mime, image_extensions())
        if folders:
            self.add_folders(folders)
        elif query is not None:
            self.set_image_query(query)
        else:
            self.notify("Drop a picture file, a picture from a web page, or a folder")

    def paste_query(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None:
            self.handle_mime(mime)

    # -- good matches, saved searches, concepts -------------------------------------------------

    def set_good_only(self, on: bool) -> None:
        """Show only the good matches of a search (the photos above the divider), or all."""
        if self.good_only_action.isChecked() != on:
            self.good_only_action.setChecked(on)  # comes back here through `toggled`
            return
        self.screen_model.set_good_only(on)
        self.good_only_button.setText("Showing Good Matches" if on else "Show Only Good Matches")
        if self.screen_model.searching:
            self._apply_view()

    def search_concept(self, name: str) -> None:
        """Search for one concept (a tag clicked in Properties)."""
        self.search_bar.search_for("#" + name.replace(" ", "_"))

    def refresh_saved_searches(self) -> None:
        self.saved.refresh()

    def _saved_searches_read(self, rows) -> None:
        self.side.set_saved_searches(rows)
        self.saved_searches_changed.emit()

    def saved_searches(self) -> list[tuple[str, str]]:
        """(name, query) of the sidebar's smart albums, as shown."""
        return self.side.saved_searches()

    def save_search_dialog(self) -> None:
        self.saved.save_dialog(self.search_bar.text())

    def save_search(self, name: str, query: str) -> None:
        self.saved.save(name, query)

    def _show_saved_search(self, query: str) -> None:
        self.search_bar.search_for(query)

    def refresh_concepts(self) -> None:
        """Score new photos against the concepts (background), then update '#' autocomplete."""
        self.concepts.refresh()

    def _concepts_read(self, names) -> None:
        self.search_bar.set_concepts(names)
        self.concepts_ready.emit()

    def new_concept_dialog(self) -> None:
        self.concepts.new_dialog()

    # -- indexing ------------------------------------------------------------------------------

    def start_indexing(self) -> None:
        """Bring the library up to date (incremental); queued if a run is already going."""
        if self._closing:
            return
        if self.library is not None and self.indexer.queued_new_folders(self.screen_model.folders):
            self._photos_first()  # (a folder added while the model loads)
        self.indexer.start(self.library)

    def _index_finished(self, library: Library, result) -> None:
        """An index run ended: swap in a library that was indexed for a new model, run again if
        asked, and show what changed."""
        if isinstance(result, BaseException):
            if jobs.is_model_unavailable(result) and library is self._pending_library:
                self._pending_library = None
                self._model_failed(result)
            else:
                self._task_failed(result)
        elif library is self._pending_library:
            self._swap_library(library)
        if self._pending_library is not None:
            self.indexer.start_run(self._pending_library, load_model=True)
        elif self.indexer.wants_another_run():
            self.indexer.start_run(self.library, load_model=False)
        # only additions (the usual case): merge the new photos, no 100k-row re-read
        self.refresh_photos(new_only=not isinstance(result, BaseException) and result.only_added)
        self.refresh_skipped()
        if not self.indexer.running and not isinstance(result, BaseException):
            self.refresh_concepts()  # new photos: score them against the concepts, in the background
            self._prepare_fast_start()
        self.indexing_finished.emit(result)
        if self.screen_model.searching and not self.search_bar.is_empty() and not self.indexer.running:
            self.run_search(self.search_bar.text())

    def _prepare_fast_start(self) -> None:
        """Indexing is idle and torch embedded photos: export the model once (a worker, low
        priority), so the next start and queries need no torch (app/core/model/fast_start.py)."""
        library = self.library
        if library is None or self._fast_start_task is not None or not library.fast_start_due():
            return
        self.notify(f"Preparing fast start for {library.spec.name} (once)…", 15000)

        def done(written) -> None:
            self._fast_start_task = None
            if written is not None:
                self.notify(f"Fast start ready: the next start needs no PyTorch ({written.seconds:.0f}s)")

        def failed(error: BaseException) -> None:
            self._fast_start_task = None
            log.warning("fast start not prepared: %s", error)

        self._fast_start_task = self.run_job(library.prepare_fast_start, True, on_result=done, on_error=failed)

    def _offer_relink(self, old: str, new: str, photos: int) -> None:
        """A folder's photos turned up in another: offer to relink it (app/ui/offline.py)."""
        if getattr(self, "relink_bar", None) is None:
            self.relink_bar = RelinkBar.below(self.banner)
            self.relink_bar.relink_requested.connect(self.relink_folder)
        self.relink_bar.offer(old, new, photos)

    def relink_folder(self, old: str, new: str) -> None:
        def done(result):
            self.notify(f"Relinked {plural(result.relinked, 'photo')} to {result.new}")
            self._after_change()

        self._write(
            self.library.relink, old, new, on_result=done, on_error=lambda e: self.notify(f"Cannot relink: {e}")
        )

    def cancel_indexing(self) -> None:
        self.indexer.cancel()

    @property
    def indexing(self) -> bool:
        return self.indexer.running

    @property
    def last_report(self) -> IndexReport | None:
        return self.indexer.last_report

    @property
    def idle(self) -> bool:
        """Nothing in flight: no indexing, photo read, search or change (what tests wait for)."""
        return self.library is not None and not self.indexer.running and not self._tasks and not self._browse_running

    def refresh_skipped(self) -> None:
        self.skipped_label.refresh()

    def _skipped_counted(self, n: int) -> None:
        self.skipped_action.setText(f"S&kipped Files ({n:,})…" if n else "S&kipped Files (none)")
        self.skipped_action.setEnabled(n > 0)

    @property
    def skipped_items(self) -> list[tuple[str, str]]:
        """(path, why) of the files indexing could not read."""
        return self.skipped_label.items

    @property
    def skipped_dialog(self):
        return self.skipped_label.dialog

    # -- folders -------------------------------------------------------------------------------

    def add_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a Folder of Photos", str(desktop.pictures_folder()))
        if path:
            self.add_folders([path])

    def add_folders(self, paths: list[str]) -> None:
        """New folders join the library and are indexed (an indexing run restarts to include them)."""
        paths = [p for p in paths if Path(p).is_dir()]
        if not paths:
            return
        self.indexer.queue_folders(paths)
        self.stack.setCurrentWidget(self.grid)
        if not self.indexer.interrupt():  # else it restarts at once with the new folders; nothing is lost
            self.start_indexing()
        self.notify(f"Adding {', '.join(Path(p).name for p in paths)}…")

    def remove_folder(self, folder_id: int, confirm: bool = True) -> None:
        path = self.screen_model.folders.get(folder_id)
        if path is None:
            return
        if confirm and not desktop.confirm(
            self,
            "Remove Folder",
            f"Remove “{path.name}” from the library?\n\nThe photos stay on disk; "
            "PhotoSeek just stops showing and searching them.",
        ):
            return
        if self.screen_model.folder == folder_id:
            self.select_folder(None)

        library = self.library

        def done(result):
            ids, generation, receipt = result
            self._photos_removed(ids, generation)
            self._after_change()
            self.undo.offer(library, receipt)

        self._write(jobs.remove_folder_job, library, path, on_result=done)

    def _after_change(self) -> None:
        self.refresh_photos()
        self.refresh_skipped()

    def _put_back(self, ids: list[int]) -> None:
        """Photos restored (Undo): read again, and selected where they are, as they were."""
        self.refresh_photos(then=partial(self.select_photos, ids))
        self.refresh_skipped()

    def select_photos(self, ids: list[int]) -> None:
        """Select these photos in the grid (those shown), the first of them current and in view."""
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        rows = sorted(r for r in (self.grid_model.row_of(i) for i in ids) if r is not None)
        if not rows:
            return
        selection = QItemSelection()
        for row in rows:
            selection.select(self.grid_model.index(row), self.grid_model.index(row))
        self.grid.setCurrentIndex(self.grid_model.index(rows[0]))
        self.grid.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(self.grid_model.index(rows[0]))

    # -- photos --------------------------------------------------------------------------------

    def selected_records(self) -> list[FileRecord]:
        return self.photo_actions.selected_records()

    def photo_menu(self) -> QMenu:
        """The context menu for the current selection (also what tests trigger)."""
        return self.photo_actions.photo_menu()

    def open_selected(self) -> None:
        self.photo_actions.open_selected()

    def show_properties(self) -> None:
        self.photo_actions.show_properties()

    @property
    def properties(self):
        """The Properties dialog last opened."""
        return self.photo_actions.properties

    def _find_similar(self, query: ImageQuery) -> None:
        self.search_bar.edit.clear()
        self.set_image_query(query)

    def trash_selected(self) -> None:
        records = self.selected_records()
        if not records:
            return
        name = Path(records[0].path).name if len(records) == 1 else f"these {len(records)} photos"
        if not desktop.confirm(
            self,
            "Move to Trash",
            f"Move {name} to the trash?\n\nYou can restore from the trash later.",
            default_yes=True,
        ):
            return
        row = min(self.grid.selected_rows())

        def done(gone: list[int], failures: list[tuple[str, str]]) -> None:
            if self.grid_model.rowCount():
                self.grid.setCurrentIndex(self.grid_model.index(min(row, self.grid_model.rowCount() - 1)))
            if failures:
                QMessageBox.warning(
                    self,
                    "Move to Trash",
                    "Some photos could not be moved to the trash:\n\n"
                    + "\n".join(f"{p}: {why}" for p, why in failures[:10]),
                )

        self.move_to_trash([r.id for r in records], then=done)

    def move_to_trash(
        self,
        ids: list[int],
        then: Callable[[list[int], list[tuple[str, str]]], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Send photos to the trash (writer thread); they leave the screen once they are gone.
        `then(gone ids, failures)` runs after."""
        self.screen_model.photos_leaving(ids)  # off the screen at once; back if they cannot go
        self._apply_view()
        library = self.library

        def done(result):
            gone, failures, generation, receipt = result
            self.screen_model.photos_stayed(set(ids) - set(gone))
            self._photos_removed(gone, generation)
            self.undo.offer(library, receipt)  # "3 photos moved to the trash · Undo"
            if then is not None:
                then(gone, failures)

        def error(e: BaseException):
            self.screen_model.photos_stayed(ids)
            self._apply_view()
            (failed or self._task_failed)(e)

        self._write(jobs.trash_job, library, ids, on_result=done, on_error=error)

    def open_preview(self, row: int) -> None:
        self.previewer.open(row)

    @property
    def preview(self):
        """The preview dialog open, if any."""
        return self.previewer.dialog

    def show_duplicates(self) -> None:
        """Open (or raise) the Duplicates view; it searches in the background at once."""
        from .duplicates import DuplicatesDialog

        dialog = getattr(self, "duplicates_dialog", None)
        if dialog is not None and shiboken_valid(dialog) and dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
            return
        dialog = DuplicatesDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.duplicates_dialog = dialog
        dialog.show()

    # -- size ----------------------------------------------------------------------------------

    def set_cell_size(self, size: int) -> None:
        size = max(prefs.MIN_CELL, min(prefs.MAX_CELL, int(size)))
        if self.size_slider.value() != size:
            self.size_slider.blockSignals(True)
            self.size_slider.setValue(size)
            self.size_slider.blockSignals(False)
        if self.grid.target_cell != size or not hasattr(self, "cell_size"):
            self.grid.set_cell_size(size)
        self.cell_size = size

    def zoom(self, step: int) -> None:
        self.set_cell_size(round(self.cell_size * (1.15 if step > 0 else 1 / 1.15)))

    # -- settings ------------------------------------------------------------------------------

    def settings_values(self) -> dict:
        s = self.settings
        return {
            "model": s.model,
            "pretrained": s.pretrained,
            "thumb_size": s.thumb_size,
            "decode_threads": s.decode_threads,
            "ocr": s.ocr,
            "folders": [str(p) for p in self.screen_model.folders.values()],
        }

    def open_settings(self) -> None:
        from .dialogs import SettingsDialog

        dialog = SettingsDialog(self.settings_values(), self, self.settings.models_dir, self.settings.device)
        if dialog.exec():
            self.apply_settings(dialog.values())

    def apply_settings(self, values: dict) -> None:
        """Persist new preferences; a new model re-indexes in the background and swaps in when done."""
        if not self._when_open(lambda: self.apply_settings(values)):
            return
        engine = {
            k: values[k]
            for k in ("model", "pretrained", "thumb_size", "decode_threads")
            if values.get(k) not in (None, "")
        }
        engine["thumb_size"] = int(engine.get("thumb_size", self.settings.thumb_size))
        engine["decode_threads"] = int(engine.get("decode_threads", self.settings.decode_threads))
        if values.get("ocr") is not None:
            engine["ocr"] = bool(values["ocr"])
        prefs.save_engine_values(engine)
        new_ocr = engine.get("ocr", self.settings.ocr)
        ocr_changed = new_ocr != self.settings.ocr
        new_settings = self.settings.with_(**engine)
        model_changed = (new_settings.model, new_settings.pretrained) != (self.settings.model, self.settings.pretrained)
        if "folders" in values:
            wanted = [str(Path(p).expanduser().resolve()) for p in values["folders"]]
            current = {str(p): fid for fid, p in self.screen_model.folders.items()}
            for path, fid in current.items():
                if path not in wanted:
                    self.remove_folder(fid, confirm=False)
            added = [p for p in wanted if p not in current]
            if added:
                self.add_folders(added)
        if model_changed:
            self.switch_library(new_settings)
        else:
            self.settings = new_settings
            self.library.settings = new_settings
            if ocr_changed:  # reading text starts (or stops) with a fresh, quick pass
                if not self.indexer.interrupt() and new_ocr:
                    self.start_indexing()

    def switch_library(self, settings: Settings) -> None:
        """Use another model: a new Library indexes in the background, then replaces this one."""
        library = jobs.open_library(settings)
        self.settings = settings
        if self.model_state != "ready":  # nothing to keep searching with: switch now
            self._swap_library(library)
            self.load_model(then_index=True)
            return
        self._pending_library = library
        self.notify("Preparing the new model; search keeps using the current one until it is ready")
        if not self.indexer.stop_for_next():  # else _index_finished starts the new library's run
            self.indexer.start_run(library, load_model=True)

    def _swap_library(self, library: Library) -> None:
        self._pending_library = None
        self.undo.release_all()  # undo belongs to the library it was done in
        self.library = library
        self.settings = library.settings
        self.loader.set_library(library)
        if library.model_loaded:
            self.model_state = "ready"
            self.banner.hide()
            self.search_bar.set_loading(False)
            self.model_state_changed.emit("ready")
        self.library_swapped.emit()
        self.refresh_photos()
        self.grid.viewport().update()

    # -- about, drops, close -------------------------------------------------------------------

    def show_about(self) -> None:
        from .dialogs import show_about

        show_about(self)

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.handle_mime(event.mimeData())

    def closeEvent(self, event) -> None:
        store = prefs.qsettings()
        store.setValue(prefs.GEOMETRY_KEY, self.saveGeometry())
        store.setValue(prefs.SPLITTER_KEY, self.splitter.saveState())
        prefs.save_cell_size(self.cell_size, store)
        self.hide()  # gone for the user at once, even while a worker finishes its step
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, wait_ms: int = 30000) -> None:
        """Stop background work: cancel indexing, drop pending results, wait for the threads."""
        if self._closing:
            return
        self._closing = True
        self.indexer.shutdown()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self.loader.shutdown()
        self.jobs.clear()
        self.writer.clear()
        self.writer.waitForDone(wait_ms)
        self.jobs.waitForDone(wait_ms)
        self.undo.release_all()  # undoable until the app quits: what was kept for it goes

    def changeEvent(self, event) -> None:  # (not event(): that would run Python for every event)
        if event.type() == QEvent.Type.PaletteChange:
            self.search_bar._update_style()
        super().changeEvent(event)


__all__ = ["MainWindow", "app_icon", "QUrl", "QApplication"]
