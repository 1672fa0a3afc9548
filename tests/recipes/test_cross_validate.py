"""Cross-validation: stratified folds, one ordinary run per fold, and a parent run with every
metric as mean ± std over folds and the out-of-fold probabilities."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter

import numpy as np
import pytest

from tuneforge.cli import main
from tuneforge.recipes.cross_validate import fold_indices, mean_std

from ..conftest import TINY_TRAIN, make_rows, write_csv


@pytest.fixture(autouse=True)
def store_beside_runs(monkeypatch):
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)


def _rows() -> list[dict]:
    rows = make_rows(15)
    for i, row in enumerate(rows):
        row["region"] = "eu" if i % 3 else "us"
    return rows


@pytest.fixture(scope="module")
def cv(tiny_model_dir, tmp_path_factory):
    """``train --folds 2 --slice region`` on 45 rows: (runs dir, data file, stdout)."""
    root = tmp_path_factory.mktemp("cv")
    data = write_csv(root / "d.csv", _rows(), ("text", "label", "region"))
    runs = root / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--name", "cv", "--folds", "2", "--slice", "region", "--no-progress", *TINY_TRAIN]
    stdout = io.StringIO()  # capsys is per test; this fixture is per module
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout):
        mp.delenv("TUNEFORGE_STORE_URL", raising=False)
        assert main(argv) == 0
    return runs, data, stdout.getvalue()


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_each_fold_is_a_normal_run_tested_on_its_held_out_fold(cv):
    """Fold runs cv-fold1 and cv-fold2 exist with their own eval.json; their test splits are
    disjoint and together every row of the file, each label split evenly."""
    runs, _, _ = cv
    tested = []
    for k in (1, 2):
        run = runs / f"cv-fold{k}"
        status = _json(run / "status.json")
        assert status["state"] == "succeeded" and status["fold"] == k
        assert status["fold_of"] == "cv" and (run / "eval.json").is_file()
        lines = (run / "data" / "test.jsonl").read_text().splitlines()
        test = [json.loads(line) for line in lines]
        tested.append({t["row"] for t in test})
        counts = Counter(t["label"] for t in test)
        assert max(counts.values()) - min(counts.values()) <= 1, "stratified"
    assert not tested[0] & tested[1] and tested[0] | tested[1] == set(range(1, 46))


def test_the_parent_has_each_metric_as_mean_and_std_over_folds(cv):
    """The parent's eval.json: mean ± std (ddof=1) of the fold runs' own figures, and the
    pooled out-of-fold evaluation; the console prints the table."""
    runs, _, stdout = cv
    ev = _json(runs / "cv" / "eval.json")
    folds = [_json(runs / f"cv-fold{k}" / "eval.json") for k in (1, 2)]
    metrics = ev["cross_validation"]["metrics"]
    for key in ("accuracy", "macro_f1", "weighted_f1", "expected_calibration_error"):
        values = [f[key] for f in folds]
        assert metrics[key]["folds"] == pytest.approx(values)
        assert metrics[key]["mean"] == pytest.approx(np.mean(values))
        assert metrics[key]["std"] == pytest.approx(np.std(values, ddof=1))
    assert ev["cross_validation"]["runs"] == ["cv-fold1", "cv-fold2"]
    assert ev["n"] == 45 and ev["split"] == "out-of-fold (2 folds)"
    assert "2-fold cross-validation" in stdout and "±" in stdout
    status = _json(runs / "cv" / "status.json")
    assert status["state"] == "succeeded" and status["fold_runs"] == ["cv-fold1", "cv-fold2"]


def test_out_of_fold_probabilities_cover_every_row_once(cv):
    """oof.npz: one probability row per example, its label, fold and source row; its argmax
    reproduces the pooled accuracy and each fold's rows are that fold run's test rows."""
    runs, _, _ = cv
    oof = np.load(runs / "cv" / "oof.npz")
    assert oof["probs"].shape == (45, 3)
    assert sorted(oof["rows"].tolist()) == list(range(1, 46))
    assert oof["labels"].tolist() == ["account", "billing", "shipping"]
    np.testing.assert_allclose(oof["probs"].sum(axis=1), 1.0, atol=1e-4)
    ev = _json(runs / "cv" / "eval.json")
    assert np.mean(oof["probs"].argmax(axis=1) == oof["y"]) == pytest.approx(ev["accuracy"])
    for k in (1, 2):
        lines = (runs / f"cv-fold{k}" / "data" / "test.jsonl").read_text().splitlines()
        rows = {json.loads(line)["row"] for line in lines}
        assert set(oof["rows"][oof["fold"] == k].tolist()) == rows
    kept = (runs / "cv" / "data" / "train.jsonl").read_text().splitlines()
    assert [json.loads(line)["row"] for line in kept] == oof["rows"].tolist()


def test_the_parent_report_and_slices_pool_the_folds(cv):
    """--slice with --folds slices the out-of-fold predictions of all rows; the parent's
    report shows the cross-validation table and the slices."""
    runs, _, _ = cv
    ev = _json(runs / "cv" / "eval.json")
    assert ev["slices"]["overall"]["n"] == 45
    html = (runs / "cv" / "report.html").read_text()
    assert "Cross-validation (2 stratified folds)" in html and "accuracy by region" in html


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--folds", "1"], 2, "between 2 and 20 folds"),
        (["--folds", "3", "--test", "{data}"], 2, "--folds with --test"),
        (["--folds", "20"], 1, "fewer examples than the 20 folds"),
    ],
)
def test_bad_fold_requests_fail_before_any_run_exists(tmp_path, capsys, extra, code, message):
    """Too few folds, a --test file, or labels smaller than the fold count are refused with
    what to do, before any run directory is made."""
    data = write_csv(tmp_path / "d.csv", make_rows(10))
    runs = tmp_path / "runs"
    extra = [x.format(data=data) for x in extra]
    argv = ["train", str(data), "--runs-dir", str(runs), "--name", "bad", *extra]
    assert main(argv) == code
    assert message in capsys.readouterr().err
    assert not runs.exists() or not any(runs.iterdir())


def test_fold_indices_are_stratified_and_seeded():
    """Each fold holds each label's share; the same seed cuts the same folds."""
    labels = ["a"] * 50 + ["b"] * 25
    folds = fold_indices(labels, 5, seed=7)
    assert all(Counter(labels[i] for i in f) == {"a": 10, "b": 5} for f in folds)
    again = fold_indices(labels, 5, seed=7)
    assert all((x == y).all() for x, y in zip(folds, again))
    assert sorted(np.concatenate(folds).tolist()) == list(range(75))


