"""The recommend task: interactions (user, item, time) and an items file of texts become a
two-tower model (:mod:`tuneforge.models.two_tower`) whose item vectors answer from a FAISS
index (:class:`tuneforge.embed.VectorIndex`).

What a recommend run saves in ``artifacts/model``: the towers (``two_tower.safetensors`` and
``.json``), the items' sentence embeddings (``item_text.safetensors``), the users' histories
(``users.parquet``), ``tuneforge.json`` (task, encoder, weights fingerprint) and ``index/``
(the item vectors with the items' fields). :class:`Recommender` loads that directory and
answers a user or a history; an index made by other weights is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..data.interactions import Catalogue, InteractionLog, read_catalogue, read_interactions
from ..errors import DataError, ModelError
from ..models.two_tower import (
    TwoTowerConfig,
    build_two_tower,
    item_vectors,
    load_two_tower,
    save_two_tower,
    user_vectors,
)
from .base import Task

TEXT_FILE, USERS_FILE, META_FILE, INDEX_DIR = (
    "item_text.safetensors",
    "users.parquet",
    "tuneforge.json",
    "index",
)


@dataclass(frozen=True)
class RecommendData:
    """A recommend run's checked input: the catalogue and the interactions (codes)."""

    catalogue: Catalogue
    log: InteractionLog
    fingerprint: str

    @property
    def n_items(self) -> int:
        return len(self.catalogue.ids)

    @property
    def n_users(self) -> int:
        return len(self.log.user_ids)


class RecommendTask(Task):
    """Recommendation from item texts and user histories."""

    name: ClassVar[str] = "recommend"
    input_noun: ClassVar[str] = "user"
    trains_itself: ClassVar[bool] = True  # its own flow: recipes/recommend.py

    def load_data(self) -> RecommendData:  # type: ignore[override]
        """Both files read and checked (nothing is stored before this returns)."""
        data = self.cfg.data
        if not data.items_file:
            raise DataError(
                "A recommend run needs the items file beside the interactions.",
                hint="Add --items items.csv (an id column and the items' text columns).",
            )
        catalogue = read_catalogue(data.items_file, _items_id_column(data))
        log = read_interactions(
            data.train_file,
            catalogue,
            user_column=data.user_column,
            item_column=data.item_column,
            time_column=data.time_column,
        )
        fingerprint = _fingerprint([data.train_file, data.items_file])
        return RecommendData(catalogue, log, fingerprint)

    def supports_variant(self, variant: Any) -> bool:
        return False

    def check_variants(self, names, run_id: str) -> None:
        """A recommender ships as it is saved (towers in safetensors, the item index)."""
        raise ModelError(
            f"Run '{run_id}' is a recommend run: its release is its saved model (safetensors "
            "towers and the FAISS item index); ONNX and quantised variants exist for "
            "classifiers.",
            hint=f"Promote it as it is (tuneforge registry promote {run_id} --name NAME), or "
            f"serve it (tuneforge serve {run_id}).",
        )

    def build_model(self, data: Any) -> Any:
        """The towers for ``data`` = (text width, item count), shaped by ``recommend.*``."""
        from dataclasses import asdict

        text_dim, n_items = data
        shape = asdict(self.cfg.recommend)
        return build_two_tower(TwoTowerConfig(text_dim=text_dim, n_items=n_items, **shape))


