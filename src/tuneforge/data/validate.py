"""Check a labelled file: what is in it and every problem, blocking (error) or not (warning).

Errors make training fail or meaningless (empty cells, one class, a column name the header
repeats); warnings quietly hurt a model (duplicates, contradictions, truncation, tiny or
dominated classes). One report backs both ``tuneforge data check`` and the gate before
training, so the messages are the same in both. Lengths are measured on at most
MEASURED_CHARS characters of each text: tokenising a 15 MB cell whole takes some 20 s and 2.5 GB
only to learn that it is longer than max_length.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..types import Example
from .delimiters import describe
from .pii import pii_by_column, pii_lines, pii_message, redact
from .readers import read_table_file, refuse_duplicate_columns
from .sources import LoadedFile, loaded_from_table
from .table_files import DUPLICATE_COLUMNS_FIX, duplicate_columns_message

TokenCounter = Callable[[list[str]], list[int]]
MIN_PER_CLASS = 3  # one example each for train, validation and test
IMBALANCE_RATIO = 10
SHOWN_ROWS = 10
MEASURED_CHARS = 100_000  # far more than any max_length in tokens; longer texts are cut
MIN_TEST_PER_CLASS = 30  # below this a test split's per-class figures move by whole points


@dataclass(frozen=True)
class Problem:
    """One finding; ``message`` names the file, column or rows and says what to do."""

    severity: str  # error | warning
    field: str
    message: str
    rows: tuple[int, ...] = ()


@dataclass
class CheckReport:
    """What a file holds and every problem found; rows are 1-based data rows (header excluded)."""

    path: str
    format: str
    columns: list[str]
    text_column: str
    label_column: str
    n_rows: int
    label_counts: dict[str, int]  # most common first
    n_duplicates: int
    duplicate_examples: list[tuple[str, list[int]]]
    conflicts: list[tuple[str, dict[str, list[int]]]]
    empty_text_rows: list[int]
    empty_label_rows: list[int]
    overlong_rows: list[int]
    length_stats: dict
    problems: list[Problem] = field(default_factory=list)
    delimiter: str | None = None  # csv/tsv: the field separator read with
    delimiter_note: str = ""  # detected | given, when not the format's own
    duplicate_columns: dict[str, tuple[int, ...]] = field(default_factory=dict)
    cut_texts: list[tuple[int, int]] = field(default_factory=list)  # (row, characters)
    # The text's scripts (share of letters) and the tokenizer's coverage of them
    # (data/language.py); empty when no tokenizer was given.
    language: dict = field(default_factory=dict)
    # column → kind of personal data → rows holding it (data check only; see data/pii.py)
    pii: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """True when any problem is an error: training must not start."""
        return any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data (for ``--json`` output and run records)."""
        return {**asdict(self), "blocking": self.blocking}


def _rows_text(rows: list[int], limit: int = SHOWN_ROWS) -> str:
    shown = ", ".join(map(str, rows[:limit]))
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _snippet(text: str, width: int = 50) -> str:
    """A short quote of a row for a message, personal data replaced by placeholders: a data
    check's output ends up in tickets and CI logs."""
    head = text[: 8 * width]  # splitting a 15 MB text to show 50 characters costs seconds
    flat = " ".join(redact(head).split())
    whole = len(head) == len(text) and len(flat) <= width
    return repr(flat if whole else flat[: width - 3] + "...")


def _length_stats(texts: list[str], count_tokens: TokenCounter | None) -> tuple[dict, list[int]]:
    if count_tokens is not None:
        lengths, unit = [int(n) for n in count_tokens(texts)], "tokens"
    else:
        lengths, unit = [len(t.split()) for t in texts], "words"
    arr = np.asarray(lengths or [0], dtype=float)
    stats = {
        "unit": unit,
        "min": int(arr.min()),
        "mean": round(float(arr.mean()), 1),
        "median": float(np.median(arr)),
        "p95": float(np.percentile(arr, 95)),
        "max": int(arr.max()),
    }
    return stats, lengths


def _group_by_text(examples: list[Example]) -> dict[str, dict[str, list[int]]]:
    """text → label → rows, for rows with both a text and a label (empties are errors anyway)."""
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for e in examples:
        if e.text.strip() and e.label:
            groups[e.text][e.label].append(e.row)
    return {text: dict(labels) for text, labels in groups.items()}


def _error(column: str, message: str, rows: list[int] | tuple[int, ...] = ()) -> Problem:
    return Problem("error", column, message, tuple(rows))


def _warning(column: str, message: str, rows: list[int] | tuple[int, ...] = ()) -> Problem:
    return Problem("warning", column, message, tuple(rows))


