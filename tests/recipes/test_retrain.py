"""Retrain and promote with a gate, on a tiny model: the plan (conflicts and known items left
out, new labels split and held back), the comparison on one fixed evaluation set, promotion only
past the margin with lineage in the registry, dry runs, and a killed retrain that leaves queue and
registry unchanged and continues on rerun."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tuneforge.cli import main
from tuneforge.errors import DataError, RunError
from tuneforge.label.queue import Annotation, LabelStore, NewItem, text_fingerprint
from tuneforge.recipes.retrain import plan_retrain, run_retrain
from tuneforge.store import Registry, open_store

from ..conftest import make_rows, train_tiny_run

T0 = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def production(tiny_model_dir, tmp_path_factory):
    """A tiny run promoted as intents@production, and a queue with new labelled texts (two
    annotators on some, one tie, one text the run already trained on). Shared by the tests
    of this module, which compare registry versions with the one they found."""
    runs = train_tiny_run(tmp_path_factory.mktemp("retrain"), tiny_model_dir, "intents")
    assert (
        main(
            [
                "registry",
                "promote",
                "intents",
                "--name",
                "intents",
                "--stage",
                "production",
                "--runs-dir",
                str(runs),
            ]
        )
        == 0
    )
    labels = LabelStore(open_store(runs))
    queue = labels.open_queue("support", "text")
    new = make_rows(6, seed=11)
    known = json.loads((runs / "intents" / "data" / "train.jsonl").read_text().splitlines()[0])
    texts = [r["text"] + " again" for r in new] + [known["text"], "tied item"]
    labels.add_items(queue, [NewItem(t, text_fingerprint(t), "new") for t in texts])
    ids = {i.content: i.id for i in labels.items(queue)}
    notes = [Annotation(ids[r["text"] + " again"], r["label"], "ana", T0, "csv") for r in new]
    notes += [Annotation(ids[known["text"]], known["label"], "ana", T0, "csv")]
    notes += [
        Annotation(ids["tied item"], "billing", "ana", T0, "csv"),
        Annotation(ids["tied item"], "account", "bo", T0, "csv"),
    ]
    labels.add_annotations(queue, notes)
    return runs, len(new)


def test_plan_says_what_goes_in(production):
    """Ties and texts already in the run's data are left out; the rest is split, stratified,
    into training and a held-back part that joins the production test split."""
    runs, n_new = production
    plan = plan_retrain("intents@production", "support", runs, holdout=0.34)
    s = plan.summary()
    assert s["labelled_items"] == n_new + 2
    assert (s["conflicts_left_out"], s["already_in_training_data"]) == (1, 1)
    assert s["new_for_training"] + s["new_held_back"] == n_new
    assert {e.label for e in plan.held_back} == {"billing", "shipping", "account"}
    assert len(plan.data.test) == plan.old_test + len(plan.held_back)
    assert plan.new_labels == []


def test_dry_run_trains_nothing(production, capsys):
    runs, _ = production
    before = sorted(p.name for p in runs.iterdir())
    argv = [
        "retrain",
        "intents@production",
        "--queue",
        "support",
        "--dry-run",
        "--json",
        "--runs-dir",
        str(runs),
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["queue"] == "support"
    assert sorted(p.name for p in runs.iterdir()) == before


def test_bad_references_and_queues(production):
    runs, _ = production
    with pytest.raises(RunError, match="not a registry reference"):
        plan_retrain("intents", "support", runs)
    with pytest.raises(RunError, match="No labeling queue 'nope'"):
        plan_retrain("intents@production", "nope", runs)
    LabelStore(open_store(runs)).open_queue("empty", "text")
    with pytest.raises(RunError, match="no new labelled items"):
        plan_retrain("intents@production", "empty", runs)
    with pytest.raises(DataError, match="too few to hold back"):
        plan_retrain("intents@production", "support", runs, holdout=0.9)


def test_a_killed_retrain_changes_nothing_and_continues(production, monkeypatch):
    """Interrupted training leaves the queue and the registry as they were; the rerun resumes
    the same candidate run instead of starting another."""
    import tuneforge.train as train_stage  # the torch loop every text task's fit runs

    runs, _ = production
    store = open_store(runs)
    version_before = Registry(store).resolve("intents", "production").version
    queue_before = LabelStore(store).counts(LabelStore(store).queue("support"))
    real_fit = train_stage.fit

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_stage, "fit", killed)
    with pytest.raises(KeyboardInterrupt):
        run_retrain("intents@production", "support", runs, min_gain=-1.0, progress=False)
    assert Registry(store).resolve("intents", "production").version == version_before
    assert LabelStore(store).counts(LabelStore(store).queue("support")) == queue_before
    stopped = [r for r in store.list_runs() if r.state == "interrupted"]
    assert len(stopped) == 1
    monkeypatch.setattr(train_stage, "fit", real_fit)
    result = run_retrain("intents@production", "support", runs, min_gain=1.01, progress=False)
    assert result.candidate.run_id == stopped[0].id
    assert store.get(stopped[0].id).state == "succeeded"


def test_promotes_only_past_the_margin(production):
    """(Last here: its promotion changes what intents@production is.) An unreachable margin
    keeps production and says why (exit 3 from the CLI); a margin any
    candidate meets promotes it with its lineage; both write the comparison report."""
    runs, _ = production
    registry = Registry(open_store(runs))
    before = registry.resolve("intents", "production").version
    refused = run_retrain("intents@production", "support", runs, min_gain=1.01, progress=False)
    assert refused.promoted is None and refused.decision.startswith("not promoted")
    assert registry.resolve("intents", "production").version == before
    report = refused.candidate.retrain_report_path.read_text(encoding="utf-8")
    assert "not promoted" in report and "held-back new labels" in report
    parts = json.loads(refused.candidate.retrain_path.read_text())["comparison"]["parts"]
    assert set(parts) == {"all", "production test split", "held-back new labels"}
    accepted = run_retrain("intents@production", "support", runs, min_gain=-1.0, progress=False)
    version = registry.resolve("intents", "production")
    assert accepted.promoted is not None and version.version == before + 1
    assert version.run_id == accepted.candidate.run_id
    assert version.lineage["parent_version"] == before and version.lineage["queue"] == "support"
    assert version.lineage["new_held_back"] == accepted.plan.summary()["new_held_back"]