def _fingerprint(paths: list[str]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def _items_id_column(data) -> str | None:
    """The items file's id column is the interactions' item column when it has one."""
    from ..data.readers import table_header

    given = data.item_column
    return given if given and given in table_header(data.items_file) else None


def embed_items(encoder, catalogue: Catalogue, log=lambda message: None) -> np.ndarray:
    """The sentence embeddings of every item's text (computed once per run)."""
    log(f"embedding {len(catalogue.texts)} item texts with {encoder.model}")
    return encoder.embed(catalogue.texts)


def save_recommender(
    directory: Path,
    model,
    text: np.ndarray,
    data: RecommendData,
    facts: dict,
) -> Path:
    """Everything :class:`Recommender` needs, in one directory, the index last (it names the
    weights' fingerprint)."""
    import pandas as pd
    from safetensors.numpy import save_file

    from ..embed import IndexInfo, VectorIndex
    from ..embed.encoder import weights_fingerprint

    directory.mkdir(parents=True, exist_ok=True)
    save_two_tower(model, directory)
    save_file({"item_text": np.ascontiguousarray(text, np.float32)}, str(directory / TEXT_FILE))
    seen: list[list[str]] = [[] for _ in data.log.user_ids]
    for u, i in zip(data.log.users.tolist(), data.log.items.tolist()):
        seen[u].append(data.catalogue.ids[i])
    pd.DataFrame({"user": data.log.user_ids, "items": seen}).to_parquet(directory / USERS_FILE)
    fingerprint = weights_fingerprint(directory)
    meta = {"task": "recommend", "fingerprint": fingerprint, **facts}
    (directory / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    fields = data.catalogue.fields
    id_col = fields.columns[0]
    items = fields.rename(columns={id_col: "id"}).assign(text=data.catalogue.texts)
    columns = [c for c in items.columns if c not in ("id", "text")]
    info = IndexInfo(
        model=str(facts.get("run_id", directory.name)),
        fingerprint=fingerprint,
        dim=0,
        count=0,
        kind="",
        text_column="text",
        id_column="id",
        fields=["text", *columns],
        source=data.catalogue.source,
    )
    VectorIndex.build(item_vectors(model, text), items, info).save(directory / INDEX_DIR)
    return directory


class Recommender:
    """A saved recommender: ``recommend(user=...)`` or ``recommend(history=[...])``."""

    task = "recommend"

    def __init__(self, directory: str | Path, index: str | Path | None = None) -> None:
        import pandas as pd
        from safetensors.numpy import load_file

        from ..embed import VectorIndex
        from ..embed.encoder import weights_fingerprint

        self.directory = Path(directory)
        self.model = load_two_tower(self.directory)
        self.meta = json.loads((self.directory / META_FILE).read_text(encoding="utf-8"))
        self.text = load_file(str(self.directory / TEXT_FILE))["item_text"]
        self.vectors = item_vectors(self.model, self.text)
        self.fingerprint = weights_fingerprint(self.directory)
        self.index = VectorIndex.load(index or self.directory / INDEX_DIR)
        self.index.check_model(self.fingerprint, str(self.meta.get("run_id", self.directory)))
        self.item_ids = [str(v) for v in self.index.items["id"].tolist()]
        self.codes = {item: code for code, item in enumerate(self.item_ids)}
        users = pd.read_parquet(self.directory / USERS_FILE)
        self.histories = {
            str(u): [str(i) for i in items] for u, items in zip(users["user"], users["items"])
        }

    def history_of(self, user: str) -> list[str]:
        if user not in self.histories:
            close = ", ".join(list(self.histories)[:3])
            raise DataError(
                f"User '{user}' is unknown to this model ({len(self.histories)} users trained, "
                f"e.g. {close}).",
                hint="Recommend for a new user from their items: --history ITEM,ITEM.",
            )
        return self.histories[user]

    def codes_of(self, items: list[str]) -> list[int]:
        unknown = [i for i in items if i not in self.codes]
        if unknown:
            raise DataError(
                f"Unknown items in the history: {', '.join(unknown[:5])} (the model knows "
                f"{len(self.codes)} items).",
                hint="Use the ids of the items file the model was trained with.",
            )
        return [self.codes[i] for i in items]

    def recommend(
        self,
        user: str | None = None,
        history: list[str] | None = None,
        k: int = 10,
        exclude_seen: bool = True,
    ) -> list:
        """The ``k`` best items (:class:`tuneforge.embed.index.Hit`) for a known user or a
        history of item ids; items in the history are left out unless ``exclude_seen`` is
        False."""
        if (user is None) == (history is None):
            raise DataError("Give a user or a history (item ids), not both and not neither.")
        if k < 1:
            raise DataError(f"k must be at least 1, got {k}.")
        items = self.history_of(user) if user is not None else list(history or [])
        if not items:
            raise DataError("The history is empty: give at least one item id.")
        codes = self.codes_of(items)
        query = user_vectors(self.model, self.vectors, [codes])
        seen = set(items) if exclude_seen else set()
        hits = self.index.search(query, k + len(seen))[0]
        return [h for h in hits if h.id not in seen][:k]


def open_recommender(directory: str | Path, index: str | Path | None = None) -> Recommender:
    """A saved recommender, or a ModelError saying what the directory is not."""
    if not (Path(directory) / META_FILE).is_file():
        raise ModelError(f"{directory} holds no recommender (no {META_FILE}).")
    return Recommender(directory, index)
