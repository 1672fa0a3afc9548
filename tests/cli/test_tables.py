"""Console tables stay readable on a narrow terminal."""

from __future__ import annotations

from rich.console import Console

from tuneforge.cli.tables import tradeoff_table

NAMES = (
    "model",
    "torch-bf16",
    "onnx-fp32",
    "onnx-int8-dynamic",
    "onnx-int8-static",
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
