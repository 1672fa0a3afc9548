"""Reading interactions and item texts: columns detected, time order, and every bad input
refused (or, for duplicates and single-interaction users, said) naming file and row."""

from __future__ import annotations

import pytest

from tests.tiny_interactions import shop_items, write_rows
from tuneforge.data.interactions import read_catalogue, read_interactions
from tuneforge.errors import DataError


@pytest.fixture
def items_csv(tmp_path):
    return write_rows(tmp_path / "items.csv", shop_items())


def _events(tmp_path, rows):
    return write_rows(tmp_path / "events.csv", rows)


def test_item_text_joins_the_title_and_named_metadata(items_csv):
    """The title comes first as it is, other columns as ``name: value``."""
    catalogue = read_catalogue(items_csv)
    assert catalogue.ids[0] == "tea-0"
    assert catalogue.texts[0] == "green tea. category: tea"


def test_interactions_are_put_in_time_order_and_coded(tmp_path, items_csv):
    """The timestamp column decides the order, not the file; columns are detected."""
    rows = [
        {"user_id": "a", "item": "tea-1", "ts": "30"},
        {"user_id": "a", "item": "tea-0", "ts": "10"},
        {"user_id": "b", "item": "coffee-0", "ts": "20"},
        {"user_id": "b", "item": "coffee-1", "ts": "40"},
    ]
    log = read_interactions(_events(tmp_path, rows), read_catalogue(items_csv))
    assert log.columns == {"user": "user_id", "item": "item", "time": "ts"}
    assert [log.user_ids[u] for u in log.users] == ["a", "b", "a", "b"]
    assert log.items.tolist() == [0, 6, 1, 7]


def test_an_unknown_item_is_refused_naming_the_file_row_and_item(tmp_path, items_csv):
    """Row 3 of the file (the second event) names an item the items file lacks."""
    rows = [{"user": "a", "item": "tea-0"}, {"user": "a", "item": "nope"}]
    with pytest.raises(DataError) as err:
        read_interactions(_events(tmp_path, rows), read_catalogue(items_csv))
    assert "events.csv" in str(err.value) and "nope" in str(err.value)
    assert "rows 3" in str(err.value)


def test_an_event_without_a_user_is_refused_with_its_row(tmp_path, items_csv):
    """An empty user cell cannot be anyone's history."""
    rows = [{"user": "a", "item": "tea-0"}, {"user": " ", "item": "tea-1"}]
    with pytest.raises(DataError, match="without a user.*rows 3"):
        read_interactions(_events(tmp_path, rows), read_catalogue(items_csv))


def test_items_without_text_are_refused_with_their_rows(tmp_path):
    """An item whose text columns are all empty has nothing for the item tower to read."""
    items = shop_items()
    items[2] = {"id": items[2]["id"], "title": "", "category": ""}
    with pytest.raises(DataError, match="items without text.*rows 4"):
        read_catalogue(write_rows(tmp_path / "items.csv", items))


def test_repeated_item_ids_are_refused(tmp_path):
    """Two rows with one id would give one item two texts."""
    items = shop_items() + [shop_items()[0]]
    with pytest.raises(DataError, match="repeated item ids"):
        read_catalogue(write_rows(tmp_path / "items.csv", items))


def test_duplicate_events_are_dropped_and_said_and_single_users_noted(tmp_path, items_csv):
    """The same user, item and time twice counts once (rows named); a user with one event
    is noted as not evaluated."""
    rows = [
        {"user": "a", "item": "tea-0", "time": "1"},
        {"user": "a", "item": "tea-1", "time": "2"},
        {"user": "a", "item": "tea-1", "time": "2"},
        {"user": "b", "item": "tea-2", "time": "3"},
    ]
    log = read_interactions(_events(tmp_path, rows), read_catalogue(items_csv))
    assert len(log.items) == 3
    assert any("1 duplicate events" in n and "rows 4" in n for n in log.notes)
    assert any("1 users have a single interaction" in n for n in log.notes)


def test_only_single_interaction_users_is_refused(tmp_path, items_csv):
    """Nothing can be learned or evaluated when no user has a history."""
    rows = [{"user": "a", "item": "tea-0"}, {"user": "b", "item": "tea-1"}]
    with pytest.raises(DataError, match="every user has a single interaction"):
        read_interactions(_events(tmp_path, rows), read_catalogue(items_csv))
