"""Duplicates: identical files, and resized / recompressed / slightly cropped copies, grouped with
their originals; unrelated photos left alone, at every allowed threshold and through any chain of
pairs; a model that cannot tell photos apart is not used; a keeper suggested; fast pair finding."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.library import Library
from app.core.organize import duplicates
from app.core.store.catalog import Catalog, FileRecord
from helpers import DEVDATA, devdata
from pictures import cropped, recompressed, resized, scene
from tiny_clip import write_shapes


def _originals(n: int) -> list[Image.Image]:
    """Real photos from devdata when it is there, photo-like scenes otherwise."""
    folder = DEVDATA / "text2img" / "flickr8k" / "images"
    if folder.is_dir():
        return [Image.open(p).convert("RGB") for p in sorted(folder.glob("*.jpg"))[:n]]
    return [scene((640, 480), seed=200 + k) for k in range(n)]


@pytest.fixture
def edited_library(tmp_path, make_settings, random_model):
    """Originals, edited copies of four of them, and unrelated photos, indexed with the tiny random model."""
    photos = tmp_path / "photos"
    photos.mkdir()
    images = _originals(10)
    for k, im in enumerate(images):
        im.save(photos / f"orig_{k}.jpg", quality=92)
        os.utime(photos / f"orig_{k}.jpg", (1_600_000_000, 1_600_000_000))  # older than the copies
    recompressed(resized(images[0], 0.5), 30).save(photos / "copy_0_small.jpg", quality=95)
    recompressed(images[0], 20).save(photos / "copy_0_lowq.jpg", quality=95)
    cropped(images[1], 0.97).save(photos / "copy_1_crop.jpg", quality=90)
    cropped(images[1], 0.98, anchor="corner").save(photos / "copy_1_cornercrop.png")
    shutil.copy(photos / "orig_2.jpg", photos / "copy_2_identical.jpg")
    recompressed(cropped(resized(images[3], 0.6), 0.98), 50).save(photos / "copy_3_mixed.webp")
    library = Library(make_settings(random_model))
    library.update([photos])
    yield library
    library.close()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _names(group) -> list[str]:
    return [Path(p.path).name for p in group.photos]


def test_edited_copies_are_grouped_with_their_originals(edited_library):
    report = edited_library.duplicates()
    groups = sorted((_names(g) for g in report.groups), key=lambda names: names[0])
    assert groups == [
        ["orig_0.jpg", "copy_0_lowq.jpg", "copy_0_small.jpg"],  # keeper first: largest, then oldest
        ["orig_1.jpg", "copy_1_cornercrop.png", "copy_1_crop.jpg"],
        ["orig_2.jpg", "copy_2_identical.jpg"],
        ["orig_3.jpg", "copy_3_mixed.webp"],
    ]
    by_keeper = {Path(g.keeper.path).name: g for g in report.groups}
    exact, near = by_keeper["orig_2.jpg"], by_keeper["orig_0.jpg"]
    assert exact.exact and exact.similarity == 1.0 and [p.kind for p in exact.photos] == ["keeper", "identical"]
    assert exact.others[0].identical and not near.others[0].identical
    assert near.kind == duplicates.NEAR_COPY and {p.kind for p in near.others} == {duplicates.NEAR_COPY}
    assert 1 - duplicates.MAX_HASH_DISTANCE / 64 <= near.similarity <= 1.0  # 1 - differing bits / 64
    assert report.groups[0] is exact  # identical copies first, then near copies, largest first
    assert [len(g.photos) for g in report.groups[1:]] == [3, 3, 2]
    assert report.redundant == 6


def test_a_random_weights_model_is_not_trusted_with_near_duplicates(edited_library):
    """Random weights map unrelated photos to nearly the same vector (measured on devdata: unrelated
    pairs up to 0.999 cosine), so a cosine threshold would group everything: the report falls back to
    identical files and image hashes, and says why."""
    report = edited_library.duplicates(threshold=0.95)
    assert not report.embeddings_used
    assert "do not tell photos apart" in report.note
    strict = edited_library.duplicates(threshold=1.0)  # identical (or pixel-identical) only
    assert [_names(g) for g in strict.groups] == [["orig_2.jpg", "copy_2_identical.jpg"]]


def test_hashes_are_filled_in_for_photos_indexed_before_them(edited_library):
    catalog = edited_library.catalog
    with catalog.transaction() as db:
        db.execute("DELETE FROM image_hashes")
    before = len(edited_library.duplicates().groups)
    assert before == 1  # only the identical files are left to find
    report = edited_library.update()  # nothing changed on disk: only the missing hashes are made
    assert report.embedded == 0
    assert len(edited_library.duplicates().groups) == 4


def _devdata_library(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, set[str]]]:
    """Every photo of text2img, the img2img near-duplicates and the 24 shapes in one folder, with
    (the label of each file: photos with one label are copies of one picture, the others are not;
    the copies an image hash must find, by original)."""
    root = devdata("img2img", "synthetic")
    photos = tmp_path / "photos"
    photos.mkdir()
    label: dict[str, str] = {}
    for folder in sorted((DEVDATA / "text2img").glob("*/images")):
        for extra in sorted(folder.iterdir()):
            shutil.copy(extra, photos / extra.name)
            label[extra.name] = extra.name
    expected: dict[str, set[str]] = {}
    for r in _csv_rows(root / "groundtruth.csv"):
        original, variant = DEVDATA / r["original_file"], DEVDATA / r["query_file"]
        shutil.copy(variant, photos / variant.name)
        label[variant.name] = label[original.name] = r["group"]
        if r["transform"].startswith(("downscale", "colorjitter")):
            expected.setdefault(original.name, {original.name}).add(variant.name)
    real = [DEVDATA / r["file"] for r in _csv_rows(DEVDATA / "img2img" / "real" / "groups.csv")]
    for k, path in enumerate(real):  # one picture in 11 encodings and EXIF orientations
        name = f"real_{k}_{path.name}"
        shutil.copy(path, photos / name)
        label[name] = "real"
    expected["real_0_hopper.jpg"] = {f"real_{k}_{path.name}" for k, path in enumerate(real)}
    for name in write_shapes(photos / "shapes", per_kind=2, size=256):
        label[Path(name).name] = Path(name).name
    return photos, label, expected


def test_devdata_near_copies_are_found_and_nothing_else_at_any_allowed_threshold(tmp_path, make_settings, random_model):
    """At the default and at the loosest threshold, with the tiny random model: each group is copies of
    one picture (by devdata's labels), and the resized, recompressed and re-coloured copies are found."""
    photos, label, expected = _devdata_library(tmp_path)
    library = Library(make_settings(random_model))
    library.update([photos])
    assert len(library.photos()) >= 400
    for threshold in (duplicates.DEFAULT_THRESHOLD, duplicates.MIN_THRESHOLD):
        report = library.duplicates(threshold)
        assert not report.embeddings_used and report.hash_distance == duplicates.MAX_HASH_DISTANCE
        groups = [set(_names(g)) for g in report.groups]  # (the keeper may be a same-size copy)
        for members in groups:
            assert len({label[m] for m in members}) == 1, members
        for original, members in expected.items():
            assert members <= next((g for g in groups if original in g), {original}), original
        # crops, mirror images and rotations need a trained model's embeddings; hashes leave them apart
    library.close()


@pytest.mark.parametrize("n_shapes, n_photos", [(12, 12), (24, 3), (3, 21)])
def test_random_weights_offer_no_look_alikes_whatever_the_mix(
    tmp_path, make_settings, random_model, n_shapes, n_photos
):
    """Random weights map pictures of one kind (shapes, photos) to nearly one vector, but a mix of kinds
    pulls a median over random pairs down: the check must see it in any mix."""
    photos = tmp_path / "photos"
    shapes = sorted(write_shapes(photos, per_kind=2, size=256))
    for name in shapes[n_shapes:]:
        (photos / Path(name).name).unlink()
    for k, im in enumerate(_originals(n_photos)):
        im.save(photos / f"photo_{k}.jpg", quality=92)
    library = Library(make_settings(random_model))
    library.update([photos])
    report = library.duplicates(duplicates.MIN_THRESHOLD)
    assert not report.embeddings_used and "do not tell photos apart" in report.note
    assert all(g.kind != duplicates.LOOKS_ALIKE for g in report.groups)
    library.close()


def test_exact_copies_are_verified_beyond_the_fingerprint(tmp_path, make_settings, random_model):
    """The content fingerprint reads the first 1 MB and the last 64 kB: two big files that differ only
    in the middle share it, and must not be called identical."""
    photos = tmp_path / "photos"
    photos.mkdir()
    big = scene((1600, 1200), seed=7)
    big.save(photos / "big.png")  # > 1 MB: noise does not compress
    data = bytearray((photos / "big.png").read_bytes())
    assert len(data) > (1 << 20) + (64 << 10) + 1000
    shutil.copy(photos / "big.png", photos / "big_copy.png")
    middle = (1 << 20) + 10
    data[middle] ^= 0xFF  # the same size, head and tail: the same fingerprint
    (photos / "big_changed.png").write_bytes(bytes(data))
    library = Library(make_settings(random_model))
    library.update([photos])
    records = {Path(r.path).name: r for r in library.photos()}
    assert len({r.fingerprint for r in records.values()}) <= 2
    report = library.duplicates(threshold=1.0, hash_distance=-1)  # identical bytes only
    identical = [sorted(_names(g)) for g in report.groups if g.exact]
    assert identical == [["big.png", "big_copy.png"]]
    library.close()


# -- the pair finding, on planted vectors ----------------------------------------------------------


def _catalog_with_vectors(path: Path, vectors: np.ndarray, sizes=None, hashes=None) -> tuple[Catalog, list[int]]:
    catalog = Catalog(path)
    n = len(vectors)
    with catalog.transaction() as db:
        catalog.put_files(
            db,
            [
                FileRecord(
                    None, f"/p/{k:04d}.jpg", f"fp{k}", 1000 + k, 1.6e9 + k, width=(sizes or {}).get(k, 100), height=100
                )
                for k in range(n)
            ],
        )
        catalog.put_embeddings(db, "m", [(f"fp{k}", v) for k, v in enumerate(vectors)])
        catalog.put_hashes(db, [(f"fp{k}", _signed(h)) for k, h in (hashes or {}).items()])
    ids = [r.id for r in catalog.files("ORDER BY path")]
    return catalog, ids


def _planted(n: int = 600, dim: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    twins = {10: 11, 20: 21, 30: 31, 500: 501}
    for a, b in twins.items():
        w = v[a] + rng.standard_normal(dim).astype(np.float32) * 0.025
        v[b] = w / np.linalg.norm(w)
    w = v[20] + rng.standard_normal(dim).astype(np.float32) * 0.025
    v[22] = w / np.linalg.norm(w)  # a triple
    return v, [{10, 11}, {20, 21, 22}, {30, 31}, {500, 501}]


@pytest.mark.parametrize("exact_limit", [10_000, 50])  # exact all-pairs, and the inverted-file index
def test_embeddings_find_planted_near_duplicates(tmp_path, exact_limit):
    vectors, expected = _planted()
    catalog, ids = _catalog_with_vectors(tmp_path / "c.sqlite3", vectors, sizes={11: 400, 22: 400})
    index_of = {i: k for k, i in enumerate(ids)}
    report = duplicates.find_duplicates(catalog, "m", threshold=0.95, use_hashes=False, exact_limit=exact_limit)
    assert report.embeddings_used and not report.note
    got = sorted(({index_of[p.id] for p in g.photos} for g in report.groups), key=min)
    assert got == expected
    keeper = {min(index_of[p.id] for p in g.photos): index_of[g.keeper.id] for g in report.groups}
    assert keeper[10] == 11 and keeper[20] == 22  # the larger picture is kept
    assert keeper[30] == 30  # same size: the older one
    assert all(0.95 <= g.similarity < 1.0 for g in report.groups)
    assert duplicates.find_duplicates(catalog, "m", threshold=0.999, use_hashes=False).groups == []
    catalog.close()


def test_a_model_that_maps_everything_together_is_detected(tmp_path):
    rng = np.random.default_rng(3)
    common = rng.standard_normal(64).astype(np.float32) * 6  # like random weights: one shared direction
    v = common + rng.standard_normal((200, 64)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    usable, share = duplicates.model_separates(v)
    assert not usable and share > 0.5  # one photo in four looks like half the library or more
    assert duplicates.model_separates(_planted()[0]) == (True, 0.0)  # copies only
    catalog, _ = _catalog_with_vectors(tmp_path / "c.sqlite3", v)
    for threshold in (0.95, 0.99):  # whatever the threshold
        report = duplicates.find_duplicates(catalog, "m", threshold=threshold)
        assert report.groups == [] and not report.embeddings_used and "do not tell photos apart" in report.note
    catalog.close()


def _arc(angles_deg: list[float], dim: int = 64) -> np.ndarray:
    """Unit vectors on one great circle at these angles: cosines are exactly cos(difference)."""
    a = np.radians(np.array(angles_deg))[:, None]
    v = np.zeros((len(angles_deg), dim), dtype=np.float32)
    v[:, 0], v[:, 1] = np.cos(a[:, 0]), np.sin(a[:, 0])
    return v


@pytest.mark.parametrize("signal", ["embeddings", "hashes"])
def test_a_chain_of_pairs_is_never_one_group(tmp_path, signal):
    """A~B, B~C and C~D are each within the threshold, A~C, B~D and A~D are not: A and D (or A and C)
    never share a group; the closest pairs, A~B and C~D, do."""
    vectors, _ = _planted(seed=4)  # unrelated photos (and twins), so that the model is trusted
    hashes = {}
    if signal == "embeddings":  # cosines: A~B 0.97, B~C 0.96, C~D 0.97; A~C 0.86
        step_ab, step_bc = np.degrees(np.arccos(0.97)), np.degrees(np.arccos(0.96))
        vectors[:4] = _arc([0, step_ab, step_ab + step_bc, 2 * step_ab + step_bc])
    else:  # hashes 4 bits apart one after the other (A~C: 8 bits, more than the 6 allowed)
        a = int(np.random.default_rng(5).integers(0, 2**63))
        hashes = {0: a, 1: a ^ 0xF, 2: a ^ 0xFF, 3: a ^ 0xFFF}
    catalog, ids = _catalog_with_vectors(tmp_path / "c.sqlite3", vectors, hashes=hashes)
    report = duplicates.find_duplicates(
        catalog, "m", threshold=duplicates.DEFAULT_THRESHOLD, use_embeddings=signal == "embeddings"
    )
    groups = sorted({ids.index(p.id) for p in g.photos} for g in report.groups if min(p.id for p in g.photos) <= ids[3])
    assert groups == [{0, 1}, {2, 3}]
    kind = duplicates.LOOKS_ALIKE if signal == "embeddings" else duplicates.NEAR_COPY
    assert all(p.kind == kind for g in report.groups for p in g.others)
    catalog.close()


def test_settings_that_would_group_unlike_photos_are_refused(tmp_path):
    catalog, _ = _catalog_with_vectors(tmp_path / "c.sqlite3", _planted()[0])
    with pytest.raises(ValueError, match="between 0.90 and 1.00"):
        duplicates.find_duplicates(catalog, "m", threshold=0.85)
    with pytest.raises(ValueError, match="between 0 and 6 bits"):
        duplicates.find_duplicates(catalog, "m", hash_distance=8)
    assert duplicates.hash_distance_for(duplicates.MIN_THRESHOLD) == duplicates.MAX_HASH_DISTANCE
    assert len(duplicates.find_duplicates(catalog, "m", threshold=duplicates.MIN_THRESHOLD).groups) == 4
    catalog.close()


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def test_hash_pairs_match_brute_force():
    rng = np.random.default_rng(5)
    values = [
        int(x) * 2 + int(y)
        for x, y in zip(rng.integers(0, 2**63, size=400, dtype=np.int64), rng.integers(0, 2, size=400))
    ]
    for k in range(0, 40, 2):  # plant near pairs: flip 0-11 bits (some beyond the distance)
        mask = sum(1 << int(bit) for bit in rng.choice(64, size=int(rng.integers(0, 12)), replace=False))
        values[k + 1] = values[k] ^ mask
    hashes = np.array([_signed(v & ((1 << 64) - 1)) for v in values], dtype=np.int64)
    a, b = duplicates.hash_pairs(hashes, 8)
    got = set(zip(a.tolist(), b.tolist()))
    brute = {
        (i, j)
        for i in range(len(values))
        for j in range(i + 1, len(values))
        if duplicates.hamming(values[i], values[j]) <= 8
    }
    assert got == brute and len(brute) >= 10


def test_perceptual_hash_ignores_encoding_and_orientation_but_not_content():
    flat = Image.new("RGB", (300, 200), (120, 130, 140))
    assert duplicates.perceptual_hash(flat) is None  # nothing to compare by
    a, b = scene((640, 480), seed=1), scene((640, 480), seed=2)
    ha = duplicates.perceptual_hash(a)
    assert duplicates.hamming(ha, duplicates.perceptual_hash(recompressed(resized(a, 0.3), 25))) <= 4
    assert duplicates.hamming(ha, duplicates.perceptual_hash(b)) > 16
    assert -(2**63) <= ha < 2**63  # fits SQLite's INTEGER


def test_real_encodings_and_exif_orientations_hash_alike():
    root = devdata("img2img", "real")
    from app.core.ingest import imaging

    rows = _csv_rows(root / "groups.csv")
    hashes = [duplicates.perceptual_hash(imaging.decode(DEVDATA / r["file"]).image) for r in rows]
    assert len(hashes) >= 5 and max(duplicates.hamming(hashes[0], h) for h in hashes) <= 4


def test_cli_duplicates(capsys, model_env, random_model, tmp_path):
    from app.cli import main

    model_env(random_model)
    photos = tmp_path / "photos"
    photos.mkdir()
    originals = _originals(4)
    for k, im in enumerate(originals):
        im.save(photos / f"orig_{k}.jpg", quality=92)
    recompressed(resized(originals[0], 0.5), 40).save(photos / "small_copy.jpg")
    assert main(["index", str(photos)]) == 0
    capsys.readouterr()
    assert main(["duplicates", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [sorted(Path(p).name for p in g["paths"]) for g in data["groups"]] == [["orig_0.jpg", "small_copy.jpg"]]
    group = data["groups"][0]
    assert Path(group["keeper"]).name == "orig_0.jpg" and group["exact"] is False and 0 < group["similarity"] <= 1
    assert data["embeddings_used"] is False and data["note"]
    assert [p["kind"] for p in group["photos"]] == ["keeper", "near copy"]
    assert main(["duplicates", "--threshold", "0.97"]) == 0
    out = capsys.readouterr()
    assert "keep" in out.out and "orig_0.jpg" in out.out and "(near copy)" in out.out and "note:" in out.err
    for wrong in (["--threshold", "7"], ["--threshold", "0.85"], ["--hash-distance", "20"]):
        assert main(["duplicates", *wrong]) == 2
        assert "must be between" in capsys.readouterr().err


def test_photos_of_an_offline_folder_are_left_out_never_the_keeper(tmp_path, make_settings, random_model):
    """The unplugged drive holds the biggest copy (the keeper while it is there) and a copy of
    another photo: out of reach, neither can be opened as the keeper or trashed, so offline
    photos are left out of the proposals until the drive is back."""
    home, drive = tmp_path / "home", tmp_path / "drive"
    home.mkdir()
    drive.mkdir()
    images = _originals(3)
    images[0].save(drive / "big_0.jpg", quality=92)
    recompressed(resized(images[0], 0.5), 40).save(home / "small_0.jpg")
    recompressed(resized(images[0], 0.4), 30).save(home / "smaller_0.jpg")
    images[1].save(home / "orig_1.jpg", quality=92)
    shutil.copy(home / "orig_1.jpg", drive / "copy_1.jpg")
    images[2].save(home / "orig_2.jpg", quality=92)
    library = Library(make_settings(random_model))
    library.update([home, drive])
    groups = {frozenset(_names(g)): g.keeper for g in library.duplicates().groups}
    assert set(groups) == {
        frozenset({"big_0.jpg", "small_0.jpg", "smaller_0.jpg"}),
        frozenset({"orig_1.jpg", "copy_1.jpg"}),
    }
    assert Path(groups[frozenset({"big_0.jpg", "small_0.jpg", "smaller_0.jpg"})].path).name == "big_0.jpg"

    drive.rename(tmp_path / "unplugged")
    drive.mkdir()  # the empty mount point an unplugged drive leaves
    assert library.update().unavailable_folders == [str(drive.resolve())]
    report = library.duplicates()
    assert [sorted(_names(g)) for g in report.groups] == [["small_0.jpg", "smaller_0.jpg"]]
    assert Path(report.groups[0].keeper.path).name == "small_0.jpg"  # the biggest within reach
    assert (report.photos, report.offline_folders, report.as_dict()["offline_folders"]) == (4, 1, 1)
    library.close()
