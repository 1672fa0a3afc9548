"""Read labelled tables (CSV, TSV, JSONL, Parquet) into Examples.

Every failure is a DataError that names the file (and the line, row or column where one is
known) and says what to do, because a user with a broken file cannot act on a pandas traceback.
Reading never drops or rejects rows: deciding what is wrong with the data is validate.py's job.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

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
SUPPORTED = (
    "csv (.csv), tsv (.tsv, .tab), jsonl (.jsonl, .ndjson, .json with one object per line), "
    "parquet (.parquet, .pq); csv, tsv and jsonl may be gzipped (.csv.gz, .tsv.gz, .jsonl.gz)"
)
# Auto-detection order (case-insensitive): the first name present wins.
TEXT_CANDIDATES = tuple(
    "text sentence utterance content review tweet message query question document".split()
)
LABEL_CANDIDATES = tuple("label labels intent category class target sentiment".split())


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


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """csv | tsv | jsonl | parquet, from ``fmt`` (which wins) or the file extension."""
    if fmt:
        kind = FORMATS.get("." + fmt.lower().lstrip("."))
        if kind is None:
            raise DataError(f"Unknown format '{fmt}' for {path}. Supported: {SUPPORTED}.")
        return kind
    suffixes = [s.lower() for s in Path(path).suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2 if gzipped else -1] if len(suffixes) > gzipped else ""
    kind = FORMATS.get(ext)
    if kind is None or (gzipped and kind == "parquet"):
        raise DataError(
            f"{path}: cannot tell the format from the extension "
            f"'{''.join(Path(path).suffixes) or '(none)'}'. Supported: {SUPPORTED}.",
            hint="Rename the file, or pass --format csv|tsv|jsonl|parquet.",
        )
    return kind


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _missing_file(path: Path) -> DataError:
    folder = path.parent
    if not folder.is_dir():
        return DataError(f"Data file '{path}' does not exist (nor does its folder '{folder}').")
    names = [p.name for p in folder.iterdir() if p.is_file()]
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    hint = f"Did you mean '{folder / close[0]}'?" if close else "Check the path and file name."
    return DataError(f"Data file '{path}' does not exist.", hint=hint)


def _undecodable(path: Path, kind: str) -> DataError:
    """Find the first line that is not UTF-8 ourselves: pandas' message has no line number."""
    lines: list[str] = []
    with _open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                lines.append(raw.decode("utf-8", errors="replace"))
                bad = f"byte 0x{raw[exc.start]:02x} at line {number}"
                break
        else:
            bad, number = "somewhere in the file", 0
    if number and kind in ("csv", "tsv"):
        # A quoted cell may span lines: count the records up to the bad line, minus the header.
        records = csv.reader(io.StringIO("".join(lines)), delimiter="," if kind == "csv" else "\t")
        try:
            row = sum(1 for _ in records) - 1
        except csv.Error:
            row = number - 1
        bad += f" (data row {row})" if row > 0 else " (the header)"
    elif number and kind == "jsonl":
        bad += f" (data row {sum(1 for line in lines if line.strip())})"
    return DataError(
        f"{path} is not valid UTF-8: {bad}.",
        hint="Re-save the file as UTF-8 (e.g. Excel 'CSV UTF-8', or "
        "iconv -f cp1252 -t utf-8 OLD > NEW), or fix that row.",
    )


def _bad_json_line(path: Path) -> str:
    """pandas says 'Expected object or value' without a line; json.loads per line finds it."""
    with _open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.strip():
                try:
                    if not isinstance(json.loads(raw), dict):
                        return f"line {number} is not a JSON object"
                except ValueError as exc:
                    return f"line {number}: {exc}"
    return ""


