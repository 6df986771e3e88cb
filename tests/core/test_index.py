import numpy as np

from app.core.store.catalog import Catalog, FileRecord
from app.core.store.index import VectorIndex


def _catalog_with_vectors(tmp_path, n=50, dim=16, model="m/1"):
    cat = Catalog(tmp_path / "c.sqlite3")
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with cat.transaction() as db:
        cat.put_files(db, [FileRecord(None, f"/p/{i}.jpg", f"fp{i}", 1, 1.0) for i in range(n)])
        cat.put_embeddings(db, model, [(f"fp{i}", vecs[i]) for i in range(n)])
    return cat, vecs


def test_search_ranks_by_inner_product(tmp_path):
    cat, vecs = _catalog_with_vectors(tmp_path)
    index = VectorIndex.build(cat, "m/1")
    ids, scores = index.search(vecs[7])
    assert len(ids) == 50 and cat.paths([int(ids[0])])[int(ids[0])] == "/p/7.jpg"
    assert scores[0] > 0.99 and np.all(np.diff(scores) <= 1e-6)


def test_remove_and_readd(tmp_path):
    cat, vecs = _catalog_with_vectors(tmp_path)
    index = VectorIndex.build(cat, "m/1")
    first = int(index.search(vecs[3], 1)[0][0])
    index.remove([first])
    assert first not in index.search(vecs[3])[0]
    index.add(np.array([first]), vecs[3:4])
    index.add(np.array([first]), vecs[3:4])  # replacing, not duplicating
    assert len(index) == 50


def test_saved_index_is_reused_only_while_the_catalog_is_unchanged(tmp_path):
    cat, vecs = _catalog_with_vectors(tmp_path)
    index = VectorIndex.open(cat, tmp_path / "idx", "m/1")
    gen = cat.generation()
    assert VectorIndex.load(tmp_path / "idx", "m/1", gen) is not None
    assert VectorIndex.load(tmp_path / "idx", "other/model", gen) is None
    with cat.transaction() as db:
        cat.delete_files(db, [1])
    assert VectorIndex.load(tmp_path / "idx", "m/1", cat.generation()) is None  # stale
    rebuilt = VectorIndex.open(cat, tmp_path / "idx", "m/1")
    assert len(rebuilt) == 49 and len(index) == 50


