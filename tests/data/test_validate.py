"""Data checks: what the report finds and which problems block training."""

from __future__ import annotations

from tuneforge.data import check_examples, format_check_report
from tuneforge.data.sources import LoadedFile
from tuneforge.types import Example


def _loaded(rows):
    ex = [Example(t, y, i + 1) for i, (t, y) in enumerate(rows)]
    return LoadedFile("f.csv", "csv", ["text", "label"], "text", "label", ex, len(ex))


def test_clean_file_has_no_blocking_problem():
    """Two balanced classes: no errors, counts and length stats reported."""
    report = check_examples(_loaded([("a b", "x"), ("c d e", "y"), ("f", "x"), ("g h", "y")]))
    assert not report.blocking
    assert report.label_counts == {"x": 2, "y": 2}
    assert report.length_stats["max"] == 3 and report.length_stats["unit"] == "words"
    assert format_check_report(report).endswith("OK: no blocking problems")


def test_duplicates_and_conflicts_are_found_with_rows():
    """Exact duplicates and same-text-different-label rows are reported with row numbers."""
    report = check_examples(_loaded([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y"), ("c", "y")]))
    assert report.n_duplicates == 1
    assert report.conflicts == [("b", {"x": [3], "y": [4]})]
    assert not report.blocking


def test_empty_labels_and_texts_block_with_rows_named():
    """Empty labels and texts are errors naming their rows."""
    report = check_examples(_loaded([("a", "x"), ("", "y"), ("c", ""), ("d", "y")]))
    assert report.blocking
    messages = " ".join(p.message for p in report.problems if p.severity == "error")
    assert "rows 3" in messages and "rows 2" in messages
    assert "FAILED: 2 blocking" in format_check_report(report)


def test_single_class_blocks():
    """One class is not trainable."""
    report = check_examples(_loaded([("a", "x"), ("b", "x")]))
    assert report.blocking and "two classes" in report.problems[0].message


def test_overlong_texts_warn_with_token_counts():
    """Texts over max_length tokens are a warning (truncation), not an error."""
    report = check_examples(
        _loaded([("short", "x"), ("very long " * 50, "y")]),
        count_tokens=lambda texts: [len(t.split()) + 2 for t in texts],
        max_length=16,
    )
    assert report.overlong_rows == [2] and not report.blocking
    assert any("truncated" in p.message for p in report.problems)


def test_imbalance_and_rare_classes_warn():
    """Heavy imbalance suggests class weights; tiny classes are flagged."""
    rows = [(f"t{i}", "big") for i in range(40)] + [("s1", "small"), ("s2", "small")]
    messages = " ".join(p.message for p in check_examples(_loaded(rows)).problems)
    assert "class_weights=balanced" in messages and "fewer than 3" in messages
