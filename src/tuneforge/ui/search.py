"""The search page's indexes and what it does with them: the vector indexes under the runs
folder (``tuneforge index build`` without ``--output``), each opened once with its own model and
kept in a small cache, and one query answered through ``tuneforge search``'s own functions.

A person picks an index from the list the server builds (a name, never a path); nothing is
written, so a search is allowed under ``--read-only``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..embed import Hit, TextEncoder, VectorIndex
from ..embed.index import INFO_FILE
from ..errors import DataError
from ..recipes.index import index_encoder
from ..store.rundir import indexes_root

CACHE_SIZE = 2  # an open index holds its model's weights (up to hundreds of MB) in memory
MAX_QUERY_CHARS = 2000
MAX_K = 50


@dataclass(frozen=True)
class IndexChoice:
    """One index in the picker: its folder name and what the person reads."""

    name: str
    title: str


def index_choices(runs_dir: Path) -> list[IndexChoice]:
    """Every index under ``<runs>/indexes``, by name, with its size and model."""
    import json

    root = indexes_root(runs_dir)
    choices = []
    for folder in sorted(p for p in root.glob("*") if (p / INFO_FILE).is_file()):
        try:
            info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
            title = f"{folder.name} ({info['count']} items, model {info['model']})"
        except (OSError, ValueError, KeyError, TypeError):
            title = f"{folder.name} (unreadable index.json)"
        choices.append(IndexChoice(folder.name, title))
    return choices


@dataclass
class OpenIndex:
    index: VectorIndex
    encoder: TextEncoder


class IndexCache:
    """The last ``size`` indexes searched, each with its checked encoder. One lock: an index
    opens once even when two requests ask for it together, and one query runs at a time."""

    def __init__(self, runs_dir: Path, size: int = CACHE_SIZE) -> None:
        self.runs_dir, self.size = Path(runs_dir), size
        self._open: OrderedDict[str, OpenIndex] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, name: str) -> OpenIndex:
        """The index called ``name`` with its model; call with :attr:`lock` held."""
        if name in self._open:
            self._open.move_to_end(name)
            return self._open[name]
        index = VectorIndex.load(indexes_root(self.runs_dir) / name)
        opened = OpenIndex(index, index_encoder(index, self.runs_dir))
        self._open[name] = opened
        while len(self._open) > self.size:
            self._open.popitem(last=False)
        return opened


def search_one(opened: OpenIndex, query: str, k: int) -> list[Hit]:
    """The ``k`` nearest items of one typed query."""
    if not query.strip():
        raise DataError("Type a text to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise DataError(
            f"The query has {len(query)} characters; the search takes up to {MAX_QUERY_CHARS}."
        )
    if not 1 <= k <= MAX_K:
        raise DataError(f"k must be between 1 and {MAX_K}, got {k}.")
    (hits,) = opened.index.search(opened.encoder.embed([query]), k)
    return hits
