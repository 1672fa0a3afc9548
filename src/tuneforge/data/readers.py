"""The table of data readers: every format tuneforge reads, one row each.

Two kinds of row. A ``table`` reads a file of rows and columns into a DataFrame (texts and
labels, image paths, pixel values all arrive in tables); an ``image-source`` reads images and
their labels into ImageExamples. Adding a format is adding a row here and its read function;
the ``--format`` choices, the "Supported: ..." messages and the source detection follow from
the table. Reading never drops or rejects rows: deciding what is wrong with the data is
validate.py's (and image_check.py's) job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..types import ImageExample
from .delimiters import choose_delimiter, delimited_header, separator_fix
from .image_files import BadImage
from .image_sources import (
    LoadedImages,
    images_from_table,
    is_idx_file,
    load_idx,
    load_image_folder,
    load_pixel_csv,
)
from .table_files import (
    DUPLICATE_COLUMNS_FIX,
    duplicate_columns,
    duplicate_columns_message,
    malformed,
    missing_file,
    parquet_header,
    read_delimited,
    read_jsonl,
    read_parquet,
    undecodable,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ImageSourceOptions:
    """How to read an image source: columns of a path table, a pixel CSV's ``shape``
    (``28x28``), an IDX labels file, ``lazy`` (keep checked paths, decode later) and ``bad``
    (record bad files here and go on, instead of raising on the first)."""

    image_column: str | None = None
    label_column: str | None = None
    shape: str | None = None
    labels_path: str | Path | None = None
    lazy: bool = False
    bad: list[BadImage] | None = None
    slice_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reader:
    """One data format. A table's ``read`` takes a path and a field separator ("" for formats
    without one) and returns a DataFrame of string column names; an image source's takes a path
    and :class:`ImageSourceOptions` and returns ImageExamples.

    Tables: ``suffixes`` name their files (``gzip``: ``.gz`` copies too), ``note`` follows the
    suffixes in the list of supported formats, ``fix`` says what to do when a file does not
    parse, ``header`` reads the column names as written (repeats kept) without the rows (else
    the whole file is read for them). ``separator`` marks a delimited format with its own field
    separator; ``sniff`` has the separator detected from the file when none is given.
    Image sources: rows are tried in order and the first whose ``detect`` accepts the path and
    options reads it; ``by_path`` marks sources that are images by what the path is (a folder,
    an IDX file), where the others are tables whose columns decide.
    """

    name: str
    kind: str  # table | image-source
    read: Callable[..., Any]
    suffixes: tuple[str, ...] = ()
    gzip: bool = False
    note: str = ""
    fix: str = ""
    header: Callable[[Path, str], list[str]] | None = None
    separator: str = ""
    sniff: bool = False
    detect: Callable[[Path, ImageSourceOptions], bool] | None = None
    by_path: bool = False


def _folder_source(path: str | Path, options: ImageSourceOptions) -> list[ImageExample]:
    return load_image_folder(path, lazy=options.lazy, bad=options.bad)


def _idx_source(path: str | Path, options: ImageSourceOptions) -> list[ImageExample]:
    return load_idx(path, options.labels_path)


def _pixel_source(path: str | Path, options: ImageSourceOptions) -> list[ImageExample]:
    return load_pixel_csv(path, options.shape or "", options.label_column)


def _path_table_source(path: str | Path, options: ImageSourceOptions) -> list[ImageExample]:
    return load_image_table(
        path,
        options.image_column,
        options.label_column,
        lazy=options.lazy,
        bad=options.bad,
        slice_columns=options.slice_columns,
    )


READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader(
            "csv",
            "table",
            read_delimited,
            (".csv",),
            gzip=True,
            header=delimited_header,
            separator=",",
            sniff=True,
            fix="Check the quoting and the number of fields on that line (a text with commas "
            "must be in double quotes), pass --delimiter if another character separates the "
            "fields, or --format if the file is not CSV.",
        ),
        Reader(
            "tsv",
            "table",
            read_delimited,
            (".tsv", ".tab"),
            gzip=True,
            header=delimited_header,
            separator="\t",
            fix="Check the number of tabs on that line, or pass --format if it is not TSV.",
        ),
        Reader(
            "jsonl",
            "table",
            read_jsonl,
            (".jsonl", ".ndjson", ".json"),
            gzip=True,
            note=" with one object per line",
            fix='Each line must be one JSON object, e.g. {"text": "...", "label": "..."}; '
            "convert a JSON array file to JSON Lines.",
        ),
        Reader(
            "parquet",
            "table",
            read_parquet,
            (".parquet", ".pq"),
            header=parquet_header,
            fix="Re-export the file (it may be truncated), or pass --format if it is not Parquet.",
        ),
        Reader(
            "folder",
            "image-source",
            _folder_source,
            detect=lambda path, options: path.is_dir(),
            by_path=True,
        ),
        Reader(
            "idx",
            "image-source",
            _idx_source,
            detect=lambda path, options: is_idx_file(path),
            by_path=True,
        ),
        Reader(
            "pixels",
            "image-source",
            _pixel_source,
            detect=lambda path, options: bool(options.shape),
        ),
        Reader("table", "image-source", _path_table_source, detect=lambda path, options: True),
    )
}

TABLE_FORMATS = tuple(r.name for r in READERS.values() if r.kind == "table")
IMAGE_SOURCES = tuple(r.name for r in READERS.values() if r.kind == "image-source")
TABLE_SUFFIXES = {s: r.name for r in READERS.values() if r.kind == "table" for s in r.suffixes}


def _supported() -> str:
    """E.g. "csv (.csv), tsv (.tsv, .tab), ...; csv, tsv and jsonl may be gzipped (...)"."""
    tables = [READERS[name] for name in TABLE_FORMATS]
    listed = ", ".join(f"{r.name} ({', '.join(r.suffixes)}{r.note})" for r in tables)
    zipped = [r for r in tables if r.gzip]
    if not zipped:
        return listed
    names = [r.name for r in zipped]
    said = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    examples = ", ".join(f"{r.suffixes[0]}.gz" for r in zipped)
    return f"{listed}; {said} may be gzipped ({examples})"


SUPPORTED = _supported()


def get_reader(name: str) -> Reader:
    """The row called ``name`` (a table format or an image source)."""
    try:
        return READERS[name]
    except KeyError:
        raise DataError(
            f"Unknown data reader '{name}'.", hint=f"Choose one of: {', '.join(READERS)}."
        ) from None


def table_reader(path: str | Path, fmt: str | None = None) -> Reader:
    """The table row for ``path``: from ``fmt`` (a name or a suffix such as ``tab``, which
    wins) or else from the file extension, a trailing ``.gz`` allowed where the row says so."""
    if fmt:
        name = TABLE_SUFFIXES.get("." + fmt.lower().lstrip("."))
        if name is None:
            raise DataError(f"Unknown format '{fmt}' for {path}. Supported: {SUPPORTED}.")
        return READERS[name]
    suffixes = [s.lower() for s in Path(path).suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2 if gzipped else -1] if len(suffixes) > gzipped else ""
    name = TABLE_SUFFIXES.get(ext)
    if name is None or (gzipped and not READERS[name].gzip):
        raise DataError(
            f"{path}: cannot tell the format from the extension "
            f"'{''.join(Path(path).suffixes) or '(none)'}'. Supported: {SUPPORTED}.",
            hint=f"Rename the file, or pass --format {'|'.join(TABLE_FORMATS)}.",
        )
    return READERS[name]


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """csv | tsv | jsonl | parquet, from ``fmt`` (which wins) or the file extension."""
    return table_reader(path, fmt).name


@dataclass(frozen=True)
class TableFile:
    """A table file as read, and how: ``header`` holds the column names as written (a repeated
    name twice, where ``frame`` has pandas' ``text.1``), ``duplicates`` each repeated name
    with its 1-based positions. ``delimiter`` is the field separator of a CSV/TSV (None for
    other formats); ``delimiter_note`` is "detected" or "given" when it is not the format's
    own, for reports to say."""

    frame: pd.DataFrame
    format: str
    header: list[str]
    duplicates: dict[str, tuple[int, ...]]
    delimiter: str | None = None
    delimiter_note: str = ""


def table_delimiter(path: Path, reader: Reader, delimiter: str | None = None) -> tuple[str, str]:
    """The field separator to read ``path`` with, and how it was chosen ("", "given",
    "detected"); ("", "") for formats without one, which ignore ``delimiter``."""
    if not reader.separator:
        return "", ""
    return choose_delimiter(path, reader.separator, reader.sniff, delimiter)


def read_table_file(
    path: str | Path, fmt: str | None = None, *, delimiter: str | None = None
) -> TableFile:
    """A data file with at least one row and how it was read, or a DataError that says what to
    fix. A header that repeats a name is kept (``duplicates``) for the caller to refuse or
    report."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise missing_file(path)
    if path.is_dir():
        raise DataError(
            f"'{path}' is a directory; pass a data file ({SUPPORTED}).",
            hint="Point at a file inside it.",
        )
    reader = table_reader(path, fmt)
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes).", hint="Pass a file with a header and rows.")
    sep, note = table_delimiter(path, reader, delimiter)
    try:
        header = reader.header(path, sep) if reader.header is not None else []
        frame = reader.read(path, sep)
    except UnicodeDecodeError:
        raise undecodable(path, reader.name, sep) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty: no header and no rows.") from None
    except (ValueError, OSError) as exc:  # ParserError, JSON and Arrow errors, bad gzip data
        fix = reader.fix if sep == reader.separator else separator_fix(sep)
        raise malformed(path, reader.name, exc, fix) from None
    if len(frame) == 0:
        columns = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(
            f"{path} has no data rows (columns: {columns}).",
            hint="Add labelled rows below the header, or check that this is the right file.",
        )
    frame.columns = [str(c) for c in frame.columns]
    header = header if len(header) == len(frame.columns) else list(frame.columns)
    return TableFile(frame, reader.name, header, duplicate_columns(header), sep or None, note)


