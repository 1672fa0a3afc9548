"""The recommendations page's runs and what it does with them: the succeeded recommend runs of
the runs folder, each opened once (towers, item index, histories) into a small cache, and one
user or history answered through ``tuneforge recommend``'s own recommender.

A person picks a run from the list the server builds (a run id, never a path); nothing is
written, so recommendations are allowed under ``--read-only``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..recipes.recommend import open_run_recommender
from ..store import list_run_dirs

CACHE_SIZE = 2
MAX_K = 50
MAX_HISTORY = 200


@dataclass(frozen=True)
class RunChoice:
    """One recommend run in the picker: its id and what the person reads."""

    run_id: str
    title: str


def recommend_runs(runs_dir: Path) -> list[RunChoice]:
    """Every succeeded recommend run, newest first, with its size and HR@10."""
    choices = []
    for run in list_run_dirs(runs_dir):
        status = run.status()
        if status.get("task") != "recommend" or status.get("state") != "succeeded":
            continue
        ev = run.read_json(run.eval_path.name) or {}
        hr = ev.get("hr@10")
        figure = f", HR@10 {hr:.3f}" if isinstance(hr, (int, float)) else ""
        title = (
            f"{run.run_id} ({status.get('n_users')} users, {status.get('n_items')} items{figure})"
        )
        choices.append(RunChoice(run.run_id, title))
    return choices


class RecommenderCache:
    """The last ``size`` recommenders used. One lock: a run opens once even when two requests
    ask for it together."""

    def __init__(self, runs_dir: Path, size: int = CACHE_SIZE) -> None:
        self.runs_dir, self.size = Path(runs_dir), size
        self._open: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, run_id: str):
        """The recommender of ``run_id``; call with :attr:`lock` held."""
        if run_id in self._open:
            self._open.move_to_end(run_id)
            return self._open[run_id]
        opened = open_run_recommender(run_id, self.runs_dir)
        self._open[run_id] = opened
        while len(self._open) > self.size:
            self._open.popitem(last=False)
        return opened


def recommend_one(recommender, user: str, history: str, k: int) -> list:
    """The ``k`` best items for a typed user id or comma-separated history (one of them)."""
    user, items = user.strip(), [i.strip() for i in history.split(",") if i.strip()]
    if bool(user) == bool(items):
        raise DataError("Type a user id or a history of item ids (one of the two).")
    if len(items) > MAX_HISTORY:
        raise DataError(f"The history has {len(items)} items; the page takes up to {MAX_HISTORY}.")
    if not 1 <= k <= MAX_K:
        raise DataError(f"k must be between 1 and {MAX_K}, got {k}.")
    if user:
        return recommender.recommend(user=user, k=k)
    return recommender.recommend(history=items, k=k)
