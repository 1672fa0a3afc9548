"""`tuneforge tune`: every trial is a run, weak trials are pruned, studies resume by name."""

from __future__ import annotations

import json

import optuna

from tuneforge.cli import main
from tuneforge.store import RunStore, default_store_url
from tuneforge.tune import TuneConfig, open_study

# The tiny model's training settings, minus the searched learning rate.
FIXED = ["train.epochs=3", "train.batch_size=8", "train.freeze_embeddings=false"]


def _tune(tickets_csv, tiny_model_dir, runs_dir, space, *extra) -> int:
    argv = [
        "tune",
        str(tickets_csv),
        "--model",
        str(tiny_model_dir),
        "--runs-dir",
        str(runs_dir),
        "--space",
        str(space),
        "--study",
        "s1",
        *extra,
        *FIXED,
    ]
    return main(argv)


def _space(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("train.lr: {low: 1.0e-9, high: 5.0e-3, log: true}\n")
    return path


def test_search_records_trials_as_runs_and_prunes_a_hopeless_one(
    tickets_csv, tiny_model_dir, runs_dir, tmp_path
):
    """Two good trials, then one that cannot learn (lr 1e-9): it is pruned and its run is
    recorded as pruned; the best trial is a complete, evaluated run; the study resumes."""
    storage = default_store_url(runs_dir)
    runs_dir.mkdir(parents=True)
    study = open_study(TuneConfig(study="s1", storage=storage))
    for lr in (3e-3, 4e-3, 1e-9):
        study.enqueue_trial({"train.lr": lr})

    assert _tune(tickets_csv, tiny_model_dir, runs_dir, _space(tmp_path), "--trials", "3") == 0

    summary = json.loads((runs_dir / "studies" / "s1" / "study.json").read_text())
    states = {t["number"]: t["state"] for t in summary["trials"]}
    assert states == {0: "complete", 1: "complete", 2: "pruned"}
    store = RunStore(default_store_url(runs_dir))
    assert store.get("s1-t2").state == "pruned"
    assert not (runs_dir / "s1-t2" / "artifacts" / "model").exists()
    best = summary["best_run_id"]
    assert best in ("s1-t0", "s1-t1") and store.get(best).state == "succeeded"
    assert json.loads((runs_dir / best / "eval.json").read_text())["accuracy"] > 0.5
    page = (runs_dir / "studies" / "s1" / "report.html").read_text()
    assert "Optimisation history" in page and "s1-t2" in page

    # Same study name: trials are added, numbering continues, nothing is redone.
    assert _tune(tickets_csv, tiny_model_dir, runs_dir, _space(tmp_path), "--trials", "1") == 0
    resumed = json.loads((runs_dir / "studies" / "s1" / "study.json").read_text())
    assert sorted(t["number"] for t in resumed["trials"]) == [0, 1, 2, 3]
    assert len(optuna.load_study(study_name="s1", storage=storage).trials) == 4


def test_bad_space_fails_before_any_run(tickets_csv, tiny_model_dir, runs_dir, tmp_path, capsys):
    """A misspelt key in the space is a config error (exit 2) and leaves no run behind."""
    space = tmp_path / "bad.yaml"
    space.write_text("train.lrr: {low: 1.0e-4, high: 1.0e-3}\n")
    assert _tune(tickets_csv, tiny_model_dir, runs_dir, space) == 2
    assert "train.lrr" in capsys.readouterr().err
    assert not runs_dir.exists() or not any(p.is_dir() for p in runs_dir.iterdir())


def test_two_workers_share_one_study_on_postgresql(
    postgres_server, tickets_csv, tiny_model_dir, tmp_path
):
    """Two `tuneforge tune` processes on one PostgreSQL study (and store): every trial runs
    once, every trial is one run in the shared store, and the best run is recorded once."""
    import os
    import subprocess
    import sys

    url = postgres_server.new_database()
    runs = tmp_path / "runs"
    env = dict(os.environ, TUNEFORGE_STORE_URL=url, OMP_NUM_THREADS="1")
    argv = [
        sys.executable,
        "-m",
        "tuneforge",
        "tune",
        str(tickets_csv),
        "--model",
        str(tiny_model_dir),
        "--runs-dir",
        str(runs),
        "--space",
        str(_space(tmp_path)),
        "--study",
        "shared",
        "--storage",
        url,
        "--trials",
        "2",
        "--no-prune",
        *FIXED,
    ]
    workers = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    failed = [err[-2000:] for w, (_, err) in zip(workers, outputs) if w.returncode != 0]
    assert not failed, failed

    study = optuna.load_study(study_name="shared", storage=url.replace("://", "+psycopg://", 1))
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == [0, 1, 2, 3]
    run_ids = [t.user_attrs["run_id"] for t in study.trials]
    assert len(set(run_ids)) == 4
    store = RunStore(url)
    recorded = [r.id for r in store.list_runs()]
    assert sorted(recorded) == sorted(run_ids)
    assert recorded.count(study.best_trial.user_attrs["run_id"]) == 1
    assert all(store.get(r).state == "succeeded" for r in run_ids)
