"""Reading files: formats, column detection, and errors that name the file, row or column."""

from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pytest

from tuneforge.data import load_examples, read_table
from tuneforge.data.columns import resolve_columns
from tuneforge.data.readers import detect_format
from tuneforge.errors import DataError


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"text": ["hello there", "NA", "bye now"], "label": ["greet", "x", "bye"]})


def _write(frame: pd.DataFrame, path) -> None:
    name = path.name.removesuffix(".gz")
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(path)
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False, sep="\t" if name.endswith((".tsv", ".tab")) else ",")


ALL_EXTENSIONS = (
    "d.csv d.tsv d.tab d.jsonl d.ndjson d.json d.parquet d.pq d.csv.gz d.tsv.gz d.jsonl.gz"
)


@pytest.mark.parametrize("name", ALL_EXTENSIONS.split())
def test_every_format_reads_the_same_examples(tmp_path, name):
    """Each supported extension (gzipped too) gives identical examples, "NA" kept as text."""
    path = tmp_path / name
    _write(_frame(), path)
    loaded = load_examples(path)
    assert [(e.text, e.label, e.row) for e in loaded.examples] == [
        ("hello there", "greet", 1),
        ("NA", "x", 2),
        ("bye now", "bye", 3),
    ]
    assert loaded.format == detect_format(path) and loaded.n_rows == 3


def test_csv_keeps_na_like_texts_and_empty_cells_as_strings(tmp_path):
    """'NA', 'null' and 'None' stay texts; an empty cell becomes "" (nothing is dropped)."""
    path = tmp_path / "d.csv"
    path.write_text("text,label\nNA,a\nnull,b\nNone,\n,c\n", encoding="utf-8")
    loaded = load_examples(path)
    assert [(e.text, e.label) for e in loaded.examples] == [
        ("NA", "a"),
        ("null", "b"),
        ("None", ""),
        ("", "c"),
    ]


def test_format_flag_overrides_the_extension(tmp_path):
    """--format reads a file whose extension says nothing; aliases like 'json' work."""
    path = tmp_path / "data.txt"
    _frame().to_csv(path, index=False, sep="\t")
    assert detect_format(path, "tsv") == "tsv"
    assert detect_format(path, "json") == "jsonl"
    assert len(load_examples(path, fmt="tsv").examples) == 3


def test_unknown_format_value_lists_the_supported_ones(tmp_path):
    """A bad --format value is named along with the formats that work."""
    with pytest.raises(DataError, match=r"Unknown format 'xlsx' for .*d\.csv.*parquet"):
        detect_format(tmp_path / "d.csv", "xlsx")


@pytest.mark.parametrize("name", ["x.xlsx", "noext", "x.parquet.gz"])
def test_unknown_extension_names_file_and_says_pass_format(tmp_path, name):
    """An unknown extension names the file, lists the formats and says to pass --format."""
    (tmp_path / name).write_text("text,label\na,b\n")
    with pytest.raises(DataError) as info:
        read_table(tmp_path / name)
    message = str(info.value)
    assert name in message and "--format" in message and "jsonl" in message


def test_numeric_labels_become_integer_strings(tmp_path):
    """JSONL/Parquet numbers (floats with gaps too) become '0'/'1', never '1.0'; missing → ''."""
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": f"t{i}", "label": i % 2}) for i in range(4)))
    assert [e.label for e in load_examples(jsonl).examples] == ["0", "1", "0", "1"]
    gaps = tmp_path / "g.jsonl"
    gaps.write_text('{"text": "a", "label": 1.0}\n{"text": "b", "label": null}\n')
    assert [e.label for e in load_examples(gaps).examples] == ["1", ""]
    parquet = tmp_path / "d.parquet"
    frame = pd.DataFrame({"text": ["a", "b"], "label": pd.array([3, None], dtype="Int64")})
    frame.to_parquet(parquet)
    assert [e.label for e in load_examples(parquet).examples] == ["3", ""]


def test_load_examples_keeps_every_row_with_1_based_rows(tmp_path):
    """Rows with empty cells are kept (validation decides), numbered from 1 after the header."""
    path = tmp_path / "d.csv"
    path.write_text("id,text,label\n1,a, x \n2,,y\n3,c,\n", encoding="utf-8")
    loaded = load_examples(path)
    assert [(e.text, e.label, e.row) for e in loaded.examples] == [
        ("a", "x", 1),
        ("", "y", 2),
        ("c", "", 3),
    ]
    assert loaded.columns == ["id", "text", "label"] and loaded.n_rows == 3


