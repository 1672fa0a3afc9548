"""The vector index: exact up to EXACT_MAX, HNSW above; saved and loaded with its items;
refusing queries from other weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuneforge.embed import IndexInfo, VectorIndex
from tuneforge.errors import DataError, ModelError


def _unit(rng, n: int, dim: int = 16) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _items(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"q{i}" for i in range(n)], "answer": [f"a{i}" for i in range(n)]})


def _info() -> IndexInfo:
    return IndexInfo("m", "f" * 16, 0, 0, "", "text", "id", ["answer"])


def test_a_small_index_is_exact_and_answers_with_the_stored_fields():
    """Below EXACT_MAX the nearest items are the true ones, best first, with their fields."""
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 200)
    index = VectorIndex.build(vectors, _items(200), _info())
    assert index.info.kind == "exact" and index.info.count == 200 and index.info.dim == 16
    [hits] = index.search(vectors[7:8], 3)
    truth = np.argsort(-(vectors @ vectors[7]))[:3]
    assert [h.id for h in hits] == [f"q{i}" for i in truth]
    assert hits[0].id == "q7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].fields == {"answer": "a7"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_large_index_is_a_graph_with_high_recall(monkeypatch):
    """Above EXACT_MAX the index is HNSW; on clustered vectors it finds nearly every true
    neighbour."""
    monkeypatch.setattr("tuneforge.embed.index.EXACT_MAX", 100)
    rng = np.random.default_rng(1)
    centres = _unit(rng, 20)
    vectors = centres[rng.integers(0, 20, 2000)] + 0.1 * rng.standard_normal((2000, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index = VectorIndex.build(vectors, _items(2000), _info())
    assert index.info.kind == "hnsw" and index.info.params["M"] == 32
    queries = vectors[:50]
    found = index.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean(
        [len({h.id for h in f} & {f"q{i}" for i in e}) / 10 for f, e in zip(found, exact)]
    )
    assert recall >= 0.9


def test_save_and_load_give_the_same_answers(tmp_path):
    """An index read back answers as it did, with its info and items."""
    rng = np.random.default_rng(2)
    vectors = _unit(rng, 50)
    built = VectorIndex.build(vectors, _items(50), _info())
    loaded = VectorIndex.load(built.save(tmp_path / "idx"))
    assert loaded.info == built.info
    assert [h.to_dict() for h in loaded.search(vectors[:2], 4)[0]] == [
        h.to_dict() for h in built.search(vectors[:2], 4)[0]
    ]


def test_k_beyond_the_count_returns_every_item_once():
    """Asking for more neighbours than items gives each item once, no placeholders."""
    index = VectorIndex.build(_unit(np.random.default_rng(3), 4), _items(4), _info())
    [hits] = index.search(_unit(np.random.default_rng(4), 1), 10)
    assert sorted(h.id for h in hits) == ["q0", "q1", "q2", "q3"]


def test_queries_from_other_weights_are_refused_with_both_models_named():
    """Vectors of other weights live in another space: the index says which model to use."""
    index = VectorIndex.build(_unit(np.random.default_rng(5), 3), _items(3), _info())
    index.check_model("f" * 16, "m")
    with pytest.raises(ModelError, match=r"built with m .*other weights") as err:
        index.check_model("0" * 16, "run-2")
    assert "rebuild the index with run-2" in err.value.hint


def test_broken_and_missing_indexes_are_refused_by_name(tmp_path):
    """A folder without the index files, and one whose files disagree, say what is wrong."""
    with pytest.raises(DataError, match="is not a tuneforge index .missing index.json"):
        VectorIndex.load(tmp_path)
    built = VectorIndex.build(_unit(np.random.default_rng(6), 5), _items(5), _info())
    path = built.save(tmp_path / "idx")
    _items(3).to_parquet(path / "items.parquet", index=False)
    with pytest.raises(DataError, match="inconsistent: 5 vectors, 3 items"):
        VectorIndex.load(path)
    with pytest.raises(DataError, match="k must be at least 1"):
        built.search(_unit(np.random.default_rng(7), 1), 0)
