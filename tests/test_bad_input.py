"""Bad input: a clear message naming the file/row/field, a non-zero exit, nothing damaged."""

from __future__ import annotations

import json

import pytest

from tuneforge.cli import main

from .conftest import TINY_TRAIN, make_rows, write_csv


def _train(path, runs_dir, model, *extra):
    return main(
        [
            "train",
            str(path),
            "--model",
            str(model),
            "--runs-dir",
            str(runs_dir),
            "--no-progress",
            *TINY_TRAIN,
            *extra,
        ]
    )


def _assert_failed_cleanly(code, capsys, *needles, runs_dir=None):
    assert code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in: {err}"
    if runs_dir is not None and runs_dir.exists():
        assert not [p for p in runs_dir.iterdir() if p.is_dir()], "no run dir for bad input"


def test_missing_file(tmp_path, runs_dir, tiny_model_dir, capsys):
    """A missing file is named."""
    code = _train(tmp_path / "nope.csv", runs_dir, tiny_model_dir)
    _assert_failed_cleanly(code, capsys, "nope.csv", runs_dir=runs_dir)


def test_unknown_format(tmp_path, runs_dir, tiny_model_dir, capsys):
    """An unknown extension says which formats work and how to force one."""
    path = tmp_path / "data.xlsx"
    path.write_text("text,label\n")
    _assert_failed_cleanly(_train(path, runs_dir, tiny_model_dir), capsys, "data.xlsx", "--format")


def test_misspelled_column_suggests_the_closest(tickets_csv, runs_dir, tiny_model_dir, capsys):
    """A misspelt column name is refused with the closest real column suggested."""
    code = _train(tickets_csv, runs_dir, tiny_model_dir, "--text-column", "txt")
    _assert_failed_cleanly(code, capsys, "txt", "text", runs_dir=runs_dir)


def test_empty_file(tmp_path, runs_dir, tiny_model_dir, capsys):
    """A header-only file is refused, naming the file."""
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n")
    _assert_failed_cleanly(_train(path, runs_dir, tiny_model_dir), capsys, "empty.csv")


def test_single_class(tmp_path, runs_dir, tiny_model_dir, capsys):
    """One label is not a classification task: the message says so."""
    rows = [{"text": f"text {i}", "label": "only"} for i in range(20)]
    path = write_csv(tmp_path / "one.csv", rows)
    _assert_failed_cleanly(_train(path, runs_dir, tiny_model_dir), capsys, "one.csv", "two")


def test_empty_labels_name_the_rows(tmp_path, runs_dir, tiny_model_dir, capsys):
    """Rows with an empty label are named by number."""
    rows = make_rows()
    rows[4]["label"] = ""
    path = write_csv(tmp_path / "holes.csv", rows)
    _assert_failed_cleanly(_train(path, runs_dir, tiny_model_dir), capsys, "holes.csv", "5")


def test_undecodable_bytes_name_the_row(tmp_path, runs_dir, tiny_model_dir, capsys):
    """Non-UTF-8 bytes are reported with the row where they are."""
    path = write_csv(tmp_path / "latin.csv", make_rows())
    raw = path.read_bytes().split(b"\n")
    raw[3] = raw[3].replace(b"number", b"n\xe9mber", 1) if b"number" in raw[3] else raw[3] + b"\xe9"
    path.write_bytes(b"\n".join(raw))
    _assert_failed_cleanly(_train(path, runs_dir, tiny_model_dir), capsys, "latin.csv", "3")


def test_test_labels_unseen_in_train(tmp_path, runs_dir, tiny_model_dir, capsys):
    """A test label the training data never shows is named, with the file."""
    train = write_csv(tmp_path / "train.csv", make_rows())
    test_rows = make_rows(5, seed=1) + [{"text": "brand new thing", "label": "mystery"}]
    test = write_csv(tmp_path / "test.csv", test_rows)
    code = _train(train, runs_dir, tiny_model_dir, "--test", str(test))
    _assert_failed_cleanly(code, capsys, "mystery", "test.csv", runs_dir=runs_dir)


def test_existing_run_dir_is_not_overwritten(tickets_csv, runs_dir, tiny_model_dir, capsys):
    """Reusing a run name fails and leaves the first run and the store intact."""
    assert _train(tickets_csv, runs_dir, tiny_model_dir, "--name", "same") == 0
    before = (runs_dir / "same" / "eval.json").read_text()
    capsys.readouterr()
    code = _train(tickets_csv, runs_dir, tiny_model_dir, "--name", "same")
    _assert_failed_cleanly(code, capsys, "same", "already exists")
    assert (runs_dir / "same" / "eval.json").read_text() == before
    assert json.loads((runs_dir / "same" / "status.json").read_text())["state"] == "succeeded"
    from tuneforge.store import RunStore, default_store_url

    assert RunStore(default_store_url(runs_dir)).get("same").state == "succeeded"


