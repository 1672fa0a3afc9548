"""Interactions (who met which item, optionally when) and the item texts a recommender learns
from, read and checked before a run exists.

Every problem names its file and row (the line number a spreadsheet shows: the header is line
1): an interaction naming an item the items file lacks, an empty user or item, an item without
text, a repeated id. Exact duplicate events (same user, item and time) are dropped and said;
users with a single interaction train but cannot be evaluated by leave-last-out, which is said
too. Interactions are returned in time order (file order among equal times), as integer codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .columns import pick_column, require_column
from .readers import read_table

USER_CANDIDATES = ("user", "user_id", "userid", "customer", "customer_id", "session", "visitor")
ITEM_CANDIDATES = ("item", "item_id", "itemid", "product", "product_id", "movie", "movie_id", "sku")
TIME_CANDIDATES = ("timestamp", "ts", "time", "datetime", "date", "event_time", "created_at")
ITEM_ID_CANDIDATES = ("id", "item", "item_id", "itemid", "product_id", "movie_id", "sku")
TITLE_CANDIDATES = ("title", "name", "text")
SHOWN = 5  # rows named in a message

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Catalogue:
    """The items: ids in code order and the text each is known by (title, then the other
    columns as ``column: value``)."""

    ids: list[str]
    texts: list[str]
    fields: pd.DataFrame  # the items file's rows, in code order (id and text columns)
    source: str = ""

    def code_of(self) -> dict[str, int]:
        return {item: code for code, item in enumerate(self.ids)}


@dataclass(frozen=True)
class InteractionLog:
    """Interactions as codes in time order, the user ids in code order, and what reading said."""

    users: np.ndarray
    items: np.ndarray
    user_ids: list[str]
    columns: dict[str, str | None]  # user, item, time: the columns read
    notes: list[str] = field(default_factory=list)
    source: str = ""


def _rows(positions) -> str:
    """File line numbers (header = line 1) of 0-based data ``positions``, a few at most."""
    lines = [str(int(p) + 2) for p in list(positions)[:SHOWN]]
    more = len(positions) - SHOWN
    return ", ".join(lines) + (f" and {more} more" if more > 0 else "")


def _column(columns: list[str], path, given, candidates, flag, what) -> str:
    if given:
        return require_column(columns, path, given, flag)
    found = pick_column(columns, candidates, None)
    if found is None:
        raise DataError(
            f"{path}: no {what} column found among {', '.join(columns)}.",
            hint=f"Name it with {flag} COLUMN.",
        )
    return found


def read_catalogue(path: str | Path, id_column: str | None = None) -> Catalogue:
    """The items file: one row per item, an id column and at least one text column."""
    frame = read_table(path).astype(str)
    columns = list(frame.columns)
    id_col = _column(columns, path, id_column, ITEM_ID_CANDIDATES, "--item-column", "item id")
    text_cols = [c for c in columns if c != id_col]
    if not text_cols:
        raise DataError(
            f"{path}: only the id column '{id_col}'; an item needs text (a title and metadata).",
            hint="Add a title column (and any metadata columns: genre, brand, ...).",
        )
    title = pick_column(text_cols, TITLE_CANDIDATES, None) or text_cols[0]
    text_cols = [title] + [c for c in text_cols if c != title]
    ids = frame[id_col].str.strip()
    _refuse(ids == "", path, "items without an id")
    _refuse(ids.duplicated(keep="first"), path, "repeated item ids", hint="One row per item.")
    cells = frame[text_cols].apply(lambda col: col.str.strip())
    _refuse(
        (cells == "").all(axis=1),
        path,
        f"items without text (every one of {', '.join(text_cols)} is empty)",
        hint="Give each item a title, or leave those items out of both files.",
    )
    texts = [_item_text(row, text_cols, title) for row in cells.itertuples(index=False)]
    kept = frame[[id_col, *text_cols]].assign(**{id_col: ids})
    return Catalogue(ids.tolist(), texts, kept.reset_index(drop=True), str(path))


def _item_text(row, columns: list[str], title: str) -> str:
    """``Title. genre: comedy. year: 1995``: the title as it is, metadata named, empty cells
    left out (the encoder reads the names as words too)."""
    parts = []
    for name, value in zip(columns, row):
        if value:
            parts.append(value if name == title else f"{name}: {value}")
    return ". ".join(parts)


def _refuse(mask: pd.Series, path, what: str, hint: str | None = None) -> None:
    positions = np.flatnonzero(mask.to_numpy())
    if positions.size:
        raise DataError(
            f"{path}: {positions.size} {what}, rows {_rows(positions)}.",
            hint=hint or "Fix or remove those rows.",
        )


def read_interactions(
    path: str | Path,
    catalogue: Catalogue,
    *,
    user_column: str | None = None,
    item_column: str | None = None,
    time_column: str | None = None,
) -> InteractionLog:
    """Interactions of known items, in time order, as codes (users coded in first-seen order)."""
    import pandas as pd

    frame = read_table(path).astype(str)
    columns = list(frame.columns)
    user_col = _column(columns, path, user_column, USER_CANDIDATES, "--user-column", "user")
    item_col = _column(columns, path, item_column, ITEM_CANDIDATES, "--item-column", "item")
    time_col = (
        require_column(columns, path, time_column, "--time-column")
        if time_column
        else pick_column(
            [c for c in columns if c not in (user_col, item_col)], TIME_CANDIDATES, None
        )
    )
    users, items = frame[user_col].str.strip(), frame[item_col].str.strip()
    _refuse(users == "", path, f"interactions without a user ('{user_col}' empty)")
    _refuse(items == "", path, f"interactions without an item ('{item_col}' empty)")
    codes = catalogue.code_of()
    unknown = ~items.isin(codes)
    if unknown.any():
        names = ", ".join(dict.fromkeys(items[unknown].tolist()[:SHOWN]))
        raise DataError(
            f"{path}: {int(unknown.sum())} interactions name items that {catalogue.source} "
            f"lacks ({names}), rows {_rows(np.flatnonzero(unknown.to_numpy()))}.",
            hint="Add those items (with their text) to the items file, or drop the rows.",
        )
    order = _time_order(frame, time_col, path)
    notes = []
    keys = [user_col, item_col] + ([time_col] if time_col else [])
    repeated = frame.assign(**{user_col: users, item_col: items}).duplicated(keys, keep="first")
    if repeated.any():
        notes.append(
            f"{path}: dropped {int(repeated.sum())} duplicate events (same "
            f"{', '.join(keys)}), rows {_rows(np.flatnonzero(repeated.to_numpy()))}"
        )
    order = order[~repeated.to_numpy()[order]]
    user_codes, user_ids = pd.factorize(users.to_numpy()[order])
    item_codes = np.array([codes[i] for i in items.to_numpy()[order]], dtype=np.int64)
    counts = np.bincount(user_codes)
    single = int((counts == 1).sum())
    if single == len(counts):
        raise DataError(
            f"{path}: every user has a single interaction; a recommender learns from "
            "histories (two or more interactions per user).",
            hint=f"Check the user column ('{user_col}'), or give it with --user-column.",
        )
    if single:
        notes.append(
            f"{single} users have a single interaction: they train, but leave-last-out "
            "evaluation needs two, so they are not evaluated"
        )
    columns_read = {"user": user_col, "item": item_col, "time": time_col}
    return InteractionLog(
        user_codes.astype(np.int64),
        item_codes,
        [str(u) for u in user_ids],
        columns_read,
        notes,
        str(path),
    )


def _time_order(frame: pd.DataFrame, time_col: str | None, path) -> np.ndarray:
    """Row positions in time order, file order among equal times; numbers or dates."""
    import pandas as pd

    if time_col is None:
        return np.arange(len(frame))
    raw = frame[time_col].str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    if values.isna().any():
        values = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
        bad = values.isna()
        if bad.any():
            raise DataError(
                f"{path}: {int(bad.sum())} times in '{time_col}' are neither numbers nor dates, "
                f"rows {_rows(np.flatnonzero(bad.to_numpy()))}.",
                hint="Fix them, or name another column with --time-column.",
            )
        values = values.astype("int64")
    return np.argsort(values.to_numpy(), kind="stable")