def _empty_problem(path: str, column: str, what: str, rows: list[int]) -> Problem:
    return _error(
        column,
        f"{path}: {len(rows)} row(s) have an empty {what} in column '{column}' (rows "
        f"{_rows_text(rows)}). Fill in the {what}s or remove those rows.",
        rows,
    )


def _class_problems(path: str, column: str, counts: Counter, min_classes: int) -> Iterator[Problem]:
    if len(counts) < min_classes:
        names = ", ".join(map(repr, counts)) or "none"
        yield _error(
            column,
            f"{path}: column '{column}' has {len(counts)} distinct label(s) ({names}); a "
            "classifier needs at least two classes. Check --label-column, or add examples "
            "of the other classes.",
        )
        return
    rare = sorted((k for k, v in counts.items() if v < MIN_PER_CLASS), key=lambda k: counts[k])
    if rare:
        named = ", ".join(f"{k!r} ({counts[k]})" for k in rare[:SHOWN_ROWS])
        more = f" and {len(rare) - SHOWN_ROWS} more" if len(rare) > SHOWN_ROWS else ""
        yield _warning(
            column,
            f"{path}: {len(rare)} label(s) have fewer than {MIN_PER_CLASS} examples: "
            f"{named}{more}. That is too few to put one in each of train/validation/test, "
            "so a split keeps them in train only. Add examples for them.",
        )
    if counts:
        (big, n_big), (small, n_small) = counts.most_common()[0], counts.most_common()[-1]
        if n_big > IMBALANCE_RATIO * n_small:
            yield _warning(
                column,
                f"{path}: labels are heavily imbalanced: {big!r} has {n_big} examples, "
                f"{small!r} only {n_small} ({n_big / n_small:.0f}x). Consider "
                "train.class_weights=balanced, or add examples of the small classes.",
            )


def _duplicate_problems(
    loaded: LoadedFile, repeats: list[tuple[str, list[int]]], conflicts: list
) -> Iterator[Problem]:
    if repeats:
        extra = sorted(r for _, rows in repeats for r in rows[1:])
        text, rows = repeats[0]
        yield _warning(
            loaded.text_column,
            f"{loaded.path}: {len(extra)} row(s) repeat an earlier row's text and label exactly "
            f"(e.g. {_snippet(text)} in rows {_rows_text(rows, 5)}). Repeats weigh more in "
            "training and can land in both train and test; remove them unless intended.",
            extra,
        )
    if conflicts:
        text, labels = conflicts[0]
        sample = "; ".join(f"{k!r} in rows {_rows_text(v, 3)}" for k, v in labels.items())
        yield _warning(
            loaded.label_column,
            f"{loaded.path}: {len(conflicts)} text(s) appear with different labels in column "
            f"'{loaded.label_column}' (e.g. {_snippet(text)}: {sample}). The model cannot "
            "learn both; keep one label per text.",
            sorted(r for _, labs in conflicts for v in labs.values() for r in v),
        )


def _cut_problem(loaded: LoadedFile, cut: list[tuple[int, int]]) -> Problem:
    shown = ", ".join(
        f"row {row}: {n:,} characters, {n - MEASURED_CHARS:,} cut" for row, n in cut[:SHOWN_ROWS]
    )
    more = f" and {len(cut) - SHOWN_ROWS} more" if len(cut) > SHOWN_ROWS else ""
    return _warning(
        loaded.text_column,
        f"{loaded.path}: {len(cut)} text(s) in column '{loaded.text_column}' are longer than "
        f"{MEASURED_CHARS:,} characters ({shown}{more}); their lengths count the first "
        f"{MEASURED_CHARS:,} only. The model sees only their first model.max_length tokens: "
        "split such texts into examples, or check that a quote was not left open.",
        [row for row, _ in cut],
    )


def _duplicate_columns_problem(loaded: LoadedFile) -> Problem:
    message = duplicate_columns_message(loaded.path, loaded.duplicate_columns)
    return _error(", ".join(loaded.duplicate_columns), f"{message} {DUPLICATE_COLUMNS_FIX}")


def _overlong_problem(loaded: LoadedFile, rows: list[int], max_length: int, unit: str) -> Problem:
    size = f"{max_length} tokens" if unit == "tokens" else f"{max_length} words (so tokens)"
    return _warning(
        loaded.text_column,
        f"{loaded.path}: {len(rows)} text(s) in column '{loaded.text_column}' are longer than "
        f"{size} (rows {_rows_text(rows)}); they will be truncated to {max_length} tokens. "
        "Raise model.max_length if their ends matter.",
        rows,
    )