def test_columns_are_detected_from_common_names_case_insensitively():
    """Utterance/Intent are found without flags, whatever their case."""
    frame = pd.DataFrame({"id": ["1"], "Utterance": ["hi"], "INTENT": ["greet"]})
    assert resolve_columns(frame, "f.csv") == ("Utterance", "INTENT")


def test_text_candidates_follow_the_documented_order():
    """'text' beats 'sentence' beats 'question' when several are present."""
    frame = pd.DataFrame({"question": ["q"], "sentence": ["s"], "label": ["l"]})
    assert resolve_columns(frame, "f.csv")[0] == "sentence"
    frame["text"] = ["t"]
    assert resolve_columns(frame, "f.csv")[0] == "text"


def test_unknown_text_column_name_falls_back_to_longest_strings():
    """Without a known text name, the string column with the longest values is the text."""
    frame = pd.DataFrame(
        {
            "id": ["a1", "a2"],
            "n": [1, 2],
            "body": ["a long body of text", "another long body"],
            "label": ["x", "y"],
        }
    )
    assert resolve_columns(frame, "f.csv") == ("body", "label")


def test_misspelled_column_names_file_lists_columns_and_suggests_closest():
    """A wrong column name names the file, lists the columns and suggests the closest one."""
    with pytest.raises(DataError) as info:
        resolve_columns(_frame(), "f.csv", label_column="lable")
    message = str(info.value)
    assert "f.csv: no column 'lable'. Columns: text, label." in message
    assert "Did you mean --label-column label?" in message
    with pytest.raises(DataError, match="Did you mean --text-column text"):
        resolve_columns(_frame(), "f.csv", text_column="txt")


def test_no_label_column_asks_for_the_flag_and_lists_columns():
    """Without a recognisable label column the error asks for --label-column."""
    with pytest.raises(DataError, match=r"f\.csv: .*labels\. Columns: text, foo\..*--label-column"):
        resolve_columns(pd.DataFrame({"text": ["a"], "foo": ["b"]}), "f.csv")


def test_no_text_column_asks_for_the_flag():
    """A table with only a label and numbers asks for --text-column, naming the columns."""
    frame = pd.DataFrame({"n": [1], "label": ["x"]})
    with pytest.raises(DataError, match=r"f\.csv: no text column .*'label'.*n, label.*--text-col"):
        resolve_columns(frame, "f.csv")


def test_same_column_for_text_and_label_is_refused():
    """--text-column and --label-column naming one column is an error naming it."""
    with pytest.raises(DataError, match="both 'text'"):
        resolve_columns(_frame(), "f.csv", text_column="text", label_column="text")


def test_missing_file_suggests_a_similar_name(tmp_path):
    """A typo in the file name suggests the file that exists."""
    (tmp_path / "tickets.csv").write_text("text,label\na,b\n")
    with pytest.raises(
        DataError, match=r"tickest\.csv' does not exist.*Did you mean .*tickets\.csv"
    ):
        read_table(tmp_path / "tickest.csv")


def test_missing_file_without_similar_name_or_folder(tmp_path):
    """A missing file with nothing similar, or in a missing folder, is named as such."""
    with pytest.raises(DataError, match=r"zzz\.csv' does not exist\. Check the path"):
        read_table(tmp_path / "zzz.csv")
    with pytest.raises(DataError, match=r"nor does its folder .*nodir"):
        read_table(tmp_path / "nodir" / "a.csv")


def test_directory_is_refused(tmp_path):
    """A directory instead of a file is named, with what to pass instead."""
    with pytest.raises(
        DataError, match=re.escape(f"'{tmp_path}' is a directory; pass a data file")
    ):
        read_table(tmp_path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("h.csv", "text,label\n"),
        ("z.csv", ""),
        ("blank.csv", "\n\n"),
        ("z.jsonl", ""),
        ("blank.jsonl", "\n"),
    ],
)
def test_empty_and_header_only_files_are_named(tmp_path, name, content):
    """Zero-byte, blank and header-only files are refused with the file named."""
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=rf"{name} (is empty|has no data rows)"):
        read_table(tmp_path / name)