def refuse_duplicate_columns(table: TableFile, path: str | Path) -> None:
    """A DataError naming every repeated column name and its positions, if there is one."""
    if table.duplicates:
        raise DataError(
            duplicate_columns_message(path, table.duplicates), hint=DUPLICATE_COLUMNS_FIX
        )


def read_table(
    path: str | Path, fmt: str | None = None, *, delimiter: str | None = None
) -> pd.DataFrame:
    """All columns of a data file with at least one row, or a DataError that says what to fix
    (a header that names a column twice is refused). ``delimiter`` forces the field separator
    of a CSV/TSV; a CSV's is detected otherwise."""
    table = read_table_file(path, fmt, delimiter=delimiter)
    refuse_duplicate_columns(table, path)
    return table.frame


def table_header(
    path: str | Path, fmt: str | None = None, *, delimiter: str | None = None
) -> list[str]:
    """Column names of a table, reading as little as possible; [] when it cannot be read."""
    try:
        reader = table_reader(path, fmt)
        if reader.header is not None:
            sep, _ = table_delimiter(Path(path), reader, delimiter)
            return [str(c) for c in reader.header(Path(path), sep)]
        return [str(c) for c in read_table_file(path, fmt).frame.columns]
    except (DataError, ValueError, OSError, UnicodeDecodeError):
        return []


