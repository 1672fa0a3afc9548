"""A vector index over unit embeddings, searched by inner product (= cosine similarity).

FAISS is the engine (faiss-cpu). Side by side on 100k random 384-d unit vectors on the 2 cores
(one script, other work sharing them), its HNSW graph built 2.7x faster than USearch's (27 s vs
73 s, both M=16, ef 128/64) and answered a query in a third of the time (0.36 vs 1.0 ms) at the
same recall; hnswlib's last release (2023) ships no wheel for this Python. Up to ``EXACT_MAX``
vectors the index is an exact scan (``IndexFlatIP``), which never misses; above, the graph.
Measured alone on BANKING77's MiniLM embeddings with one search thread (``bench/similar.py``):
exact 0.023 ms vs graph 0.036 ms at 1k vectors, even at 2k, and the graph 2.4x faster at 5k
and 3.3x at 10k, with recall@10 1.000 against the exact scan.

On disk an index is a directory: ``index.faiss`` (FAISS's own format, no pickles),
``items.parquet`` (each vector's id, text and stored fields, in vector order) and
``index.json`` (:class:`IndexInfo`: the model and weights that made the vectors, the kind and
parameters). A query must be embedded by the same weights: :meth:`VectorIndex.check_model`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, ModelError

EXACT_MAX = 2_000  # up to this many vectors the index is an exact scan (measured crossover)
HNSW_M = 32  # graph neighbours per vector
HNSW_EF_CONSTRUCTION = 100  # recall@10 1.000 on BANKING77 embeddings, as 200, at half the build
HNSW_EF_SEARCH = 128  # candidates per query; raises recall at some latency
INFO_FILE, VECTORS_FILE, ITEMS_FILE = "index.json", "index.faiss", "items.parquet"


@dataclass
class IndexInfo:
    """What an index holds and which weights made it."""

    model: str  # the model reference it was built with (run id, NAME@stage, default)
    fingerprint: str  # SHA-256 prefix of those weights
    dim: int
    count: int
    kind: str  # exact | hnsw
    text_column: str
    id_column: str
    fields: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    source: str = ""
    created: str = ""


@dataclass(frozen=True)
class Hit:
    """One neighbour: its id, cosine similarity, and the fields stored with it."""

    id: str
    score: float
    fields: dict[str, Any]

    def to_dict(self) -> dict:
        return {"id": self.id, "score": round(self.score, 6), "fields": self.fields}


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelError("The vector index needs faiss-cpu: pip install faiss-cpu.") from exc
    return faiss


def _new_index(dim: int, count: int):
    faiss = _faiss()
    if count <= EXACT_MAX:
        return faiss.IndexFlatIP(dim), "exact", {}
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    params = {"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
    return index, "hnsw", params


class VectorIndex:
    """Unit vectors with their items; :meth:`build`, :meth:`save`, :meth:`load`, :meth:`search`."""

    def __init__(self, index, items, info: IndexInfo) -> None:
        self.index = index
        self.items = items  # pandas DataFrame, one row per vector
        self.info = info
        self._ids = [str(v) for v in items[info.id_column].tolist()]
        self._records = items[info.fields].to_dict("records") if info.fields else None

    @classmethod
    def build(cls, vectors: np.ndarray, items, info: IndexInfo) -> VectorIndex:
        """Index ``vectors`` (unit rows, float32) for ``items`` (their rows, same order)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(items) or len(vectors) == 0:
            raise DataError(f"Nothing to index: {len(vectors)} vectors for {len(items)} items.")
        index, kind, params = _new_index(vectors.shape[1], len(vectors))
        index.add(vectors)
        info.kind, info.params, info.count, info.dim = kind, params, len(vectors), vectors.shape[1]
        info.created = info.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(index, items.reset_index(drop=True), info)

    def save(self, directory: Path) -> Path:
        """Write the three files beside each other; an existing index there is replaced."""
        directory.mkdir(parents=True, exist_ok=True)
        _faiss().write_index(self.index, str(directory / VECTORS_FILE))
        self.items.to_parquet(directory / ITEMS_FILE, index=False)
        text = json.dumps(asdict(self.info), indent=1, ensure_ascii=False)
        (directory / INFO_FILE).write_text(text, encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """An index saved by :meth:`save`, or a DataError saying what is missing."""
        import pandas as pd

        directory = Path(directory)
        files = (INFO_FILE, VECTORS_FILE, ITEMS_FILE)
        missing = [n for n in files if not (directory / n).is_file()]
        if missing:
            raise DataError(
                f"{directory} is not a tuneforge index (missing {', '.join(missing)}).",
                hint="Build one: tuneforge index build FILE --model RUN --output DIR",
            )
        try:
            info = IndexInfo(**json.loads((directory / INFO_FILE).read_text(encoding="utf-8")))
            index = _faiss().read_index(str(directory / VECTORS_FILE))
            items = pd.read_parquet(directory / ITEMS_FILE)
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise DataError(f"Index {directory} cannot be read: {exc}") from None
        if index.ntotal != len(items) or index.ntotal != info.count:
            raise DataError(
                f"Index {directory} is inconsistent: {index.ntotal} vectors, {len(items)} "
                f"items, {info.count} recorded.",
                hint="Build it again.",
            )
        return cls(index, items, info)

    def check_model(self, fingerprint: str, model: str) -> None:
        """Refuse queries embedded by other weights than the index's: their vectors live in
        another space, and the neighbours would be meaningless."""
        if fingerprint != self.info.fingerprint:
            raise ModelError(
                f"The index was built with {self.info.model} (weights {self.info.fingerprint}); "
                f"{model} has other weights ({fingerprint}): its vectors cannot be compared.",
                hint=f"Query with {self.info.model}, or rebuild the index with {model}.",
            )

    @staticmethod
    def single_threaded() -> None:
        """One search thread per process: a server answers one query per request, and FAISS's
        OpenMP threads on few shared cores only add waiting (a 20k exact scan measured 0.9 ms
        on one thread, 32 ms on two beside other work)."""
        _faiss().omp_set_num_threads(1)

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """The ``k`` nearest items of each query (unit rows), best first."""
        if k < 1:
            raise DataError(f"k must be at least 1, got {k}.")
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        scores, positions = self.index.search(queries, min(k, self.info.count))
        return [
            [
                Hit(self._ids[p], float(s), self._records[p] if self._records else {})
                for s, p in zip(row_scores, row_positions)
                if p >= 0
            ]
            for row_scores, row_positions in zip(scores, positions)
        ]
