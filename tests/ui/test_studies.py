"""The studies pages through the app: the searches of the store, a study's trials with their
run links, its history and importances data (what the search report shows), and the run page's
link back to the study its run was a trial of."""

from __future__ import annotations

import json
import shutil

from fastapi.testclient import TestClient

from tuneforge.ui import UISettings, create_app
from tuneforge.ui.studies import best_so_far, list_studies

from .conftest import RUN_A, STUDY

LOCAL = "http://127.0.0.1:8080"


def _client(runs, **settings) -> TestClient:
    return TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)


def test_the_list_shows_the_study_of_the_store(study_runs):
    """/studies lists the study with its trial count and best value."""
    page = _client(study_runs).get("/studies")
    assert page.status_code == 200
    assert f'href="/studies/{STUDY}"' in page.text
    (row,) = list_studies(study_runs)
    assert row.n_trials == 3 and row.source == "store" and row.best_value is not None


def test_a_study_page_lists_its_trials_with_run_links(study_runs):
    """Every trial is a row with its state, value, both searched parameters and its run."""
    page = _client(study_runs).get(f"/studies/{STUDY}")
    assert page.status_code == 200
    for n in range(3):
        assert f'href="/runs/{STUDY}-t{n}"' in page.text
    assert "train.lr" in page.text and "train.weight_decay" in page.text


def test_the_chart_data_has_the_best_so_far_and_importances(study_runs):
    """The history's best so far never falls; importances name both parameters and sum to 1,
    as Optuna's default evaluator computes them for the report."""
    d = _client(study_runs).get(f"/api/studies/{STUDY}").json()
    best = d["history"]["best"]
    assert len(best) == 3 and best == sorted(best)
    assert set(d["importances"]) == {"train.lr", "train.weight_decay"}
    assert abs(sum(d["importances"].values()) - 1) < 1e-6


def test_a_run_page_links_to_its_study(study_runs, ui_runs):
    """A trial's run page links to its study; a run of no study has no link."""
    page = _client(study_runs).get(f"/runs/{STUDY}-t1")
    assert f'href="/studies/{STUDY}" id="study-link"' in page.text
    assert 'id="study-link"' not in _client(ui_runs).get(f"/runs/{RUN_A}").text


def test_a_study_known_by_its_summary_only_still_shows(study_runs, tmp_path):
    """A study kept in another storage shows from its study.json, with a note instead of
    importances; an unknown study is a 404."""
    runs = tmp_path / "runs"
    shutil.copytree(study_runs / "studies", runs / "studies")
    client = _client(runs)
    assert client.get(f"/studies/{STUDY}").status_code == 200
    d = client.get(f"/api/studies/{STUDY}").json()
    assert d["importances"] is None and "summary file" in d["importances_note"]
    assert client.get("/studies/nothing").status_code == 404
    assert client.get("/api/studies/nothing").status_code == 404
    assert json.loads((runs / "studies" / STUDY / "study.json").read_text())["study"] == STUDY


def test_best_so_far_steps_up_and_marks_pruned_trials():
    """Completed trials in number order with the running maximum; pruned ones listed apart."""
    trials = [
        {"number": 2, "state": "complete", "value": 0.5},
        {"number": 0, "state": "complete", "value": 0.7},
        {"number": 1, "state": "pruned", "value": None},
        {"number": 3, "state": "complete", "value": 0.9},
    ]
    h = best_so_far(trials)
    assert h == {
        "number": [0, 2, 3],
        "value": [0.7, 0.5, 0.9],
        "best": [0.7, 0.7, 0.9],
        "pruned": [1],
    }
