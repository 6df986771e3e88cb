"""`photoseek search` with the query language, relevance flags, concepts and saved searches."""

import json
from pathlib import Path

import pytest

from app.cli import main
from tiny_clip import write_shapes


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _kind(path: str) -> str:
    return Path(path).name.rsplit("_", 1)[0]


def test_search_language_relevance_and_concepts(capsys, model_env, trained_model, tmp_path):
    model_env(trained_model)
    write_shapes(tmp_path / "lib", per_kind=3, seed=5)
    code, out, _ = run_cli(capsys, "index", str(tmp_path / "lib"), "--json")
    report = json.loads(out)
    assert code == 0 and report["embedded"] == 36 and report["concepts"]["scored"] == 36

    code, out, _ = run_cli(capsys, "search", "a", "red", "circle", "-n", "0", "--json")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 36 and all(set(h) == {"path", "score", "good"} for h in hits)
    good = [h for h in hits if h["good"]]
    assert good and hits[: len(good)] == good and _kind(good[0]["path"]) == "red_circle"

    code, out, _ = run_cli(capsys, "search", "a red circle", "--good-only", "--json")
    assert [h["path"] for h in json.loads(out)] == [h["path"] for h in good]
    code, out, _ = run_cli(capsys, "search", "a red circle", "--min-score", str(good[-1]["score"] - 1e-6), "--json")
    assert {h["path"] for h in json.loads(out)} >= {h["path"] for h in good}
    assert all(h["score"] >= good[-1]["score"] - 1e-6 for h in json.loads(out))

    code, out, _ = run_cli(capsys, "search", "a red circle", "-n", "36")  # text: a divider line
    lines = out.splitlines()
    assert code == 0 and ("-- weaker matches --" in lines or "-- no clear matches --" in lines)
    assert len(lines) == 37

    # an exclusion: red squares and triangles now rank above every red circle
    code, out, _ = run_cli(capsys, "search", "-n", "0", "--json", "--", "a red shape -circle")
    kinds = [_kind(h["path"]) for h in json.loads(out)]
    last_other = max(i for i, k in enumerate(kinds) if k in ("red_square", "red_triangle"))
    assert code == 0 and last_other < min(i for i, k in enumerate(kinds) if k == "red_circle")

    code, out, _ = run_cli(capsys, "search", "#circle", "-n", "12", "--json")
    assert all(_kind(h["path"]).endswith("circle") for h in json.loads(out))

    image = tmp_path / "lib" / "blue_square_0.jpg"
    code, out, _ = run_cli(capsys, "search", "red", "--image", str(image), "-n", "1", "--json")
    assert _kind(json.loads(out)[0]["path"]) == "red_square"

    code, out, err = run_cli(capsys, "search", "after:2021-13 type:png", "--json")
    assert code == 0 and json.loads(out) == [] and "note: after: needs a date like 2021-06" in err


def test_concepts_command(capsys, model_env, trained_model, tmp_path):
    model_env(trained_model)
    write_shapes(tmp_path / "lib", per_kind=1, seed=5)
    run_cli(capsys, "index", str(tmp_path / "lib"))
    code, out, _ = run_cli(capsys, "concepts", "list", "ci", "--json")
    rows = json.loads(out)
    assert code == 0 and "circle" in [r["name"] for r in rows] and all(r["name"].startswith("ci") for r in rows)
    assert [r["photos"] for r in rows] == sorted((r["photos"] for r in rows), reverse=True)

    code, out, _ = run_cli(capsys, "concepts", "add", "Sunny blob", "a yellow circle", "a photo of a yellow circle")
    assert code == 0 and "#Sunny_blob" in out
    code, out, _ = run_cli(capsys, "search", "#sunny_blob", "-n", "1", "--json")
    assert _kind(json.loads(out)[0]["path"]) == "yellow_circle"
    code, out, _ = run_cli(capsys, "concepts", "list", "sunny", "--json")
    assert json.loads(out)[0]["name"] == "Sunny blob" and json.loads(out)[0]["yours"]
    code, out, _ = run_cli(capsys, "concepts", "tags", str(tmp_path / "lib" / "yellow_circle_0.jpg"), "--json")
    assert code == 0 and "Sunny blob" in [t["name"] for t in json.loads(out)]
    code, _, _ = run_cli(capsys, "concepts", "remove", "sunny_blob")
    assert code == 0
    code, _, err = run_cli(capsys, "concepts", "remove", "sunny_blob")
    assert code == 2 and "no concept of yours" in err
    code, _, err = run_cli(capsys, "concepts", "add", "lonely")
    assert code == 2


def test_saved_searches_command(capsys, model_env, random_model, tmp_path):
    model_env(random_model)
    write_shapes(tmp_path / "lib", per_kind=1, seed=5)
    run_cli(capsys, "index", str(tmp_path / "lib"), "--no-concepts")
    with pytest.raises(SystemExit):  # argparse reads '-circle' as a flag: put -- before the query
        run_cli(capsys, "saved", "add", "Reds", "red", "-circle")
    assert run_cli(capsys, "saved", "add", "Reds", "--", "red -circle")[0] == 0
    assert run_cli(capsys, "saved", "add", "Old", "before:2000")[0] == 0
    code, out, _ = run_cli(capsys, "saved", "--json")
    assert json.loads(out) == [{"name": "Reds", "query": "red -circle"}, {"name": "Old", "query": "before:2000"}]
    code, out, _ = run_cli(capsys, "search", "--saved", "reds", "-n", "3", "--json")
    assert code == 0 and len(json.loads(out)) == 3
    assert run_cli(capsys, "saved", "rename", "Old", "Ancient")[0] == 0
    assert run_cli(capsys, "saved", "remove", "Reds")[0] == 0
    code, out, _ = run_cli(capsys, "saved")
    assert out.strip() == "Ancient: before:2000"
    code, _, err = run_cli(capsys, "search", "--saved", "nope")
    assert code == 2 and "no saved search" in err
