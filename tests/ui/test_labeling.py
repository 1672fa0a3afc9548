"""The labeling pages through the app: queues with progress, agreement and conflicts, the desk
that hands items out, saves, undoes and skips through ``recipes/label.py`` (so ``tuneforge
label`` sees the labels), the retrain plan and its one-at-a-time job, CSRF, read-only and
escaping."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from fastapi.testclient import TestClient

from tuneforge.cli import main
from tuneforge.label.queue import LabelStore, NewItem, text_fingerprint
from tuneforge.store import open_store
from tuneforge.ui import UISettings, create_app
from tuneforge.ui.labeling import label_keys

from .conftest import MODEL, PWNED, QUEUE, RETRAIN_QUEUE

LOCAL = "http://127.0.0.1:8080"
LABELS = ("billing", "shipping", "account")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _client(runs, **settings) -> tuple[TestClient, str]:
    client = TestClient(
        create_app(UISettings(runs_dir=runs, annotator="tester", **settings)), base_url=LOCAL
    )
    return client, _csrf(client.get("/labeling").text)


def _queue(runs, name: str, texts: list[str]):
    """A fresh queue of its own per test: the session's runs folder is shared."""
    labels = LabelStore(open_store(runs))
    queue = labels.open_queue(name, "text", LABELS)
    labels.add_items(queue, [NewItem(t, text_fingerprint(t), "test") for t in texts])
    return labels, queue


def _in_hand(html: str) -> int:
    return int(re.search(r'id="desk" data-item="(\d+)"', html).group(1))


def _status_json(runs, queue: str, capsys) -> dict:
    capsys.readouterr()
    assert main(["label", "status", "--queue", queue, "--json", "--runs-dir", str(runs)]) == 0
    return json.loads(capsys.readouterr().out)[0]


def test_the_queues_page_shows_each_queue_with_its_progress(ui_runs):
    """Every queue is listed with its task, a bar of its states and its conflicts."""
    client, _ = _client(ui_runs)
    page = client.get("/labeling")
    assert page.status_code == 200
    for name in (QUEUE, RETRAIN_QUEUE):
        assert f'href="/labeling/{name}"' in page.text
    assert 'class="progress"' in page.text and "seg-labelled" in page.text


def test_a_queue_page_shows_agreement_and_conflicts_escaped(ui_runs):
    """The conflict between two annotators is listed with each one's label; the text and the
    annotator holding a script tag are escaped, never markup."""
    client, _ = _client(ui_runs)
    page = client.get(f"/labeling/{QUEUE}")
    assert page.status_code == 200
    assert 'id="conflicts"' in page.text and 'id="cohen"' in page.text
    assert PWNED not in page.text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt; my invoice" in page.text
    assert client.get("/labeling/no-such-queue").status_code == 404


def test_labels_saved_at_the_desk_are_what_the_cli_sees(ui_runs, capsys):
    """Handing out, saving with the CSRF token, and the next item coming in hand: the label is
    an Annotation of origin browser under the dashboard's annotator, and ``tuneforge label
    status`` counts it."""
    labels, queue = _queue(ui_runs, "desk-save", ["invoice one", "parcel two", "login three"])
    client, token = _client(ui_runs)
    answer = client.post("/labeling/desk-save/next", data={"csrf_token": token})
    assert answer.status_code == 200  # followed to the item page
    first = _in_hand(answer.text)
    assert "invoice one" in answer.text
    page = client.post(
        "/labeling/desk-save/label", data={"csrf_token": token, "item": first, "label": "billing"}
    )
    assert _in_hand(page.text) != first
    (note,) = labels.annotations(queue)
    assert (note.item_id, note.label, note.annotator, note.origin) == (
        first,
        "billing",
        "tester",
        "browser",
    )
    status = _status_json(ui_runs, "desk-save", capsys)
    assert status["items"] == {"queued": 1, "assigned": 1, "labelled": 1}
    assert status["labelled_by_label"] == {"billing": 1}


def test_undo_takes_the_last_save_back_and_skip_leaves_the_item_out(ui_runs, capsys):
    """Backspace's undo removes the saved label and the item returns to its state (assigned),
    back in hand; the item it displaced comes next. Skip leaves an item assigned and moves on;
    with nothing saved, undo is a 409."""
    labels, queue = _queue(ui_runs, "desk-undo", ["refund a", "courier b", "email c"])
    client, token = _client(ui_runs)
    first = _in_hand(client.post("/labeling/desk-undo/next", data={"csrf_token": token}).text)
    saved = {"csrf_token": token, "item": first, "label": "shipping"}
    second = _in_hand(client.post("/labeling/desk-undo/label", data=saved).text)
    back = client.post("/labeling/desk-undo/undo", data={"csrf_token": token})
    assert _in_hand(back.text) == first
    assert labels.annotations(queue) == []
    assert labels.items_by_id(queue, [first])[first].state == "assigned"
    again = {"csrf_token": token, "item": first, "label": "billing"}
    assert _in_hand(client.post("/labeling/desk-undo/label", data=again).text) == second
    third = _in_hand(
        client.post("/labeling/desk-undo/skip", data={"csrf_token": token, "item": second}).text
    )
    assert third not in (first, second)
    assert labels.items_by_id(queue, [second])[second].state == "assigned"
    assert _status_json(ui_runs, "desk-undo", capsys)["items"]["labelled"] == 1
    fresh, fresh_token = _client(ui_runs)
    assert (
        fresh.post("/labeling/desk-undo/undo", data={"csrf_token": fresh_token}).status_code == 409
    )


