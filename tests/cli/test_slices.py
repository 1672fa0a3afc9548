"""Slices through the CLI: train --slice, evaluate --slice, and the registry's slice gate."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tuneforge.cli import main
from tuneforge.evaluate.slices import slice_report

from ..conftest import TINY_TRAIN, make_rows, write_csv

FIELDS = ("text", "label", "region", "channel", "customer", "blank")


def _rows() -> list[dict]:
    rows = make_rows(40)
    for i, row in enumerate(rows):
        row.update(
            region=["eu", "us", "apac"][i % 3],
            channel="web" if i % 2 else "app",
            customer=f"c{i}" if i < 100 else "c-big",
            blank="",
        )
    return rows


@pytest.fixture(autouse=True)
def store_beside_runs(monkeypatch):
    """Every command here uses the SQLite store beside its runs folder."""
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)


@pytest.fixture(scope="module")
def sliced(tiny_model_dir, tmp_path_factory):
    """One tiny run trained with --slice region --slice channel: (runs dir, data file, stdout)."""
    root = tmp_path_factory.mktemp("sliced")
    data = write_csv(root / "tickets.csv", _rows(), FIELDS)
    runs = root / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--name", "sl", "--no-progress", "--slice", "region", "--slice", "channel"]
    stdout = io.StringIO()  # capsys is per test; this fixture is per module
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout):
        mp.delenv("TUNEFORGE_STORE_URL", raising=False)
        assert main([*argv, *TINY_TRAIN]) == 0
    return runs, data, stdout.getvalue()


def _promote(runs: Path, *extra: str) -> int:
    argv = ["registry", "promote", "sl", "--name", "tickets", "--stage", "staging"]
    return main([*argv, "--runs-dir", str(runs), *extra])


def test_train_slice_writes_slices_to_eval_json_the_kept_split_and_the_report(sliced):
    """train --slice: eval.json has both columns' slices over the test split, data/test.jsonl
    keeps each row's slice values, the report draws them, the console prints the tables."""
    runs, _, stdout = sliced
    run = runs / "sl"
    ev = json.loads((run / "eval.json").read_text())
    assert set(ev["slices"]["columns"]) == {"region", "channel"}
    assert ev["slices"]["overall"]["n"] == ev["n"]
    sizes = sum(s["support"] for s in ev["slices"]["columns"]["region"]["slices"])
    assert sizes == ev["n"]
    lines = [json.loads(x) for x in (run / "data" / "test.jsonl").read_text().splitlines()]
    assert all(set(x["meta"]) == {"region", "channel"} for x in lines)
    html = (run / "report.html").read_text()
    assert "alt='accuracy by region'" in html and "alt='accuracy by channel'" in html
    assert "slices by region" in stdout and "slices by channel" in stdout
    config = (run / "config.yaml").read_text()
    assert "slice_columns: region,channel" in config


def test_evaluate_slice_prints_tables_and_writes_json(sliced, capsys):
    """evaluate --slice: the slices are in --json output and the eval file, and on the
    console as a table."""
    runs, data, _ = sliced
    argv = ["evaluate", "sl", "--data", str(data), "--runs-dir", str(runs), "--slice", "region"]
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    region = printed["slices"]["columns"]["region"]
    assert {s["value"] for s in region["slices"]} == {"eu", "us", "apac"}
    assert all(s["judged"] for s in region["slices"]), "40 rows each"
    written = json.loads(Path(printed["written"]).read_text())
    assert written["slices"]["columns"]["region"]["worst"] == region["worst"]
    assert main(argv) == 0
    assert "slices by region" in capsys.readouterr().out


def test_evaluate_by_a_thousand_valued_column_caps_it_and_says_so(sliced, capsys):
    """A near-unique column gives 50 slices with '(other)', and the console says what the cap
    grouped."""
    runs, data, _ = sliced
    argv = ["evaluate", "sl", "--data", str(data), "--runs-dir", str(runs)]
    assert main([*argv, "--slice", "customer"]) == 0
    out = capsys.readouterr().out
    assert "grouped as '(other)'" in out and "101 distinct values" in out


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("regoin", "no column 'regoin'. Columns: text, label, region, channel, customer, blank."),
        ("blank", "slice column 'blank' is empty"),
    ],
)
def test_evaluate_refuses_a_missing_or_empty_slice_column(sliced, capsys, column, message):
    """A missing or empty slice column exits 1 with the column and the file's columns named,
    before any prediction."""
    runs, data, _ = sliced
    argv = ["evaluate", "sl", "--data", str(data), "--runs-dir", str(runs), "--slice", column]
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_train_refuses_a_missing_slice_column_before_making_a_run(tmp_path, capsys):
    """train --slice with a column the data lacks fails before any run directory exists."""
    data = write_csv(tmp_path / "t.csv", make_rows(10))
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--runs-dir", str(runs), "--name", "x", "--slice", "region"]
    assert main(argv) == 1
    assert "no column 'region'" in capsys.readouterr().err
    assert not (runs / "x").exists()


