"""Abstention end to end on a tiny run: fitted scores kept beside the model, predict, evaluate
and the server answering the unknown label below a threshold, and the bad requests refused."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from tuneforge.cli import main
from tuneforge.evaluate.abstain import plan_abstention
from tuneforge.predict import load_predictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.store import RunDir

from ..conftest import train_tiny_run, write_csv

TEXTS = ["invoice question about the refund", "parcel tracking"]


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("abstain"), tiny_model_dir, "ab")


def _predict(runs, capsys, *flags: str) -> tuple[int, list[dict], str]:
    code = main(["predict", "ab", *TEXTS, "--json", "--runs-dir", str(runs), *flags])
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines() if x.strip()]
    return code, lines, captured.err


def test_training_keeps_the_out_of_scope_scores(runs):
    """A run keeps ood.npz beside its model: validation scores of every score and the class
    Gaussians of the pooled training features."""
    import numpy as np

    run = RunDir(runs / "ab")
    with np.load(run.model_dir / "ood.npz") as data:
        assert {"val_msp", "val_energy", "val_mahalanobis", "means", "precision"} <= set(data.files)
        assert data["means"].shape[0] == 3
        assert len(data["val_msp"]) == run.status()["n_val"]


@pytest.mark.parametrize("score", ["msp", "energy", "mahalanobis"])
def test_predict_abstains_below_the_threshold(runs, capsys, score):
    """Every score gives each prediction its score and whether it abstained; a threshold no
    input reaches sends all of them to the unknown label."""
    code, lines, err = _predict(runs, capsys, "--abstain", score)
    assert code == 0, err
    assert all({"ood_score", "abstained"} <= set(p) for p in lines)
    high = "1.0" if score == "msp" else "1e9"
    code, lines, _ = _predict(runs, capsys, "--abstain", score, "--threshold", high)
    assert code == 0
    assert [p["label"] for p in lines] == ["unknown", "unknown"]
    assert all(p["abstained"] for p in lines)
    assert lines[0]["top_k"][0]["label"] != "unknown"  # the nearest intent is still said


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--abstain", "msp", "--threshold", "1.5"], "[0, 1]"),
        (["--abstain", "msp", "--in-scope-recall", "1.2"], "--in-scope-recall"),
        (["--threshold", "0.5"], "without --abstain"),
        (["--abstain", "msp", "--unknown-label", "billing"], "one of the model's labels"),
    ],
)
def test_bad_abstention_requests_are_refused(runs, capsys, flags, needle):
    """Out-of-range thresholds, unmeetable recalls, flags without --abstain and an unknown
    label that is an intent: a clear message and exit code 2, before anything is predicted."""
    code, lines, err = _predict(runs, capsys, *flags)
    assert code == 2 and not lines
    assert needle in err


def test_a_run_without_fitted_scores_names_the_command_that_fits_them(runs, tmp_path, capsys):
    """Abstention asked of a run trained before it existed: exit 1 with the one-line fix, and
    nothing stored changes; after `tuneforge calibrate` it abstains."""
    shutil.copytree(runs / "ab", tmp_path / "old")
    (tmp_path / "old" / "artifacts" / "model" / "ood.npz").unlink()
    flags = ["--abstain", "energy", "--json", "--runs-dir", str(tmp_path)]
    assert main(["predict", "old", "parcel", *flags]) == 1
    assert "tuneforge calibrate old" in capsys.readouterr().err
    assert not (tmp_path / "old" / "artifacts" / "model" / "ood.npz").exists()
    assert main(["calibrate", "old", "--runs-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["predict", "old", "parcel", *flags]) == 0
    assert "ood_score" in capsys.readouterr().out


def test_evaluate_measures_the_rule_on_unknown_rows(runs, tmp_path, capsys):
    """Rows labelled with the unknown label are out of scope: the model's figures use the
    others, and the report's abstention section has in-scope accuracy and unknown recall."""
    rows = [{"text": "invoice refund payment", "label": "billing"}] * 3
    rows += [{"text": "parcel courier tracking", "label": "shipping"}] * 3
    rows += [{"text": "zebra quantum violin", "label": "unknown"}] * 3
    data = write_csv(tmp_path / "open.csv", rows)
    flags = ["--abstain", "msp", "--json", "--runs-dir", str(runs)]
    assert main(["evaluate", "ab", "--data", str(data), *flags]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 6
    figures = report["abstention"]
    assert figures["n_unknown"] == 3 and figures["score"] == "msp"
    for key in ("in_scope_accuracy", "unknown_recall", "auroc", "fpr_at_95_recall"):
        assert key in figures


def test_the_server_answers_the_score_and_whether_it_abstained(runs):
    """With an abstainer the response carries each prediction's ood_score and abstained, the
    unknown label where it abstained, and /v1/model states the rule."""
    artifact = RunDir(runs / "ab").model_dir
    predictor = load_predictor(artifact)
    abstainer = plan_abstention(predictor, artifact, "msp", threshold=1.0)
    app = create_app(predictor, ServeSettings(), {"name": "ab"}, abstainer=abstainer)
    with TestClient(app) as client:
        r = client.post("/v1/predict", json={"inputs": TEXTS})
        assert r.status_code == 200
        preds = r.json()["predictions"]
        assert [p["label"] for p in preds] == ["unknown", "unknown"]
        assert all(p["abstained"] is True and 0 <= p["ood_score"] <= 1 for p in preds)
        assert client.get("/v1/model").json()["abstention"]["threshold"] == 1.0
        v2 = client.post(
            "/v2/models/ab/infer",
            json={"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"]}]},
        )
        assert v2.status_code == 200, v2.text
        probabilities = [o for o in v2.json()["outputs"] if o["name"] == "probabilities"][0]
        assert probabilities["shape"] == [1, 3]  # the score is not glued onto the rows


