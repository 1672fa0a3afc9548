"""Console tables stay readable on a narrow terminal."""

from __future__ import annotations

from rich.console import Console

from tuneforge.cli.tables import audit_table, tradeoff_table

NAMES = (
    "model",
    "torch-bf16",
    "onnx-fp32",
    "onnx-int8-dynamic",
    "onnx-int8-static",
    "onnx-int4",
    "distilled",
    "distilled-int8",
)


def _variant(name: str) -> dict:
    return {
        "variant": name,
        "accuracy": 0.9667,
        "macro_f1": 0.9657,
        "agreement": 1.0,
        "size_mb": 86.7,
        "peak_rss_mb": 525.0,
        "p50_ms": 1.35,
        "p95_ms": 2.41,
        "throughput_batch32": 520.0,
        "within_tolerance": True,
    }


def test_trade_off_table_keeps_every_variant_name_on_80_columns():
    """On an 80-column terminal each variant is named in full (they were all cut to `onnx…`)."""
    data = {
        "measured_on": "run test split (n=30)",
        "recommended": "onnx-int8-dynamic",
        "variants": [_variant(n) for n in NAMES],
    }
    console = Console(width=80, record=True, color_system=None)
    console.print(tradeoff_table(data, width=80))
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    for name in NAMES:
        assert name in text, name
    assert "…" not in text
    assert "0.9667" in text and "520" in text  # figures whole too
    wide = Console(width=160, record=True, color_system=None)
    wide.print(tradeoff_table(data, width=160))
    assert "within tolerance" in wide.export_text()


def test_audit_table_lists_flagged_rows_and_says_how_many_are_not_shown():
    """The audit table shows the first rows (row number, given and suggested label), the share
    flagged in its title and how many rows the limit left out."""
    from tuneforge.label.audit import AuditResult, AuditRow

    texts = ("alpha", "bravo", "charlie", "delta")
    rows = tuple(
        AuditRow(i, t, "billing", "shipping", 0.01 * i, 0.9) for i, t in enumerate(texts, 1)
    )
    result = AuditResult("f.csv", rows, 40, "5-fold logistic regression", "default", 5, ("a",))
    console = Console(width=120, record=True, color_system=None)
    console.print(audit_table(result, limit=3))
    text = " ".join(console.export_text().split())  # the caption wraps at the table's width
    assert "4 of 40 rows look mislabelled (10.0%)" in text
    assert "charlie" in text and "delta" not in text and "1 more not shown" in text
    assert "shipping" in text and "0.030" in text
