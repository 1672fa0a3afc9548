"""What the labeling pages show and what a person has in hand while labelling.

The queues, their agreement and every write go through ``recipes/label.py`` (the functions
``tuneforge label`` calls); this module only shapes them for the pages and keeps, per browser
session and in this process's memory, the item in hand, the items to come back to, and the
saves ``Backspace`` may undo. Nothing is cached across processes: a restarted dashboard starts
every desk empty (its sessions are gone too: the cookie key is per process).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from ..errors import TuneforgeError
from ..label.queue import ITEM_STATES, Item, Suggestion
from ..recipes.label_desk import HandedOut, SavedLabel
from ..report.explanations import METHOD_NAMES, words_html
from ..store.names import STAGES
from ..tasks import TASKS

UNDO_DEPTH = 20  # saves one person may take back, newest first
MAX_DESKS = 1000  # sessions whose desks are kept; the oldest is dropped past this
DESK_KEY = "label_desk"  # the session's key naming its desk
EXPLAINERS_KEPT = 2  # models kept loaded for explanations (a chosen one and a suggester)
DIGIT_KEYS = 9
SKIP_KEY = "s"


# -- the queues page -------------------------------------------------------------------------
def queue_rows(status: list[dict]) -> list[dict]:
    """Each queue of ``recipes.label.queue_status`` with its states as shares of a bar."""
    rows = []
    for q in status:
        items = q["items"]
        total = sum(items.values())
        bar = [
            {"state": s, "count": items[s], "share": 100 * items[s] / total if total else 0}
            for s in ITEM_STATES
        ]
        rows.append({**q, "total": total, "bar": bar})
    return rows


def label_keys(labels: tuple[str, ...] | list[str]) -> list[dict]:
    """Each label with its keys: the digit of its place (the first nine) and its first
    letter. The skip key ``s`` is taken, so a label starting with s is reached with Shift+S."""
    keys = []
    for n, label in enumerate(labels, start=1):
        first = label[:1].lower()
        letter = first if first.isprintable() and first.strip() else ""
        hint = "⇧S" if letter == SKIP_KEY else letter
        digit = str(n) if n <= DIGIT_KEYS else ""
        keys.append({"label": label, "digit": digit, "letter": letter, "hint": hint})
    return keys


def conflict_rows(result, contents: dict[int, str]) -> list[dict]:
    """The agreement's conflicts: each item's text and its annotators' labels."""
    return [
        {"id": c.item_id, "text": contents.get(c.item_id, ""), "labels": sorted(c.labels.items())}
        for c in result.conflicts
    ]


# -- one person's desk -----------------------------------------------------------------------
@dataclass
class InHand:
    """The item a person is labelling, its suggestion, and its explanation once made."""

    item_id: int
    suggestion: Suggestion | None
    explanation: dict | None = None
    explain_note: str = ""


@dataclass
class QueueDesk:
    current: InHand | None = None
    later: list[InHand] = field(default_factory=list)  # handed out, set aside by an undo
    undo: list[SavedLabel] = field(default_factory=list)


class Desks:
    """Every session's desks, by queue, in this process: small, and guarded by one lock (the
    routes run in a thread pool)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.desks: OrderedDict[str, dict[str, QueueDesk]] = OrderedDict()

    def of(self, session: dict, queue: str) -> QueueDesk:
        key = session.get(DESK_KEY)
        if not isinstance(key, str):
            key = session[DESK_KEY] = secrets.token_urlsafe(16)
        with self.lock:
            queues = self.desks.setdefault(key, {})
            self.desks.move_to_end(key)
            while len(self.desks) > MAX_DESKS:
                self.desks.popitem(last=False)
            return queues.setdefault(queue, QueueDesk())


def in_hand(handed: HandedOut | None) -> InHand | None:
    return None if handed is None else InHand(handed.item.id, handed.suggestion)


def remember_save(desk: QueueDesk, saved: SavedLabel) -> None:
    desk.undo.append(saved)
    del desk.undo[:-UNDO_DEPTH]


# -- explanations ----------------------------------------------------------------------------
class ExplainerCache:
    """The last models opened for explaining, by the artifact their reference resolved to now
    (so ``NAME@production`` follows promotions), in this process only."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.models: OrderedDict[tuple[str, str], object] = OrderedDict()

    def get(self, ref: str, runs_dir: Path):
        from ..recipes.explain import open_explainer
        from ..store import resolve_model

        _, artifact = resolve_model(ref, runs_dir)
        key = (ref, str(artifact))
        with self.lock:
            if key in self.models:
                self.models.move_to_end(key)
                return self.models[key]
        model = open_explainer(ref, runs_dir)
        with self.lock:
            self.models[key] = model
            while len(self.models) > EXPLAINERS_KEPT:
                self.models.popitem(last=False)
        return model


def explain_in_hand(
    hand: InHand, item: Item, task: str, model_ref: str, runs_dir: Path, cache: ExplainerCache
) -> None:
    """Explain why the suggesting model gives the item its suggested label (occlusion: it
    works on every runtime), once per item in hand; a model that cannot explain leaves a
    note instead. Queues of files (images) are not explained here."""
    if hand.explanation is not None or hand.explain_note or hand.suggestion is None:
        return
    if TASKS[task].items_are_files:
        hand.explain_note = "Explanations are shown for text items only."
        return
    ref = model_ref or hand.suggestion.model
    try:
        model = cache.get(ref, runs_dir)
        _, found = model.explain([item.content], "occlusion", hand.suggestion.label, None)
    except TuneforgeError as exc:
        hand.explain_note = f"No explanation: {exc.message}"
        return
    hand.explanation = found[0].to_dict()


def explanation_view(explanation: dict | None) -> dict | None:
    """The explanation as the run pages show it: the text's words coloured (escaped by
    ``words_html`` itself), with the label and method named."""
    if not explanation:
        return None
    method = str(explanation.get("method", ""))
    return {
        "label": explanation.get("label"),
        "score": explanation.get("score"),
        "method": METHOD_NAMES.get(method, method),
        "words": Markup(words_html(explanation)),
    }


# -- models to choose ------------------------------------------------------------------------
def registered_refs(found: dict) -> list[str]:
    """``NAME@stage`` for every stage a registered model holds (``recipes.registry.versions``),
    the references ``retrain`` and ``label next`` take."""
    return [f"{v.name}@{v.stage}" for vs in found.values() for v in vs if v.stage in STAGES]


def run_refs(records) -> list[str]:
    """The finished runs (newest first) a person may pick to suggest labels."""
    return [r.id for r in records if r.state == "succeeded"]