def small_test_problem(
    loaded: LoadedFile, counts: Counter, test_fraction: float = 0.1
) -> Problem | None:
    """A warning when the stratified test split ``tuneforge train`` cuts (``test_fraction`` of
    each label) would hold fewer than MIN_TEST_PER_CLASS examples of some label: one split's
    accuracy then says little, and cross-validation tests on every example instead."""
    if not counts or test_fraction <= 0:
        return None
    per_class = {k: round(test_fraction * v) for k, v in counts.items()}
    small = sorted((k for k, n in per_class.items() if n < MIN_TEST_PER_CLASS), key=per_class.get)
    if not small:
        return None
    least = small[0]
    return _warning(
        loaded.label_column,
        f"{loaded.path}: a {test_fraction:.0%} test split would hold fewer than "
        f"{MIN_TEST_PER_CLASS} examples for {len(small)} of {len(counts)} label(s) (fewest: "
        f"{least!r} with about {per_class[least]}); its accuracy would move by points with the "
        "split's seed. Train with --folds 5 to test on every example (mean ± std over folds).",
    )


def check_examples(
    loaded: LoadedFile,
    count_tokens: TokenCounter | None = None,
    max_length: int = 128,
    *,
    min_classes: int = 2,
) -> CheckReport:
    """Everything a user should know about a file before training on it.

    ``min_classes`` is 2 for training data; an evaluation file may hold a single class.
    """
    examples = loaded.examples
    empty_text = [e.row for e in examples if not e.text.strip()]
    empty_label = [e.row for e in examples if not e.label]
    counts = Counter(e.label for e in examples if e.label)
    groups = _group_by_text(examples)
    cut = [(e.row, len(e.text)) for e in examples if len(e.text) > MEASURED_CHARS]
    stats, lengths = _length_stats([e.text[:MEASURED_CHARS] for e in examples], count_tokens)
    # Without a tokenizer, words are a lower bound on tokens: more words than max_length is
    # certainly too long.
    overlong = [e.row for e, n in zip(examples, lengths) if n > max_length]

    problems: list[Problem] = []
    if loaded.duplicate_columns:
        problems.append(_duplicate_columns_problem(loaded))
    if empty_label:
        problems.append(_empty_problem(loaded.path, loaded.label_column, "label", empty_label))
    if empty_text:
        problems.append(_empty_problem(loaded.path, loaded.text_column, "text", empty_text))
    problems += _class_problems(loaded.path, loaded.label_column, counts, min_classes)
    repeats = [(t, rows) for t, labels in groups.items() for rows in labels.values() if rows[1:]]
    conflicts = [(t, labels) for t, labels in groups.items() if len(labels) > 1]
    problems += _duplicate_problems(loaded, repeats, conflicts)
    if overlong:
        problems.append(_overlong_problem(loaded, overlong, max_length, stats["unit"]))
    if cut:
        problems.append(_cut_problem(loaded, cut))
    problems.sort(key=lambda p: p.severity != "error")  # stable: errors first
    return CheckReport(
        path=loaded.path,
        format=loaded.format,
        columns=list(loaded.columns),
        text_column=loaded.text_column,
        label_column=loaded.label_column,
        n_rows=loaded.n_rows,
        label_counts=dict(counts.most_common()),
        n_duplicates=sum(len(rows) - 1 for _, rows in repeats),
        duplicate_examples=repeats[:5],
        conflicts=conflicts,
        empty_text_rows=empty_text,
        empty_label_rows=empty_label,
        overlong_rows=overlong,
        length_stats=stats,
        problems=problems,
        delimiter=loaded.delimiter,
        delimiter_note=loaded.delimiter_note,
        duplicate_columns=dict(loaded.duplicate_columns),
        cut_texts=cut,
    )


def check_file(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
    count_tokens: TokenCounter | None = None,
    max_length: int = 128,
    *,
    delimiter: str | None = None,
    test_fraction: float = 0.1,
    tokenizer=None,
    model_name: str = "default",
) -> CheckReport:
    """Read and check one file (``tuneforge data check``); read errors raise DataError, and a
    header that repeats a column name is a blocking problem of the report. Beyond what
    :func:`check_examples` finds, it warns when the ``test_fraction`` test split would be too
    small per label to trust (:func:`small_test_problem`), and — given the encoder's
    ``tokenizer`` — reports the text's scripts and warns when the encoder does not cover them."""
    table = read_table_file(path, fmt, delimiter=delimiter)
    try:
        loaded = loaded_from_table(table, path, text_column, label_column)
    except DataError:
        refuse_duplicate_columns(table, path)  # the repeated names may be why none was found
        raise
    report = check_examples(loaded, count_tokens, max_length)
    small = small_test_problem(loaded, Counter(report.label_counts), test_fraction)
    if small is not None and not report.blocking:
        report.problems.append(small)
    if tokenizer is not None:
        language_check(report, [e.text for e in loaded.examples], tokenizer, model_name)
    report.pii = pii_by_column(table.frame)
    if report.pii:
        report.problems.append(_warning(", ".join(report.pii), pii_message(path, report.pii)))
    return report


