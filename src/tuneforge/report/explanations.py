"""Explanations in HTML: coloured words, the per-label summary with its chart, image overlays,
and the run report's section on the most confidently wrong texts.

Everything here reads the JSON form of explanations (``to_dict()`` of
:mod:`tuneforge.explain.results`, or ``explanations.json`` in a run), never a model: a page
can be rebuilt where only the files are. Words are coloured in place — the text keeps its own
spacing and punctuation — green where they push towards the label and red where they push
away, the colour's strength relative to the text's strongest word. Every user string goes
through ``markup.escape``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..store import RunDir
from .markup import CSS, Raw, data_uri, escape, num, table

_TOWARDS = (26, 127, 55)  # green: pushes towards the label
_AWAY = (207, 34, 46)  # red: pushes away from it
_CHART_LABELS = 12  # the summary chart shows this many labels (the table shows all)
_WORD_CSS = "border-radius:2px"
# How pages and overlays name the methods of tuneforge.explain.
METHOD_NAMES = {"ig": "integrated gradients", "occlusion": "occlusion"}


def word_style(score: float, scale: float) -> str:
    """The inline style of one word: its background's hue is the sign, its opacity the size
    relative to ``scale`` (the text's largest absolute score)."""
    strength = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    if strength < 0.02:
        return ""
    r, g, b = _TOWARDS if score >= 0 else _AWAY
    # A shadow of the same colour pads the word without moving the text around it.
    colour = f"rgba({r},{g},{b},{0.85 * strength:.2f})"
    ink = "color:#fff;" if strength > 0.6 else ""
    return f"background:{colour};box-shadow:0 0 0 2px {colour};{ink}{_WORD_CSS}"


def words_html(explanation: dict) -> str:
    """The text with each explained word in a coloured span (its score on hover)."""
    text = str(explanation.get("text", ""))
    words = sorted(
        (w for w in explanation.get("words") or [] if isinstance(w, dict)),
        key=lambda w: int(w.get("start", 0)),
    )
    scale = max((abs(float(w.get("score", 0.0))) for w in words), default=0.0)
    parts, at = [], 0
    for w in words:
        start, end = int(w.get("start", 0)), int(w.get("end", 0))
        if start < at or end <= start:  # offsets that do not fit the text: show the word alone
            start, end = at, at
        score = float(w.get("score", 0.0))
        shown = text[start:end] if end > start else str(w.get("word", ""))
        parts.append(escape(text[at:start]))
        style = word_style(score, scale)
        styled = f" style='{style}'" if style else ""
        parts.append(f"<span{styled} title='{score:+.4f}'>{escape(shown)}</span>")
        at = max(at, end)
    parts.append(escape(text[at:]))
    return "".join(parts)


def _heading(explanation: dict) -> str:
    label, predicted = explanation.get("label", "?"), explanation.get("predicted")
    method = METHOD_NAMES.get(str(explanation.get("method")), str(explanation.get("method", "")))
    other = (
        f" <span class='note'>(the model predicts {escape(predicted)})</span>"
        if predicted and predicted != label
        else ""
    )
    return (
        f"<b>{escape(label)}</b> {escape(num(explanation.get('score'), 3))} "
        f"<span class='note'>· {escape(method)}</span>{other}"
    )


def text_block(explanation: dict) -> str:
    """One explained text: its label line, then its coloured words."""
    return (
        f"<div style='margin:.8rem 0'>{_heading(explanation)}"
        f"<div style='font-size:1.05rem;line-height:1.9'>{words_html(explanation)}</div></div>"
    )


def image_block(explanation: dict, uri: str) -> str:
    """One explained image: its overlay (a PNG data URI) under its source and label."""
    return (
        "<figure style='margin:.6rem 0'>"
        f"<img alt='{escape(explanation.get('source', 'image'))}' src=\"{uri}\" "
        "style='max-width:480px'>"
        f"<figcaption>{escape(explanation.get('source', ''))}: {_heading(explanation)}"
        "</figcaption></figure>"
    )


def summary_png(summaries: Sequence[dict]) -> str:
    """Bar charts of the top words' mean attribution per label (the labels with the most
    texts), as a PNG data URI; "" when there is nothing to draw."""
    from .plots import cjk_capable, figure_data_uri, new_figure

    shown = [s for s in summaries if s.get("words")][:_CHART_LABELS]
    if not shown:
        return ""
    cols = min(3, len(shown))
    rows = -(-len(shown) // cols)
    with cjk_capable():
        fig = new_figure(4.2 * cols, 2.6 * rows)
        for i, summary in enumerate(shown):
            ax = fig.add_subplot(rows, cols, i + 1)
            words = list(summary["words"])[::-1]  # strongest at the top
            names = [str(w["word"])[:24] for w in words]
            ax.barh(names, [w["mean"] for w in words], color="#1a7f37")
            for y, w in enumerate(words):
                ax.annotate(f" ×{w['count']}", (w["mean"], y), va="center", fontsize=7)
            ax.set_title(f"{str(summary['label'])[:40]} ({summary['n_texts']} texts)", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.margins(x=0.25)
        return figure_data_uri(fig)


def summary_html(summaries: Sequence[dict]) -> str:
    """The per-label table of top words (count and mean attribution) and its chart."""
    rows = [
        [s["label"], s["n_texts"], w["word"], w["count"], num(w["mean"])]
        for s in summaries
        for w in s.get("words") or []
    ]
    chart = summary_png(summaries)
    note = (
        f"<p class='note'>The chart shows the {_CHART_LABELS} labels with the most texts; the "
        "table shows every label.</p>"
        if len(summaries) > _CHART_LABELS
        else ""
    )
    return (
        "<p class='note'>For each label the model gave, the words that most often pushed a "
        "text towards it (count: texts where the word's attribution was positive and at least "
        "a tenth of the text's strongest) and their mean attribution when they did.</p>"
        + table(["label", "texts", "word", "count", "mean attribution"], rows, (1, 3, 4))
        + note
        + (f"<img alt='top words per label' src=\"{chart}\">" if chart else "")
    )


def explanations_page(
    title: str, explained: Sequence[dict] = (), summary: Sequence[dict] | None = None
) -> str:
    """A self-contained page (inline CSS, PNGs as data URIs, no scripts) of explanations in
    their JSON form — texts (with ``words``) coloured, images (with an ``overlay`` PNG file)
    embedded — and an optional per-label summary."""
    texts = [e for e in explained if isinstance(e.get("words"), list)]
    images = [e for e in explained if e.get("overlay")]
    body = [f"<h1>{escape(title)}</h1>"]
    if summary is not None:
        body.append("<h2>Words per label</h2>" + summary_html(summary))
    if texts:
        body.append("<h2>Texts</h2>" + _legend() + "".join(text_block(e) for e in texts))
    if images:
        body.append(
            "<h2>Images</h2><p class='note'>Red regions push towards the label, blue regions "
            "away from it; each cell is one pixel of the model's input.</p>"
            + "".join(_image_entry(e) for e in images)
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _image_entry(explanation: dict) -> str:
    path = Path(str(explanation["overlay"]))
    try:
        return image_block(explanation, data_uri(path.read_bytes()))
    except OSError as exc:
        return f"<p class='note'>{escape(path)} could not be read ({escape(exc)}).</p>"


def _legend() -> str:
    towards = word_style(1.0, 1.0)
    away = word_style(-1.0, 1.0)
    return (
        f"<p class='note'><span style='{towards}'>green</span> words push towards the label, "
        f"<span style='{away}'>red</span> words away from it; the stronger the colour, the "
        "larger the share of the label's probability. Hover a word for its score.</p>"
    )


def wrong_texts_section(run_dir: Path, redact_examples: bool = True) -> str:
    """The run report's attributions of its most confidently wrong texts, from the run's
    ``explanations.json`` ("" when the run has none; a note when it cannot be read), their
    personal data redacted unless ``redact_examples`` is off."""
    from .examples import shown_explanation

    path = RunDir(run_dir).explanations_path
    if not path.is_file():
        return ""
    head = "<h2>Why the most confidently wrong texts were misread</h2>"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        examples = [e for e in data.get("examples") or [] if isinstance(e.get("words"), list)]
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        return head + f"<p class='note'>{escape(path.name)} could not be read ({escape(exc)}).</p>"
    if not examples:
        return ""
    shown = [shown_explanation(e, redact_examples) for e in examples]
    rows = [
        [e.get("true", "?"), e.get("label", "?"), num(e.get("score"), 3), Raw(words_html(e))]
        for e in shown
    ]
    method = METHOD_NAMES.get(str(data.get("method")), str(data.get("method", "")))
    intro = (
        f"<p class='note'>The {len(rows)} {escape(data.get('split', 'test'))} texts the model "
        f"got wrong with the highest confidence, attributed by {escape(method)} for the "
        "predicted label: green words pushed towards it, red words away.</p>"
    )
    return head + intro + table(["true", "predicted", "confidence", "text"], rows, (2,))
