"""``tuneforge embed``, ``index build`` and ``search`` end to end on a tiny encoder, and their
bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tuneforge.cli import main

from ..conftest import write_csv

ROWS = [
    {"id": "f1", "text": "how do I reset my password", "answer": "Use the login page link."},
    {"id": "f2", "text": "my card was charged twice", "answer": "We refund duplicates in 3 days."},
    {"id": "f3", "text": "where is my parcel", "answer": "Track it under Orders."},
    {"id": "f4", "text": "cancel my subscription", "answer": "Settings, then Billing."},
]


@pytest.fixture
def faq(tmp_path):
    return write_csv(tmp_path / "faq.csv", ROWS, ("id", "text", "answer"))


def _build(tmp_path, faq, model, *extra) -> int:
    argv = ["index", "build", str(faq), "--model", str(model), "--output", str(tmp_path / "idx")]
    return main([*argv, "--runs-dir", str(tmp_path / "runs"), "--no-progress", *extra])


def test_a_built_index_answers_a_query_with_the_stored_answer(
    tiny_model_dir, tmp_path, faq, capsys
):
    """index build stores every column beside the vectors; search finds a stored text itself
    first, with its answer, as a table or as JSON."""
    assert _build(tmp_path, faq, tiny_model_dir) == 0
    assert "written:" in capsys.readouterr().err
    info = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert info["kind"] == "exact" and info["count"] == 4 and info["fields"] == ["text", "answer"]
    argv = ["search", str(tmp_path / "idx"), "where is my parcel", "-k", "2", "--json"]
    assert main([*argv, "--runs-dir", str(tmp_path / "runs")]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    top = result["hits"][0]
    assert top["id"] == "f3" and top["fields"]["answer"] == "Track it under Orders."
    assert top["score"] == pytest.approx(1.0, abs=1e-4) and len(result["hits"]) == 2
    assert main(argv[:-1] + ["--runs-dir", str(tmp_path / "runs")]) == 0
    assert "Track it under Orders." in capsys.readouterr().out


def test_embed_writes_one_unit_vector_per_row_in_order(tiny_model_dir, tmp_path, faq, capsys):
    """embed writes Parquet with the file's ids in its order and unit vectors."""
    out = tmp_path / "emb.parquet"
    argv = ["embed", str(tiny_model_dir), str(faq), "--output", str(out), "--no-progress"]
    assert main([*argv, "--runs-dir", str(tmp_path / "runs"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    frame = pd.read_parquet(out)
    assert frame["id"].tolist() == ["f1", "f2", "f3", "f4"] and summary["count"] == 4
    vectors = np.stack(frame["embedding"].to_numpy())
    assert vectors.shape == (4, summary["dim"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_query_after_the_weights_changed_is_refused(tiny_model_dir, tmp_path, faq, capsys):
    """An index remembers its weights: a model changed since refuses to search it (exit 1),
    naming both and what to do."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    assert _build(tmp_path, faq, model) == 0
    weights = next(model.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    argv = ["search", str(tmp_path / "idx"), "parcel", "--runs-dir", str(tmp_path / "runs")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "other weights" in err and "rebuild the index" in err


@pytest.mark.parametrize(
    "rows,extra,message",
    [
        (
            [{"id": "1", "text": ""}, {"id": "2", "text": "x"}],
            [],
            "1 row(s) have an empty 'text' (rows 1)",
        ),
        ([{"id": "1", "text": "a"}, {"id": "1", "text": "b"}], [], "column 'id' repeats ids (1)"),
        ([{"id": "1", "text": "a"}], ["--field", "answr"], "no column(s) 'answr' to store"),
        ([{"id": "1", "text": "a"}], ["--text-column", "body"], "no column 'body'"),
    ],
)
def test_bad_tables_are_refused_with_the_row_or_column_named(
    tiny_model_dir, tmp_path, capsys, rows, extra, message
):
    """Empty texts, repeated ids, unknown fields or columns: exit 1, nothing written."""
    data = write_csv(tmp_path / "bad.csv", rows, ("id", "text"))
    assert _build(tmp_path, data, tiny_model_dir, *extra) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "idx").exists()


def test_a_folder_that_is_no_index_is_refused(tmp_path, capsys):
    """search on a folder without an index says how to build one."""
    assert main(["search", str(tmp_path), "hello", "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "tuneforge index build" in capsys.readouterr().err