def image_source_reader(path: str | Path, options: ImageSourceOptions | None = None) -> Reader:
    """The first image-source row that takes ``path`` with ``options``."""
    options = options or ImageSourceOptions()
    rows = (READERS[name] for name in IMAGE_SOURCES)
    return next(r for r in rows if r.detect is None or r.detect(Path(path), options))


def detect_image_source(path: str | Path, shape: str | None = None) -> str:
    """folder | idx | pixels | table, from what the path is and whether a shape was given."""
    return image_source_reader(path, ImageSourceOptions(shape=shape)).name


def load_image_table(
    path: str | Path,
    image_column: str | None = None,
    label_column: str | None = None,
    *,
    lazy: bool = False,
    bad: list[BadImage] | None = None,
    slice_columns: Sequence[str] = (),
) -> list[ImageExample]:
    """A CSV/TSV/JSONL/Parquet table of image paths (relative to the table's folder) and labels.

    ``row`` is the 1-based data row, as in text tables. Columns are detected when not given;
    ``slice_columns`` are read into each image's ``meta``.
    """
    frame = read_table(path)
    return images_from_table(
        frame, path, image_column, label_column, lazy=lazy, bad=bad, slice_columns=slice_columns
    )


def read_images(
    path: str | Path,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
    shape: str | None = None,
    labels_path: str | Path | None = None,
    lazy: bool = False,
    bad: list[BadImage] | None = None,
    slice_columns: Sequence[str] = (),
) -> LoadedImages:
    """Any supported image source → LoadedImages (``shape`` marks a CSV of pixel values).
    ``slice_columns`` need a table of image paths: other sources have no columns to slice by."""
    slices = tuple(slice_columns)
    options = ImageSourceOptions(image_column, label_column, shape, labels_path, lazy, bad, slices)
    reader = image_source_reader(path, options)
    if slices and reader.name != "table":
        raise DataError(
            f"--slice {' '.join(slices)}: {path} is an image {reader.name}, which has no columns "
            "to slice by.",
            hint="Slice a table of image paths instead (columns: image, label and "
            f"{', '.join(slices)}), or leave out --slice.",
        )
    return LoadedImages(str(path), reader.name, reader.read(path, options), list(bad or []))
