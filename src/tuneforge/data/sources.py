"""Labelled texts from a table (CSV, TSV, JSONL, Parquet): every row as an Example.

The file is read by its row in :mod:`tuneforge.data.readers` and the text and label columns are
found by :mod:`tuneforge.data.columns`. Reading never drops or rejects rows: deciding what is
wrong with the data is validate.py's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..types import Example
from .columns import as_text, resolve_columns, slice_values
from .readers import TableFile, read_table_file, refuse_duplicate_columns

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LoadedFile:
    """The examples of one file and how they were read (kept for reports and run records):
    a CSV/TSV's field separator, and the column names its header repeats (see TableFile)."""

    path: str
    format: str
    columns: list[str]
    text_column: str
    label_column: str
    examples: list[Example]
    n_rows: int
    delimiter: str | None = None
    delimiter_note: str = ""
    duplicate_columns: dict[str, tuple[int, ...]] = field(default_factory=dict)


def loaded_from_frame(
    df: pd.DataFrame,
    path: str | Path,
    fmt: str,
    text_column: str | None = None,
    label_column: str | None = None,
    slice_columns: Sequence[str] = (),
) -> LoadedFile:
    """A table already read → LoadedFile (lets callers choose columns after seeing the table).
    ``slice_columns`` are read into each example's ``meta`` (see :func:`slice_values`)."""
    text, label = resolve_columns(df, path, text_column, label_column)
    metas = slice_values(df, path, slice_columns) if slice_columns else [{}] * len(df)
    examples = [
        Example(as_text(t), as_text(y).strip(), row, dict(meta))
        for row, (t, y, meta) in enumerate(
            zip(df[text].tolist(), df[label].tolist(), metas), start=1
        )
    ]
    return LoadedFile(str(path), fmt, list(df.columns), text, label, examples, len(examples))


def loaded_from_table(
    table: TableFile,
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    slice_columns: Sequence[str] = (),
) -> LoadedFile:
    """A table file as read → LoadedFile, keeping how it was read; repeated column names are
    kept for the check to report (``load_examples`` refuses them), and listed as written."""
    loaded = loaded_from_frame(
        table.frame, path, table.format, text_column, label_column, slice_columns
    )
    return replace(
        loaded,
        columns=list(table.header) if table.duplicates else loaded.columns,
        delimiter=table.delimiter,
        delimiter_note=table.delimiter_note,
        duplicate_columns=dict(table.duplicates),
    )


def load_examples(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
    slice_columns: Sequence[str] = (),
) -> LoadedFile:
    """Every row as an Example (row = 1-based data row); labels are stripped of whitespace.
    A header that names a column twice is refused: which of the two would be read is a guess.
    ``delimiter`` forces a CSV/TSV's field separator (a CSV's is detected otherwise);
    ``slice_columns`` are read into each example's ``meta``."""
    table = read_table_file(path, fmt, delimiter=delimiter)
    refuse_duplicate_columns(table, path)
    return loaded_from_table(table, path, text_column, label_column, slice_columns)
