"""Label audit: flipped labels found from out-of-fold probabilities, rows numbered as in the
file, bad input refused by name, flagged rows pushed into a queue once."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tuneforge.errors import ConfigError, DataError
from tuneforge.label.audit import audit_file, push_to_queue, write_flagged

from ..conftest import KEYWORDS, make_rows, write_csv

TOPICS = sorted(KEYWORDS)


def bag_of_words(texts):
    """How many of each topic's keywords a text holds: an encoder that gets the keyword task
    right, so any flipped label is findable by a model that did not see it."""
    return np.array(
        [[sum(t.split().count(w) for w in KEYWORDS[k]) for k in TOPICS] for t in texts],
        dtype=np.float32,
    )


def noisy_rows(n_per_label: int = 30, n_flips: int = 6, seed: int = 0):
    """Keyword rows with ``n_flips`` labels moved to another label; returns the rows and
    {1-based row: true label} of the flipped ones."""
    rows = make_rows(n_per_label, seed)
    rng = random.Random(seed)
    truth = {}
    for i in rng.sample(range(len(rows)), n_flips):
        truth[i + 1] = rows[i]["label"]
        rows[i] = {**rows[i], "label": rng.choice(sorted(set(KEYWORDS) - {rows[i]["label"]}))}
    return rows, truth


@pytest.fixture
def noisy_csv(tmp_path):
    rows, truth = noisy_rows()
    return write_csv(tmp_path / "noisy.csv", rows), rows, truth


def test_flipped_labels_are_flagged_with_their_rows(noisy_csv, runs_dir):
    """The flips are found (high precision and recall), each flagged row carries the file's
    1-based row number, its text and given label, and the label it should have had."""
    path, rows, truth = noisy_csv
    seen = []
    result = audit_file(
        str(path),
        {},
        runs_dir=runs_dir,
        embed=bag_of_words,
        progress=lambda done, total, note: seen.append((done, total, note)),
    )
    flagged = {r.row for r in result.flagged}
    hits = len(flagged & set(truth))
    assert hits / len(flagged) >= 0.8 and hits / len(truth) >= 0.8, (flagged, truth)
    for r in result.flagged:
        assert r.text == rows[r.row - 1]["text"] and r.given == rows[r.row - 1]["label"]
        assert r.suggested != r.given and 0.0 <= r.self_confidence < 0.5
        if r.row in truth:
            assert r.suggested == truth[r.row]
    confidences = [r.self_confidence for r in result.flagged]
    assert confidences == sorted(confidences)  # most likely wrong first
    assert result.n_rows == len(rows) and result.folds == 5 and result.model == "custom embedding"
    assert seen[-1] == (len(rows), len(rows), "cross-validating (5 folds)")
    assert any(note == "embedding" for *_, note in seen)


def test_small_label_lowers_the_folds_and_says_so(tmp_path, runs_dir):
    """A label with fewer rows than the folds lowers them to its count, with a note."""
    rows = [
        *make_rows(20),
        *({"text": f"parcel courier tracking {i}", "label": "rare"} for i in range(3)),
    ]
    path = write_csv(tmp_path / "small.csv", rows)
    result = audit_file(str(path), {}, runs_dir=runs_dir, embed=bag_of_words)
    assert result.folds == 3
    assert any("lowered to 3" in n and "'rare'" in n for n in result.notes)


def test_label_seen_once_is_refused_with_its_row(tmp_path, runs_dir):
    """A label on one row cannot be scored by a model that never saw it: named with its row."""
    rows = [*make_rows(10), {"text": "invoice charge", "label": "biling"}]
    path = write_csv(tmp_path / "once.csv", rows)
    with pytest.raises(DataError, match=r"'biling' \(row 31\)"):
        audit_file(str(path), {}, runs_dir=runs_dir, embed=bag_of_words)


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("text\ninvoice please\nparcel\n", "which column holds the labels"),
        ("text,label\n", "has no data rows"),
        ("text,label\ninvoice,billing\n,billing\nparcel,shipping\n", "rows 2 have an empty"),
        ("text,label\ninvoice,billing\nrefund,billing\n", "every row has the label 'billing'"),
    ],
)
def test_bad_files_are_refused_by_name(tmp_path, runs_dir, content, match):
    """A missing file, one without labels, an empty one, an empty cell or a single label is a
    DataError naming the file (and the row), before any model loads."""
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=match) as err:
        audit_file(str(path), {}, runs_dir=runs_dir, embed=bag_of_words)
    assert "bad.csv" in str(err.value)


def test_images_and_one_fold_are_refused(tmp_path, runs_dir, tickets_csv):
    """Images are refused with the reason (texts only for now); --folds 1 is a usage error."""
    from ..conftest import write_shapes

    folder = write_shapes(tmp_path / "shapes", n_per_label=3)
    with pytest.raises(DataError, match="reads texts for now"):
        audit_file(str(folder), {}, runs_dir=runs_dir, embed=bag_of_words)
    with pytest.raises(ConfigError, match="at least 2 folds"):
        audit_file(str(tickets_csv), {}, runs_dir=runs_dir, folds=1, embed=bag_of_words)


def test_push_to_queue_lands_flagged_rows_once(noisy_csv, runs_dir):
    """Flagged rows become queued items (source FILE:ROW) with the audit's suggestion; pushing
    the same audit again adds neither items nor suggestions."""
    import sqlalchemy as sa

    from tuneforge.label.queue import LabelStore, SuggestionRow
    from tuneforge.store import open_store

    path, _, _ = noisy_csv
    result = audit_file(str(path), {}, runs_dir=runs_dir, embed=bag_of_words)
    first = push_to_queue(result, "audit-review", runs_dir)
    assert first.added == len(result.flagged) == first.suggestions > 0
    store = LabelStore(open_store(runs_dir))
    queue = store.queue("audit-review")
    items = store.items(queue)
    assert sorted(i.source for i in items) == sorted(f"{path}:{r.row}" for r in result.flagged)
    assert {i.state for i in items} == {"queued"} and set(queue.labels) == set(KEYWORDS)
    by_text = {r.text: r for r in result.flagged}
    for item_id, s in store.suggestions(queue).items():
        row = by_text[next(i.content for i in items if i.id == item_id)]
        assert (s.label, s.strategy) == (row.suggested, "audit")
        assert s.score == pytest.approx(1 - row.self_confidence)
    again = push_to_queue(result, "audit-review", runs_dir)
    assert (again.added, again.already_queued, again.suggestions) == (0, len(items), 0)
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(SuggestionRow)).scalar()
    assert total == len(items)


def test_flagged_rows_written_as_csv_and_jsonl(noisy_csv, runs_dir, tmp_path):
    """--output writes one record per flagged row (CSV by default, JSONL by suffix); a CSV of
    nothing flagged still has its header."""
    import csv
    from dataclasses import replace

    path, _, _ = noisy_csv
    result = audit_file(str(path), {}, runs_dir=runs_dir, embed=bag_of_words)
    write_flagged(result, tmp_path / "out.csv")
    write_flagged(result, tmp_path / "out.jsonl")
    with (tmp_path / "out.csv").open(encoding="utf-8") as fh:
        from_csv = list(csv.DictReader(fh))
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [int(r["row"]) for r in from_csv] == [r.row for r in result.flagged]
    assert [json.loads(x)["suggested"] for x in lines] == [r.suggested for r in result.flagged]
    write_flagged(replace(result, flagged=()), tmp_path / "none.csv")
    header = (tmp_path / "none.csv").read_text(encoding="utf-8").strip()
    assert header == "row,text,given,suggested,self_confidence,suggested_confidence"


def _fake_cv_run(runs_dir, rows, probs, name="cv"):
    """A cross-validation parent run as train --folds leaves it: status, its training split
    (in fold order, not file order) and oof.npz over it."""
    from tuneforge.store import RunDir
    from tuneforge.tasks import TextTask
    from tuneforge.types import Example

    rd = RunDir.create(runs_dir, name)
    rd.update_status(task="text", folds=4, state="succeeded")
    order = list(range(len(rows)))[::-1]
    examples = [Example(rows[i]["text"], rows[i]["label"], i + 1) for i in order]
    rd.data_dir.mkdir()
    TextTask().save_split(rd.split_path("train", ".jsonl"), examples)
    names = TOPICS
    np.savez(rd.oof_path, probs=probs[order], labels=np.array(names), rows=np.array(order) + 1)
    return rd


def test_cross_validation_run_probabilities_are_used_when_they_cover_the_file(noisy_csv, runs_dir):
    """A cross-validation run of this very file gives the out-of-fold probabilities (matched
    by row, text and label whatever their order); nothing is embedded."""
    path, rows, truth = noisy_csv
    names = TOPICS
    probs = np.full((len(rows), len(names)), 0.05, dtype=np.float32)
    for i, r in enumerate(rows):
        probs[i, names.index(truth.get(i + 1, r["label"]))] = 0.9
    _fake_cv_run(runs_dir, rows, probs)

    def no_embedding(texts):
        raise AssertionError("embedded although the run covers the file")

    result = audit_file(str(path), {}, runs_dir=runs_dir, run="cv", embed=no_embedding)
    assert {r.row for r in result.flagged} == set(truth)
    assert "cross-validation run 'cv'" in result.method and result.folds == 4


def test_cross_validation_run_of_another_file_falls_back_to_embedding(noisy_csv, runs_dir):
    """Out-of-fold probabilities of other rows are not this file's: the audit says so and
    embeds instead."""
    path, rows, _ = noisy_csv
    other = [{**r, "text": r["text"] + " (edited)"} for r in rows]
    _fake_cv_run(runs_dir, other, np.full((len(rows), 3), 1 / 3, dtype=np.float32))
    result = audit_file(str(path), {}, runs_dir=runs_dir, run="cv", embed=bag_of_words)
    assert "embeddings" in result.method
    assert any(
        "do not cover this file" in n and "embedding the texts instead" in n for n in result.notes
    )


@pytest.mark.slow
def test_default_encoder_finds_flips_on_a_small_file(tmp_path, runs_dir, one_torch_thread):
    """The packaged all-MiniLM-L6-v2, frozen, finds most flips among 60 keyword rows."""
    rows, truth = noisy_rows(n_per_label=20, n_flips=3, seed=1)
    path = write_csv(tmp_path / "small.csv", rows)
    result = audit_file(str(path), {}, runs_dir=runs_dir)
    flagged = {r.row for r in result.flagged}
    assert len(flagged & set(truth)) >= 2 and len(flagged) <= 10, (flagged, truth)
    assert result.model == "all-MiniLM-L6-v2 (default)"
