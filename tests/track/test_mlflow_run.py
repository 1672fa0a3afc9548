"""MLflow tracking for real: runs read back through MLflow's own client from a local SQLite
store and from an ``mlflow server`` on loopback, equal to the run's metrics.jsonl."""

from __future__ import annotations

import json

import pytest

from tuneforge.cli import main

from ..conftest import make_rows, write_csv
from .conftest import QUICK_TRAIN, train_argv


@pytest.fixture
def store_uri(tracked_train) -> str:
    """The local store ``tracked_train`` created: later tests add their runs to it (each new
    MLflow database costs seconds of migrations)."""
    return f"sqlite:///{tracked_train.runs / 'mlflow' / 'mlflow.db'}"


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _run_of(client, run_id: str):
    found = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.`tuneforge.run_id` = '{run_id}'",
    )
    assert len(found) == 1, f"one MLflow run per tuneforge run, found {len(found)}"
    return found[0]


def assert_metrics_equal(client, mlflow_run_id: str, records: list[dict]) -> None:
    """Every number of every metrics.jsonl record is the MLflow metric ``<split>/<key>`` at
    the record's step, with the same value."""
    histories: dict[str, set] = {}
    for record in records:
        for key, value in record.items():
            if key in ("split", "step"):
                continue
            name = f"{record['split']}/{key}"
            if name not in histories:
                history = client.get_metric_history(mlflow_run_id, name)
                histories[name] = {(m.step, m.value) for m in history}
            assert (record["step"], float(value)) in histories[name], (name, record)


def test_sqlite_store_records_params_metrics_tags_and_files(tracked_train):
    """``--track mlflow`` without a URI writes a SQLite store under the runs folder holding
    the resolved config as parameters, every metrics.jsonl number, the evaluation, the tags
    (fingerprint, seed, method) and the report and eval files as artifacts."""
    from tuneforge.store import RunDir

    db = tracked_train.runs / "mlflow" / "mlflow.db"
    assert db.is_file()
    client = _client(f"sqlite:///{db}")
    rd = RunDir(tracked_train.run_dir)
    run = _run_of(client, "tracked")
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["train.lr"] == "0.002" and params["train.epochs"] == "2"
    assert params["model.name"] == str(rd.read_config_section("model")["name"])
    status = rd.status()
    tags = run.data.tags
    assert tags["tuneforge.data_fingerprint"] == status["data_fingerprint"]
    assert tags["tuneforge.seed"] == str(status["seed"]) and tags["tuneforge.method"] == "full"
    assert_metrics_equal(client, run.info.run_id, rd.read_metrics())
    evaluation = json.loads(rd.eval_path.read_text())
    assert run.data.metrics["eval/accuracy"] == evaluation["accuracy"]
    assert run.data.metrics["eval/macro_f1"] == evaluation["macro_f1"]
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "eval.json", "config.yaml", "metrics.jsonl"} <= files
    assert (tracked_train.runs / "mlflow" / "artifacts").is_dir()  # not ./mlruns of the cwd


