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


def test_quoted_rows_have_their_personal_data_replaced():
    """A repeated row quoted in the report shows a placeholder, not the email it holds."""
    rows = [("mail me at jane@example.com", "x")] * 2 + _balanced()
    message = _messages(check_examples(_loaded(rows)), "warning")
    assert "[EMAIL]" in message and "jane@example.com" not in message


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


def test_a_repeated_column_name_is_a_blocking_problem_of_the_report(tmp_path):
    """data check used to say OK for ``text,text,label``: the report now has an error naming
    the column and its positions, lists the header as written and ends FAILED."""
    path = tmp_path / "dup.csv"
    rows = "".join(f"t{i},u{i},{'xy'[i % 2]}\n" for i in range(8))
    path.write_text("text,text,label\n" + rows, encoding="utf-8")
    report = check_file(path)
    assert report.blocking and report.duplicate_columns == {"text": (1, 2)}
    assert "'text' in columns 1 and 2" in _messages(report, "error")
    text = format_check_report(report)
    assert "columns    text, text, label" in text
    assert text.splitlines()[-1] == "FAILED: 1 blocking problem(s)"
    with pytest.raises(DataError, match="columns 1 and 2"):
        raise_if_blocking(report)


def test_repeated_names_explain_a_file_whose_columns_cannot_be_found(tmp_path):
    """``text,text`` has no label column to detect: the repeat is named, as the likely cause."""
    path = tmp_path / "dup.csv"
    path.write_text("body,body\na,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="'body' in columns 1 and 2"):
        check_file(path)


def test_the_report_names_a_separator_that_is_not_a_comma(tmp_path):
    """A detected ';' gets a ``delimiter`` line saying so, a given one says "as given"; a comma
    CSV's report has no such line (it reads as it always did)."""
    semi = tmp_path / "semi.csv"
    semi.write_text("text;label\n" + "".join(f"a, {i};{'xy'[i % 2]}\n" for i in range(6)))
    text = format_check_report(check_file(semi))
    assert "delimiter  ';' (semicolon), detected" in text and text.endswith(
        "OK: no blocking problems"
    )
    given = format_check_report(check_file(semi, delimiter=";"))
    assert "delimiter  ';' (semicolon), as given" in given
    comma = tmp_path / "comma.csv"
    comma.write_text("text,label\n" + "".join(f"a; {i},{'xy'[i % 2]}\n" for i in range(6)))
    assert "delimiter" not in format_check_report(check_file(comma))


def test_texts_past_the_measured_length_are_cut_for_the_check_and_named(tmp_path):
    """A text over MEASURED_CHARS is measured on its first MEASURED_CHARS characters only (the
    tokenizer never sees more), and a warning names its row and how much was cut."""
    from tuneforge.data.validate import MEASURED_CHARS

    seen: list[int] = []

    def count(texts):
        seen.extend(len(t) for t in texts)
        return [len(t) // 4 for t in texts]

    rows = _balanced()
    rows[1] = ("word " * (MEASURED_CHARS // 5 + 3000), "x")
    report = check_examples(_loaded(rows), count_tokens=count)
    assert max(seen) == MEASURED_CHARS
    assert report.cut_texts == [(2, len(rows[1][0]))]
    cut = next(p for p in report.problems if "characters" in p.message)
    assert cut.severity == "warning" and cut.rows == (2,)
    assert f"row 2: {len(rows[1][0]):,} characters, 15,000 cut" in cut.message
    assert report.overlong_rows == [2]


PEAK_SCRIPT = """
import contextlib, io, json, sys
from tuneforge.cli import main
from tuneforge.models import load_tokenizer, resolve_model_dir
import pandas

load_tokenizer(resolve_model_dir("default"))  # the libraries data check loads, before the baseline


def peak_kb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


before = peak_kb()
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["data", "check", sys.argv[1]])
print(json.dumps({"code": code, "extra_mb": (peak_kb() - before) / 1024, "out": out.getvalue()}))
"""


def test_data_check_on_a_15_mb_cell_stays_small(tmp_path):
    """One 15 MB cell used to cost data check 27 s and 2.7 GB (the tokenizer saw it whole):
    the check's peak memory (VmHWM of its own process) grows well under 500 MB, and the report
    names the row that was cut."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import tuneforge

    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read the process's peak memory")
    path = tmp_path / "big.csv"
    rows = [f"short text {i},{'xyz'[i % 3]}" for i in range(30)]
    rows[2] = '"' + ("lorem ipsum dolor sit amet " * 560_000)[:15_000_000] + '",y'
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    src = str(Path(tuneforge.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    extra = result["extra_mb"]
    assert extra < 500, f"data check peaked {extra:.0f} MB above its start"
    assert result["code"] == 0, result["out"]
    assert "row 3: 15,000,000 characters, 14,900,000 cut" in result["out"]


def test_a_test_split_too_small_per_label_recommends_folds(tmp_path):
    """data check warns when the default 10% test split would hold fewer than 30 examples of
    a label, naming the smallest and recommending --folds; 300 per label gets no warning."""
    small = tmp_path / "small.csv"
    small.write_text(
        "text,label\n" + "".join(f"t {i},{'xy'[i % 2]}\n" for i in range(100)), encoding="utf-8"
    )
    report = check_file(small)
    warning = _messages(report, "warning")
    assert "fewer than 30 examples for 2 of 2 label(s)" in warning and "--folds 5" in warning
    assert "about 5" in warning and not report.blocking
    big = tmp_path / "big.csv"
    big.write_text(
        "text,label\n" + "".join(f"t {i},{'xy'[i % 2]}\n" for i in range(600)), encoding="utf-8"
    )
    assert "--folds" not in _messages(check_file(big), "warning")
