"""Shared helpers for the benchmark scripts: data from ../shared/data, tables, timing."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pandas as pd

SHARED = Path(os.environ.get("TUNEFORGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def shared_csv(dataset: str, split: str) -> Path:
    path = SHARED / "data" / dataset / f"{split}.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: benchmarks read ../shared/data (or $TUNEFORGE_SHARED)")
    return path


def read_split(dataset: str, split: str) -> tuple[list[str], list[str]]:
    frame = pd.read_csv(shared_csv(dataset, split), dtype=str, keep_default_na=False)
    return frame["text"].tolist(), frame["label"].tolist()


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def print_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    text = "\n".join(lines)
    print(text, flush=True)
    return text