def _oos_rows() -> list[dict]:
    """The keyword rows plus a class of out-of-scope texts labelled ``oos``."""
    from ..conftest import make_rows

    rows = make_rows(40)
    rows += [{"text": f"weather forecast tomorrow {i}", "label": "oos"} for i in range(40)]
    return rows


def test_an_oos_class_is_trained_and_answered_as_unknown(tiny_model_dir, tmp_path, capsys):
    """`train --oos-label oos` trains the class; its examples stay out of the thresholds and
    the Gaussians, and predicting it counts as an abstention (the unknown label)."""
    import numpy as np

    from ..conftest import TINY_TRAIN

    data = write_csv(tmp_path / "oos.csv", _oos_rows())
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    assert main([*argv, "--name", "o", "--oos-label", "oos", "--no-progress", *TINY_TRAIN]) == 0
    model_dir = RunDir(runs / "o").model_dir
    with np.load(model_dir / "ood.npz") as arrays:
        assert str(arrays["oos_label"]) == "oos" and arrays["means"].shape[0] == 3
    capsys.readouterr()
    flags = ["--abstain", "msp", "--threshold", "0", "--json", "--runs-dir", str(runs)]
    assert main(["predict", "o", "weather forecast tomorrow", "invoice refund", *flags]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["top_k"][0]["label"] == "oos"
    assert [p["abstained"] for p in lines] == [True, False]
    assert lines[0]["label"] == "unknown"


def test_an_oos_label_absent_from_the_data_is_refused(tiny_model_dir, tmp_path, capsys):
    """`--oos-label` naming no label of the data: exit 1 with the labels found, no run made."""
    data = write_csv(tmp_path / "plain.csv", _oos_rows()[:120])
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    assert main([*argv, "--name", "x", "--oos-label", "out_of_scope", "--no-progress"]) == 1
    assert "--oos-label 'out_of_scope' is not a label" in capsys.readouterr().err
    assert not (runs / "x").exists()


def test_serve_refuses_a_bad_abstention_before_it_listens(runs, tmp_path, capsys):
    """`serve --abstain` checks its rule at start-up: an msp threshold outside [0, 1] exits 2
    and a run without fitted scores exits 1 with the command that fits them."""
    flags = ["--port", "0", "--no-log", "--runs-dir", str(runs)]
    assert main(["serve", "ab", "--abstain", "msp", "--threshold", "2", *flags]) == 2
    assert "[0, 1]" in capsys.readouterr().err
    shutil.copytree(runs / "ab", tmp_path / "old")
    (tmp_path / "old" / "artifacts" / "model" / "ood.npz").unlink()
    old = ["--port", "0", "--no-log", "--runs-dir", str(tmp_path)]
    assert main(["serve", "old", "--abstain", "energy", *old]) == 1
    assert "tuneforge calibrate old" in capsys.readouterr().err