def test_a_label_outside_the_queue_set_is_refused(ui_runs):
    """A label the queue does not have is a 400 naming the label set, and nothing is stored."""
    labels, queue = _queue(ui_runs, "desk-bad", ["tracking x"])
    client, token = _client(ui_runs)
    item = _in_hand(client.post("/labeling/desk-bad/next", data={"csrf_token": token}).text)
    answer = client.post(
        "/labeling/desk-bad/label", data={"csrf_token": token, "item": item, "label": PWNED}
    )
    assert answer.status_code == 400
    assert "billing, shipping, account" in answer.text and PWNED not in answer.text
    assert labels.annotations(queue) == []


def test_with_a_model_items_come_as_label_next_hands_them_out(ui_runs):
    """Choosing a registered model hands the item out through ``next_items`` (its suggestion
    recorded, strategy margin), preselects the suggestion and colours the text's words."""
    labels, queue = _queue(ui_runs, "desk-model", ["invoice refund 7", "parcel courier 8"])
    client, token = _client(ui_runs)
    ref = f"{MODEL}@production"
    page = client.post("/labeling/desk-model/next", data={"csrf_token": token, "model": ref})
    item = _in_hand(page.text)
    suggestion = labels.suggestions(queue)[item]
    assert (suggestion.model, suggestion.strategy) == ("tiny-a", "margin")
    assert f'value="{suggestion.label}" data-digit' in page.text
    checked = re.search(r'value="([^"]+)" data-digit="\d" data-letter="\w" checked', page.text)
    assert checked.group(1) == suggestion.label
    assert 'id="explanation"' in page.text and "title='" in page.text


def test_every_desk_post_needs_the_csrf_token(ui_runs):
    """Handing out, saving, skipping, undoing and starting a retrain without the session's
    token are 403s, and nothing is written."""
    labels, queue = _queue(ui_runs, "desk-csrf", ["payment q"])
    client, _ = _client(ui_runs)
    item = labels.items(queue)[0].id
    for action, data in (
        ("next", {}),
        ("label", {"item": item, "label": "billing"}),
        ("skip", {"item": item}),
        ("undo", {}),
        ("retrain", {"model": f"{MODEL}@production"}),
    ):
        answer = client.post(f"/labeling/desk-csrf/{action}", data=data)
        assert answer.status_code == 403, action
    assert labels.counts(queue) == {"queued": 1, "assigned": 0, "labelled": 0}


def test_read_only_hides_labelling_and_retraining_and_refuses_them(ui_runs):
    """Under --read-only the pages carry no desk or retrain form and a POST with a valid token
    is still a 403."""
    labels, queue = _queue(ui_runs, "desk-ro", ["username r"])
    client, token = _client(ui_runs, read_only=True)
    page = client.get("/labeling/desk-ro").text
    assert 'id="start-labeling"' not in page and 'id="retrain-form"' not in page
    assert "read-only" in page
    assert 'id="label-form"' not in client.get("/labeling/desk-ro/item").text
    answer = client.post("/labeling/desk-ro/next", data={"csrf_token": token})
    assert answer.status_code == 403
    assert labels.counts(queue)["assigned"] == 0


def test_the_retrain_plan_shows_what_goes_in_and_the_gate(ui_runs):
    """The dry run lists the plan's counts and the minimum gain before anything trains; a
    model that is not registered is a 400 that says so."""
    client, _ = _client(ui_runs)
    url = f"/labeling/{RETRAIN_QUEUE}/retrain"
    page = client.get(url, params={"model": f"{MODEL}@production", "min_gain": 0.02})
    assert page.status_code == 200
    assert "new labels to train on" in page.text and "+0.0200" in page.text
    assert 'action="/labeling/fresh/retrain"' in page.text
    bad = client.get(url, params={"model": "nope@production"})
    assert bad.status_code == 400 and "No production version of model" in bad.text


def test_one_retrain_at_a_time(ui_runs, monkeypatch):
    """While a retrain runs, starting another is a 409; the status endpoint reports it running,
    then done with its decision."""
    import tuneforge.recipes.retrain as retrain

    release = threading.Event()
    real = retrain.run_retrain

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **{**kwargs, "dry_run": True})

    monkeypatch.setattr(retrain, "run_retrain", slow)
    client, token = _client(ui_runs)
    form = {"csrf_token": token, "model": f"{MODEL}@production", "min_gain": "0.01"}
    url = f"/labeling/{RETRAIN_QUEUE}/retrain"
    assert client.post(url, data=form, follow_redirects=False).status_code == 303
    assert client.get("/api/retrain").json()["state"] == "running"
    assert client.post(url, data=form).status_code == 409
    release.set()
    deadline = time.monotonic() + 30
    while (job := client.get("/api/retrain").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["state"] == "done" and job["result"]["decision"].startswith("dry run")
    assert job["queue"] == RETRAIN_QUEUE and job["min_gain"] == 0.01


@pytest.mark.parametrize(
    "labels, keys",
    [
        (("billing", "shipping", "bug"), [("1", "b"), ("2", "⇧S"), ("3", "b")]),
        ((PWNED,), [("1", "<")]),
    ],
)
def test_label_keys_give_digits_and_first_letters(labels, keys):
    """The first nine labels get their digit; each its first letter, and a label starting with
    the skip key s is reached with Shift+S."""
    assert [(k["digit"], k["hint"]) for k in label_keys(labels)] == keys
