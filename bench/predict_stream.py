"""Batch prediction of a file bigger than memory: peak RSS and rows/s, streamed vs in memory.

Trains a small BANKING77 intent model (a 2-layer, 64-wide BERT with the packaged tokenizer, so
that millions of rows take minutes, not hours: what is measured here is the file path around
the model, not the encoder), registers its int8 ONNX variant, writes a synthetic Parquet file of
``--rows`` tickets (BANKING77 test texts with words shuffled, an id column), then measures in
fresh processes, RSS sampled every 0.1 s:

- ``tuneforge predict MODEL --input big.parquet --output preds.parquet`` over all rows;
- on the first ``--compare-rows`` rows: the same streamed command beside the in-memory batch
  path (the whole table read, predicted in one call, written at once), so the throughput ratio
  compares like with like.

    python bench/predict_stream.py                       # 5,000,000 rows, compare 500,000
    python bench/predict_stream.py --rows 200000 --compare-rows 50000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

IN_MEMORY = """
import sys, time, json
from pathlib import Path
import pandas as pd
from tuneforge.recipes.predict import predict_run
start = time.perf_counter()
texts, predictions, _ = predict_run(
    sys.argv[1], Path(sys.argv[2]), [], sys.argv[3], log=lambda m: None
)
rows = [{"id": i, "text": t, **p.as_dict()} for i, (t, p) in enumerate(zip(texts, predictions))]
pd.DataFrame(rows).to_parquet(sys.argv[4])
print(json.dumps({"seconds": time.perf_counter() - start, "rows": len(rows)}))
"""


def measured(argv: list[str], env: dict) -> dict:
    """Run ``argv``; its wall time and the peak RSS of it and its children."""
    import psutil

    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            rss = watched.memory_info().rss
            rss += sum(c.memory_info().rss for c in watched.children(recursive=True))
            peak = max(peak, rss)
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.1)
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{err.decode()[-2000:]}")
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak / 2**20, "out": out}


def write_big_file(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` tickets in row groups of 100k, written group by group (bounded memory)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = pd.read_csv(shared_csv("banking77", "test"), dtype=str)["text"].tolist()
    words = [t.split() for t in texts]
    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        picks = rng.integers(0, len(words), n)
        batch = []
        for p in picks:
            w = list(words[p])
            rng.shuffle(w)
            batch.append(" ".join(w))
        table = pa.table({"id": [f"T{start + i}" for i in range(n)], "text": batch})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def train_model(root: Path, runs: Path) -> str:
    """The small model, its int8 ONNX variant registered as ``stream@production``."""
    from tuneforge.cli import main
    from tuneforge.models.tiny import build_tiny_model_dir

    model = build_tiny_model_dir(root / "tiny")
    data = shared_csv("banking77", "train")
    common = ["--runs-dir", str(runs)]
    train = ["train", str(data), "--model", str(model), "--name", "stream", "--no-progress"]
    assert main([*train, "train.epochs=2", *common]) == 0
    assert main(["compress", "stream", "--variants", "onnx-int8-dynamic", *common]) == 0
    promote = ["registry", "promote", "stream:onnx-int8-dynamic", "--name", "stream"]
    assert main([*promote, "--stage", "production", *common]) == 0
    return "stream@production"


def rows_per_second(result: dict, rows: int) -> float:
    return rows / result["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--compare-rows", type=int, default=500_000)
    parser.add_argument("--keep", help="folder to keep the files in (default: a temporary one)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="tf-stream-"))
    root.mkdir(parents=True, exist_ok=True)
    runs = root / "runs"
    env = {**os.environ, "TUNEFORGE_RUNS_DIR": str(runs)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    model = train_model(root, runs)
    big, small = root / "big.parquet", root / "small.parquet"
    started = time.perf_counter()
    write_big_file(big, args.rows)
    write_big_file(small, args.compare_rows)
    print(f"inputs written in {time.perf_counter() - started:.0f} s", flush=True)

    cli = [sys.executable, "-m", "tuneforge", "predict", model, "--runs-dir", str(runs)]
    results = []
    for name, source, rows in (("compare", small, args.compare_rows), ("all", big, args.rows)):
        out = root / f"streamed-{name}.parquet"
        streamed = measured([*cli, "--input", str(source), "--output", str(out)], env)
        results.append((f"streamed, {rows:,} rows", rows, streamed))
        if name == "compare":
            script = [sys.executable, "-c", IN_MEMORY, model, str(runs), str(source)]
            memory = measured([*script, str(root / "in-memory.parquet")], env)
            results.append((f"in memory, {rows:,} rows", rows, memory))
    table = [
        [name, f"{rows_per_second(r, rows):,.0f}", f"{r['seconds']:.1f}", f"{r['peak_rss_mb']:.0f}"]
        for name, rows, r in results
    ]
    print_table(["path", "rows/s", "seconds", "peak RSS MB"], table)
    streamed_rate = rows_per_second(results[0][2], args.compare_rows)
    memory_rate = rows_per_second(results[1][2], args.compare_rows)
    summary = {
        "rows": args.rows,
        "compare_rows": args.compare_rows,
        "streamed_vs_in_memory": streamed_rate / memory_rate,
        "peak_rss_mb_all": results[2][2]["peak_rss_mb"],
        "rows_per_s_all": rows_per_second(results[2][2], args.rows),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
