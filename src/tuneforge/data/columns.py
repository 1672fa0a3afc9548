"""Which column of a table holds what: texts, labels, image paths; and cells as text.

Names the user gave are checked (a typo gets the closest column suggested); names not given are
detected from common ones, so most files need no flags. pandas is imported inside the functions
that need it: importing the data package stays cheap for a command line that only needs names.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    import pandas as pd

# Auto-detection order (case-insensitive): the first name present wins.
TEXT_CANDIDATES = tuple(
    "text sentence utterance content review tweet message query question document".split()
)
LABEL_CANDIDATES = tuple("label labels intent category class target sentiment".split())
ID_CANDIDATES = ("id", "row_id", "uid", "key")
IMAGE_COLUMNS = ("image", "image_path", "path", "file", "filename", "img")


def require_column(columns: list[str], path: str | Path, column: str, flag: str) -> str:
    """``column`` when the table has it, else a DataError that suggests ``flag`` with the
    closest name."""
    if column in columns:
        return column
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.4)
    hint = f"Did you mean {flag} {close[0]}?" if close else f"Pass {flag} with one of them."
    raise DataError(f"{path}: no column '{column}'. Columns: {', '.join(columns)}.", hint=hint)


def pick_column(columns: list[str], candidates: tuple[str, ...], exclude: str | None) -> str | None:
    """The first of ``candidates`` (case-insensitive) among ``columns`` other than
    ``exclude``, or None; when two columns differ only in case the leftmost wins."""
    by_lower = {c.lower(): c for c in reversed(columns) if c != exclude}
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def prediction_text_column(
    columns: list[str], path: str | Path, given: str | None, frame: pd.DataFrame | None = None
) -> str:
    """The column to predict from, in a table whose label column is optional: ``given``
    (checked), else a common text name other than a label-like column, else (with ``frame``)
    the longest texts, else the first column that is not a label."""
    if given:
        return require_column(columns, path, given, "--text-column")
    label = pick_column(columns, LABEL_CANDIDATES, None)
    found = pick_column(columns, TEXT_CANDIDATES, label)
    if found is None and frame is not None and label is not None:
        found = _longest_text_column(frame, label)
    return found or next((c for c in columns if c != label), columns[0])


def _longest_text_column(frame: pd.DataFrame, exclude: str) -> str | None:
    """Fallback for unusual names: texts are the longest strings in a table."""
    from pandas.api.types import is_numeric_dtype

    texty = [c for c in frame.columns if c != exclude and not is_numeric_dtype(frame[c])]
    if not texty:
        return None
    return max(texty, key=lambda c: frame[c].map(as_text).str.len().mean())


def resolve_columns(
    df: pd.DataFrame,
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
) -> tuple[str, str]:
    """The (text, label) column names: as given (checked), or detected from common names."""
    columns = [str(c) for c in df.columns]
    text = require_column(columns, path, text_column, "--text-column") if text_column else None
    label = require_column(columns, path, label_column, "--label-column") if label_column else None
    if text is not None and text == label:
        raise DataError(
            f"{path}: the text and label columns are both '{text}'.",
            hint="Pass different --text-column and --label-column.",
        )
    label = label or pick_column(columns, LABEL_CANDIDATES, text)
    if label is None:
        raise DataError(
            f"{path}: cannot tell which column holds the labels. Columns: {', '.join(columns)}.",
            hint="Pass --label-column NAME.",
        )
    text = text or pick_column(columns, TEXT_CANDIDATES, label) or _longest_text_column(df, label)
    if text is None:
        raise DataError(
            f"{path}: no text column besides the label column '{label}'. "
            f"Columns: {', '.join(columns)}.",
            hint="Pass --text-column NAME.",
        )
    return text, label


def as_text(value: object) -> str:
    """Cell → str: missing → "", 3.0 → "3" (JSON/Parquet integer labels often arrive as floats)."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


MISSING_VALUE = "(missing)"  # how an empty cell of a slice column is grouped


def slice_values(
    df: pd.DataFrame, path: str | Path, columns: Sequence[str]
) -> list[dict[str, str]]:
    """Per row, the cells of ``columns`` as text (an empty cell is ``(missing)``), so
    evaluation can group examples by them. A column the table lacks, or one with no value in
    any row, is a DataError naming the column and the table's columns."""
    names = [str(c) for c in df.columns]
    cells: dict[str, list[str]] = {}
    for column in columns:
        require_column(names, path, column, "--slice")
        values = [as_text(v).strip() for v in df[column].tolist()]
        if not any(values):
            raise DataError(
                f"{path}: slice column '{column}' is empty (no row has a value). "
                f"Columns: {', '.join(names)}.",
                hint="Fill it in, or slice by another column.",
            )
        cells[column] = [v or MISSING_VALUE for v in values]
    return [{c: cells[c][i] for c in columns} for i in range(len(df))]
