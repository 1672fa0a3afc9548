"""Reading one table file per format, and the messages when a file cannot be read.

Every failure becomes a DataError that names the file (and the line or row where one is known)
and says what to do, because a user with a broken file cannot act on a pandas traceback. The
read functions here are the ``read`` of the table rows in :mod:`tuneforge.data.readers`.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import json
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import pandas as pd


def read_delimited(path: Path, sep: str) -> pd.DataFrame:
    """Every cell as a string: "NA"/"null" are texts and empty cells are ""."""
    import pandas as pd

    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8")
    if not isinstance(frame.index, pd.RangeIndex):  # pandas made extra fields an index
        raise ValueError(f"line 2 has more fields than the {len(frame.columns)}-column header")
    return frame


def read_jsonl(path: Path, sep: str = "") -> pd.DataFrame:
    """One JSON object per line; numbers keep their JSON types (see ``as_text``). A key written
    twice in one object is one column whose last value wins, as in every JSON parser."""
    import pandas as pd

    frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8-sig")
    if not all(isinstance(c, str) for c in frame.columns):  # lines that are arrays
        raise ValueError("the lines are not JSON objects")
    return frame


def read_parquet(path: Path, sep: str = "") -> pd.DataFrame:
    """A Parquet file; one whose schema repeats a name is read with the repeats numbered
    (``text``, ``text.1``) as pandas numbers CSV headers, so the check can name them."""
    import pandas as pd

    names = parquet_header(path)
    if len(set(names)) == len(names):
        return pd.read_parquet(path)
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read().rename_columns(numbered(names)).to_pandas()


def parquet_header(path: Path, sep: str = "") -> list[str]:
    """Column names in the Parquet schema (pandas' stored index columns left out), from the
    footer alone; [] when the file is not Parquet, so the read reports why."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError):
        return []
    stored = (schema.pandas_metadata or {}).get("index_columns", [])
    index = {c for c in stored if isinstance(c, str)}
    return [name for name in schema.names if name not in index]


def duplicate_columns(header: list[str]) -> dict[str, tuple[int, ...]]:
    """Each name the header writes more than once → its 1-based positions. Empty names are
    left out: pandas names those by position (``Unnamed: 3``), so they never collide."""
    positions: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        if str(name).strip():
            positions.setdefault(str(name), []).append(number)
    return {name: tuple(at) for name, at in positions.items() if len(at) > 1}


def numbered(header: list[str]) -> list[str]:
    """Repeated names made unique the way pandas does it: ``text``, ``text.1``, ``text.2``."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}.{count}")
    return out


def duplicate_columns_message(path: str | Path, duplicates: dict[str, tuple[int, ...]]) -> str:
    """The refusal of a header that names a column twice: only one of them would be read."""
    named = "; ".join(
        f"'{name}' in columns {', '.join(map(str, at[:-1]))} and {at[-1]}"
        for name, at in duplicates.items()
    )
    return (
        f"{path}: the header gives more than one column the same name: {named}. Only the first "
        "column of each name would be used and the others silently ignored."
    )


DUPLICATE_COLUMNS_FIX = (
    "Rename the columns so that every name is different (e.g. 'text' and 'text_2'), or "
    "delete the column you do not want, then pass --text-column / --label-column if needed."
)


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when its name ends in .gz."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def missing_file(path: Path) -> DataError:
    """The error for a data file that does not exist, suggesting a similar name beside it."""
    folder = path.parent
    if not folder.is_dir():
        return DataError(f"Data file '{path}' does not exist (nor does its folder '{folder}').")
    names = [p.name for p in folder.iterdir() if p.is_file()]
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    hint = f"Did you mean '{folder / close[0]}'?" if close else "Check the path and file name."
    return DataError(f"Data file '{path}' does not exist.", hint=hint)


def undecodable(path: Path, kind: str, sep: str = "") -> DataError:
    """Find the first line that is not UTF-8 ourselves: pandas' message has no line number."""
    lines: list[str] = []
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                lines.append(raw.decode("utf-8", errors="replace"))
                bad = f"byte 0x{raw[exc.start]:02x} at line {number}"
                break
        else:
            bad, number = "somewhere in the file", 0
    if number and sep:
        # A quoted cell may span lines: count the records up to the bad line, minus the header.
        records = csv.reader(io.StringIO("".join(lines)), delimiter=sep)
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


def first_bad_json_line(path: Path) -> str:
    """pandas says 'Expected object or value' without a line; json.loads per line finds it."""
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.strip():
                try:
                    if not isinstance(json.loads(raw), dict):
                        return f"line {number} is not a JSON object"
                except ValueError as exc:
                    return f"line {number}: {exc}"
    return ""


def malformed(path: Path, kind: str, exc: Exception, hint: str) -> DataError:
    """The error for a file that does not parse as format ``kind``; ``hint`` says what to fix."""
    detail = (first_bad_json_line(path) if kind == "jsonl" else "") or str(exc).strip()
    detail = detail.rstrip(".")
    return DataError(f"{path} could not be parsed as {kind}: {detail}.", hint=hint)
