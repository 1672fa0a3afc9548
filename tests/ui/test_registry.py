"""The registry pages through the app: versions with stages, runs and lineage; a promotion's
confirmation showing the gate's figures before anything changes; refusals that change nothing;
forced promotions recorded as forced; rollback; CSRF, read-only and escaping."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tuneforge.recipes.registry import versions
from tuneforge.store import Registry, open_store
from tuneforge.ui import UISettings, create_app
from tuneforge.ui.registry_view import lineage_lines

from .conftest import MODEL, PWNED, RUN_A, RUN_B

LOCAL = "http://127.0.0.1:8080"
PASSING, FAILING = f"{RUN_B}:onnx", f"{RUN_B}:onnx-int8-dynamic"


def _client(runs, **settings) -> tuple[TestClient, str]:
    client = TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)
    html = client.get("/registry").text
    return client, re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _promote(client, token, ref, name, **extra):
    form = {"csrf_token": token, "ref": ref, "name": name, "stage": "production", **extra}
    return client.post("/registry/promote", data=form, follow_redirects=False)


def test_the_registry_lists_versions_and_what_may_be_promoted(ui_runs):
    """Each model with its stages and versions (run link, variant, gate note); the promote
    form offers every finished run's trained model and built variants."""
    client, _ = _client(ui_runs)
    page = client.get("/registry").text
    assert f'id="model-{MODEL}"' in page and f'href="/runs/{RUN_A}"' in page
    assert 'class="stage-production">production' in page
    for ref in (f"{RUN_A}:model", f"{RUN_B}:model", PASSING, FAILING):
        assert f'value="{ref}"' in page


def test_the_confirmation_shows_the_gate_figures_and_changes_nothing(ui_runs):
    """Before any POST the page shows the decision, parity (agreement, |Δp|), the tolerance and
    the loss; the registry is as it was."""
    client, _ = _client(ui_runs)
    before = versions(ui_runs)
    page = client.get(
        "/registry/promote", params={"ref": FAILING, "name": "c1", "stage": "staging"}
    )
    assert page.status_code == 200
    assert "fails" in page.text and "loses 2.00 accuracy points (limit 0.03)" in page.text
    assert "<td>0.9700</td>" in page.text and "<td>0.03 accuracy points</td>" in page.text
    assert "0.080000 / 0.010000" in page.text and "0.9200 → 0.9000" in page.text
    assert 'name="force"' in page.text
    good = client.get(
        "/registry/promote", params={"ref": PASSING, "name": "c1", "stage": "staging"}
    )
    assert "passes" in good.text and "exact export" in good.text and 'name="force"' not in good.text
    assert versions(ui_runs) == before


def test_a_failing_gate_refuses_and_a_passing_one_promotes(ui_runs):
    """A variant whose gate fails is refused with the figures (409) and the registry keeps its
    versions; the passing variant becomes a new version in the stage."""
    client, token = _client(ui_runs)
    refused = _promote(client, token, FAILING, "gated")
    assert refused.status_code == 409
    assert "Refused: nothing was changed." in refused.text
    assert "loses 2.00 accuracy points (limit 0.03)" in refused.text
    assert "gated" not in versions(ui_runs)
    answer = _promote(client, token, PASSING, "gated")
    assert answer.status_code == 303
    (v1,) = versions(ui_runs, "gated")["gated"]
    assert (v1.run_id, v1.variant, v1.stage, v1.forced) == (RUN_B, "onnx", "production", False)
    assert "is now production" in client.get("/registry").text  # the one-time message


def test_force_promotes_past_the_gate_and_says_so(ui_runs):
    """Ticking force promotes the failing variant, recorded as forced with the reason."""
    client, token = _client(ui_runs)
    assert _promote(client, token, FAILING, "forced-one", force="1").status_code == 303
    (v,) = versions(ui_runs, "forced-one")["forced-one"]
    assert v.forced and v.note.startswith("forced: variant 'onnx-int8-dynamic' loses 2.00")
    assert 'class="forced">forced' in client.get("/registry").text


def test_rollback_names_the_version_it_returns_to(ui_runs):
    """The confirmation names the current holder and the earlier one; confirming gives the
    stage back; with no earlier version there is no button."""
    client, token = _client(ui_runs)
    for ref in (f"{RUN_A}:model", PASSING):
        assert _promote(client, token, ref, "rolled").status_code == 303
    page = client.get("/registry/rolled/rollback", params={"stage": "production"}).text
    assert "held by <b>v2</b>" in page and "to <b>v1</b>" in page
    answer = client.post(
        "/registry/rolled/rollback",
        data={"csrf_token": token, "stage": "production"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert Registry(open_store(ui_runs)).resolve("rolled", "production").version == 1
    last = client.get("/registry/rolled/rollback", params={"stage": "production"}).text
    assert "nothing to roll back to" in last and "Roll back to v" not in last
    missing = client.get("/registry/nobody/rollback", params={"stage": "production"})
    assert missing.status_code == 404


def test_registry_posts_need_csrf_and_read_only_refuses_and_hides_them(ui_runs):
    """Promote and rollback without the session's token are 403s; under --read-only they are
    403s with it, and no page carries a promote, force or rollback control."""
    client, _ = _client(ui_runs)
    before = versions(ui_runs)
    assert _promote(client, "wrong", PASSING, "nope").status_code == 403
    answer = client.post(f"/registry/{MODEL}/rollback", data={"stage": "production"})
    assert answer.status_code == 403
    ro, token = _client(ui_runs, read_only=True)
    assert _promote(ro, token, PASSING, "nope").status_code == 403
    page = ro.get("/registry").text
    assert 'id="promote-form"' not in page and "rollback?stage" not in page
    confirm = ro.get("/registry/promote", params={"ref": FAILING, "name": "x", "stage": "staging"})
    assert 'id="confirm-promote"' not in confirm.text and 'name="force"' not in confirm.text
    assert versions(ui_runs) == before


def test_notes_and_lineage_are_escaped_and_readable(ui_runs):
    """A version's note holding a script tag is shown as text; a retrained version's lineage
    reads as its parent, queue, counts and gain."""
    lineage = {
        "parent_version": 1,
        "parent_run": RUN_A,
        "queue": "support",
        "labelled_items": 12,
        "conflicts_left_out": 1,
        "already_in_training_data": 0,
        "new_for_training": 8,
        "new_held_back": 3,
        "min_gain": 0.005,
        "gain": 0.0123,
        "mcnemar_p": 0.25,
    }
    Registry(open_store(ui_runs)).promote(
        "hostile", RUN_A, "model", "/x", "staging", note=PWNED, lineage=lineage
    )
    page = _client(ui_runs)[0].get("/registry").text
    assert PWNED not in page and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert lineage_lines(lineage) == [
        f"from v1 ({RUN_A})",
        "queue support: 12 labelled, 8 trained on, 3 held back",
        "left out: 1 in conflict",
        "accuracy gain +0.0123 (needed +0.0050, McNemar p 0.25)",
    ]
    assert "accuracy gain +0.0123" in page
