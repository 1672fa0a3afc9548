"""Read labelled tables (CSV, TSV, JSONL, Parquet) into Examples, with errors that name the spot."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..types import Example

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
TEXT_CANDIDATES = (
    "text",
    "sentence",
    "utterance",
    "content",
    "review",
    "tweet",
    "message",
    "query",
    "question",
    "document",
)
LABEL_CANDIDATES = ("label", "labels", "intent", "category", "class", "target", "sentiment")


@dataclass(frozen=True)
class LoadedFile:
    """The examples of one file and how they were read."""

    path: str
    format: str
    columns: list[str]
    text_column: str
    label_column: str
    examples: list[Example]
    n_rows: int


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The format from ``fmt`` or the extension (``.gz`` allowed after it)."""
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise DataError(f"Unknown format '{fmt}'. Use one of: csv, tsv, jsonl, parquet.")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]]
    raise DataError(
        f"{path}: cannot tell the format from the extension "
        f"'{''.join(Path(path).suffixes) or '(none)'}'. Supported: .csv, .tsv, .jsonl, .parquet "
        "(optionally .gz).",
        hint="Rename the file or pass --format csv|tsv|jsonl|parquet.",
    )


def _missing_file(path: Path) -> DataError:
    folder = path.parent if str(path.parent) else Path(".")
    hint = None
    if folder.is_dir():
        names = [p.name for p in folder.iterdir() if p.is_file()]
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
        if close:
            hint = f"Did you mean '{folder / close[0]}'?"
    return DataError(f"Data file '{path}' does not exist.", hint=hint or "Check the path.")


def _bad_bytes_row(path: Path) -> tuple[int, int]:
    """(line number, data row) of the first line that is not valid UTF-8."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number, number - 1
    return 0, 0


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """All columns of a table; CSV/TSV cells stay strings ("NA" is text, empty is "")."""
    path = Path(path)
    if not path.exists():
        raise _missing_file(path)
    if path.is_dir():
        raise DataError(f"'{path}' is a directory; pass a data file (CSV, TSV, JSONL, Parquet).")
    kind = detect_format(path, fmt)
    try:
        if kind in ("csv", "tsv"):
            frame = pd.read_csv(
                path,
                sep="," if kind == "csv" else "\t",
                dtype=str,
                keep_default_na=False,
                encoding="utf-8",
            )
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError:
        line, row = _bad_bytes_row(path)
        where = f"line {line} (data row {row})" if kind in ("csv", "tsv", "jsonl") else "the file"
        raise DataError(
            f"{path}: bytes that are not UTF-8 at {where}.",
            hint="Re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or fix that row.",
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty: it has no header and no rows.") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(
            f"{path} could not be parsed as {kind}: {exc}",
            hint="Check the quoting and the number of fields on that line, or pass --format.",
        ) from None
    except Exception as exc:  # parquet/arrow raise their own types for corrupt files
        raise DataError(f"{path} could not be read as {kind}: {exc}") from None
    if len(frame) == 0:
        raise DataError(
            f"{path} has no data rows (columns: {', '.join(map(str, frame.columns)) or 'none'}).",
            hint="Add labelled rows below the header.",
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _pick(columns: list[str], candidates: tuple[str, ...], exclude: str | None) -> str | None:
    lower = {c.lower(): c for c in columns if c != exclude}
    return next((lower[c] for c in candidates if c in lower), None)


def _require(frame: pd.DataFrame, path, column: str, flag: str) -> str:
    if column in frame.columns:
        return column
    columns = list(frame.columns)
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.4)
    hint = f"Did you mean {flag} {close[0]}?" if close else f"Pass {flag} with one of them."
    raise DataError(f"{path}: no column '{column}'. Columns: {', '.join(columns)}.", hint=hint)


def resolve_columns(
    frame: pd.DataFrame, path, text_column: str | None = None, label_column: str | None = None
) -> tuple[str, str]:
    """The (text, label) columns: as given (checked), or detected from common names."""
    columns = list(frame.columns)
    label = (
        _require(frame, path, label_column, "--label-column")
        if label_column
        else _pick(columns, LABEL_CANDIDATES, None)
    )
    if label is None:
        raise DataError(
            f"{path}: cannot tell which column holds the labels. Columns: {', '.join(columns)}.",
            hint="Pass --label-column NAME.",
        )
    if text_column:
        return _require(frame, path, text_column, "--text-column"), label
    text = _pick(columns, TEXT_CANDIDATES, label)
    if text is None:
        others = [c for c in columns if c != label and frame[c].dtype == object]
        if not others:
            raise DataError(
                f"{path}: no text column found. Columns: {', '.join(columns)}.",
                hint="Pass --text-column NAME.",
            )
        text = max(others, key=lambda c: frame[c].astype(str).str.len().mean())
    return text, label


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value)


def load_examples(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
) -> LoadedFile:
    """Every row as an Example (row numbers from 1); validation is separate (validate.py)."""
    frame = read_table(path, fmt)
    text, label = resolve_columns(frame, path, text_column, label_column)
    examples = [
        Example(_as_text(t), _as_text(y).strip(), row)
        for row, (t, y) in enumerate(zip(frame[text].tolist(), frame[label].tolist()), start=1)
    ]
    return LoadedFile(
        str(path),
        detect_format(path, fmt),
        list(frame.columns),
        text,
        label,
        examples,
        len(examples),
    )