def test_damaged_index_file_is_rebuilt(tmp_path):
    cat, vecs = _catalog_with_vectors(tmp_path)
    VectorIndex.open(cat, tmp_path / "idx", "m/1")
    data, _ = VectorIndex.paths(tmp_path / "idx", "m/1")
    raw = bytearray(data.read_bytes())
    raw[100:200] = b"\xff" * 100
    data.write_bytes(bytes(raw[: len(raw) // 2]))
    assert VectorIndex.load(tmp_path / "idx", "m/1", cat.generation()) is None
    assert len(VectorIndex.open(cat, tmp_path / "idx", "m/1")) == 50


def test_an_index_file_scrambled_inside_is_caught_and_rebuilt(tmp_path):
    """Same size, same record, a readable file: only its vectors are wrong. It is not trusted."""
    import faiss

    cat, vecs = _catalog_with_vectors(tmp_path)
    VectorIndex.open(cat, tmp_path / "idx", "m/1")
    data, _ = VectorIndex.paths(tmp_path / "idx", "m/1")
    size = data.stat().st_size
    raw = faiss.read_index(str(data))
    flat = faiss.downcast_index(faiss.downcast_index(raw).index)
    stored = faiss.rev_swig_ptr(flat.get_xb(), raw.ntotal * raw.d)
    stored[:] = np.random.default_rng(1).permutation(stored)  # the body scrambled in place
    faiss.write_index(raw, str(data))
    assert data.stat().st_size == size
    loaded = VectorIndex.load(tmp_path / "idx", "m/1", cat.generation())
    assert loaded is not None and not loaded.agrees_with(cat, "m/1")  # the record alone vouches for it
    reopened = VectorIndex.open(cat, tmp_path / "idx", "m/1")
    assert reopened.agrees_with(cat, "m/1") and len(reopened) == 50
    ids, _ = reopened.search(vecs[7], 1)
    assert cat.paths([int(ids[0])])[int(ids[0])] == "/p/7.jpg"
    assert VectorIndex.load(tmp_path / "idx", "m/1", cat.generation()).agrees_with(cat, "m/1")  # saved again


def test_an_untouched_index_agrees_with_its_catalog_after_changes(tmp_path):
    cat, vecs = _catalog_with_vectors(tmp_path)
    index = VectorIndex.open(cat, tmp_path / "idx", "m/1")
    with cat.transaction() as db:
        cat.put_files(db, [FileRecord(None, "/p/skipped.png", "fp-x", 1, 1.0, "skipped", "truncated")])
        cat.delete_files(db, [3])
    index.remove([3])
    assert index.agrees_with(cat, "m/1", sample=500)


def _clustered(n, dim=32, clusters=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vecs = centres[rng.integers(clusters, size=n)] + rng.normal(size=(n, dim)) * 0.4
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32)


def test_exact_index_ranks_every_photo_like_brute_force():
    vecs = _clustered(3000)
    ids = np.arange(3000, dtype=np.int64) * 7 + 5
    index = VectorIndex.from_vectors(ids, vecs)
    assert index.kind == "flat"
    q = vecs[10] + 0.3 * vecs[20]
    got, scores = index.search(q)
    want = ids[np.argsort(-(vecs @ q), kind="stable")]
    assert len(got) == 3000 and np.array_equal(got, want)
    top, _ = index.search(q, 500)  # partial ranking agrees with the full one
    assert np.array_equal(top, want[:500])


def test_large_library_switches_to_an_approximate_index_and_back(tmp_path, monkeypatch):
    from app.core.store import index as index_module

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 2000)
    monkeypatch.setattr(index_module, "FLAT_AGAIN_BELOW", 1500)
    vecs = _clustered(4000)
    ids = np.arange(4000, dtype=np.int64) + 1
    small = VectorIndex.from_vectors(ids[:1000], vecs[:1000])
    assert small.kind == "flat" and not small.needs_rebuild()
    small.add(ids[1000:], vecs[1000:])
    assert small.needs_rebuild() and small.wanted_kind() == "ivf"

    big = VectorIndex.from_vectors(ids, vecs)
    assert big.kind == "ivf" and 1 <= big.nprobe <= 64
    recalls = []
    for q in vecs[:40]:  # photo-to-photo queries: the approximate top 100 nearly equals the exact one
        exact = set(ids[np.argsort(-(vecs @ q))[:100]].tolist())
        recalls.append(len(exact & set(big.search(q, 100)[0].tolist())) / 100)
    assert np.mean(recalls) >= 0.95
    got, _ = big.search(vecs[3])
    assert got[0] == ids[3] and len(got) == min(4000, index_module.APPROX_RESULTS)

    # removals, replacements and reading vectors back work on the approximate index too
    big.remove([ids[3]])
    assert ids[3] not in big.search(vecs[3], 50)[0] and big.vector(int(ids[3])) is None
    big.add(ids[3:4], vecs[3:4])
    assert big.search(vecs[3], 1)[0][0] == ids[3] and len(big) == 4000
    assert np.allclose(big.vector(int(ids[4])), vecs[4], atol=1e-3)
    assert sorted(big.ids().tolist()) == ids.tolist()

    # it survives a save and load with its tuning
    big.save(tmp_path, "m/1", 7)
    loaded = VectorIndex.load(tmp_path, "m/1", 7)
    assert loaded.kind == "ivf" and loaded.nprobe == big.nprobe
    assert np.array_equal(loaded.search(vecs[9], 20)[0], big.search(vecs[9], 20)[0])

    big.remove(ids[1200:])  # shrinks below the hysteresis floor: back to exact
    assert big.wanted_kind() == "flat"


def test_a_rebuild_catches_up_with_changes_made_while_it_ran():
    vecs = _clustered(500)
    ids = np.arange(500, dtype=np.int64) + 1
    old = VectorIndex.from_vectors(ids, vecs)
    old.start_tracking()
    new = VectorIndex.from_vectors(ids, vecs)  # built from a snapshot...
    old.remove([1, 2])  # ...while the library changed
    old.add(np.array([999]), vecs[:1])
    new.catch_up(old)
    assert sorted(new.ids().tolist()) == sorted(old.ids().tolist())


def test_the_tuned_approximate_index_finds_the_neighbours_of_text_like_and_photo_like_queries(monkeypatch):
    from app.core.store import index as index_module

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 2000)
    vecs = _clustered(20_000, dim=64, clusters=60)
    ids = np.arange(20_000, dtype=np.int64) + 1
    big = VectorIndex.from_vectors(ids, vecs)
    assert big.kind == "ivf"
    rng = np.random.default_rng(7)  # other probes than the tuning's
    for kind in ("text", "photo"):
        recalls = []
        for q in index_module.probe_queries(vecs, 50, kind, rng):
            exact = set(ids[np.argsort(-(vecs @ q))[:100]].tolist())
            recalls.append(len(exact & set(big.search(q, 100)[0].tolist())) / 100)
        assert np.mean(recalls) >= 0.95, kind
