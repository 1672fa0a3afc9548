"""Data checks: what the report finds, which problems block training, and how it reads."""

from __future__ import annotations

import json

import pytest

from tuneforge.data import (
    check_examples,
    check_file,
    format_check_report,
    raise_if_blocking,
)
from tuneforge.data.sources import LoadedFile
from tuneforge.errors import DataError
from tuneforge.types import Example


def _loaded(rows, path="f.csv") -> LoadedFile:
    ex = [Example(t, y, i + 1) for i, (t, y) in enumerate(rows)]
    return LoadedFile(path, "csv", ["text", "label"], "text", "label", ex, len(ex))


def _balanced(n=3):
    return [(f"x text {i}", "x") for i in range(n)] + [(f"y text {i}", "y") for i in range(n)]


def _messages(report, severity):
    return " ".join(p.message for p in report.problems if p.severity == severity)


def test_clean_file_has_no_problems_and_reports_counts_and_lengths():
    """Balanced, unique data: no problems, counts most common first, word-length stats."""
    rows = [("a b", "x"), ("c d e", "y"), ("f", "x"), ("g h", "y"), ("i", "x")] + _balanced()
    report = check_examples(_loaded(rows))
    assert report.problems == [] and not report.blocking
    assert list(report.label_counts.items()) == [("x", 6), ("y", 5)]
    assert report.length_stats["unit"] == "words"
    assert report.length_stats["min"] == 1 and report.length_stats["max"] == 3
    assert set(report.length_stats) == {"unit", "min", "mean", "median", "p95", "max"}
    assert format_check_report(report).endswith("OK: no blocking problems")


def test_duplicates_and_conflicts_are_found_with_rows():
    """Exact repeats and same-text-different-label rows are warnings with row numbers."""
    rows = [("a", "x"), ("a", "x"), ("b", "x"), ("b", "y"), ("a", "x")] + _balanced()
    report = check_examples(_loaded(rows))
    assert report.n_duplicates == 2
    assert report.duplicate_examples == [("a", [1, 2, 5])]
    assert report.conflicts == [("b", {"x": [3], "y": [4]})]
    assert not report.blocking
    dup = next(p for p in report.problems if "repeat an earlier row" in p.message)
    assert dup.rows == (2, 5) and "f.csv: 2 row(s)" in dup.message
    conflict = next(p for p in report.problems if "different labels" in p.message)
    assert conflict.rows == (3, 4) and "'x' in rows 3; 'y' in rows 4" in conflict.message


def test_empty_labels_block_naming_file_column_and_first_ten_rows():
    """Empty labels are one error: the file, column, up to 10 rows, the total, and what to do."""
    rows = _balanced() + [(f"t{i}", "") for i in range(12)]
    report = check_examples(_loaded(rows, path="data/tickets.csv"))
    assert report.blocking and report.empty_label_rows == list(range(7, 19))
    (error,) = [p for p in report.problems if p.severity == "error"]
    assert error.field == "label" and error.rows == tuple(range(7, 19))
    assert error.message == (
        "data/tickets.csv: 12 row(s) have an empty label in column 'label' (rows "
        "7, 8, 9, 10, 11, 12, 13, 14, 15, 16 and 2 more). Fill in the labels or remove those rows."
    )


def test_empty_and_blank_texts_block_with_rows_named():
    """Empty and whitespace-only texts are an error naming their rows."""
    report = check_examples(_loaded(_balanced() + [("", "x"), ("   ", "y")]))
    assert report.blocking and report.empty_text_rows == [7, 8]
    assert "f.csv: 2 row(s) have an empty text in column 'text' (rows 7, 8)" in _messages(
        report, "error"
    )


def test_empty_cells_are_not_counted_as_duplicates_or_conflicts():
    """Rows with an empty text or label are errors only, not also duplicates/conflicts."""
    report = check_examples(_loaded(_balanced() + [("a", "x"), ("a", ""), ("", "y"), ("", "y")]))
    assert report.n_duplicates == 0 and report.conflicts == []


def test_single_class_blocks_unless_allowed():
    """One class is not trainable; an evaluation file (min_classes=1) may hold one."""
    report = check_examples(_loaded([("a", "x"), ("b", "x"), ("c", "x")], path="one.csv"))
    assert report.blocking
    assert (
        "one.csv: column 'label' has 1 distinct label(s) ('x'); a classifier needs at least "
        "two classes" in report.problems[0].message
    )
    single = check_examples(_loaded([("a", "x"), ("b", "x"), ("c", "x")]), min_classes=1)
    assert not single.blocking