def test_promote_with_a_slice_gap_records_the_rule(sliced):
    """Slices of a dozen test rows are too small to judge: the promotion passes and its note
    says so."""
    runs, _, _ = sliced
    assert _promote(runs, "--max-slice-gap", "0.05", "--slice", "region") == 0
    from tuneforge.store import Registry, open_store

    note = Registry(open_store(runs)).versions("tickets")[-1].note
    assert "slices (of the trained model)" in note and "not judged" in note


@pytest.fixture
def failing(sliced, tmp_path) -> Path:
    """A copy of the runs folder whose eval.json has a region slice far below the rest."""
    runs = tmp_path / "runs"
    shutil.copytree(sliced[0], runs)
    groups = ["eu"] * 300 + ["apac"] * 100
    y = np.zeros(400, dtype=int)
    pred = np.where(np.arange(400) < 300, 0, np.where(np.arange(400) % 2, 0, 1))
    probs = np.eye(3)[pred] * 0.8 + 0.2 / 3
    ev_path = runs / "sl" / "eval.json"
    ev = json.loads(ev_path.read_text())
    ev["slices"] = slice_report(y, probs, {"region": groups}).to_dict()
    ev_path.write_text(json.dumps(ev))
    return runs


def test_promote_refuses_a_slice_far_below_the_overall_figure(failing, capsys):
    """A 100-row slice at 50% against 87.5% overall fails the gate: exit 3, the slice and the
    rule named; --force promotes and records why."""
    assert _promote(failing, "--max-slice-gap", "0.05", "--slice", "region") == 3
    err = capsys.readouterr().err
    assert "slice region='apac' (100 rows, accuracy 0.500)" in err
    assert "even the top of its 95% bootstrap interval" in err and "--force" in err
    assert _promote(failing, "--max-slice-gap", "0.05", "--force") == 0
    assert "(forced)" in capsys.readouterr().out


def test_promote_refuses_clearly_when_the_run_has_no_such_slice(sliced, capsys):
    """A column the run was not evaluated by is named with the ones it was (exit 1); --slice
    without --max-slice-gap and a gap outside (0, 1) are usage errors (exit 2)."""
    runs, _, _ = sliced
    assert _promote(runs, "--max-slice-gap", "0.05", "--slice", "tier") == 1
    err = capsys.readouterr().err
    assert "not evaluated by slice tier" in err and "evaluated by region, channel" in err
    assert _promote(runs, "--slice", "region") == 2
    assert "needs --max-slice-gap" in capsys.readouterr().err
    assert _promote(runs, "--max-slice-gap", "5") == 2


def _shape_table(root: Path) -> Path:
    """A table of shape images by path, with a 'camera' column to slice by."""
    from ..conftest import write_shapes

    folder = write_shapes(root / "shapes", n_per_label=12)
    rows = [
        {"image": str(p.relative_to(root)), "label": p.parent.name, "camera": "a" if i % 3 else "b"}
        for i, p in enumerate(sorted(folder.rglob("*.png")))
    ]
    return write_csv(root / "shapes.csv", rows, ("image", "label", "camera"))


def test_an_image_table_is_sliced_like_a_text_table(tmp_path, capsys):
    """train --slice on a table of image paths: eval.json has the column's slices over the
    test images, the kept test split keeps each image's value, and evaluate --slice reads the
    column from the table again; an image folder has no columns and is refused by name."""
    from tuneforge.data.image_splits import load_image_split

    from ..conftest import TINY_IMAGE_TRAIN

    table = _shape_table(tmp_path)
    runs = tmp_path / "runs"
    argv = ["train", str(table), "--runs-dir", str(runs), "--name", "img", "--slice", "camera"]
    assert main([*argv, "--no-progress", *TINY_IMAGE_TRAIN, "train.epochs=2"]) == 0
    ev = json.loads((runs / "img" / "eval.json").read_text())
    camera = ev["slices"]["columns"]["camera"]
    assert {s["value"] for s in camera["slices"]} == {"a", "b"}
    assert sum(s["support"] for s in camera["slices"]) == ev["n"]
    kept = load_image_split(runs / "img" / "data" / "test.npz")
    assert {e.meta["camera"] for e in kept} == {"a", "b"}
    capsys.readouterr()
    argv = ["evaluate", "img", "--data", str(table), "--runs-dir", str(runs), "--slice", "camera"]
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["slices"]["overall"]["n"] == 36
    folder = ["train", str(tmp_path / "shapes"), "--runs-dir", str(runs), "--slice", "camera"]
    assert main([*folder, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "is an image folder, which has no columns to slice by" in err
    assert "table of image paths" in err
