"""The table of data readers: every row keeps the contract the rest of the package relies on."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from tuneforge.data import READERS, TABLE_FORMATS, get_reader
from tuneforge.data.readers import (
    IMAGE_SOURCES,
    SUPPORTED,
    TABLE_SUFFIXES,
    detect_format,
    image_source_reader,
    read_table,
    read_table_file,
    table_header,
)
from tuneforge.errors import DataError

TABLES = [READERS[name] for name in TABLE_FORMATS]


def _write(frame: pd.DataFrame, path: Path, name: str) -> Path:
    """``frame`` saved in format ``name`` (the writers pandas has for each table format)."""
    if name in ("csv", "tsv"):
        frame.to_csv(path, index=False, sep="," if name == "csv" else "\t")
    elif name == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def test_the_table_formats_are_the_format_choices():
    """TABLE_FORMATS (the --format choices) lists the table rows, in the table's order."""
    assert TABLE_FORMATS == ("csv", "tsv", "jsonl", "parquet")
    assert IMAGE_SOURCES == ("folder", "idx", "pixels", "table")
    assert {r.kind for r in READERS.values()} == {"table", "image-source"}


@pytest.mark.parametrize("reader", TABLES, ids=lambda r: r.name)
def test_every_table_row_reads_its_suffixes_and_its_name(tmp_path, reader):
    """Each suffix of a row (and the row's name as --format) reads the same frame back."""
    frame = pd.DataFrame({"text": ["héllo", "b"], "label": ["x", "y"]})
    for suffix in reader.suffixes:
        path = _write(frame, tmp_path / f"data{suffix}", reader.name)
        assert detect_format(path) == reader.name and TABLE_SUFFIXES[suffix] == reader.name
        assert read_table(path).astype(str).to_dict("list") == frame.to_dict("list")
    other = _write(frame, tmp_path / "data.bin", reader.name)
    assert read_table(other, reader.name)["text"].tolist() == ["héllo", "b"]


BROKEN = {  # a file each table format fails to parse
    "csv": 'text,label\n"never closed,x\n',
    "tsv": "text\tlabel\na\tb\tc\td\n",
    "jsonl": '{"text": "a", "label": \n',
    "parquet": "PAR1 but not parquet",
}


@pytest.mark.parametrize("reader", TABLES, ids=lambda r: r.name)
def test_every_table_row_is_listed_and_says_how_to_fix_a_broken_file(tmp_path, reader):
    """The "Supported" message names every row; a file that does not parse is named with the
    row's own advice."""
    assert reader.name in SUPPORTED and all(s in SUPPORTED for s in reader.suffixes)
    broken = tmp_path / f"broken{reader.suffixes[0]}"
    broken.write_text(BROKEN[reader.name])
    with pytest.raises(DataError, match=f"could not be parsed as {reader.name}") as info:
        read_table(broken)
    assert str(broken) in info.value.message and info.value.hint == reader.fix


@pytest.mark.parametrize("reader", TABLES, ids=lambda r: r.name)
def test_gzip_is_read_where_the_row_allows_it(tmp_path, reader):
    """A .gz copy reads for rows marked gzip and is refused by name for the others."""
    plain = _write(pd.DataFrame({"text": ["a"], "label": ["x"]}), tmp_path / "d", reader.name)
    zipped = tmp_path / f"d{reader.suffixes[0]}.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    if reader.gzip:
        assert read_table(zipped)["label"].tolist() == ["x"]
    else:
        with pytest.raises(DataError, match="cannot tell the format"):
            read_table(zipped)


def test_table_header_reads_names_and_never_raises(tmp_path):
    """Column names for the text/image decision; an unreadable file gives [] (the reader's
    own message comes later)."""
    csv = tmp_path / "d.csv"
    csv.write_text("path,label\na.png,x\n")
    assert table_header(csv) == ["path", "label"]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"text": "a", "label": "x"}\n')
    assert table_header(jsonl) == ["text", "label"]
    assert table_header(tmp_path / "missing.csv") == []
    assert table_header(tmp_path / "d.xlsx") == []


