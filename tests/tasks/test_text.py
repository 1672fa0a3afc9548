"""The text task's kept splits: what a run saves of its examples reads back the same."""

from __future__ import annotations

import json

from tuneforge.tasks import TextTask
from tuneforge.types import Example


def test_kept_splits_keep_the_slice_columns_and_old_lines_still_read(tmp_path):
    """data/test.jsonl keeps each example's slice columns under "meta" (so the run's slices
    can be measured again) and omits the key when there are none, so a split written before
    reads as it always did."""
    task = TextTask()
    path = tmp_path / "test.jsonl"
    examples = [Example("a", "x", 3, {"region": "eu"}), Example("b", "y", 5)]
    task.save_split(path, examples)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"text": "a", "label": "x", "row": 3, "meta": {"region": "eu"}},
        {"text": "b", "label": "y", "row": 5},
    ]
    back = task.load_split(path)
    assert back == examples and [e.meta for e in back] == [{"region": "eu"}, {}]
    old = tmp_path / "old.jsonl"
    old.write_text('{"text": "c", "label": "z"}\n', encoding="utf-8")
    assert task.load_split(old) == [Example("c", "z", 1)]
