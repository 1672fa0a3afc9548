"""`predict --input --output`: chunked, in order, with ids, resumable, never half a file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import make_rows, train_tiny_run
from tuneforge.cli import main
from tuneforge.data import parts
from tuneforge.data.stream import CHUNK_ROWS


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("predict-file")
    return train_tiny_run(root, tiny_model_dir, "pf"), root


def _tickets(root, n=23):
    rows = make_rows(8, seed=3)[:n]
    frame = pd.DataFrame(
        {"ticket": [f"T{i}" for i in range(len(rows))], "text": [r["text"] for r in rows]}
    )
    path = root / "tickets.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_chunked_output_equals_predicting_all_at_once(tiny_run, capsys):
    """Parquet written chunk by chunk holds every row in the input's order with its id, the
    same labels and scores as predicting the texts in one call, and says what it wrote."""
    runs, root = tiny_run
    path, frame = _tickets(root)
    output = root / "preds.parquet"
    argv = ["predict", "pf", "--input", str(path), "--output", str(output), "--id-column", "ticket"]
    assert main([*argv, "--chunk-rows", "5", "--top-k", "2", "--runs-dir", str(runs)]) == 0
    assert f"written: {output} (23 predictions" in capsys.readouterr().err
    written = pd.read_parquet(output)
    assert written["id"].tolist() == frame["ticket"].tolist()
    assert written["text"].tolist() == frame["text"].tolist()
    assert all(len(alternatives) == 2 for alternatives in written["top_k"])
    assert main(["predict", "pf", *frame["text"], "--json", "--runs-dir", str(runs)]) == 0
    at_once = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert written["label"].tolist() == [x["label"] for x in at_once]
    assert written["score"].round(5).tolist() == [round(x["score"], 5) for x in at_once]


def test_a_stopped_job_resumes_to_the_same_output(tiny_run, monkeypatch, capsys):
    """Stopped after two chunks (exit 130, how to go on said), the same command with --resume
    finishes only the rest, and the output equals an uninterrupted job's; running it again
    without a flag is refused, leaving the output as it is."""
    runs, root = tiny_run
    path, _ = _tickets(root)
    whole, stopped = root / "whole.jsonl", root / "stopped.jsonl"
    base = ["predict", "pf", "--input", str(path), "--chunk-rows", "4", "--runs-dir", str(runs)]
    assert main([*base, "--output", str(whole)]) == 0
    write = parts.PartWriter.write
    calls = {"n": 0}

    def stop_at_the_third(self, table):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        write(self, table)

    monkeypatch.setattr(parts.PartWriter, "write", stop_at_the_third)
    assert main([*base, "--output", str(stopped)]) == 130
    assert "--resume" in capsys.readouterr().err and not stopped.exists()
    monkeypatch.setattr(parts.PartWriter, "write", write)
    assert main([*base, "--output", str(stopped), "--resume"]) == 0
    assert "8 of them before resuming" in capsys.readouterr().err
    assert stopped.read_text() == whole.read_text()
    assert main([*base, "--output", str(stopped)]) == 1
    assert "exists" in capsys.readouterr().err
    assert stopped.read_text() == whole.read_text()


def test_a_resume_with_another_model_or_input_is_refused(tiny_run, monkeypatch, capsys):
    """Parts left by one input are not continued with another: the message says what
    changed, and the left parts stay for the right command."""
    runs, root = tiny_run
    path, _ = _tickets(root)
    output = root / "other.parquet"
    base = ["predict", "pf", "--chunk-rows", "4", "--output", str(output), "--runs-dir", str(runs)]
    monkeypatch.setattr(
        parts.PartWriter, "finish", lambda self: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    assert main([*base, "--input", str(path)]) == 130
    monkeypatch.undo()
    other = root / "other.csv"
    pd.read_csv(path).iloc[:5].to_csv(other, index=False)
    assert main([*base, "--input", str(other), "--resume"]) == 1
    assert "another job: files differ" in capsys.readouterr().err
    assert (root / "other.parquet.parts" / "manifest.json").is_file()


def test_help_states_the_default_chunk(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert f"default: {CHUNK_ROWS}" in capsys.readouterr().out
