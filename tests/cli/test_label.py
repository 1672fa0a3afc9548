"""The labeling loop through the CLI on a tiny model: import, next (every strategy), export,
labels back in CSV and JSONL, status, agreement, queueing doubtful production traffic — and
the bad inputs a team will hit, each a clear message and a non-zero exit with nothing lost."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json

import pytest

from tuneforge.cli import main
from tuneforge.errors import RunError
from tuneforge.label.queue import LabelStore
from tuneforge.recipes.label_from_log import drifted_labels, queue_from_log
from tuneforge.store import open_store

from ..conftest import make_rows, train_tiny_run, write_csv

MINUTES_5 = dt.timedelta(minutes=5)


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("label")
    return train_tiny_run(root, tiny_model_dir, "intents")


@pytest.fixture
def pool(tmp_path):
    rows = make_rows(8, seed=5)
    path = tmp_path / "pool.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text"])
        writer.writerows([[r["text"]] for r in rows] + [[rows[0]["text"]], [""]])
    return path, rows


def _cli(*argv, runs) -> int:
    return main([*argv, "--runs-dir", str(runs)])


def _queue(runs, name="support"):
    labels = LabelStore(open_store(runs))
    return labels, labels.queue(name)


def test_import_counts_duplicates_and_empty_rows(trained, pool, tmp_path, capsys):
    """A repeated text is imported once and an empty row is skipped, both said; importing the
    file again adds nothing."""
    runs = tmp_path / "runs"
    path, rows = pool
    assert _cli("label", "import", str(path), "--queue", "support", runs=runs) == 0
    err = capsys.readouterr().err
    assert f"{len(rows)} added, 1 already there" in err and "skipped 1 empty row(s): 26" in err
    assert _cli("label", "import", str(path), "--queue", "support", runs=runs) == 0
    assert f"0 added, {len(rows) + 1} already there" in capsys.readouterr().err


@pytest.mark.parametrize("strategy", ["margin", "entropy", "least-confidence", "diverse", "random"])
def test_next_hands_out_ranked_items_with_suggestions(trained, pool, tmp_path, strategy, capsys):
    """Each strategy hands out the count asked for, records the model's suggestion, and a
    second call gets other items."""
    runs = trained
    queue_name = f"q-{strategy}"
    assert _cli("label", "import", str(pool[0]), "--queue", queue_name, runs=runs) == 0
    argv = ["label", "next", "--queue", queue_name, "--model", "intents", "--count", "5"]
    assert _cli(*argv, "--strategy", strategy, "--json", runs=runs) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first) == 5
    assert all(p["suggestion"]["strategy"] == strategy for p in first)
    assert _cli(*argv, "--strategy", strategy, "--json", runs=runs) == 0
    second = json.loads(capsys.readouterr().out)
    assert not {p["item"]["id"] for p in first} & {p["item"]["id"] for p in second}
    labels, queue = _queue(runs, queue_name)
    assert labels.counts(queue)["assigned"] == 10
    assert set(queue.labels) == {"billing", "shipping", "account"}  # the model's label set
    assert len(labels.suggestions(queue)) == 10


def test_labels_come_back_from_csv_and_jsonl(trained, pool, tmp_path, capsys):
    """Items written by ``next --output`` come back labelled by two people, in CSV and JSONL;
    status counts them and agreement lists the one conflict."""
    runs = trained
    assert _cli("label", "import", str(pool[0]), "--queue", "loop", runs=runs) == 0
    out_csv = tmp_path / "batch.csv"
    argv = ["label", "next", "--queue", "loop", "--model", "intents", "--count", "4"]
    assert _cli(*argv, "--output", str(out_csv), runs=runs) == 0
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == 4 and all(r["suggestion"] for r in rows)
    for r in rows:
        r["label"] = r["suggestion"]
    write_csv(out_csv, rows, fields=list(rows[0]))
    assert (
        _cli("label", "submit", str(out_csv), "--queue", "loop", "--annotator", "ana", runs=runs)
        == 0
    )
    assert "4 label(s) added" in capsys.readouterr().err
    other = tmp_path / "bo.jsonl"
    flipped = [{"id": r["id"], "label": r["label"]} for r in rows]
    labels_set = _queue(runs, "loop")[1].labels
    flipped[0]["label"] = next(x for x in labels_set if x != rows[0]["label"])
    other.write_text("".join(json.dumps(r) + "\n" for r in flipped), encoding="utf-8")
    assert (
        _cli("label", "submit", str(other), "--queue", "loop", "--annotator", "bo", runs=runs) == 0
    )
    capsys.readouterr()
    assert _cli("label", "status", "--queue", "loop", "--json", runs=runs) == 0
    status = json.loads(capsys.readouterr().out)[0]
    assert status["items"]["labelled"] == 4 and status["conflicts"] == 1
    assert _cli("label", "agreement", "--queue", "loop", "--json", runs=runs) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["items_multi"] == 4 and len(result["conflicts"]) == 1
    assert result["conflicts"][0]["labels"] == {"ana": rows[0]["label"], "bo": flipped[0]["label"]}


def test_unknown_labels_are_refused_unless_added(trained, pool, tmp_path, capsys):
    """A label outside the queue's set is named with its row; nothing lands; --add-labels
    extends the set."""
    runs = trained
    assert (
        _cli(
            "label",
            "import",
            str(pool[0]),
            "--queue",
            "newlab",
            "--labels",
            "billing,shipping",
            runs=runs,
        )
        == 0
    )
    labels, queue = _queue(runs, "newlab")
    item = labels.items(queue)[0]
    path = tmp_path / "labels.csv"
    write_csv(path, [{"id": item.id, "label": "refunds"}], fields=["id", "label"])
    assert _cli("label", "submit", str(path), "--queue", "newlab", runs=runs) == 1
    err = capsys.readouterr().err
    assert "'refunds'" in err and "row 1" in err and "--add-labels" in err
    assert labels.annotations(queue) == []
    assert _cli("label", "submit", str(path), "--queue", "newlab", "--add-labels", runs=runs) == 0
    assert "refunds" in _queue(runs, "newlab")[1].labels


def test_bad_inputs_are_clear_errors(trained, pool, tmp_path, capsys):
    """Unknown queue, unknown model, a file of another queue's ids, a file without the needed
    columns: a message naming it and exit 1."""
    runs = trained
    assert _cli("label", "next", "--queue", "nope", "--model", "intents", runs=runs) == 1
    assert "No labeling queue 'nope'" in capsys.readouterr().err
    assert _cli("label", "import", str(pool[0]), "--queue", "bad", runs=runs) == 0
    assert _cli("label", "next", "--queue", "bad", "--model", "ghost", runs=runs) == 1
    assert "ghost" in capsys.readouterr().err
    path = tmp_path / "wrong.csv"
    write_csv(path, [{"id": 99999, "label": "billing"}], fields=["id", "label"])
    assert _cli("label", "submit", str(path), "--queue", "bad", runs=runs) == 1
    assert "row 1: no item of queue 'bad' matches id 99999" in capsys.readouterr().err
    write_csv(path, [{"what": 1}], fields=["what"])
    assert _cli("label", "submit", str(path), "--queue", "bad", runs=runs) == 1
    assert "expected a 'label' column" in capsys.readouterr().err


def test_from_log_queues_low_confidence_inputs(trained, tmp_path, capsys):
    """Logged inputs under the threshold enter the queue with the served label as suggestion;
    a log without inputs is a clear error."""
    from tuneforge.monitor.predlog import PredictionLog
    from tuneforge.types import Prediction

    runs = trained
    store = open_store(runs)
    now = dt.datetime.now(dt.timezone.utc)

    def write(log_inputs: bool, texts, scores, at):
        log = PredictionLog(store, "intents", "v1", log_inputs=log_inputs)

        async def go():
            await log.start()
            preds = [Prediction("billing", s, [("billing", s)]) for s in scores]
            log.record(texts, preds, 2.0, at=at)
            await log.stop()

        asyncio.run(go())

    write(True, ["unsure one", "sure one", "unsure two"], [0.3, 0.95, 0.45], now - MINUTES_5)
    assert _cli("label", "from-log", "intents", "--queue", "review", runs=runs) == 0
    assert "2 queued in review" in capsys.readouterr().err
    labels, queue = _queue(runs, "review")
    assert sorted(i.content for i in labels.items(queue)) == ["unsure one", "unsure two"]
    assert {s.strategy for s in labels.suggestions(queue).values()} == {"from-log"}
    hours_ago = now - dt.timedelta(hours=3)
    write(False, ["not logged"], [0.2], hours_ago)
    with pytest.raises(RunError, match="none has its input logged.*--log-inputs"):
        queue_from_log("intents", "review", runs, window="1h", at=hours_ago + MINUTES_5)
    assert len(labels.items(queue)) == 2


def test_drifted_labels_are_those_whose_share_rose():
    """A label over its reference share by more than the rise is drifted; one that fell, or
    rose less, is not."""
    reference = {"billing": 0.3, "shipping": 0.3, "account": 0.4}
    window = ["billing"] * 6 + ["shipping"] * 3 + ["account"] * 1
    assert drifted_labels(reference, window, 0.05) == {"billing": (0.3, 0.6)}
    assert drifted_labels(reference, window, 0.4) == {}


def test_from_log_drifted_queues_a_surging_label_even_when_sure(trained, tmp_path, capsys):
    """With --drifted, confident predictions of a label far above its reference share are
    queued too, and the drifted label is named."""
    from tuneforge.monitor.predlog import PredictionLog
    from tuneforge.types import Prediction

    runs = trained
    store = open_store(runs)
    log = PredictionLog(store, "intents", "v1", log_inputs=True)
    texts = [f"surging billing text {n}" for n in range(20)]

    async def go():
        await log.start()
        preds = [Prediction("billing", 0.99, [("billing", 0.99)]) for _ in texts]
        log.record(texts, preds, 2.0)
        await log.stop()

    asyncio.run(go())
    argv = ["label", "from-log", "intents", "--queue", "surge", "--window", "1h"]
    assert _cli(*argv, "--low-confidence", "0.01", runs=runs) == 0
    assert " 0 queued in surge" in capsys.readouterr().err
    assert _cli(*argv, "--low-confidence", "0.01", "--drifted", runs=runs) == 0
    assert "drifted: billing is 100.0% of the window" in capsys.readouterr().err
    labels, queue = _queue(runs, "surge")
    assert set(texts) <= {i.content for i in labels.items(queue)}


def test_from_log_abstained_queues_abstentions_without_a_suggestion(trained, capsys):
    """With --abstained, predictions the server abstained on (logged under the unknown label)
    are queued even when their nearest intent was sure, without an intent suggested."""
    from tuneforge.monitor.predlog import PredictionLog
    from tuneforge.types import Prediction

    runs = trained
    log = PredictionLog(open_store(runs), "intents", "v1", log_inputs=True)
    preds = [
        Prediction("unknown", 0.97, [("billing", 0.97)], ood_score=0.1, abstained=True),
        Prediction("billing", 0.98, [("billing", 0.98)], ood_score=0.9, abstained=False),
    ]

    async def go():
        await log.start()
        log.record(["what is the weather", "refund my invoice"], preds, 2.0)
        await log.stop()

    asyncio.run(go())
    argv = ["label", "from-log", "intents", "--queue", "oos", "--window", "1h"]
    argv += ["--low-confidence", "0.01"]  # the module's other logged predictions stay out
    assert _cli(*argv, runs=runs) == 0
    assert " 0 queued in oos" in capsys.readouterr().err
    assert _cli(*argv, "--abstained", runs=runs) == 0
    assert " 1 queued in oos" in capsys.readouterr().err
    labels, queue = _queue(runs, "oos")
    assert [i.content for i in labels.items(queue)] == ["what is the weather"]
    assert labels.suggestions(queue) == {}


def test_audit_flags_rows_writes_them_and_queues_them(trained, tmp_path, capsys):
    """``label audit --run`` embeds with the run's base model, prints the flagged rows as
    JSON, writes them, and pushes them into a queue once however often it runs."""
    runs = trained
    rows = make_rows(12, seed=3)
    for r in rows[:3]:
        r["label"] = "billing" if r["label"] != "billing" else "account"
    data = write_csv(tmp_path / "audit.csv", rows)
    out = tmp_path / "suspects.csv"
    argv = [
        "label",
        "audit",
        str(data),
        "--run",
        "intents",
        "--folds",
        "3",
        "--queue",
        "audit",
        "--output",
        str(out),
        "--json",
    ]
    assert _cli(*argv, runs=runs) == 0
    result = json.loads(capsys.readouterr().out)
    flagged = result["flagged"]
    assert flagged and result["n_rows"] == len(rows)
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == len(flagged)
    labels, queue = _queue(runs, "audit")
    assert len(labels.items(queue)) == len(flagged)
    assert _cli(*argv, runs=runs) == 0
    assert "0 flagged row(s) added" in capsys.readouterr().err
    assert len(labels.items(queue)) == len(flagged)


def test_a_pixel_csv_cannot_be_queued_and_says_what_to_do(tmp_path, capsys):
    """Queue items are image files by path: a CSV of pixel values is refused with what to do
    instead, not with a flag `label import` does not have."""
    path = tmp_path / "pixels.csv"
    header = ["label", *(f"pixel{i}" for i in range(16))]
    rows = [",".join(header), ",".join(["3", *["0"] * 16])]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _cli("label", "import", str(path), "--queue", "px", runs=tmp_path / "runs") == 1
    err = capsys.readouterr().err
    assert "holds images as pixel values" in err and "import the folder" in err
    assert "--image-shape" not in err