def test_mean_std_uses_the_sample_standard_deviation():
    """std over folds is the sample standard deviation (ddof=1), as reported."""
    summary = mean_std([0.8, 0.9])
    assert summary["mean"] == pytest.approx(0.85) and summary["folds"] == [0.8, 0.9]
    assert summary["std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert mean_std([0.7])["std"] == 0.0


def test_text_classifier_still_works_with_scikit_learn_cross_validation(tiny_model_dir):
    """TextClassifier under StratifiedKFold: cross_val_predict gives out-of-fold
    probabilities for every text (scikit-learn's own path to what --folds keeps)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from tuneforge import TextClassifier

    rows = make_rows(8)
    X, y = [r["text"] for r in rows], [r["label"] for r in rows]
    clf = TextClassifier(model=str(tiny_model_dir), epochs=2, lr=2e-3, batch_size=8)
    cut = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    probs = cross_val_predict(clf, X, y, cv=cut, method="predict_proba")
    assert probs.shape == (24, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_an_image_folder_cross_validates_like_a_table_of_texts(tmp_path, capsys):
    """`train FOLDER --folds 2`: two image fold runs, each with its own input normalisation
    from its own training folds, and a parent whose out-of-fold probabilities cover every
    image once; the parent keeps the images in that order."""
    from tuneforge.data.image_splits import load_image_split

    from ..conftest import TINY_IMAGE_TRAIN, write_shapes

    folder = write_shapes(tmp_path / "shapes", n_per_label=6)
    runs = tmp_path / "runs"
    argv = ["train", str(folder), "--runs-dir", str(runs), "--name", "icv", "--folds", "2"]
    assert main([*argv, "--no-progress", *TINY_IMAGE_TRAIN, "train.epochs=2"]) == 0, (
        capsys.readouterr().err
    )
    parent = _json(runs / "icv" / "eval.json")
    assert parent["cross_validation"]["runs"] == ["icv-fold1", "icv-fold2"]
    accuracy = parent["cross_validation"]["metrics"]["accuracy"]
    assert len(accuracy["folds"]) == 2 and 0.0 <= accuracy["mean"] <= 1.0
    oof = np.load(runs / "icv" / "oof.npz")
    assert oof["probs"].shape == (18, 3) and sorted(Counter(oof["fold"].tolist())) == [1, 2]
    assert len(load_image_split(runs / "icv" / "data" / "train.npz")) == 18
    for k in (1, 2):
        fold = _json(runs / f"icv-fold{k}" / "eval.json")
        assert fold["n"] == 9 and _json(runs / f"icv-fold{k}" / "status.json")["fold"] == k
