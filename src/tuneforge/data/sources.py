"""Labelled texts from a table (CSV, TSV, JSONL, Parquet): every row as an Example.

The file is read by its row in :mod:`tuneforge.data.readers` and the text and label columns are
found by :mod:`tuneforge.data.columns`. Reading never drops or rejects rows: deciding what is
wrong with the data is validate.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..types import Example
from .columns import as_text, resolve_columns
from .readers import detect_format, read_table

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LoadedFile:
    """The examples of one file and how they were read (kept for reports and run records)."""

    path: str
    format: str
    columns: list[str]
    text_column: str
    label_column: str
    examples: list[Example]
    n_rows: int


def loaded_from_frame(
    df: pd.DataFrame,
    path: str | Path,
    fmt: str,
    text_column: str | None = None,
    label_column: str | None = None,
) -> LoadedFile:
    """A table already read → LoadedFile (lets callers choose columns after seeing the table)."""
    text, label = resolve_columns(df, path, text_column, label_column)
    examples = [
        Example(as_text(t), as_text(y).strip(), row)
        for row, (t, y) in enumerate(zip(df[text].tolist(), df[label].tolist()), start=1)
    ]
    return LoadedFile(str(path), fmt, list(df.columns), text, label, examples, len(examples))


def load_examples(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
) -> LoadedFile:
    """Every row as an Example (row = 1-based data row); labels are stripped of whitespace."""
    return loaded_from_frame(
        read_table(path, fmt), path, detect_format(path, fmt), text_column, label_column
    )
