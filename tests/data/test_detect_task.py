"""Telling image data from text data: the same `tuneforge train DATA` for both."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.config import DataConfig
from tuneforge.data import detect_task, image_examples_from_lists
from tuneforge.errors import ConfigError, DataError


def _detect(path, **options) -> str:
    return detect_task(DataConfig(train_file=str(path), **options))


def test_sources_that_are_images(tmp_path):
    """A folder, an IDX file, a given shape or image column, or a table with an image-path
    column and no text column is images."""
    (tmp_path / "photos").mkdir()
    assert _detect(tmp_path / "photos") == "image"
    assert _detect(tmp_path / "train-images-idx3-ubyte.gz") == "image"
    assert _detect(tmp_path / "pixels.csv", image_shape="28x28") == "image"
    table = tmp_path / "files.csv"
    table.write_text("path,label\na.png,cat\n")
    assert _detect(table) == "image"


def test_sources_that_are_texts(tmp_path):
    """Text tables stay texts, also when they have a path-like column beside the text, and an
    unreadable file is left to the text reader's message."""
    plain = tmp_path / "t.csv"
    plain.write_text("text,label\nhello,a\n")
    assert _detect(plain) == "text"
    both = tmp_path / "both.csv"
    both.write_text("text,file,label\nhello,a.png,a\n")
    assert _detect(both) == "text"
    assert _detect(tmp_path / "missing.csv") == "text"
    assert _detect(plain, task="image") == "image"  # asked for explicitly


def test_pixel_csv_without_a_shape_suggests_one(tmp_path):
    """Pixel columns without --image-shape: an error with the square shape they fit."""
    path = tmp_path / "digits.csv"
    path.write_text(",".join(["label", *(f"pixel{i}" for i in range(64))]) + "\n")
    with pytest.raises(DataError, match="--image-shape 8x8"):
        _detect(path)


def test_unknown_task_is_a_config_error(tmp_path):
    """data.task takes auto, text or image only."""
    with pytest.raises(ConfigError, match="data.task"):
        _detect(tmp_path, task="audio")


def test_in_memory_images_are_numbered_and_checked():
    """Arrays pair with labels one to one; H×W arrays get a channel axis; empty labels fail."""
    grey = np.zeros((4, 5), np.uint8)
    examples = image_examples_from_lists([grey, grey[:, :, None]], ["a", "b"])
    assert [e.row for e in examples] == [1, 2]
    assert all(e.pixels.shape == (4, 5, 1) for e in examples)
    with pytest.raises(DataError, match="pair up"):
        image_examples_from_lists([grey], ["a", "b"])
    with pytest.raises(DataError, match="empty"):
        image_examples_from_lists([grey], [" "])
