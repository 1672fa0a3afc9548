"""The labeling and registry pages in a real browser (Debian's Chromium under Playwright):
labelling by keyboard stores what ``tuneforge label`` then sees, Backspace undoes, s skips;
a retrain starts from its plan and shows its gate's decision; promoting from the page changes
the registry, a failing gate refuses and changes nothing. Every page loads clean; screenshots
of each are kept."""

from __future__ import annotations

import json

import pytest

from tuneforge.cli import main
from tuneforge.label.queue import LabelStore, NewItem, text_fingerprint
from tuneforge.recipes.registry import versions
from tuneforge.store import Registry, open_store

from .conftest import MODEL, PWNED, QUEUE, RETRAIN_QUEUE, RUN_B

REF = f"{MODEL}@production"
PAGES = {
    "labeling": "/labeling",
    "labeling-queue": f"/labeling/{QUEUE}",
    "labeling-item-empty": f"/labeling/{QUEUE}/item",
    "labeling-retrain-plan": f"/labeling/{RETRAIN_QUEUE}/retrain?model={REF}",
    "registry": "/registry",
    "registry-promote-passing": f"/registry/promote?ref={RUN_B}:onnx&name=look&stage=staging",
    "registry-promote-failing": (
        f"/registry/promote?ref={RUN_B}:onnx-int8-dynamic&name=look&stage=staging"
    ),
    "registry-rollback": f"/registry/{MODEL}/rollback?stage=production",
}


def _annotations(runs, queue: str) -> list:
    labels = LabelStore(open_store(runs))
    return labels.annotations(labels.queue(queue))


def _cli_status(runs, queue: str, capsys) -> dict:
    capsys.readouterr()
    assert main(["label", "status", "--queue", queue, "--json", "--runs-dir", str(runs)]) == 0
    return json.loads(capsys.readouterr().out)[0]


def _checked(page) -> str | None:
    return page.evaluate(
        "(document.querySelector('#label-form input[name=label]:checked') || {}).value || null"
    )


