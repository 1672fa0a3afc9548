"""Field separators of CSV files: detected from the file's start, or given by name."""

from __future__ import annotations

import gzip

import pytest

from tuneforge.data.delimiters import (
    SAMPLE_BYTES,
    delimited_header,
    describe,
    parse_delimiter,
    sniff_delimiter,
)
from tuneforge.errors import ConfigError


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("text;label\nhello, world;greet\nbye, now;bye\n", ";"),
        ("text\tlabel\nhello, world\tgreet\n", "\t"),
        ("text|label\nhello, world|greet\n", "|"),
        ('text,label\n"a; b; c",x\nd;e,y\n', ","),  # semicolons inside comma-separated texts
        ("text\nhello; there\nbye; now\n", ","),  # one column: nothing to split
        ("text;label\n", ";"),  # a header alone still names its separator
    ],
    ids=["semicolon", "tab", "pipe", "comma-with-semicolons", "one-column", "header-only"],
)
def test_the_separator_is_the_one_that_splits_header_and_rows_alike(tmp_path, content, expected):
    """A header with two or more comma-separated names keeps the comma; otherwise the
    candidate that splits the header into columns wins."""
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    assert sniff_delimiter(path) == expected


def test_rows_decide_between_candidates_that_both_split_the_header(tmp_path):
    """``a;b|c`` splits on ';' and on '|': the one whose rows have the header's width wins."""
    path = tmp_path / "d.csv"
    path.write_text("text;x|label\nhello; there; you|greet\nbye|bye\n", encoding="utf-8")
    assert sniff_delimiter(path) == "|"


def test_a_giant_first_cell_is_sampled_not_read(tmp_path):
    """Only SAMPLE_BYTES are read: a 1 MB quoted cell past the header still finds ';'."""
    path = tmp_path / "d.csv"
    path.write_text('text;label\n"' + "word " * 200_000 + '";x\n', encoding="utf-8")
    assert path.stat().st_size > 10 * SAMPLE_BYTES
    assert sniff_delimiter(path) == ";"


def test_gzipped_files_and_byte_order_marks_are_sampled_as_text(tmp_path):
    """A .csv.gz is sampled after decompressing, and a UTF-8 BOM is not part of the header."""
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress("\ufefftext;label\nhello, world;greet\n".encode()))
    assert sniff_delimiter(path) == ";"
    assert delimited_header(path, ";") == ["text", "label"]


def test_the_header_is_read_as_written(tmp_path):
    """Repeated names stay repeated (pandas would say ``text.1``); quotes are honoured."""
    path = tmp_path / "d.csv"
    path.write_text('\ntext,"text",label\na,b,c\n', encoding="utf-8")
    assert delimited_header(path, ",") == ["text", "text", "label"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(";", ";"), ("tab", "\t"), ("\\t", "\t"), ("\t", "\t"), ("Semicolon", ";"), ("|", "|")],
)
def test_delimiters_are_given_as_a_character_or_by_name(value, expected):
    """--delimiter takes one character, or a name for the ones that are hard to type."""
    assert parse_delimiter(value) == expected


@pytest.mark.parametrize("value", ["", ";;", '"', "\n"])
def test_a_delimiter_that_is_not_one_usable_character_is_refused(value):
    """Two characters, nothing, a quote or a newline are refused, naming the setting."""
    with pytest.raises(ConfigError, match="--delimiter"):
        parse_delimiter(value)


def test_reports_name_separators_in_words():
    """A tab is named, not printed as whitespace; others show the character and its name."""
    assert describe("\t") == "tab" and describe(";") == "';' (semicolon)"
