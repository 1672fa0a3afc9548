"""Image sources: folders, path tables, IDX files and pixel CSVs; bad files named, bombs refused."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from tuneforge.data.images import (
    decode_image,
    image_fingerprint,
    load_idx,
    load_image_folder,
    load_image_table,
    load_pixel_csv,
    parse_shape,
)
from tuneforge.errors import DataError


def _png(path, value: int, size=(8, 6), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)
    return path


def test_folder_labels_come_from_sub_folders(tmp_path):
    """root/<label>/*.png: label from the folder, greyscale kept as one channel, RGB as three."""
    _png(tmp_path / "cat" / "a.png", 10)
    _png(tmp_path / "cat" / "b.png", 20)
    _png(tmp_path / "dog" / "c.png", 30, mode="RGB")
    (tmp_path / "dog" / "notes.txt").write_text("not an image, ignored by suffix")
    examples = load_image_folder(tmp_path)
    assert [e.label for e in examples] == ["cat", "cat", "dog"]
    assert examples[0].pixels.shape == (6, 8, 1) and examples[0].pixels[0, 0, 0] == 10
    assert examples[2].pixels.shape == (6, 8, 3)
    assert examples[2].source.endswith("c.png")


def test_table_of_paths_relative_to_the_table(tmp_path):
    _png(tmp_path / "img" / "x.png", 5)
    table = tmp_path / "images.csv"
    table.write_text("image,label\nimg/x.png,zero\n")
    (example,) = load_image_table(table)
    assert example.label == "zero" and example.row == 2
    table.write_text("image,label\nimg/missing.png,zero\n")
    with pytest.raises(DataError, match=r"row 2.*missing\.png"):
        load_image_table(table)


def _idx(path, array: np.ndarray, gz: bool = False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def test_idx_pair_plain_and_gzipped(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([1, 0, 1], dtype=np.uint8)
    for gz in (False, True):
        examples = load_idx(
            _idx(tmp_path / f"i{gz}", images, gz), _idx(tmp_path / f"l{gz}", labels, gz)
        )
        assert [e.label for e in examples] == ["1", "0", "1"]
        np.testing.assert_array_equal(examples[2].pixels[..., 0], images[2])
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    with pytest.raises(DataError, match="truncated"):
        load_idx(tmp_path / "short", tmp_path / "lFalse")


def test_pixel_csv_with_and_without_header(tmp_path):
    """Label last (or named); the shape flag decides how values fold into images."""
    rows = [[0, 255, 10, 20, "a"], [1, 2, 3, 4, "b"]]
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    examples = load_pixel_csv(plain, "2x2")
    assert [e.label for e in examples] == ["a", "b"]
    assert examples[0].pixels[:, :, 0].tolist() == [[0, 255], [10, 20]]
    named = tmp_path / "named.csv"
    named.write_text("y,p0,p1,p2,p3\na,0,255,10,20\n")
    assert load_pixel_csv(named, "2x2", label_column="y")[0].row == 2
    with pytest.raises(DataError, match="needs 9"):
        load_pixel_csv(plain, "3x3")
    bad = tmp_path / "bad.csv"
    bad.write_text("0,256,1,1,a\n")
    with pytest.raises(DataError, match="row 1.*0–255"):
        load_pixel_csv(bad, "2x2")
    with pytest.raises(DataError, match="HxW"):
        parse_shape("28by28")


def test_corrupt_and_non_image_files_are_named(tmp_path):
    good = _png(tmp_path / "ok.png", 1, size=(64, 64))
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:40])
    text = tmp_path / "fake.png"
    text.write_text("hello")
    for path in (truncated, text):
        with pytest.raises(DataError, match=path.name):
            decode_image(path, str(path))


def test_decompression_bombs_are_refused(tmp_path, monkeypatch):
    """An image whose pixel count exceeds the limit is refused before it is decoded."""
    import tuneforge.data.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    big = _png(tmp_path / "big.png", 0, size=(100, 100))
    with pytest.raises(DataError, match="too large"):
        decode_image(big, "big.png")


def test_fingerprint_follows_pixels_and_labels():
    from tuneforge.types import ImageExample

    a = ImageExample(np.zeros((2, 2, 1), np.uint8), "x")
    b = ImageExample(np.ones((2, 2, 1), np.uint8), "x")
    assert image_fingerprint({"train": [a]}) == image_fingerprint({"train": [a]})
    assert image_fingerprint({"train": [a]}) != image_fingerprint({"train": [b]})