def test_header_only_parquet_is_refused(tmp_path):
    """A Parquet file with columns but no rows is refused, listing its columns."""
    path = tmp_path / "e.parquet"
    pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype=str)}).to_parquet(
        path
    )
    with pytest.raises(DataError, match=r"e\.parquet has no data rows \(columns: text, label\)"):
        read_table(path)


def test_undecodable_bytes_name_line_and_row(tmp_path):
    """Latin-1 bytes in a CSV are reported with line, data row and a UTF-8 hint."""
    path = tmp_path / "bad.csv"
    path.write_bytes(b"text,label\nok,a\ncaf\xe9,b\n")
    with pytest.raises(DataError) as info:
        read_table(path)
    message = str(info.value)
    assert "bad.csv is not valid UTF-8: byte 0xe9 at line 3 (data row 2)" in message
    assert "Re-save the file as UTF-8" in message


def test_undecodable_row_counts_multiline_cells(tmp_path):
    """A quoted cell spanning lines makes line and data row differ; both are right."""
    path = tmp_path / "ml.csv"
    path.write_bytes(b'text,label\nok,a\n"two\nlines",b\ncaf\xe9,b\n')
    with pytest.raises(DataError, match=r"line 5 \(data row 3\)"):
        read_table(path)


def test_undecodable_bytes_in_jsonl_and_gzip(tmp_path):
    """JSONL rows are lines (no header); gzipped files are scanned after decompressing."""
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(b'{"text": "a", "label": "x"}\n{"text": "caf\xe9", "label": "y"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl .*line 2 \(data row 2\)"):
        read_table(jsonl)
    gz = tmp_path / "bad.csv.gz"
    gz.write_bytes(gzip.compress(b"text,label\nok,a\nok,b\nna\xefve,c\n"))
    with pytest.raises(DataError, match=r"bad\.csv\.gz .*line 4 \(data row 3\)"):
        read_table(gz)


def test_malformed_csv_includes_the_parser_line(tmp_path):
    """A row with too many fields is a DataError naming the file and the parser's line."""
    path = tmp_path / "broken.csv"
    path.write_text("text,label\nok,a\na,b,c\n")
    with pytest.raises(DataError) as info:
        read_table(path)
    message = str(info.value)
    assert "broken.csv could not be parsed as csv" in message and "line 3" in message
    assert "quotes" in message


def test_extra_field_on_first_row_is_not_silently_an_index(tmp_path):
    """Extra fields on the first data row fail instead of shifting columns into an index."""
    path = tmp_path / "shift.csv"
    path.write_text("text,label\na,b,c\nd,e,f\n")
    with pytest.raises(DataError, match=r"shift\.csv .*line 2 has more fields"):
        read_table(path)


def test_unterminated_quote_is_a_data_error(tmp_path):
    """An unterminated quote fails as a DataError naming the file."""
    path = tmp_path / "quote.csv"
    path.write_text('text,label\n"unterminated,a\n')
    with pytest.raises(DataError, match=r"quote\.csv could not be parsed as csv"):
        read_table(path)


def test_malformed_jsonl_names_the_line(tmp_path):
    """Invalid JSON, or a JSON array instead of JSON Lines, names the bad line."""
    path = tmp_path / "m.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": oops}\n')
    with pytest.raises(DataError, match=r"m\.jsonl could not be parsed as jsonl: line 2: Expect"):
        read_table(path)
    array = tmp_path / "a.json"
    array.write_text('[{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]')
    with pytest.raises(DataError, match=r"a\.json .*line 1 is not a JSON object.*JSON Lines"):
        read_table(array)


def test_corrupt_parquet_is_a_data_error(tmp_path):
    """A file that is not Parquet fails as a DataError naming it and saying to re-export."""
    path = tmp_path / "c.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataError, match=r"c\.parquet could not be parsed as parquet.*Re-export"):
        read_table(path)


def _semicolon_csv(path):
    """A spreadsheet's "CSV" in a locale whose decimal mark is a comma: ';' between fields,
    commas inside the texts."""
    path.write_text(
        "text;label\nhello, my parcel is late;shipping\nrefund, please;billing\n"
        '"I said; hi";greet\n',
        encoding="utf-8",
    )
    return path


def test_a_semicolon_csv_reads_its_texts_and_labels(tmp_path):
    """A ';'-separated .csv is read as two columns with its commas kept inside the texts,
    and the LoadedFile says which separator was detected."""
    loaded = load_examples(_semicolon_csv(tmp_path / "semi.csv"))
    assert [(e.text, e.label) for e in loaded.examples] == [
        ("hello, my parcel is late", "shipping"),
        ("refund, please", "billing"),
        ("I said; hi", "greet"),
    ]
    assert (loaded.delimiter, loaded.delimiter_note) == (";", "detected")


