"""A recommend run end to end through the CLI (train --task recommend, recommend) on a tiny
shop and the tiny encoder, and its bad input: every refusal exits non-zero, names what is
wrong, and stores nothing."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.tiny_interactions import TINY_RECOMMEND, shop_events, write_shop
from tuneforge.cli import main


@pytest.fixture(scope="module")
def shop_run(tiny_model_dir, tmp_path_factory):
    """(runs dir, run id) of one trained recommend run, shared by this module's tests."""
    root = tmp_path_factory.mktemp("shop")
    events, items = write_shop(root)
    runs = root / "runs"
    argv = ["train", str(events), "--items", str(items), "--model", str(tiny_model_dir)]
    argv += ["--runs-dir", str(runs), "--name", "shop", "--no-progress", *TINY_RECOMMEND]
    assert main([*argv, "--track", "tensorboard"]) == 0
    return runs, "shop"


def test_a_recommend_run_is_a_normal_run_with_ranking_figures(shop_run):
    """status, eval.json (model beside popularity and item-kNN, cold start beside random),
    report and a safetensors model with its index; no pickle anywhere."""
    runs, run_id = shop_run
    run = runs / run_id
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "succeeded" and status["task"] == "recommend"
    ev = json.loads((run / "eval.json").read_text())
    assert {"hr@10", "ndcg@10", "recall@20", "coverage"} <= set(ev)
    assert set(ev["baselines"]) == {"popularity", "item-kNN"}
    assert ev["cold_start"]["cold_items"] >= 1 and "random" in ev["cold_start"]["baselines"]
    report = (run / "report.html").read_text()
    assert "Recommendation" in report and "item-kNN" in report
    model = run / "artifacts" / "model"
    assert (model / "two_tower.safetensors").is_file() and (
        model / "index" / "index.faiss"
    ).is_file()
    assert not list(run.rglob("*.pkl")) and not list(run.rglob("*.pt"))
    assert list((runs / "tensorboard" / run_id).glob("events.out.tfevents.*"))  # --track


def test_export_of_a_recommender_says_what_its_release_is(shop_run, capsys):
    """`export` on a recommend run names what ships (its saved towers and index) and how to
    promote or serve it, before reading any split (exit 1)."""
    runs, run_id = shop_run
    assert main(["export", run_id, "--format", "onnx", "--runs-dir", str(runs)]) == 1
    err = capsys.readouterr().err
    assert "is a recommend run" in err and f"registry promote {run_id}" in err


def test_recommendations_leave_out_what_the_user_has_seen(shop_run, capsys):
    """A known user gets items outside their history; --include-seen may repeat them; a
    history works for a user the model never saw."""
    runs, run_id = shop_run
    capsys.readouterr()
    argv = ["recommend", run_id, "--user", "u0", "-k", "4", "--json", "--runs-dir", str(runs)]
    assert main(argv) == 0
    items = [h["id"] for h in json.loads(capsys.readouterr().out)["items"]]
    seen = {e["item"] for e in shop_events() if e["user"] == "u0"}
    assert len(items) == 4 and not set(items) & seen
    assert main([*argv, "--include-seen", "-k", "12"]) == 0
    assert set(h["id"] for h in json.loads(capsys.readouterr().out)["items"]) >= seen
    argv = ["recommend", run_id, "--history", "tea-1,tea-2", "--json", "--runs-dir", str(runs)]
    assert main(argv) == 0
    found = [h["id"] for h in json.loads(capsys.readouterr().out)["items"]]
    assert "tea-1" not in found and "tea-2" not in found and found


@pytest.mark.parametrize(
    ("who", "says"),
    [(["--user", "nobody"], "User 'nobody' is unknown"), (["--history", "x9"], "Unknown items")],
)
def test_unknown_users_and_items_are_refused(shop_run, capsys, who, says):
    """A user or item the model was not trained with exits 1 and says which."""
    runs, run_id = shop_run
    assert main(["recommend", run_id, *who, "--runs-dir", str(runs)]) == 1
    assert says in capsys.readouterr().err


def test_an_index_of_another_model_version_is_refused(shop_run, tiny_model_dir, tmp_path, capsys):
    """Item vectors made by other tower weights live in another space: the query is refused,
    naming both weights, and the run's own files are untouched."""
    runs, run_id = shop_run
    events, items = write_shop(tmp_path / "other", shop_events(seed=5))
    argv = ["train", str(events), "--items", str(items), "--model", str(tiny_model_dir)]
    argv += ["--runs-dir", str(runs), "--name", "other", "--no-progress", *TINY_RECOMMEND]
    argv += ["train.seed=7"]
    assert main(argv) == 0
    other_index = runs / "other" / "artifacts" / "model" / "index"
    capsys.readouterr()
    code = main(
        ["recommend", run_id, "--user", "u0", "--index", str(other_index), "--runs-dir", str(runs)]
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "built with other" in err and "other weights" in err
    assert main(["recommend", run_id, "--user", "u0", "--runs-dir", str(runs)]) == 0
    shutil.rmtree(runs / "other")


def test_bad_interactions_store_nothing(tiny_model_dir, tmp_path, capsys):
    """An interaction naming an unknown item fails before a run exists: exit 1, the file
    and row named, no run directory."""
    rows = shop_events()
    rows[3] = {**rows[3], "item": "ghost"}
    events, items = write_shop(tmp_path, rows)
    runs = tmp_path / "runs"
    argv = ["train", str(events), "--items", str(items), "--model", str(tiny_model_dir)]
    assert main([*argv, "--runs-dir", str(runs), "--name", "bad", *TINY_RECOMMEND]) == 1
    err = capsys.readouterr().err
    assert "interactions.csv" in err and "ghost" in err and "rows 5" in err
    assert not (runs / "bad").exists()


def test_a_promoted_recommender_answers_by_its_registry_name(shop_run, capsys):
    """registry promote takes a recommend run as it is; NAME@production then recommends."""
    runs, run_id = shop_run
    promote = ["registry", "promote", run_id, "--name", "shop-rec", "--stage", "production"]
    assert main([*promote, "--runs-dir", str(runs)]) == 0
    capsys.readouterr()
    argv = ["recommend", "shop-rec@production", "--user", "u2", "-k", "2", "--json"]
    assert main([*argv, "--runs-dir", str(runs)]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 2


def test_a_search_over_recommend_runs_is_refused(shop_run, tiny_model_dir, tmp_path, capsys):
    """tune would search classifier settings: a recommend config is refused, naming train."""
    events, items = write_shop(tmp_path)
    argv = ["tune", str(events), "--model", str(tiny_model_dir), "--trials", "1"]
    argv += ["--runs-dir", str(tmp_path / "runs"), f"data.items_file={items}"]
    assert main(argv) != 0
    assert "a recommend run" in capsys.readouterr().err