def _malformed(path: Path, kind: str, exc: Exception) -> DataError:
    detail = (_bad_json_line(path) if kind == "jsonl" else "") or str(exc).strip()
    hints = {
        "csv": "Check the quoting and the number of fields on that line (a text with commas "
        "must be in double quotes), or pass --format if the file is not CSV.",
        "tsv": "Check the number of tabs on that line, or pass --format if it is not TSV.",
        "jsonl": 'Each line must be one JSON object, e.g. {"text": "...", "label": "..."}; '
        "convert a JSON array file to JSON Lines.",
        "parquet": "Re-export the file (it may be truncated), or pass --format if it is not "
        "Parquet.",
    }
    detail = detail.rstrip(".")
    return DataError(f"{path} could not be parsed as {kind}: {detail}.", hint=hints[kind])


def _read(path: Path, kind: str) -> pd.DataFrame:
    if kind in ("csv", "tsv"):
        # dtype=str + keep_default_na=False: "NA"/"null" are texts and empty cells are "".
        frame = pd.read_csv(
            path,
            sep="," if kind == "csv" else "\t",
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
        )
        if not isinstance(frame.index, pd.RangeIndex):  # pandas made extra fields an index
            raise ValueError(f"line 2 has more fields than the {len(frame.columns)}-column header")
        return frame
    if kind == "jsonl":
        frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8-sig")
        if not all(isinstance(c, str) for c in frame.columns):  # lines that are arrays
            raise ValueError("the lines are not JSON objects")
        return frame
    return pd.read_parquet(path)


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """All columns of a data file with at least one row, or a DataError that says what to fix."""
    path = Path(path)
    if not path.exists():
        raise _missing_file(path)
    if path.is_dir():
        raise DataError(
            f"'{path}' is a directory; pass a data file ({SUPPORTED}).",
            hint="Point at a file inside it.",
        )
    kind = detect_format(path, fmt)
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes).", hint="Pass a file with a header and rows.")
    try:
        frame = _read(path, kind)
    except UnicodeDecodeError:
        raise _undecodable(path, kind) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty: no header and no rows.") from None
    except (ValueError, OSError) as exc:  # ParserError, JSON and Arrow errors, bad gzip data
        raise _malformed(path, kind, exc) from None
    if len(frame) == 0:
        columns = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(
            f"{path} has no data rows (columns: {columns}).",
            hint="Add labelled rows below the header, or check that this is the right file.",
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _require(columns: list[str], path: str | Path, column: str, flag: str) -> str:
    if column in columns:
        return column
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.4)
    hint = f"Did you mean {flag} {close[0]}?" if close else f"Pass {flag} with one of them."
    raise DataError(f"{path}: no column '{column}'. Columns: {', '.join(columns)}.", hint=hint)


def _pick(columns: list[str], candidates: tuple[str, ...], exclude: str | None) -> str | None:
    by_lower = {c.lower(): c for c in reversed(columns) if c != exclude}
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def _longest_text_column(frame: pd.DataFrame, exclude: str) -> str | None:
    """Fallback for unusual names: texts are the longest strings in a table."""
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
    text = _require(columns, path, text_column, "--text-column") if text_column else None
    label = _require(columns, path, label_column, "--label-column") if label_column else None
    if text is not None and text == label:
        raise DataError(
            f"{path}: the text and label columns are both '{text}'.",
            hint="Pass different --text-column and --label-column.",
        )
    label = label or _pick(columns, LABEL_CANDIDATES, text)
    if label is None:
        raise DataError(
            f"{path}: cannot tell which column holds the labels. Columns: {', '.join(columns)}.",
            hint="Pass --label-column NAME.",
        )
    text = text or _pick(columns, TEXT_CANDIDATES, label) or _longest_text_column(df, label)
    if text is None:
        raise DataError(
            f"{path}: no text column besides the label column '{label}'. "
            f"Columns: {', '.join(columns)}.",
            hint="Pass --text-column NAME.",
        )
    return text, label


def as_text(value: object) -> str:
    """Cell → str: missing → "", 3.0 → "3" (JSON/Parquet integer labels often arrive as floats)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


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