def test_a_tab_separated_file_named_csv_reads_as_tabs(tmp_path):
    """Tabs inside a .csv (a TSV saved under the wrong name) are detected as the separator."""
    path = tmp_path / "tabs.csv"
    path.write_text("text\tlabel\nhello, world\tgreet\nbye, now\tbye\n", encoding="utf-8")
    loaded = load_examples(path)
    assert [(e.text, e.label) for e in loaded.examples] == [
        ("hello, world", "greet"),
        ("bye, now", "bye"),
    ]
    assert loaded.delimiter == "\t"


def test_a_comma_csv_reads_as_before(tmp_path):
    """A comma CSV whose texts hold semicolons and tabs keeps the comma, with nothing noted."""
    path = tmp_path / "comma.csv"
    path.write_text("text,label\na; b; c,x\nd\te; f,y\n", encoding="utf-8")
    loaded = load_examples(path)
    assert [(e.text, e.label) for e in loaded.examples] == [("a; b; c", "x"), ("d\te; f", "y")]
    assert (loaded.delimiter, loaded.delimiter_note) == (",", "")


def test_a_given_delimiter_is_used_as_given(tmp_path):
    """``delimiter`` (--delimiter) beats the detection: ',' on a semicolon file fails with the
    parser's line and advice naming --delimiter; ';' reads it, noted as given."""
    path = _semicolon_csv(tmp_path / "semi.csv")
    with pytest.raises(DataError, match=r"semi\.csv could not be parsed as csv") as info:
        load_examples(path, delimiter=",")
    assert "--delimiter" in info.value.hint
    loaded = load_examples(path, delimiter="semicolon")
    assert loaded.examples[0].text == "hello, my parcel is late"
    assert loaded.delimiter_note == "given"


def test_a_repeated_column_name_is_refused_not_read_as_the_first(tmp_path):
    """``text,text,label`` used to train on the first ``text`` column in silence: it is refused,
    naming the column and its positions, whichever columns were asked for."""
    path = tmp_path / "dup.csv"
    path.write_text("text,text,label\nhello,other,x\nbye,more,y\n", encoding="utf-8")
    for columns in ({}, {"text_column": "text", "label_column": "label"}):
        with pytest.raises(DataError, match=r"'text' in columns 1 and 2") as info:
            load_examples(path, **columns)
        assert "dup.csv" in info.value.message and "Rename" in info.value.hint


def test_slice_columns_travel_with_the_examples_as_text(tmp_path):
    """--slice columns are read into each example's meta as text, an empty cell as
    '(missing)'; examples read without them have an empty meta and compare as before."""
    path = tmp_path / "d.csv"
    path.write_text("text,label,region,tier\na,x,eu,1\nb,y,,2\nc,x,us,3\n", encoding="utf-8")
    loaded = load_examples(path, slice_columns=["region", "tier"])
    assert [e.meta for e in loaded.examples] == [
        {"region": "eu", "tier": "1"},
        {"region": "(missing)", "tier": "2"},
        {"region": "us", "tier": "3"},
    ]
    plain = load_examples(path)
    assert all(e.meta == {} for e in plain.examples)
    assert plain.examples == loaded.examples, "meta takes no part in equality"


def test_a_missing_slice_column_names_it_and_the_file_columns(tmp_path):
    """A typo in --slice is a DataError naming the file, the column, every column and the
    closest name."""
    path = tmp_path / "d.csv"
    path.write_text("text,label,region\na,x,eu\nb,y,us\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'regoin'\. Columns: text, label, region\."):
        load_examples(path, slice_columns=["regoin"])
    try:
        load_examples(path, slice_columns=["regoin"])
    except DataError as exc:
        assert exc.hint == "Did you mean --slice region?"


def test_an_empty_slice_column_is_refused_with_the_file_columns(tmp_path):
    """A slice column with no value in any row would be one '(missing)' slice: refused,
    naming the column and the file's columns."""
    path = tmp_path / "d.csv"
    path.write_text("text,label,region\na,x,\nb,y,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"slice column 'region' is empty.*Columns: text, label"):
        load_examples(path, slice_columns=["region"])
