"""Inputs to predict, read in chunks: files bigger than memory, and where a stopped run was.

``read_texts`` reads a whole table; a 50-million-row file of tickets does not fit. A stream
reads one chunk at a time (Parquet row groups through pyarrow, CSV/TSV through pandas'
chunked reader, JSON lines one line at a time) and can start at any row, so a prediction that
was interrupted goes on where it stopped. A Parquet *folder* is one input whose parts are
read in name order; every part's columns are checked before the first row is predicted, so a
wrong part is named up front instead of failing an hour in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..errors import DataError
from .columns import ID_CANDIDATES, pick_column, prediction_text_column, require_column
from .readers import SUPPORTED, table_delimiter, table_header, table_reader
from .table_files import missing_file, open_binary

CHUNK_ROWS = 16384  # large enough for length-sorted batches to pay off, small in memory


@dataclass(frozen=True)
class Chunk:
    """Rows ``start`` to ``start + len(items)`` of a stream: their ids and their inputs."""

    start: int
    ids: list
    items: list


@dataclass(frozen=True)
class Piece:
    """Rows ``start`` on, ``rows`` of them, that ``read`` gives as chunks without the other
    pieces: what an engine with many workers reads in parallel (a Parquet part each)."""

    start: int
    rows: int | None
    read: Callable[[], Iterator[Chunk]] = field(repr=False, compare=False)


@dataclass(frozen=True)
class InputStream:
    """A source of inputs read in chunks. ``total`` is the number of rows (None when it would
    cost a pass to know), ``input_name`` what an input is (``text``, ``image``), ``id_name``
    where ids come from (a column, or ``row`` for row numbers from 0), and ``identity`` what a
    resumed run must find unchanged (the files' names, sizes and modification times).
    ``split`` cuts the rows from a start into pieces read independently (default: one)."""

    total: int | None
    input_name: str
    id_name: str
    identity: dict
    read: Callable[[int, int], Iterator[Chunk]] = field(repr=False, compare=False)
    split: Callable[[int, int], list[Piece]] | None = field(default=None, repr=False, compare=False)

    def chunks(self, start: int = 0, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        """Chunks of at most ``size`` rows from row ``start`` on, in the input's order."""
        return self.read(start, size)

    def pieces(self, start: int = 0, size: int = CHUNK_ROWS) -> list[Piece]:
        """The rows from ``start`` as pieces in order, each read in chunks of ``size``."""
        if self.split is not None:
            return self.split(start, size)
        left = None if self.total is None else max(self.total - start, 0)
        return [Piece(start, left, lambda: self.chunks(start, size))]


def list_stream(items: Sequence, input_name: str, identity: dict) -> InputStream:
    """A stream over inputs already in memory (image paths, texts given on the command line):
    chunked like a file so that writing and resuming are the same for every input."""
    items = list(items)

    def read(start: int, size: int) -> Iterator[Chunk]:
        for at in range(start, len(items), size):
            part = items[at : at + size]
            yield Chunk(at, list(range(at, at + len(part))), part)

    return InputStream(len(items), input_name, "row", identity, read)


def open_text_stream(
    path: str | Path,
    text_column: str | None = None,
    id_column: str | None = None,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
) -> InputStream:
    """A stream of texts from a CSV/TSV/JSONL/Parquet file or a folder of Parquet files.
    The text column is ``text_column`` or detected as ``read_texts`` does; ids come from
    ``id_column``, else from a column called ``id`` when there is one, else from row numbers."""
    path = Path(path)
    if not path.exists():
        raise missing_file(path)
    files = _parquet_parts(path) if path.is_dir() else [path]
    name = "parquet" if path.is_dir() else table_reader(path, fmt).name
    columns = _header(files[0], name, fmt, delimiter)
    text = prediction_text_column(columns, files[0], text_column)
    ids = require_column(columns, files[0], id_column, "--id-column") if id_column else None
    ids = ids or pick_column(columns, ID_CANDIDATES, text)
    wanted = [c for c in (ids, text) if c]
    identity = {
        "files": [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files],
        "text_column": text,
        "id_column": ids,
    }
    split = None
    if name == "parquet":
        counts = _check_parquet_parts(files, wanted, path)
        total = sum(counts)
        read = _reader(_parquet_rows, files, wanted)
        split = _parquet_pieces(files, counts, wanted, ids, text)
    elif name == "jsonl":
        total = _count_lines(path)
        read = _reader(_jsonl_rows, path, wanted)
    else:
        sep, _ = table_delimiter(path, table_reader(path, fmt), delimiter)
        total = max(_count_lines(path) - 1, 0)  # the header; a quoted newline makes it "about"
        read = _reader(_delimited_rows, path, wanted, sep)
    chunks = _as_chunks(read, ids, text)
    return InputStream(total, "text", ids or "row", identity, chunks, split)


def _parquet_pieces(
    files: list[Path], counts: list[int], wanted: list[str], ids: str | None, text: str
) -> Callable[[int, int], list[Piece]]:
    """One piece per Parquet part still (partly) to read, its chunks numbered globally."""

    def split(start: int, size: int) -> list[Piece]:
        pieces, first = [], 0
        for part, rows in zip(files, counts):
            skip = max(start - first, 0)
            if skip < rows:
                chunks = _as_chunks(_reader(_parquet_rows, [part], wanted), ids, text, first)
                pieces.append(Piece(first + skip, rows - skip, partial(chunks, skip, size)))
            first += rows
        return pieces

    return split


def _reader(rows: Callable, *args) -> Callable[[int, int], Iterator[list[dict]]]:
    return lambda start, size: rows(*args, start, size)


def _as_chunks(
    read: Callable[[int, int], Iterator[list[dict]]], ids: str | None, text: str, base: int = 0
) -> Callable[[int, int], Iterator[Chunk]]:
    """Rows (dicts of the wanted columns) → chunks of ids and texts; a missing text is "".
    ``base``: the row number of the source's first row (a part of a folder)."""
    from .columns import as_text

    def chunks(start: int, size: int) -> Iterator[Chunk]:
        at = base + start
        for rows in read(start, size):
            texts = [as_text(r.get(text)) for r in rows]
            keys = [as_text(r.get(ids)) for r in rows] if ids else list(range(at, at + len(rows)))
            yield Chunk(at, keys, texts)
            at += len(rows)

    return chunks


def _header(path: Path, name: str, fmt: str | None, delimiter: str | None) -> list[str]:
    if name == "jsonl":
        first = _first_json_object(path)
        return [str(k) for k in first]
    columns = table_header(path, fmt if name != "parquet" else "parquet", delimiter=delimiter)
    if not columns:
        raise DataError(
            f"{path}: cannot read its header as {name}.",
            hint=f"Check the file (tuneforge data check FILE), or pass --format. {SUPPORTED}.",
        )
    return columns


def _parquet_parts(folder: Path) -> list[Path]:
    parts = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".parquet", ".pq"))
    if not parts:
        raise DataError(
            f"{folder} is a folder without Parquet files (.parquet, .pq).",
            hint="Point --input at a data file, or at a folder of Parquet parts.",
        )
    return parts