def _write_repeating(path: Path, name: str) -> Path:
    """A table whose header is text, label, text, in format ``name``."""
    rows = [["hello", "x", "other"], ["bye", "y", "more"]]
    if name == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = [pa.array([r[i] for r in rows]) for i in range(3)]
        pq.write_table(pa.table(columns, names=["text", "label", "text"]), path)
    else:
        sep = "," if name == "csv" else "\t"
        path.write_text("\n".join(sep.join(r) for r in [["text", "label", "text"], *rows]))
    return path


@pytest.mark.parametrize("name", ["csv", "tsv", "parquet"])
def test_a_header_that_repeats_a_name_is_refused_naming_it_and_its_positions(tmp_path, name):
    """``text,label,text`` is not read as the first ``text`` (pandas renames the second to
    ``text.1``, Parquet fails with an Arrow message): the error names the column, both
    positions, and says to rename; the file as read keeps the header as written."""
    path = _write_repeating(tmp_path / f"d.{name}", name)
    with pytest.raises(DataError) as info:
        read_table(path)
    assert "'text' in columns 1 and 3" in info.value.message and str(path) in info.value.message
    assert "Rename the columns" in info.value.hint
    table = read_table_file(path)
    assert table.header == ["text", "label", "text"] and table.duplicates == {"text": (1, 3)}
    assert table.frame["text"].tolist() == ["hello", "bye"]


def test_empty_header_names_do_not_count_as_repeats(tmp_path):
    """Trailing separators give nameless columns (pandas' ``Unnamed: 2``): not a repeat."""
    path = tmp_path / "d.csv"
    path.write_text("text,label,,\na,x,,\nb,y,,\n")
    assert list(read_table(path).columns[:2]) == ["text", "label"]


def test_a_detected_separator_is_read_and_named(tmp_path):
    """A semicolon CSV reads into its columns, with the separator noted as detected; a comma
    CSV is read as before with nothing noted; a given separator wins for CSV and TSV."""
    semi = tmp_path / "semi.csv"
    semi.write_text("text;label\nhello, world;greet\n")
    table = read_table_file(semi)
    assert table.frame.to_dict("list") == {"text": ["hello, world"], "label": ["greet"]}
    assert (table.delimiter, table.delimiter_note) == (";", "detected")
    assert table_header(semi) == ["text", "label"]
    comma = tmp_path / "comma.csv"
    comma.write_text("text,label\nhello; world,greet\n")
    assert (read_table_file(comma).delimiter, read_table_file(comma).delimiter_note) == (",", "")
    tsv = tmp_path / "d.tsv"
    tsv.write_text("text;label\na\tb;x\n")
    forced = read_table_file(tsv, delimiter=";")
    assert forced.frame["text"].tolist() == ["a\tb"] and forced.delimiter_note == "given"
    plain = tmp_path / "plain.tsv"
    plain.write_text("text;label\nab;x\n")
    assert read_table_file(plain).frame.columns.tolist() == ["text;label"]  # TSVs are not sniffed


def test_a_file_that_breaks_under_a_detected_separator_gets_advice_about_it(tmp_path):
    """A semicolon file with an unquoted ';' in a text names ';' and --delimiter, not commas."""
    path = tmp_path / "semi.csv"
    path.write_text("text;label\na;x\nb;y\nhi; there;x\n")
    with pytest.raises(DataError, match=r"semi\.csv could not be parsed as csv") as info:
        read_table(path)
    assert "';' (semicolon)" in info.value.hint and "--delimiter" in info.value.hint
    assert "commas" not in info.value.hint


def test_image_sources_are_tried_in_order(tmp_path):
    """A folder or an IDX file is images by its path; a pixel CSV needs its shape; any other
    path is a table of image paths."""
    assert image_source_reader(tmp_path).name == "folder"
    assert image_source_reader(tmp_path / "train-images-idx3-ubyte").by_path
    assert image_source_reader(tmp_path / "x.idx.gz").name == "idx"
    table = image_source_reader(tmp_path / "p.csv")
    assert table.name == "table" and not table.by_path


def test_unknown_names_list_the_readers():
    """An unknown reader name or --format value is an error that lists what exists."""
    assert get_reader("parquet").kind == "table"
    with pytest.raises(DataError) as info:
        get_reader("xlsx")
    assert "csv" in info.value.hint and "folder" in info.value.hint
    with pytest.raises(DataError, match="Supported: csv"):
        detect_format("d.csv", "xlsx")
