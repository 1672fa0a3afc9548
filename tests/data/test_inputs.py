"""Inputs for a finished model: labelled data checked against its labels, texts and images."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tuneforge.data import (
    check_image_paths,
    labelled_examples,
    labelled_images,
    read_image_inputs,
    read_texts,
)
from tuneforge.errors import DataError


def png(path: Path, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (4, 4), value).save(path)
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_labelled_examples_keep_every_row_of_known_labels(tmp_path):
    """A labelled file whose labels the model has comes back whole, rows numbered from 1."""
    data = write(tmp_path / "d.csv", "text,label\nhello,a\nbye,b\n")
    examples = labelled_examples(data, ["a", "b", "c"])
    assert [(e.text, e.label, e.row) for e in examples] == [("hello", "a", 1), ("bye", "b", 2)]


def test_labelled_examples_refuse_empty_cells_with_their_rows(tmp_path):
    """An empty text or label cannot be scored: the rows are named and data check suggested."""
    data = write(tmp_path / "d.csv", "text,label\nhello,a\n,b\nbye,\n")
    with pytest.raises(DataError, match="rows 2, 3 have an empty text or label") as info:
        labelled_examples(data, ["a", "b"])
    assert "data check" in info.value.hint


def test_labelled_examples_refuse_labels_the_model_lacks(tmp_path):
    """A label the model never saw is refused with its rows, not counted as a wrong answer."""
    data = write(tmp_path / "d.tsv", "body\tintent\nhello\ta\nbye\tz\n")
    with pytest.raises(DataError, match=r"labels 'z' \(rows 2\) are not among the model's"):
        labelled_examples(data, ["a", "b"], text_column="body", label_column="intent")


def test_labelled_images_read_any_source_with_its_options(tmp_path):
    """A folder of <label>/<image> and a path table with a named column both read."""
    png(tmp_path / "photos" / "cat" / "1.png")
    png(tmp_path / "photos" / "dog" / "2.png", 200)
    assert [e.label for e in labelled_images(tmp_path / "photos", ["cat", "dog"])] == [
        "cat",
        "dog",
    ]
    table = write(tmp_path / "t.csv", "picture,label\nphotos/cat/1.png,cat\n")
    (example,) = labelled_images(table, ["cat", "dog"], image_column="picture")
    assert example.label == "cat" and example.row == 1


def test_labelled_images_refuse_labels_the_model_lacks_naming_files(tmp_path):
    """An image label the model lacks is refused, naming example files and the model's labels."""
    png(tmp_path / "cat" / "1.png")
    bird = png(tmp_path / "bird" / "2.png")
    with pytest.raises(DataError, match="not among the model's labels") as info:
        labelled_images(tmp_path, ["cat", "dog"])
    message = str(info.value)
    assert "'bird'" in message and str(bird) in message and "'dog'" in message


def test_labelled_images_refuse_an_empty_source(tmp_path):
    """A source that holds no images (a pixel CSV with a header only) is an error, not 0%."""
    pixels = write(tmp_path / "p.csv", "label,p1,p2,p3,p4\n")
    with pytest.raises(DataError, match="holds no labelled images"):
        labelled_images(pixels, ["0", "1"], shape="2x2")


def test_image_inputs_from_a_folder_are_recursive_and_sorted(tmp_path):
    """Every image under a folder, in sorted order; other files are skipped."""
    b = png(tmp_path / "in" / "b.png")
    a = png(tmp_path / "in" / "sub" / "a.jpg")
    write(tmp_path / "in" / "notes.txt", "not an image")
    assert read_image_inputs(tmp_path / "in") == sorted([str(a), str(b)])
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="holds no image files"):
        read_image_inputs(tmp_path / "none")


def test_image_inputs_from_a_file_a_list_or_a_table(tmp_path):
    """One image is itself; a list file and a table's path column resolve beside the file."""
    image = png(tmp_path / "x.png")
    assert read_image_inputs(image) == [str(image)]
    listing = write(tmp_path / "list.txt", "x.png\n\n  y.png  \n")
    assert read_image_inputs(listing) == [str(tmp_path / "x.png"), str(tmp_path / "y.png")]
    table = write(tmp_path / "t.csv", "id,file\n1,x.png\n")
    assert read_image_inputs(table) == [str(tmp_path / "x.png")]
    named = write(tmp_path / "n.csv", "id,pic\n1,x.png\n")
    assert read_image_inputs(named, image_column="pic") == [str(tmp_path / "x.png")]


def test_image_inputs_explain_what_is_missing(tmp_path):
    """A missing input, a table without a path column, a misspelled column: each says why."""
    with pytest.raises(DataError, match="does not exist"):
        read_image_inputs(tmp_path / "nope.csv")
    table = write(tmp_path / "t.csv", "id,caption\n1,hello\n")
    with pytest.raises(DataError, match="no image-path column") as info:
        read_image_inputs(table)
    assert "--image-column" in info.value.hint
    with pytest.raises(DataError, match="no column 'captoin'") as info:
        read_image_inputs(table, image_column="captoin")
    assert "caption" in info.value.hint


def test_check_image_paths_names_every_missing_file(tmp_path):
    """Missing inputs are counted and named (ten at most) before any model work starts."""
    check_image_paths([str(png(tmp_path / "ok.png"))])
    missing = [str(tmp_path / f"{i}.png") for i in range(12)]
    with pytest.raises(DataError, match=r"12 input image\(s\) do not exist: .*and 2 more"):
        check_image_paths(missing)


def test_read_texts_needs_no_label_column(tmp_path):
    """Texts to predict: the detected text column, else 'text', else the first column."""
    labelled = write(tmp_path / "l.csv", "text,label\nhello,a\n")
    assert read_texts(labelled) == ["hello"]
    unlabelled = write(tmp_path / "u.csv", "text\nhello\n\n")
    assert read_texts(unlabelled) == ["hello"]
    first = write(tmp_path / "f.jsonl", '{"body": "hi", "n": 1}\n')
    assert read_texts(first) == ["hi"]


def test_read_texts_takes_the_named_column(tmp_path):
    """--text-column picks the column (also in a table with no label column); a typo suggests
    the closest name."""
    data = write(tmp_path / "d.csv", "id,body\n1,hello\n2,\n")
    assert read_texts(data, "body") == ["hello", ""]
    with pytest.raises(DataError, match="no column 'bdy'") as info:
        read_texts(data, "bdy")
    assert "--text-column body" in info.value.hint