def _check_parquet_parts(files: list[Path], wanted: list[str], folder: Path) -> list[int]:
    """Every part has the wanted columns (else the part is named); returns each part's
    number of rows, from the footers alone."""
    import pyarrow.parquet as pq

    counts = []
    for part in files:
        try:
            meta = pq.ParquetFile(part).metadata
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{part}: not a readable Parquet file ({exc}).",
                hint="Re-export this part or remove it from the folder.",
            ) from None
        names = meta.schema.to_arrow_schema().names
        missing = [c for c in wanted if c not in names]
        if missing:
            where = f"part {part} of {folder}" if len(files) > 1 else str(part)
            raise DataError(
                f"{where} has no column {', '.join(map(repr, missing))} "
                f"(its columns: {', '.join(names)}).",
                hint="Every part needs the same columns: re-export this part or remove it.",
            )
        counts.append(meta.num_rows)
    return counts


def _parquet_rows(files: list[Path], wanted: list[str], start: int, size: int):
    """Row groups before ``start`` are skipped from the footer, without reading them."""
    import pyarrow.parquet as pq

    skip = start
    for part in files:
        parquet = pq.ParquetFile(part)
        groups = []
        for g in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(g).num_rows
            if skip >= rows and not groups:
                skip -= rows
                continue
            groups.append(g)
        if not groups:
            continue
        for batch in parquet.iter_batches(batch_size=size, columns=wanted, row_groups=groups):
            if skip:
                batch, skip = batch.slice(skip), 0
            if batch.num_rows:
                yield batch.to_pylist()


def _delimited_rows(path: Path, wanted: list[str], sep: str, start: int, size: int):
    import pandas as pd

    try:
        reader = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            usecols=wanted,
            chunksize=size,
            skiprows=range(1, start + 1) if start else None,
            encoding="utf-8",
        )
        for frame in reader:
            yield frame.to_dict("records")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text.", hint="Re-save it as UTF-8.") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(
            f"{path}: cannot be read past row {start} ({exc}).",
            hint="Fix the file (tuneforge data check FILE names bad rows).",
        ) from None


def _jsonl_rows(path: Path, wanted: list[str], start: int, size: int):
    """Blank lines are not rows; lines before ``start`` are counted, not parsed."""
    rows: list[dict] = []
    seen = 0
    with open_binary(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            seen += 1
            if seen <= start:
                continue
            rows.append(_json_object(line, path, number))
            if len(rows) == size:
                yield rows
                rows = []
    if rows:
        yield rows


def _json_object(line: bytes, path: Path, number: int) -> dict:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}, line {number}: not valid JSON ({exc}).",
            hint="Fix or remove the line; each line must be one JSON object.",
        ) from None
    if not isinstance(value, dict):
        raise DataError(f"{path}, line {number}: not a JSON object.", hint="One object a line.")
    return value


def _first_json_object(path: Path) -> dict:
    with open_binary(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                return _json_object(line, path, number)
    raise DataError(f"{path} has no rows.", hint="Pass a file with one JSON object per line.")


def _count_lines(path: Path) -> int:
    """Lines, counted in blocks (a few seconds for gigabytes): the progress bar's total."""
    count = 0
    with open_binary(path) as handle:
        tail = b"\n"
        while block := handle.read(1 << 24):
            count += block.count(b"\n")
            tail = block[-1:]
    return count + (tail != b"\n")