def test_missing_and_corrupt_model_dirs(tickets_csv, runs_dir, tiny_model_dir, tmp_path, capsys):
    """A missing or corrupt model directory is named; no run is created."""
    code = _train(tickets_csv, runs_dir, tmp_path / "no-model")
    _assert_failed_cleanly(code, capsys, "no-model", runs_dir=runs_dir)
    import shutil

    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "config.json").write_text("{not json")
    _assert_failed_cleanly(_train(tickets_csv, runs_dir, broken), capsys, "broken-model")


def test_overlong_texts_warn_and_truncate(tmp_path, runs_dir, tiny_model_dir, capsys):
    """Texts over max_length train after a warning (they are truncated)."""
    rows = make_rows()
    rows[0]["text"] = rows[0]["text"] + " more words" * 100
    path = write_csv(tmp_path / "long.csv", rows)
    assert _train(path, runs_dir, tiny_model_dir, "--max-length", "32") == 0
    assert "truncated" in capsys.readouterr().err


def test_unknown_run_lists_what_exists(runs_dir, capsys):
    """predict on an unknown run names it and points at `runs list`."""
    code = main(["predict", "ghost", "hello", "--runs-dir", str(runs_dir)])
    _assert_failed_cleanly(code, capsys, "ghost")


def test_data_check_exit_codes(tickets_csv, tmp_path, capsys):
    """data check exits 0 on clean data and 1 on a blocking problem, listing it."""
    assert main(["data", "check", str(tickets_csv)]) == 0
    assert "billing" in capsys.readouterr().out
    rows = make_rows()
    rows[2]["label"] = ""
    bad = write_csv(tmp_path / "bad.csv", rows)
    assert main(["data", "check", str(bad)]) == 1
    assert "3" in capsys.readouterr().out


@pytest.mark.parametrize("override", ["train.nope=1", "train.epochs=zero"])
def test_bad_overrides_name_the_key(tickets_csv, runs_dir, tiny_model_dir, override, capsys):
    """Config overrides with unknown keys or bad values are refused, naming the key."""
    code = _train(tickets_csv, runs_dir, tiny_model_dir, override)
    _assert_failed_cleanly(code, capsys, override.split("=")[0], runs_dir=runs_dir)


def test_a_repeated_column_name_is_refused_by_train_and_data_check(
    tmp_path, runs_dir, tiny_model_dir, capsys
):
    """``text,text,label`` used to train on the first ``text`` and pass data check: train
    fails naming the column and its positions (no run made), and data check exits 1 with it
    as an ERROR."""
    path = tmp_path / "dup.csv"
    rows = make_rows()
    lines = [f"{r['text']},{r['text']} again,{r['label']}" for r in rows]
    path.write_text("text,text,label\n" + "\n".join(lines) + "\n", encoding="utf-8")
    code = _train(path, runs_dir, tiny_model_dir)
    _assert_failed_cleanly(code, capsys, "dup.csv", "'text' in columns 1 and 2", runs_dir=runs_dir)
    assert main(["data", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR: " in out and "'text' in columns 1 and 2" in out and "Rename" in out


def test_a_semicolon_csv_is_checked_and_trained_as_two_columns(
    tmp_path, runs_dir, tiny_model_dir, capsys
):
    """A ';'-separated .csv used to fail with a hint about quoting commas: data check names
    the detected separator and passes, and train runs on it."""
    path = tmp_path / "semi.csv"
    rows = [f"{r['text']}, thanks;{r['label']}" for r in make_rows()]
    path.write_text("text;label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "delimiter  ';' (semicolon), detected" in out and "labels     3" in out
    assert _train(path, runs_dir, tiny_model_dir, "--name", "semi") == 0
    assert (runs_dir / "semi" / "eval.json").is_file()


def test_the_delimiter_flag_reaches_data_check_train_tune_and_evaluate(
    tmp_path, runs_dir, tiny_model_dir, capsys
):
    """--delimiter beats the detection wherever columns are read: ',' on a semicolon file
    fails data check and evaluate naming the parse and the flag; ';' checks "as given",
    trains and evaluates; tune carries it into the data settings of its trials."""
    from tuneforge.cli import parse
    from tuneforge.cli.train import run_flags

    path = tmp_path / "semi.csv"
    rows = [f"{r['text']}, thanks;{r['label']}" for r in make_rows()]
    path.write_text("text;label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["data", "check", str(path), "--delimiter", ","]) == 1
    err = capsys.readouterr().err
    assert "semi.csv could not be parsed as csv" in err and "--delimiter" in err
    assert main(["data", "check", str(path), "--delimiter", ";"]) == 0
    assert "delimiter  ';' (semicolon), as given" in capsys.readouterr().out
    assert _train(path, runs_dir, tiny_model_dir, "--name", "semi", "--delimiter", ";") == 0
    evaluate = ["evaluate", "semi", "--data", str(path), "--runs-dir", str(runs_dir)]
    _assert_failed_cleanly(main([*evaluate, "--delimiter", ","]), capsys, "--delimiter")
    assert main([*evaluate, "--delimiter", ";"]) == 0
    tune = parse(["tune", str(path), "--delimiter", ";"])
    assert run_flags(tune)["data"]["delimiter"] == ";"