def language_check(report: CheckReport, texts: list[str], tokenizer, model_name: str) -> None:
    """Scripts and coverage into ``report.language``; a warning when coverage is poor."""
    from .language import coverage_warning, script_shares, tokenizer_coverage

    shares = script_shares(texts)
    coverage = tokenizer_coverage(tokenizer, texts)
    report.language = {"scripts": shares, "coverage": coverage.to_dict(), "model": model_name}
    warning = coverage_warning(shares, coverage, model_name)
    if warning:
        report.problems.append(Problem("warning", report.text_column, f"{report.path}: {warning}"))


def format_check_report(report: CheckReport) -> str:
    """A plain-text report for the terminal: one line per label, so 77 labels stay scannable."""
    counts = report.label_counts
    lines = [
        f"file       {report.path} ({report.format}, {report.n_rows} rows)",
        f"columns    {', '.join(report.columns)}",
        f"using      text: '{report.text_column}'   label: '{report.label_column}'",
        f"labels     {len(counts)}",
    ]
    if report.delimiter is not None and report.delimiter_note:
        detected = report.delimiter_note == "detected"
        how = "detected; --delimiter forces another" if detected else "as given"
        lines.insert(2, f"delimiter  {describe(report.delimiter)}, {how}")
    width = min(max((len(k) for k in counts), default=5), 40)
    top = max(counts.values(), default=1)
    total = max(sum(counts.values()), 1)
    for label, count in counts.items():
        name = label if len(label) <= width else label[: width - 3] + "..."
        bar = "#" * max(1, round(20 * count / top))
        lines.append(f"  {name:<{width}} {count:>7} {100 * count / total:5.1f}%  {bar}")
    s = report.length_stats
    lines.append(
        f"length     ({s['unit']}) min {s['min']}  mean {s['mean']}  median {s['median']:g}  "
        f"p95 {s['p95']:g}  max {s['max']}"
    )
    lines.append(
        f"empty      texts {len(report.empty_text_rows)}   labels {len(report.empty_label_rows)}"
        f"   overlong texts {len(report.overlong_rows)}"
    )
    if report.language:
        lines += _language_lines(report.language)
    lines.append(f"duplicates {report.n_duplicates} repeated row(s)")
    for text, rows in report.duplicate_examples[:3]:
        lines.append(f"  {_snippet(text)} rows {_rows_text(rows, 5)}")
    lines.append(f"conflicts  {len(report.conflicts)} text(s) with different labels")
    for text, labels in report.conflicts[:3]:
        sample = "; ".join(f"{k!r} rows {_rows_text(v, 3)}" for k, v in labels.items())
        lines.append(f"  {_snippet(text)} -> {sample}")
    lines += pii_lines(report.pii)
    lines.append("")
    lines += [f"{p.severity.upper()}: {p.message}" for p in report.problems]
    errors = sum(p.severity == "error" for p in report.problems)
    lines.append(f"FAILED: {errors} blocking problem(s)" if errors else "OK: no blocking problems")
    return "\n".join(lines)


def _language_lines(language: dict) -> list[str]:
    shares = language.get("scripts") or {}
    shown = {s: v for s, v in shares.items() if v >= 0.001}  # a stray letter is no script
    scripts = ", ".join(f"{s} {100 * v:.1f}%" for s, v in shown.items()) or "no letters"
    c = language.get("coverage") or {}
    return [
        f"scripts    {scripts} (of letters)",
        f"coverage   {language.get('model')}: unknown tokens {100 * c.get('unknown_share', 0):.1f}%"
        f"   tokens/letter {c.get('tokens_per_letter', 0):.2f}   single-character "
        f"{100 * c.get('single_char_share', 0):.1f}% of letters"
        + ("   POOR" if c.get("poor") else ""),
    ]


def raise_if_blocking(report: CheckReport) -> None:
    """Stop before training on data with errors, with every error in one message."""
    errors = [p.message for p in report.problems if p.severity == "error"]
    if errors:
        raise DataError(
            " ".join(errors), hint=f"Run 'tuneforge data check {report.path}' for the full report."
        )
