"""Personal data through the CLI: data check counts it per column, label import --redact keeps
it out of a queue, serve's --log-inputs is redacted unless 'raw', and monitor prune blanks old
logged inputs — with a clear message and a non-zero exit for a missing, empty or unreachable
store and a bad window."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json

import pytest

from tuneforge.cli import main, parse
from tuneforge.label.queue import LabelStore
from tuneforge.monitor.predlog import PredictionLog, read_logged
from tuneforge.store import open_store
from tuneforge.types import Prediction

PERSONAL = [
    ("refund to jane@example.com please", "billing", "jane@example.com"),
    ("card 4111 1111 1111 1111 was charged twice", "billing", "n/a"),
    ("call me on +44 20 7946 0958", "support", "+44 20 7946 0958"),
    ("where is my parcel", "shipping", "n/a"),
    ("order 1234567890123456 is late", "shipping", "n/a"),
    ("the app crashes on login", "support", "n/a"),
]


def _table(path, rows=PERSONAL):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label", "contact"])
        writer.writerows(rows)
    return path


def test_data_check_counts_personal_data_per_column(tmp_path, capsys):
    """Rows holding each kind, per column, in the table and in --json; the order number that
    fails Luhn is not a card; a warning says what to do."""
    path = _table(tmp_path / "tickets.csv")
    main(["data", "check", str(path), "--text-column", "text", "--label-column", "label"])
    out = capsys.readouterr().out
    assert "rows with personal data, per column" in out
    assert "  text    email 1, phone 1, card 1" in out
    assert "  contact email 1, phone 1" in out
    assert "WARNING: " in out and "personal data" in out
    main(["data", "check", str(path), "--json", "--text-column", "text"])
    report = json.loads(capsys.readouterr().out)
    assert report["pii"] == {
        "text": {"email": 1, "phone": 1, "card": 1},
        "contact": {"email": 1, "phone": 1},
    }


def test_data_check_says_when_it_found_none(tmp_path, capsys):
    """A file without personal data says so, and its JSON has no columns under pii."""
    path = _table(tmp_path / "clean.csv", [(f"text {i}", "ab"[i % 2], "n/a") for i in range(8)])
    main(["data", "check", str(path), "--text-column", "text", "--label-column", "label"])
    assert "personal   none found" in capsys.readouterr().out


def test_label_import_redact_stores_placeholders(tmp_path, capsys):
    """--redact stores the texts with placeholders and says how many held personal data;
    without it the texts are stored as written."""
    path = _table(tmp_path / "pool.csv")
    runs = tmp_path / "runs"
    argv = ["label", "import", str(path), "--text-column", "text", "--runs-dir", str(runs)]
    assert main([*argv, "--queue", "safe", "--redact"]) == 0
    assert "redacted: 3 item(s) held personal data" in capsys.readouterr().err
    assert main([*argv, "--queue", "plain"]) == 0
    store = LabelStore(open_store(runs))
    safe = {i.content for i in store.items(store.queue("safe"))}
    plain = {i.content for i in store.items(store.queue("plain"))}
    assert "refund to [EMAIL] please" in safe and "card [CARD] was charged twice" in safe
    assert "order 1234567890123456 is late" in safe
    assert not any("jane@example.com" in t for t in safe)
    assert "refund to jane@example.com please" in plain


def test_serve_log_inputs_alone_means_redacted():
    """'--log-inputs' alone is 'redacted', 'raw' must be said, and no flag logs no input."""
    assert parse(["serve", "m", "--log-inputs"]).log_inputs == "redacted"
    assert parse(["serve", "m", "--log-inputs", "raw"]).log_inputs == "raw"
    assert parse(["serve", "m"]).log_inputs is None


def test_serve_log_inputs_before_the_model_says_to_put_the_model_first(capsys):
    """A model written after the bare flag is read as its value: usage error, with the fix."""
    with pytest.raises(SystemExit) as info:
        parse(["serve", "--log-inputs", "intents@production"])
    assert info.value.code == 2
    assert "tuneforge serve intents@production --log-inputs" in capsys.readouterr().err


def test_serve_refuses_a_bad_retention_before_loading_the_model(tmp_path, capsys):
    """A retention window without a unit stops serve with exit 2, naming the form."""
    code = main(["serve", "ghost", "--retention", "30", "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "'30' is not a retention window" in capsys.readouterr().err


def _log(store, texts_at) -> None:
    log = PredictionLog(store, "intents", "v1", log_inputs=True, flush_every_s=0.05)

    async def write():
        await log.start()
        for text, at in texts_at:
            log.record([text], [Prediction("billing", 0.4, [("billing", 0.4)])], 3.0, at=at)
        await log.stop()

    asyncio.run(write())


def test_monitor_prune_blanks_old_inputs_and_records_it(tmp_path, capsys):
    """monitor prune clears inputs past the window per model, keeps the rows, and records it."""
    runs = tmp_path / "runs"
    now = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    _log(open_store(runs), [("old", now - dt.timedelta(days=40)), ("new", now)])
    argv = ["monitor", "prune", "--older-than", "30d", "--runs-dir", str(runs)]
    assert main([*argv, "--at", now.isoformat()]) == 0
    captured = capsys.readouterr()
    assert "intents: 1 logged input(s) cleared" in captured.out
    assert "older than 30d" in captured.err
    since, until = now - dt.timedelta(days=90), now + dt.timedelta(seconds=1)
    logged = read_logged(open_store(runs), "intents", since, until)
    assert [(r.text, r.label) for r in logged] == [(None, "billing"), ("new", "billing")]
    record = json.loads((runs / "monitor" / "intents-retention.json").read_text())
    assert (record["cleared"], record["by"]) == (1, "monitor prune")


@pytest.mark.parametrize(
    "setup,argv_tail,code,message",
    [
        ("none", ["--older-than", "30d"], 1, "There is no store at"),
        ("empty", ["--older-than", "30d"], 1, "holds no logged predictions"),
        ("logged", ["--older-than", "30d", "--name", "ghost"], 1, "Logged names: intents"),
        ("logged", ["--older-than", "soon"], 2, "'soon' is not a retention window"),
        ("logged", [], 2, "needs --older-than"),
    ],
)
def test_monitor_prune_bad_input(tmp_path, capsys, setup, argv_tail, code, message):
    """No store, a store without predictions, an unknown name, a bad or missing window: a
    clear message and a non-zero exit; a missing SQLite store is not created."""
    runs = tmp_path / "runs"
    if setup == "empty":
        open_store(runs)
    elif setup == "logged":
        _log(open_store(runs), [("text", dt.datetime.now(dt.timezone.utc))])
    assert main(["monitor", "prune", *argv_tail, "--runs-dir", str(runs)]) == code
    assert message in capsys.readouterr().err
    if setup == "none":
        assert not (runs / "tuneforge.db").exists()


def test_monitor_prune_on_an_unreachable_store(tmp_path, monkeypatch, capsys):
    """A PostgreSQL store nobody answers for is a RunError naming it, exit 1."""
    monkeypatch.setenv("TUNEFORGE_STORE_URL", "postgresql://tuneforge@127.0.0.1:9/none")
    code = main(["monitor", "prune", "--older-than", "30d", "--runs-dir", str(tmp_path)])
    assert code == 1
    assert "Cannot open the run store" in capsys.readouterr().err


def test_prune_options_belong_to_prune(tmp_path, capsys):
    """--older-than on a plain monitor call is a usage error pointing at monitor prune."""
    assert main(["monitor", "m", "--older-than", "30d", "--runs-dir", str(tmp_path)]) == 2
    assert "tuneforge monitor prune" in capsys.readouterr().err


def test_label_import_redact_refuses_images(tmp_path, capsys):
    """Image items are files by path: --redact on them is a DataError saying so, exit 1."""
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        Image.new("L", (8, 8)).save(tmp_path / "imgs" / label / "0.png")
    argv = ["label", "import", str(tmp_path / "imgs"), "--queue", "pics", "--redact"]
    assert main([*argv, "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "--redact replaces personal data in texts" in capsys.readouterr().err