def test_overlong_texts_warn_with_token_counts():
    """Texts over max_length tokens are a warning (truncation), not an error."""
    report = check_examples(
        _loaded(_balanced() + [("very long " * 50, "y")]),
        count_tokens=lambda texts: [len(t.split()) + 2 for t in texts],
        max_length=16,
    )
    assert report.overlong_rows == [7] and not report.blocking
    assert report.length_stats["unit"] == "tokens" and report.length_stats["max"] == 102
    warning = _messages(report, "warning")
    assert "f.csv: 1 text(s) in column 'text' are longer than 16 tokens (rows 7)" in warning
    assert "truncated to 16 tokens" in warning


def test_overlong_without_tokenizer_uses_words_as_a_lower_bound():
    """Without a tokenizer, more words than max_length is reported as overlong."""
    report = check_examples(_loaded(_balanced() + [("w " * 20, "x")]), max_length=10)
    assert report.overlong_rows == [7]
    assert "longer than 10 words" in _messages(report, "warning")


def test_rare_classes_warn_with_counts():
    """Classes with fewer than 3 examples are named with their counts."""
    report = check_examples(_loaded(_balanced() + [("z1", "z"), ("z2", "z")]))
    assert not report.blocking
    assert "f.csv: 1 label(s) have fewer than 3 examples: 'z' (2)" in _messages(report, "warning")
    assert "train/validation/test" in _messages(report, "warning")


def test_heavy_imbalance_suggests_balanced_class_weights():
    """Largest/smallest class above 10x suggests class_weights=balanced; 10x exactly does not."""
    rows = [(f"t{i}", "big") for i in range(31)] + [(f"s{i}", "small") for i in range(3)]
    assert "class_weights=balanced" in _messages(check_examples(_loaded(rows)), "warning")
    rows = [(f"t{i}", "big") for i in range(30)] + [(f"s{i}", "small") for i in range(3)]
    assert "class_weights=balanced" not in _messages(check_examples(_loaded(rows)), "warning")


def test_report_text_shows_columns_labels_problems_and_verdict():
    """The text report names columns, one line per label, ERROR/WARNING lines and the verdict."""
    rows = [(f"text {i}", f"label_{i % 77:02d}") for i in range(77 * 3)] + [("", "label_00")]
    rows += [("text 0", "label_00")]
    text = format_check_report(check_examples(_loaded(rows)))
    lines = text.splitlines()
    assert "text: 'text'" in text and "label: 'label'" in text
    assert sum(line.lstrip().startswith("label_") for line in lines) == 77
    assert any(line.startswith("ERROR: f.csv: 1 row(s) have an empty text") for line in lines)
    assert any(line.startswith("WARNING: f.csv: 1 row(s) repeat") for line in lines)
    assert "'text 0' rows 1, 233" in text
    assert lines[-1] == "FAILED: 1 blocking problem(s)"


def test_to_dict_is_json_serialisable():
    """to_dict() round-trips through JSON with problems and the blocking flag."""
    report = check_examples(_loaded([("a", "x"), ("a", "y"), ("", "x")]))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["blocking"] is True and data["label_counts"] == {"x": 2, "y": 1}
    assert data["problems"][0]["severity"] == "error"
    assert data["conflicts"] == [["a", {"x": [1], "y": [2]}]]


def test_raise_if_blocking_joins_errors_and_ignores_warnings():
    """Errors become one DataError with every message; warnings alone pass."""
    report = check_examples(_loaded([("", "x"), ("b", "")]))
    with pytest.raises(DataError) as info:
        raise_if_blocking(report)
    message = str(info.value)
    assert "empty label in column 'label' (rows 2)" in message
    assert "empty text in column 'text' (rows 1)" in message
    assert "two classes" in message and "tuneforge data check f.csv" in message
    raise_if_blocking(check_examples(_loaded(_balanced() + [("z", "z")])))  # warning only


def test_check_file_reads_and_checks(tmp_path):
    """check_file loads a real file with the given columns and reports its problems."""
    path = tmp_path / "d.csv"
    path.write_text("body,intent\nhello,greet\nhi,greet\nbye,\n", encoding="utf-8")
    report = check_file(path, text_column="body", label_column="intent")
    assert (report.text_column, report.label_column, report.n_rows) == ("body", "intent", 3)
    assert report.empty_label_rows == [3] and report.blocking
    assert str(path) in _messages(report, "error")
