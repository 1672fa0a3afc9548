"""Example texts as reports show them: personal data redacted unless the run says otherwise.

A run's report and its dashboard page quote texts from the data (the most confused pairs, the
most confidently wrong texts); ``report.redact_examples`` (on by default, in the run's
config.yaml) replaces emails, phones, cards, IBANs, IPs and URLs in them by placeholders.
Explained texts keep their colouring: the words inside a piece of personal data become one
placeholder whose attribution is their sum (attributions of a text's parts add up).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..data.pii import PLACEHOLDERS, find_pii, redact
from ..store import RunDir


def redacts_examples(config: object) -> bool:
    """``report.redact_examples`` of a run's config (a mapping as read from config.yaml);
    True where the config does not say, is missing, or cannot be read."""
    section = config.get("report") if isinstance(config, dict) else None
    value = section.get("redact_examples") if isinstance(section, dict) else None
    return value is not False


def run_redacts_examples(run_dir: Path | str) -> bool:
    """Whether the run's pages redact example texts (its config.yaml; True when unreadable)."""
    path = RunDir(run_dir).config_path
    try:
        return redacts_examples(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True


def shown_text(text: str, redact_examples: bool = True) -> str:
    return redact(text) if redact_examples else text


def shown_explanation(explanation: dict, redact_examples: bool = True) -> dict:
    """An explanation (JSON form) whose text has its personal data replaced, with word offsets
    moved to the new text; words inside one finding merge into its placeholder."""
    text = str(explanation.get("text", ""))
    spans = find_pii(text) if redact_examples else []
    if not spans:
        return explanation
    pieces: list[str] = []
    moves = []  # per finding: (old start, old end, new start, new end, placeholder)
    at, length = 0, 0
    for span in spans:
        pieces.append(text[at : span.start])
        length += span.start - at
        mark = PLACEHOLDERS[span.kind]
        moves.append((span.start, span.end, length, length + len(mark), mark))
        pieces.append(mark)
        length += len(mark)
        at = span.end
    pieces.append(text[at:])

    def moved(offset: int) -> int:
        delta = 0
        for _, old_end, _, new_end, _ in moves:  # in text order; offsets already shifted
            if old_end > offset:
                break
            delta = new_end - old_end
        return offset + delta

    words: list[dict] = []
    merged: dict[int, dict] = {}
    for w in explanation.get("words") or []:
        if not isinstance(w, dict):
            continue
        start, end = int(w.get("start", 0)), int(w.get("end", 0))
        hit = next((i for i, m in enumerate(moves) if start < m[1] and m[0] < end), None)
        if hit is None:
            words.append({**w, "start": moved(start), "end": moved(end)})
        elif hit in merged:
            merged[hit]["score"] += float(w.get("score", 0.0))
        else:
            _, _, new_start, new_end, mark = moves[hit]
            merged[hit] = {**w, "word": mark, "start": new_start, "end": new_end}
            merged[hit]["score"] = float(w.get("score", 0.0))
            words.append(merged[hit])
    return {**explanation, "text": "".join(pieces), "words": words}