def _press(page, key: str) -> None:
    """A key that submits a form: wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("name", list(PAGES))
def test_every_new_page_loads_cleanly(ui_server, watched, artifacts, name):
    """Each labeling and registry page answers 200 with no console error, CSP violation,
    exception or failed request, and no script from user text runs; its screenshot is kept."""
    watched.open(ui_server.url + PAGES[name])
    watched.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert watched.page.evaluate("typeof window.__pwned") == "undefined"
    assert watched.problems == []


def test_labelling_by_keyboard_with_the_model_suggestion(
    ui_server, ui_runs, watched, artifacts, capsys
):
    """With a model chosen, the desk shows its suggestion preselected and explained; a digit
    picks another label and Enter saves it: the label is stored as a browser annotation and
    ``tuneforge label status`` counts it."""
    page = watched.page
    watched.open(f"{ui_server.url}/labeling/{QUEUE}")
    page.select_option("#start-model", REF)
    with page.expect_navigation():
        page.click("#label-items")
    page.wait_for_load_state("networkidle")
    assert page.locator("#suggestion b").inner_text() == _checked(page)
    assert page.locator("#explanation .words span[title]").count() >= 3
    page.screenshot(path=str(artifacts / "labeling-item.png"), full_page=True)
    before = _cli_status(ui_runs, QUEUE, capsys)["items"]["labelled"]
    item = int(page.locator("#desk").get_attribute("data-item"))
    page.keyboard.press("2")
    assert _checked(page) == "shipping"
    _press(page, "Enter")
    saved = [a for a in _annotations(ui_runs, QUEUE) if a.item_id == item]
    assert [(a.label, a.origin) for a in saved] == [("shipping", "browser")]
    assert _cli_status(ui_runs, QUEUE, capsys)["items"]["labelled"] == before + 1
    assert int(page.locator("#desk").get_attribute("data-item")) != item
    assert "Saved shipping" in page.inner_text("#last-saved")
    assert watched.problems == []


def test_letters_cycle_backspace_undoes_and_s_skips(ui_server, ui_runs, watched, artifacts, capsys):
    """Without a model the oldest item comes first (its script text shown, never run); a
    letter picks the labels starting with it in turn, Shift+S the one starting with s; Enter
    saves, Backspace takes the save back (the item returns in hand, unlabelled), s skips (the
    item stays assigned)."""
    labels = LabelStore(open_store(ui_runs))
    queue = labels.open_queue("keys", "text", ("billing", "bug", "shipping", "account"))
    texts = [f"{PWNED} first", "second text", "third text"]
    labels.add_items(queue, [NewItem(t, text_fingerprint(t), "browser-test") for t in texts])
    page = watched.page
    watched.open(f"{ui_server.url}/labeling/keys/item")
    with page.expect_navigation():
        page.click("#next")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#item-text") == texts[0]
    assert page.evaluate("typeof window.__pwned") == "undefined"
    first = int(page.locator("#desk").get_attribute("data-item"))
    for key, label in (("b", "billing"), ("b", "bug"), ("b", "billing"), ("Shift+S", "shipping")):
        page.keyboard.press(key)
        assert _checked(page) == label, key
    page.keyboard.press("a")
    assert _checked(page) == "account"
    page.keyboard.press("1")
    _press(page, "Enter")
    assert [(a.item_id, a.label) for a in _annotations(ui_runs, "keys")] == [(first, "billing")]
    assert page.inner_text("#item-text") == texts[1]
    _press(page, "Backspace")
    assert page.inner_text("#item-text") == texts[0]
    assert _annotations(ui_runs, "keys") == []
    assert labels.items_by_id(queue, [first])[first].state == "assigned"
    page.screenshot(path=str(artifacts / "labeling-item-undone.png"), full_page=True)
    _press(page, "s")  # skip the first: the second, set aside by the undo, comes back
    assert page.inner_text("#item-text") == texts[1]
    _press(page, "s")
    assert page.inner_text("#item-text") == texts[2]
    status = _cli_status(ui_runs, "keys", capsys)
    assert status["items"] == {"queued": 0, "assigned": 3, "labelled": 0}
    assert watched.problems == []


def test_a_retrain_starts_from_its_plan_and_shows_the_gate(ui_server, ui_runs, watched, artifacts):
    """The queue page's retrain form shows the plan and the gate first; confirming starts the
    retrain, whose status shows the decision and the comparison; a margin no candidate can
    meet leaves the registry as it was."""
    page = watched.page
    watched.open(f"{ui_server.url}/labeling/{RETRAIN_QUEUE}")
    page.fill("input[name=min_gain]", "1")
    with page.expect_navigation():
        page.click("#plan-retrain")
    assert "new labels to train on" in page.inner_text("#plan")
    assert "+1.0000" in page.inner_text("#gate")
    with page.expect_navigation():
        page.click("form[data-action] button")
    decision = page.locator("#retrain-decision")
    decision.wait_for(timeout=240_000)
    assert decision.inner_text().startswith("not promoted")
    assert page.locator("#retrain-comparison tbody tr").count() >= 2
    page.screenshot(path=str(artifacts / "labeling-retrain-done.png"), full_page=True)
    assert Registry(open_store(ui_runs)).resolve(MODEL, "production").version == 1
    assert watched.problems == []


def test_promote_from_the_page_and_a_refused_gate(ui_server, ui_runs, watched, artifacts):
    """Promoting the passing variant after its confirmation makes it the stage's version; the
    failing variant's confirmation shows why, and confirming it is refused (409) with the
    figures, the registry unchanged."""
    page = watched.page
    watched.open(f"{ui_server.url}/registry")
    page.select_option("#promote-ref", f"{RUN_B}:onnx")
    page.fill("#promote-name", "shipped")
    with page.expect_navigation():
        page.click("#check-gate")
    assert "passes" in page.inner_text("#gate h2")
    with page.expect_navigation():
        page.click("#promote")
    page.wait_for_load_state("networkidle")
    assert "shipped v1 is now production" in page.inner_text("#flash")
    page.screenshot(path=str(artifacts / "registry-promoted.png"), full_page=True)
    (v1,) = versions(ui_runs, "shipped")["shipped"]
    assert (v1.variant, v1.stage) == ("onnx", "production")
    before = versions(ui_runs)
    page.select_option("#promote-ref", f"{RUN_B}:onnx-int8-dynamic")
    page.fill("#promote-name", "shipped")
    with page.expect_navigation():
        page.click("#check-gate")
    assert "fails" in page.inner_text("#gate h2")
    with page.expect_navigation():
        page.click("#promote")
    assert "Refused: nothing was changed." in page.inner_text("#refusal")
    assert "loses 2.00 accuracy points" in page.inner_text("#refusal")
    page.screenshot(path=str(artifacts / "registry-refused.png"), full_page=True)
    assert versions(ui_runs) == before
    assert [p for p in watched.problems if "409" not in p] == []  # the refusal itself


def test_read_only_pages_carry_no_action(read_only_server, watched, artifacts):
    """Under --read-only the labeling and registry pages hold no form that posts."""
    for url in ("/labeling", f"/labeling/{QUEUE}", f"/labeling/{QUEUE}/item", "/registry"):
        watched.open(read_only_server.url + url)
        assert watched.page.locator("form[method=post]").count() == 0, url
    watched.page.screenshot(path=str(artifacts / "registry-read-only.png"), full_page=True)
    assert watched.problems == []
