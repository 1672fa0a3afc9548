"""Chinese labels in plots: drawn with the installed CJK font, and a single warning (never a
flood of glyph warnings) where none is installed."""

from __future__ import annotations

import warnings

import pytest

from tuneforge.report import plots

LABELS = ["正面", "负面", "neutral 中性"]


def test_chinese_labels_are_drawn_with_a_cjk_font():
    """With fonts-noto-cjk installed (the set-up installs it) no glyph is missing."""
    if len(plots.font_families()) == 1:
        pytest.skip("no CJK font installed (scripts/ensure-cjk-font)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        uri = plots.confusion_heatmap_png([[3, 1, 0], [0, 4, 1], [1, 0, 5]], LABELS)
    assert uri.startswith("data:image/png;base64,")
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_without_a_cjk_font_the_warning_comes_once(monkeypatch, capsys):
    """Two plots of Chinese labels without a CJK font: one line on stderr saying what to
    install, no glyph warnings."""
    monkeypatch.setattr(plots, "font_families", lambda: (plots.LATIN_FONT,))
    plots._warn_no_cjk_font.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plots.confusion_heatmap_png([[1, 0], [0, 1]], LABELS[:2])
        plots.confusion_heatmap_png([[2, 0], [0, 2]], LABELS[:2])
    assert capsys.readouterr().err.count("apt-get install fonts-noto-cjk") == 1
    assert not [w for w in caught if "missing from font" in str(w.message)]
    plots._warn_no_cjk_font.cache_clear()
