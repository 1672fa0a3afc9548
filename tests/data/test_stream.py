"""Inputs read in chunks: every format, from any row, with ids, and wrong parts named."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tuneforge.data.stream import list_stream, open_text_stream
from tuneforge.errors import DataError


def _rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"ticket": [f"t{i}" for i in range(n)], "text": [f"text {i}" for i in range(n)]}
    )


def _all(stream, start=0, size=4):
    ids, texts, starts = [], [], []
    for chunk in stream.chunks(start, size):
        starts.append(chunk.start)
        ids += chunk.ids
        texts += chunk.items
    return ids, texts, starts


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"])
def test_every_format_streams_in_order_from_any_row(tmp_path, suffix):
    """Each format gives the same texts in the file's order, from row 0 or from a later row
    (a resumed job), in chunks of at most the asked size."""
    frame = _rows(11)
    path = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n\n" for r in frame.to_dict("records")))
    elif suffix == ".parquet":
        frame.to_parquet(path, row_group_size=3)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    stream = open_text_stream(path, id_column="ticket")
    ids, texts, starts = _all(stream)
    assert texts == frame["text"].tolist() and ids == frame["ticket"].tolist()
    assert starts == [0, 4, 8] or suffix == ".parquet"  # parquet chunks follow row groups
    later_ids, later, _ = _all(stream, start=5)
    assert later == frame["text"].tolist()[5:] and later_ids == frame["ticket"].tolist()[5:]
    assert stream.total >= 11 and stream.id_name == "ticket"


def test_parquet_folder_is_one_input_and_ids_default_to_row_numbers(tmp_path):
    """A folder of Parquet parts reads in name order; without an id column the ids are the
    row numbers from 0, continuing across parts and after a resume."""
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = _rows(10)[["text"]]
    frame.iloc[:6].to_parquet(folder / "a.parquet", row_group_size=4)
    frame.iloc[6:].to_parquet(folder / "b.parquet")
    stream = open_text_stream(folder)
    ids, texts, _ = _all(stream, size=5)
    assert texts == frame["text"].tolist() and ids == list(range(10))
    assert stream.total == 10 and stream.id_name == "row"
    ids, texts, _ = _all(stream, start=7, size=5)
    assert ids == [7, 8, 9] and texts == frame["text"].tolist()[7:]


def test_a_part_without_the_text_column_is_named_before_anything_is_read(tmp_path):
    """One wrong part in a folder is refused up front, by name, with its columns."""
    folder = tmp_path / "parts"
    folder.mkdir()
    _rows(3).to_parquet(folder / "a.parquet")
    pd.DataFrame({"body": ["x"]}).to_parquet(folder / "b.parquet")
    with pytest.raises(DataError, match=r"b\.parquet.*no column 'text'.*body"):
        open_text_stream(folder, text_column="text")


def test_an_id_column_that_is_missing_is_refused_with_a_suggestion(tmp_path):
    path = tmp_path / "in.csv"
    _rows(3).to_csv(path, index=False)
    with pytest.raises(DataError, match="no column 'tiket'.*--id-column ticket"):
        open_text_stream(path, id_column="tiket")


def test_a_bad_json_line_is_named(tmp_path):
    """A broken line far into a JSONL file names its line number."""
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\nnot json\n')
    with pytest.raises(DataError, match="line 3"):
        _all(open_text_stream(path))


def test_list_stream_chunks_inputs_already_in_memory():
    stream = list_stream(["a", "b", "c"], "image", {"listing": "x"})
    assert [(c.start, c.ids, c.items) for c in stream.chunks(1, 1)] == [
        (1, [1], ["b"]),
        (2, [2], ["c"]),
    ]


def test_pieces_of_a_parquet_folder_start_where_a_resumed_job_does(tmp_path):
    """Pieces (what a many-worker engine reads in parallel) are one per part still to read,
    numbered globally; read one after the other they give the rows from the start row on."""
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = _rows(10)[["text"]]
    frame.iloc[:6].to_parquet(folder / "a.parquet", row_group_size=4)
    frame.iloc[6:].to_parquet(folder / "b.parquet")
    stream = open_text_stream(folder)
    pieces = stream.pieces(start=5, size=3)
    assert [(p.start, p.rows) for p in pieces] == [(5, 1), (6, 4)]
    chunks = [c for p in pieces for c in p.read()]
    assert [i for c in chunks for i in c.ids] == list(range(5, 10))
    assert [t for c in chunks for t in c.items] == frame["text"].tolist()[5:]
    assert [(p.start, p.rows) for p in stream.pieces(start=7)] == [(7, 3)]
