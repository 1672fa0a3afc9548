"""Semantic search: recall of the index against exact search, and the latency of /v1/similar.

1. Recall on real embeddings: the 10,003 BANKING77 training texts embedded by the packaged
   all-MiniLM-L6-v2 (``default``), 500 test texts as queries; recall@10 of FAISS HNSW (the
   shipped M and ef, and other efConstruction values) against the exact inner-product scan,
   with build time and the p50 time of one query.
2. ``/v1/similar`` through the real server (uvicorn on loopback, one client, one query at a
   time): p50 and p99 at 10k items (the real embeddings; HNSW above 2,000, as the index
   chooses) and at ``--large`` items (random unit vectors: only latency is measured there).
   The latency includes embedding the query with the served torch model.

    python bench/similar.py                 # 1M random vectors for the large index
    python bench/similar.py --large 100000  # a quicker run

Every figure printed is measured in this run.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.embed import IndexInfo, VectorIndex, open_encoder  # noqa: E402
from tuneforge.embed import index as index_module  # noqa: E402


def recall_at(found: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact)]))


def p50_ms(fn, queries) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def recall_table(vectors: np.ndarray, queries: np.ndarray) -> list[list[str]]:
    import faiss

    exact_index = faiss.IndexFlatIP(vectors.shape[1])
    exact_index.add(vectors)
    _, exact = exact_index.search(queries, 10)
    rows = [
        [
            "exact scan (IndexFlatIP)",
            "-",
            "1.000",
            f"{p50_ms(lambda q: exact_index.search(q[None], 10), queries):.3f}",
        ]
    ]
    for ef_construction in sorted({40, 100, 200, index_module.HNSW_EF_CONSTRUCTION}):
        index = faiss.IndexHNSWFlat(
            vectors.shape[1], index_module.HNSW_M, faiss.METRIC_INNER_PRODUCT
        )
        index.hnsw.efConstruction = ef_construction
        start = time.perf_counter()
        index.add(vectors)
        built = time.perf_counter() - start
        index.hnsw.efSearch = index_module.HNSW_EF_SEARCH
        _, found = index.search(queries, 10)
        shipped = " (shipped)" if ef_construction == index_module.HNSW_EF_CONSTRUCTION else ""
        rows.append(
            [
                f"HNSW M={index_module.HNSW_M} efC={ef_construction} "
                f"efS={index_module.HNSW_EF_SEARCH}{shipped}",
                f"{built:.1f}",
                f"{recall_at(found, exact):.3f}",
                f"{p50_ms(lambda q, i=index: i.search(q[None], 10), queries):.3f}",
            ]
        )
    return rows


def crossover_table(vectors: np.ndarray, queries: np.ndarray) -> list[list[str]]:
    """p50 of one query, exact scan vs the shipped graph, on growing prefixes of the vectors,
    one search thread (as the server runs them): where exact stops being the faster."""
    import faiss

    faiss.omp_set_num_threads(1)
    rows = []
    for n in (1_000, 2_000, 5_000, 10_000, len(vectors)):
        part = vectors[:n]
        exact = faiss.IndexFlatIP(part.shape[1])
        exact.add(part)
        graph = faiss.IndexHNSWFlat(part.shape[1], index_module.HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = index_module.HNSW_EF_CONSTRUCTION
        graph.add(part)
        graph.hnsw.efSearch = index_module.HNSW_EF_SEARCH
        rows.append(
            [
                f"{n:,}",
                f"{p50_ms(lambda q, i=exact: i.search(q[None], 10), queries):.3f}",
                f"{p50_ms(lambda q, i=graph: i.search(q[None], 10), queries):.3f}",
            ]
        )
    faiss.omp_set_num_threads(2)
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_latency(index_dir: Path, predictor, texts: list[str]) -> tuple[float, float]:
    """p50 and p99 ms of /v1/similar (k=10) through uvicorn on loopback, one query at a time."""
    import httpx
    import uvicorn

    from tuneforge.serve import ServeSettings, create_app

    port = free_port()
    app = create_app(predictor, ServeSettings(index=str(index_dir), port=port), {"name": "bench"})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i, text in enumerate(texts):
            start = time.perf_counter()
            r = client.post("/v1/similar", json={"inputs": [text], "k": 10})
            elapsed = 1000 * (time.perf_counter() - start)
            r.raise_for_status()
            if i >= 10:  # the first requests warm the model up
                times.append(elapsed)
    server.should_exit = True
    thread.join(10)
    import faiss

    faiss.omp_set_num_threads(2)  # the server ran single-threaded; the next build need not
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", type=int, default=1_000_000, help="items of the large index")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--requests", type=int, default=300, help="/v1/similar calls per size")
    args = parser.parse_args()

    from tuneforge.config import ModelConfig
    from tuneforge.models import load_model
    from tuneforge.predict import TorchPredictor
    from tuneforge.types import LabelMap

    train = pd.read_csv(shared_csv("banking77", "train"), dtype=str, keep_default_na=False)
    test = pd.read_csv(shared_csv("banking77", "test"), dtype=str, keep_default_na=False)
    encoder = open_encoder("default", Path("."))
    start = time.perf_counter()
    vectors = encoder.embed(train["text"].tolist())
    print(f"embedded {len(vectors)} texts in {time.perf_counter() - start:.1f} s", flush=True)
    queries = encoder.embed(test["text"].tolist()[: args.queries])
    print(f"recall@10 on BANKING77 ({len(vectors)} items, {len(queries)} queries):")
    recall = recall_table(vectors, queries)
    print_table(["index", "build s", "recall@10", "p50 ms / query"], recall)
    print("one query, one thread: exact scan vs HNSW by index size (ms):")
    print_table(["items", "exact p50", "HNSW p50"], crossover_table(vectors, queries))

    predictor = TorchPredictor(load_model(ModelConfig(name="default"), LabelMap(("a", "b"))))
    texts = (test["text"].tolist() * 2)[: args.requests + 10]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        items = train[["text", "label"]].assign(id=[str(i) for i in range(len(train))])
        info = IndexInfo("default", encoder.fingerprint, 0, 0, "", "text", "id", ["text", "label"])
        small = VectorIndex.build(vectors, items[["id", "text", "label"]], info).save(
            Path(tmp) / "small"
        )
        p50, p99 = served_latency(small, predictor, texts)
        kind = VectorIndex.load(small).info.kind
        rows.append([f"{len(vectors):,} (BANKING77, {kind})", f"{p50:.1f}", f"{p99:.1f}"])
        rng = np.random.default_rng(0)
        large = rng.standard_normal((args.large, vectors.shape[1]), dtype=np.float32)
        large /= np.linalg.norm(large, axis=1, keepdims=True)
        ids = pd.DataFrame({"id": [str(i) for i in range(args.large)]})
        info = IndexInfo("default", encoder.fingerprint, 0, 0, "", "text", "id", [])
        start = time.perf_counter()
        built = VectorIndex.build(large, ids, info)
        print(
            f"built the {args.large:,}-vector {built.info.kind} index in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
        large_dir = built.save(Path(tmp) / "large")
        del built, large
        p50, p99 = served_latency(large_dir, predictor, texts)
        rows.append([f"{args.large:,} (random, HNSW)", f"{p50:.1f}", f"{p99:.1f}"])
    print("/v1/similar, k=10, one client, query embedded by the served model:")
    print_table(["items", "p50 ms", "p99 ms"], rows)


if __name__ == "__main__":
    main()
