"""The search language in the window: '#' autocomplete, hints, the good-matches divider and
toggle, smart albums (saved searches), concept tags in Properties and concepts of your own."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from helpers import wait_indexed, wait_ready

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

N_SHAPES = 24


def _kinds(window, n=None) -> list[str]:
    paths = window.grid_model.paths()
    return [Path(p).name.rsplit("_", 1)[0] for p in (paths if n is None else paths[:n])]


@pytest.fixture
def indexed(qtbot, make_window, shapes):
    window = make_window(folders=[shapes])
    with qtbot.waitSignal(window.concepts_ready, timeout=120000):
        wait_ready(qtbot, window)
        wait_indexed(qtbot, window, N_SHAPES)
    qtbot.waitUntil(lambda: window.idle, timeout=60000)  # concepts are scored again when the run ends
    return window


def _search(qtbot, window, text: str) -> None:
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        window.search_bar.edit.setText(text)
        window.search_bar.search_now()


def test_hash_opens_concept_autocomplete_and_picking_one_searches(qtbot, indexed):
    window = indexed
    bar = window.search_bar
    bar.focus_search()
    qtbot.keyClicks(bar.edit, "#ci")
    popup = bar.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    names = [
        bar.completion_model.item(r).data(Qt.ItemDataRole.UserRole) for r in range(bar.completion_model.rowCount())
    ]
    assert "circle" in names and all(n.startswith("ci") or " ci" in n for n in names), names
    popup.setCurrentIndex(bar.completion_model.index(names.index("circle"), 0))
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert bar.edit.text() == "#circle " and not popup.isVisible()
    kinds = _kinds(window)
    circles = [i for i, k in enumerate(kinds) if k.endswith("circle")]
    assert (
        all(k.endswith("circle") for k in kinds[:4])
        and sum(circles) < sum(range(len(kinds))) * len(circles) / len(kinds) / 2
    ), kinds
    # Esc with the popup open only closes it
    qtbot.keyClicks(bar.edit, "#squ")
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Escape)
    assert not popup.isVisible() and bar.edit.text() == "#circle #squ"


def test_autocomplete_puts_the_library_s_frequent_concepts_first(qtbot):
    from app.ui.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_concepts([("city", 1), ("circle", 5), ("cinema", 0), ("big circle", 3), ("dog", 9)])
    assert [n for n, _ in bar.completions("ci")] == ["circle", "city", "cinema", "big circle"]
    assert [n for n, _ in bar.completions("")][:2] == ["dog", "circle"]
    assert bar.completions("zz") == []
    bar.edit.setText("dog 2:#Ci")
    assert bar._concept_token() == (7, "Ci")  # the name starts after the "#"
    bar.edit.setText("dog#ci")  # not a concept: '#' inside a word
    assert bar._concept_token() is None


def test_the_divider_marks_where_good_matches_end_and_the_toggle_hides_the_rest(qtbot, indexed):
    window = indexed
    _search(qtbot, window, "a red circle")
    good = window.grid_model.good_count
    assert good is not None and 0 < good < N_SHAPES
    assert all(k == "red_circle" or k.startswith("red") or k.endswith("circle") for k in _kinds(window, good))
    assert window.grid.divider_segments()
    assert "good match" in window.status_label.text() and window.good_only_button.isVisible()
    window.grid.repaint()  # the divider paints without complaint
    window.good_only_button.click()
    assert window.good_only_action.isChecked() and window.grid_model.rowCount() == good
    assert window.grid.divider_segments() == []
    window.good_only_action.setChecked(False)
    assert window.grid_model.rowCount() == N_SHAPES and window.grid_model.good_count == good
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Escape)
    assert window.grid_model.good_count is None and not window.good_only_button.isVisible()


def test_hints_about_the_query_show_in_the_status_bar(qtbot, indexed):
    window = indexed
    _search(qtbot, window, "a red circle after:2021-13")
    assert "after: needs a date like 2021-06" in window.status_label.text()
    _search(qtbot, window, "type:png")
    assert window.grid_model.rowCount() == 0


def test_a_saved_search_is_a_smart_album_that_follows_the_library(qtbot, indexed, tmp_path, monkeypatch):
    from tiny_clip import write_shapes

    window = indexed
    _search(qtbot, window, "a red circle")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Red circles", True))
    with qtbot.waitSignal(window.saved_searches_changed, timeout=10000):
        window.save_search_action.trigger()
    assert window.saved_searches() == [("Red circles", "a red circle")]
    assert window.saved_list.isVisible()
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Escape)

    item = window.saved_list.item(0)
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        qtbot.mouseClick(
            window.saved_list.viewport(), Qt.MouseButton.LeftButton, pos=window.saved_list.visualItemRect(item).center()
        )
    assert window.search_bar.edit.text() == "a red circle" and item.isSelected()
    assert _kinds(window, 2) == ["red_circle", "red_circle"]

    # the library changes: the album follows
    more = tmp_path / "more"
    write_shapes(more, per_kind=1, size=128, seed=11)
    window.add_folders([str(more)])
    wait_indexed(qtbot, window, N_SHAPES + 12)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N_SHAPES + 12, timeout=20000)
    assert str(more / "red_circle_0.jpg") in window.grid_model.paths()[:6]

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Reds", True))
    with qtbot.waitSignal(window.saved_searches_changed, timeout=10000):
        window.side.rename_saved_search(window.saved_list.item(0))
    assert window.saved_searches() == [("Reds", "a red circle")]
    with qtbot.waitSignal(window.saved_searches_changed, timeout=10000):
        window.side.remove_saved_search(window.saved_list.item(0))
    assert window.saved_searches() == [] and not window.saved_list.isVisible()


def test_properties_show_concept_tags_and_a_tag_searches(qtbot, indexed):
    window = indexed
    lib = window.library
    lib.add_concept("sunflower pin", ["a yellow circle", "a photo of a yellow circle"])
    with qtbot.waitSignal(window.concepts_ready, timeout=60000):
        window.refresh_concepts()
    row = next(
        r
        for r in range(window.grid_model.rowCount())
        if Path(window.grid_model.record(r).path).name.startswith("yellow_circle")
    )
    window.grid.setCurrentIndex(window.grid_model.index(row))
    window.show_properties()
    dialog = window.properties
    qtbot.waitUntil(lambda: dialog.tags is not None, timeout=20000)
    names = [n for n, _ in dialog.tags]
    assert "sunflower pin" in names, dialog.tags
    assert "#sunflower_pin" in dialog.tags_label.text()
    with qtbot.waitSignal(window.search_finished, timeout=20000):
        dialog.tags_label.linkActivated.emit("sunflower pin")
    assert window.search_bar.edit.text() == "#sunflower_pin"
    assert _kinds(window, 2) == ["yellow_circle", "yellow_circle"]
    dialog.close()


def test_a_concept_of_your_own_from_the_search_bar_menu(qtbot, indexed, monkeypatch):
    from app.ui.dialogs import ConceptDialog

    window = indexed

    def fill(dialog):
        dialog.name_edit.setText("#Lemon")
        dialog.phrases_edit.setPlainText("a yellow square\n\n  a photo of a yellow square  ")
        assert dialog.values() == ("Lemon", ["a yellow square", "a photo of a yellow square"])
        return 1

    monkeypatch.setattr(ConceptDialog, "exec", fill)
    with qtbot.waitSignal(window.concepts_ready, timeout=60000):
        window.search_bar.concept_action.trigger()
    assert window.library.user_concepts() == {"Lemon": ["a yellow square", "a photo of a yellow square"]}
    assert "Lemon" in [n for n, _ in window.search_bar.completions("lem")]
    _search(qtbot, window, "#lemon")
    assert _kinds(window, 2) == ["yellow_square", "yellow_square"]

    def remove(dialog):
        dialog.list.setCurrentRow(0)
        dialog.list.item(0).setSelected(True)
        dialog.remove_button.click()
        assert dialog.removed == ["Lemon"] and dialog.values() is None
        return 1

    monkeypatch.setattr(ConceptDialog, "exec", remove)
    with qtbot.waitSignal(window.concepts_ready, timeout=60000):
        window.new_concept_action.trigger()
    assert window.library.user_concepts() == {}
