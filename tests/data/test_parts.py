"""Output in parts: never half a file, an existing one kept unless asked, resumable."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuneforge.data.parts import PartWriter
from tuneforge.errors import DataError

IDENTITY = {"files": [["in.csv", 10, 1]], "model": "m"}


def _table(start: int, n: int) -> pa.Table:
    alternatives = [[{"label": "a", "score": 0.5}]] * n
    return pa.table({"id": list(range(start, start + n)), "top_k": alternatives})


def test_parts_assemble_into_each_format_and_leave_nothing_behind(tmp_path):
    """Parquet keeps every column; JSON lines too (nested as objects); CSV leaves out the
    list column. The parts folder is gone afterwards."""
    for name in ("out.parquet", "out.jsonl", "out.csv"):
        writer = PartWriter(tmp_path / name, IDENTITY)
        writer.write(_table(0, 2))
        writer.write(_table(2, 3))
        writer.finish()
        assert not (tmp_path / f"{name}.parts").exists()
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == [0, 1, 2, 3, 4]
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [0, 1, 2, 3, 4] and lines[0]["top_k"][0]["label"] == "a"
    assert (tmp_path / "out.csv").read_text().splitlines() == ["id", "0", "1", "2", "3", "4"]


def test_an_existing_output_is_kept_until_the_new_one_is_whole(tmp_path):
    """Without --overwrite an existing output is refused; with it, the old file stays
    untouched until the job finishes."""
    output = tmp_path / "out.jsonl"
    output.write_text("old\n")
    with pytest.raises(DataError, match="exists.*--overwrite"):
        PartWriter(output, IDENTITY)
    writer = PartWriter(output, IDENTITY, overwrite=True)
    writer.write(_table(0, 1))
    assert output.read_text() == "old\n"
    writer.finish()
    assert json.loads(output.read_text())["id"] == 0


def test_an_interrupted_job_resumes_only_as_the_same_job(tmp_path):
    """Left parts are refused without --resume (saying how many rows), taken up with it
    (``done`` counts them), refused when the input or model changed, dropped by --overwrite."""
    output = tmp_path / "out.parquet"
    first = PartWriter(output, IDENTITY)
    first.write(_table(0, 4))
    with pytest.raises(DataError, match="left 4 rows.*--resume"):
        PartWriter(output, IDENTITY)
    with pytest.raises(DataError, match="another job: model differ"):
        PartWriter(output, {**IDENTITY, "model": "other"}, resume=True)
    again = PartWriter(output, IDENTITY, resume=True)
    assert again.done == 4
    again.write(_table(4, 2))
    again.finish()
    assert pq.read_table(output).column("id").to_pylist() == list(range(6))
    assert PartWriter(output, IDENTITY, resume=True).complete
    fresh = PartWriter(output, IDENTITY, overwrite=True)
    assert fresh.done == 0 and not fresh.complete


def test_an_unknown_output_suffix_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"out\.txt.*\.parquet"):
        PartWriter(tmp_path / "out.txt", IDENTITY)
