import numpy as np

from app.core.catalog import Catalog, FileRecord
from app.core.index import VectorIndex


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
