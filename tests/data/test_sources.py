"""Reading files: formats, column detection, and errors that name the file, row or column."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tuneforge.data import load_examples, read_table
from tuneforge.data.sources import detect_format, resolve_columns
from tuneforge.errors import DataError


def _frame():
    return pd.DataFrame({"text": ["hello there", "NA", "bye now"], "label": ["greet", "x", "bye"]})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"])
def test_every_format_reads_the_same_examples(tmp_path, suffix):
    """CSV, TSV, JSONL, Parquet and gzipped CSV give identical examples."""
    path = tmp_path / f"data{suffix}"
    frame = _frame()
    if suffix in (".csv", ".csv.gz"):
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    loaded = load_examples(path)
    assert [(e.text, e.label, e.row) for e in loaded.examples] == [
        ("hello there", "greet", 1),
        ("NA", "x", 2),
        ("bye now", "bye", 3),
    ]


def test_format_flag_overrides_the_extension(tmp_path):
    """--format reads a file whose extension says nothing."""
    path = tmp_path / "data.txt"
    _frame().to_csv(path, index=False, sep="\t")
    assert detect_format(path, "tsv") == "tsv"
    assert len(load_examples(path, fmt="tsv").examples) == 3


def test_integer_labels_in_jsonl_stay_integers_as_text(tmp_path):
    """Numeric labels become '0'/'1', never '0.0'."""
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"text": f"t{i}", "label": i % 2}) for i in range(4)))
    assert {e.label for e in load_examples(path).examples} == {"0", "1"}


def test_columns_are_detected_from_common_names():
    """utterance/intent are found without flags."""
    frame = pd.DataFrame({"id": ["1"], "utterance": ["hi"], "intent": ["greet"]})
    assert resolve_columns(frame, "f.csv") == ("utterance", "intent")


def test_misspelled_column_suggests_closest():
    """A wrong column name lists the columns and suggests the closest one."""
    with pytest.raises(DataError, match=r"no column 'lable'.*Did you mean --label-column label"):
        resolve_columns(_frame(), "f.csv", label_column="lable")


def test_no_label_column_asks_for_the_flag():
    """Without a recognisable label column the error asks for --label-column."""
    with pytest.raises(DataError, match="--label-column"):
        resolve_columns(pd.DataFrame({"text": ["a"], "foo": ["b"]}), "f.csv")


def test_missing_file_suggests_a_similar_name(tmp_path):
    """A typo in the file name suggests the file that exists."""
    (tmp_path / "tickets.csv").write_text("text,label\na,b\n")
    with pytest.raises(DataError, match="tickets.csv"):
        read_table(tmp_path / "tickest.csv")


def test_header_only_and_zero_byte_files(tmp_path):
    """Empty files are refused with the file named."""
    (tmp_path / "h.csv").write_text("text,label\n")
    (tmp_path / "z.csv").write_text("")
    for name in ("h.csv", "z.csv"):
        with pytest.raises(DataError, match=name):
            read_table(tmp_path / name)


def test_undecodable_bytes_name_line_and_row(tmp_path):
    """Latin-1 bytes are reported with their line and data row."""
    path = tmp_path / "bad.csv"
    path.write_bytes(b"text,label\nok,a\ncaf\xe9,b\n")
    with pytest.raises(DataError, match=r"line 3 \(data row 2\)"):
        read_table(path)


def test_malformed_csv_is_a_data_error(tmp_path):
    """A broken CSV fails as a DataError naming the file."""
    path = tmp_path / "broken.csv"
    path.write_text('text,label\n"unterminated,a\n')
    with pytest.raises(DataError, match="broken.csv"):
        read_table(path)


def test_directory_and_unknown_extension(tmp_path):
    """A directory or an unknown extension is refused with what to do."""
    with pytest.raises(DataError, match="directory"):
        read_table(tmp_path)
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(DataError, match="--format"):
        read_table(tmp_path / "x.xlsx")
