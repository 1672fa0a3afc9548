"""Check a labelled file: what is in it and every problem, blocking (error) or not (warning)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .sources import LoadedFile, load_examples


@dataclass(frozen=True)
class Problem:
    """One finding; ``message`` names the file, column or rows and says what to do."""

    severity: str  # error | warning
    field: str
    message: str
    rows: tuple[int, ...] = ()


@dataclass
class CheckReport:
    path: str
    format: str
    columns: list[str]
    text_column: str
    label_column: str
    n_rows: int
    label_counts: dict[str, int]
    n_duplicates: int
    duplicate_examples: list[tuple[str, list[int]]]
    conflicts: list[tuple[str, dict[str, list[int]]]]
    empty_text_rows: list[int]
    empty_label_rows: list[int]
    overlong_rows: list[int]
    length_stats: dict
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["blocking"] = self.blocking
        return out


def _rows_text(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(map(str, rows[:limit]))
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _length_stats(texts: list[str], count_tokens) -> dict:
    if count_tokens is not None:
        lengths, unit = count_tokens(texts), "tokens"
    else:
        lengths, unit = [len(t.split()) for t in texts], "words"
    arr = np.asarray(lengths or [0])
    return {
        "unit": unit,
        "min": int(arr.min()),
        "mean": round(float(arr.mean()), 1),
        "median": float(np.median(arr)),
        "p95": float(np.percentile(arr, 95)),
        "max": int(arr.max()),
        "_lengths": lengths,
    }


def check_examples(
    loaded: LoadedFile,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    max_length: int = 128,
) -> CheckReport:
    """Everything a user should know about a file before training on it."""
    path, examples = loaded.path, loaded.examples
    problems: list[Problem] = []
    empty_text = [e.row for e in examples if not e.text.strip()]
    empty_label = [e.row for e in examples if not e.label]
    labelled = [e for e in examples if e.label]
    counts = Counter(e.label for e in labelled)
    by_text: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for e in examples:
        if e.text.strip():
            by_text[e.text][e.label].append(e.row)
    duplicates = [(t, rows) for t, lab in by_text.items() for rows in lab.values() if len(rows) > 1]
    n_duplicates = sum(len(rows) - 1 for _, rows in duplicates)
    conflicts = [
        (t, {k: list(v) for k, v in lab.items()}) for t, lab in by_text.items() if len(lab) > 1
    ]
    stats = _length_stats([e.text for e in examples], count_tokens)
    lengths = stats.pop("_lengths")
    overlong = (
        [e.row for e, n in zip(examples, lengths) if n > max_length]
        if stats["unit"] == "tokens"
        else []
    )

    if empty_label:
        problems.append(
            Problem(
                "error",
                loaded.label_column,
                f"{path}: {len(empty_label)} rows have an empty '{loaded.label_column}' (rows "
                f"{_rows_text(empty_label)}). Fill in their labels or remove those rows.",
                tuple(empty_label),
            )
        )
    if empty_text:
        problems.append(
            Problem(
                "error",
                loaded.text_column,
                f"{path}: {len(empty_text)} rows have an empty '{loaded.text_column}' (rows "
                f"{_rows_text(empty_text)}). Remove them or fill in the text.",
                tuple(empty_text),
            )
        )
    if len(counts) < 2:
        problems.append(
            Problem(
                "error",
                loaded.label_column,
                f"{path}: column '{loaded.label_column}' has {len(counts)} distinct label(s) "
                f"({', '.join(counts) or 'none'}); a classifier needs at least two classes.",
            )
        )
    if n_duplicates:
        problems.append(
            Problem(
                "warning",
                loaded.text_column,
                f"{path}: {n_duplicates} rows repeat an earlier row exactly (e.g. rows "
                f"{_rows_text(duplicates[0][1], 5)}). Duplicates weigh those examples more and can "
                "leak between train and test splits.",
            )
        )
    if conflicts:
        text, labs = conflicts[0]
        sample = "; ".join(f"{k}: rows {_rows_text(v, 3)}" for k, v in labs.items())
        problems.append(
            Problem(
                "warning",
                loaded.label_column,
                f"{path}: {len(conflicts)} texts appear with different labels (e.g. {text[:60]!r} "
                f"→ {sample}). Decide on one label for each.",
            )
        )
    if overlong:
        problems.append(
            Problem(
                "warning",
                loaded.text_column,
                f"{path}: {len(overlong)} texts are longer than {max_length} tokens (rows "
                f"{_rows_text(overlong)}); they will be truncated to {max_length}.",
                tuple(overlong),
            )
        )
    rare = sorted(k for k, v in counts.items() if v < 3)
    if rare and len(counts) >= 2:
        problems.append(
            Problem(
                "warning",
                loaded.label_column,
                f"{path}: labels with fewer than 3 examples ({', '.join(rare[:10])}) cannot "
                "appear in each of train/validation/test; they stay in train only. Add examples.",
            )
        )
    if len(counts) >= 2 and max(counts.values()) > 10 * min(counts.values()):
        problems.append(
            Problem(
                "warning",
                loaded.label_column,
                f"{path}: labels are imbalanced (largest/smallest = "
                f"{max(counts.values())}/{min(counts.values())}). Consider "
                "train.class_weights=balanced.",
            )
        )
    return CheckReport(
        path=path,
        format=loaded.format,
        columns=loaded.columns,
        text_column=loaded.text_column,
        label_column=loaded.label_column,
        n_rows=loaded.n_rows,
        label_counts=dict(counts.most_common()),
        n_duplicates=n_duplicates,
        duplicate_examples=duplicates[:5],
        conflicts=conflicts,
        empty_text_rows=empty_text,
        empty_label_rows=empty_label,
        overlong_rows=overlong,
        length_stats=stats,
        problems=problems,
    )


def check_file(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    max_length: int = 128,
) -> CheckReport:
    return check_examples(
        load_examples(path, text_column, label_column, fmt), count_tokens, max_length
    )


def format_check_report(report: CheckReport) -> str:
    """A plain-text report for the terminal."""
    lines = [
        f"file:      {report.path} ({report.format})",
        f"columns:   {', '.join(report.columns)}",
        f"using:     text='{report.text_column}'  label='{report.label_column}'",
        f"rows:      {report.n_rows}",
        f"labels:    {len(report.label_counts)}",
    ]
    width = max((len(k) for k in report.label_counts), default=5)
    total = max(sum(report.label_counts.values()), 1)
    for label, count in report.label_counts.items():
        bar = "#" * max(1, round(30 * count / max(report.label_counts.values())))
        lines.append(f"  {label:<{width}}  {count:>6}  {100 * count / total:5.1f}%  {bar}")
    s = report.length_stats
    lines.append(
        f"length ({s['unit']}): min {s['min']}  mean {s['mean']}  median {s['median']:.0f}  "
        f"p95 {s['p95']:.0f}  max {s['max']}"
    )
    lines.append(
        f"duplicates: {report.n_duplicates}   conflicting texts: {len(report.conflicts)}"
        f"   empty texts: {len(report.empty_text_rows)}"
        f"   empty labels: {len(report.empty_label_rows)}"
        f"   overlong: {len(report.overlong_rows)}"
    )
    for p in report.problems:
        lines.append(f"{p.severity.upper()}: {p.message}")
    errors = sum(p.severity == "error" for p in report.problems)
    lines.append(f"FAILED: {errors} blocking problem(s)" if errors else "OK: no blocking problems")
    return "\n".join(lines)


def raise_if_blocking(report: CheckReport) -> None:
    errors = [p.message for p in report.problems if p.severity == "error"]
    if errors:
        raise DataError(
            " ".join(errors), hint="Run 'tuneforge data check FILE' to see every problem."
        )