def test_tracking_server_on_loopback(tmp_path, tiny_model_dir, mlflow_server, one_torch_thread):
    """``--track mlflow=http://...`` against a real ``mlflow server``: the run, its metrics
    (equal to metrics.jsonl) and its artifacts arrive through the server's REST API and
    artifact proxy."""
    from tuneforge.store import RunDir

    url = mlflow_server.wait()
    runs = tmp_path / "runs"
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    argv = train_argv(data, tiny_model_dir, runs, "served", *QUICK_TRAIN)
    assert main([*argv, "--track", f"mlflow={url}", "--track-required"]) == 0
    client = _client(url)
    run = _run_of(client, "served")
    assert run.info.status == "FINISHED"
    assert_metrics_equal(client, run.info.run_id, RunDir(runs / "served").read_metrics())
    assert {"report.html", "eval.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    assert not (runs / "mlflow").exists()  # nothing local when a server is named


def test_tune_trials_are_child_runs_of_the_study(
    tmp_path, tiny_model_dir, store_uri, one_torch_thread
):
    """``tune --track mlflow``: the study is one MLflow run and each trial a child run of it
    (``mlflow.parentRunId``), tagged with the study as parent; the study logs its best value
    and its summary. TensorBoard keeps the trials' folders inside the study's."""
    runs = tmp_path / "runs"
    data = write_csv(tmp_path / "t.csv", make_rows(20))
    uri = store_uri
    code = main(
        [
            "tune",
            str(data),
            "--model",
            str(tiny_model_dir),
            "--runs-dir",
            str(runs),
            "--trials",
            "2",
            "--study",
            "s1",
            "--no-prune",
            "--track",
            f"mlflow={uri}",
            "--track",
            f"tensorboard={tmp_path / 'tb'}",
            *QUICK_TRAIN,
            "train.epochs=1",
        ]
    )
    assert code == 0
    client = _client(uri)
    study = _run_of(client, "s1")
    assert study.info.status == "FINISHED"
    assert "study/best_val_macro_f1" in study.data.metrics
    assert "study.json" in {a.path for a in client.list_artifacts(study.info.run_id)}
    for n in (0, 1):
        trial = _run_of(client, f"s1-t{n}")
        assert trial.data.tags["mlflow.parentRunId"] == study.info.run_id
        assert trial.data.tags["tuneforge.parent_run"] == "s1"
        assert "val/macro_f1" in trial.data.metrics
        assert (tmp_path / "tb" / "s1" / f"s1-t{n}").is_dir()  # TensorBoard: trials in the study


def test_promoted_version_serves_the_same_predictions(tracked_train, mlflow_server, monkeypatch):
    """``registry promote --mlflow=URI`` registers the version in MLflow's model registry with
    its stage as alias; ``mlflow.pyfunc.load_model('models:/NAME@stage')`` then predicts the
    same labels and probabilities as tuneforge's own predictor."""
    import mlflow
    import numpy as np
    import pandas as pd

    from tuneforge.predict import load_predictor
    from tuneforge.store import RunDir

    url = mlflow_server.wait()
    code = main(
        [
            "registry",
            "promote",
            "tracked",
            "--name",
            "intents",
            "--stage",
            "production",
            f"--mlflow={url}",
            "--runs-dir",
            str(tracked_train.runs),
        ]
    )
    assert code == 0
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    served = mlflow.pyfunc.load_model("models:/intents@production")
    texts = [r["text"] for r in make_rows(3, seed=7)]
    answer = served.predict(pd.DataFrame({"text": texts}))
    ours = load_predictor(RunDir(tracked_train.run_dir).saved_model_dir())
    probs = np.asarray(ours.predict_proba(texts))
    assert answer["label"].tolist() == [ours.labels[i] for i in probs.argmax(axis=1)]
    columns = [f"prob:{label}" for label in ours.labels]
    np.testing.assert_allclose(answer[columns].to_numpy(), probs, rtol=0, atol=1e-6)
    version = _client(url).get_model_version_by_alias("intents", "production")
    assert version.tags["tuneforge.run_id"] == "tracked"


def test_retrain_candidate_is_tracked_with_its_production_parent(tracked_train, store_uri):
    """``retrain --track mlflow=URI``: the candidate is an MLflow run tagged with the
    production version's run as parent, and carries the comparison (gain, McNemar p) and the
    retrain page."""
    import datetime as dt

    from tuneforge.label.queue import Annotation, LabelStore, NewItem, text_fingerprint
    from tuneforge.store import open_store

    runs = tracked_train.runs
    promote = ["registry", "promote", "tracked", "--name", "rt", "--stage", "production"]
    assert main([*promote, "--runs-dir", str(runs)]) == 0
    labels = LabelStore(open_store(runs))
    queue = labels.open_queue("rt-queue", "text")
    rows = make_rows(4, seed=5)
    labels.add_items(queue, [NewItem(r["text"], text_fingerprint(r["text"]), "new") for r in rows])
    ids = {i.content: i.id for i in labels.items(queue)}
    when = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    labels.add_annotations(
        queue, [Annotation(ids[r["text"]], r["label"], "ana", when, "csv") for r in rows]
    )
    uri = store_uri
    argv = ["retrain", "rt@production", "--queue", "rt-queue", "--min-gain", "1", "--no-progress"]
    code = main([*argv, "--track", f"mlflow={uri}", "--runs-dir", str(runs)])
    assert code == 3  # a gain of 1 (100 points) is never met: not promoted, still tracked
    client = _client(uri)
    experiment = client.get_experiment_by_name("tuneforge").experiment_id
    found = client.search_runs([experiment], "tags.`tuneforge.parent_run` = 'tracked'")
    (candidate,) = found
    assert candidate.data.tags["tuneforge.parent_run"] == "tracked"
    assert candidate.info.status == "FINISHED"
    assert "retrain/gain" in candidate.data.metrics and "val/macro_f1" in candidate.data.metrics
    files = {a.path for a in client.list_artifacts(candidate.info.run_id)}
    assert {"retrain.json", "retrain.html", "report.html"} <= files


def test_a_resumed_run_continues_its_mlflow_run(store_uri):
    """An interrupted run is closed as KILLED (state ``interrupted``); resumed under the same
    run id it continues the same MLflow run, whose history then holds both parts."""
    from tuneforge.track import RunFacts, Tracking, TrackTarget, tracked

    uri = store_uri
    tracking = Tracking([TrackTarget("mlflow", uri)], checked=True)
    facts = RunFacts("r1", {"train": {"lr": 0.1}}, {"tuneforge.seed": "1"})
    with pytest.raises(KeyboardInterrupt):
        with tracked(tracking, facts) as run:
            run.log_metrics({"split": "train", "step": 1, "epoch": 0.5, "loss": 2.0})
            raise KeyboardInterrupt
    client = _client(uri)
    first = _run_of(client, "r1")
    assert first.info.status == "KILLED" and first.data.tags["tuneforge.state"] == "interrupted"
    with tracked(tracking, facts) as run:
        run.log_metrics({"split": "train", "step": 2, "epoch": 1.0, "loss": 1.0})
    again = _run_of(client, "r1")
    assert again.info.run_id == first.info.run_id and again.info.status == "FINISHED"
    history = client.get_metric_history(again.info.run_id, "train/loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 2.0), (2, 1.0)]
    assert again.data.params == {"train.lr": "0.1"}
