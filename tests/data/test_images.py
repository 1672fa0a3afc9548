"""Image sources: folders, path tables, IDX files and pixel CSVs; bad files named, bombs refused."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tuneforge.data.image_files import BadImage, decode_image, peek_shape, pixels_of
from tuneforge.data.image_sources import load_idx, load_image_folder, load_pixel_csv, parse_shape
from tuneforge.data.image_splits import image_fingerprint, load_image_dataset
from tuneforge.data.readers import detect_image_source, load_image_table, read_images
from tuneforge.errors import DataError
from tuneforge.types import ImageExample


def png(path: Path, value: int, size=(8, 6), mode="L") -> Path:
    """A solid image of ``value`` (RGB: red channel only), size given as (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)
    return path


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A valid 70-byte PNG whose header claims width×height pixels (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    raw = bytearray(buf.getvalue())
    raw[16:24] = struct.pack(">II", width, height)  # IHDR data follows signature+length+type
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    path.write_bytes(bytes(raw))
    return path


def idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def test_folder_labels_come_from_sub_folders(tmp_path):
    """root/<label>/*.png: label from the folder, greyscale kept as one channel, RGB as three."""
    png(tmp_path / "cat" / "a.png", 10)
    png(tmp_path / "cat" / "b.jpg", 20)
    png(tmp_path / "dog" / "c.png", 30, mode="RGB")
    (tmp_path / "dog" / "notes.txt").write_text("not an image, ignored by suffix")
    examples = load_image_folder(tmp_path)
    assert [e.label for e in examples] == ["cat", "cat", "dog"]
    assert [e.row for e in examples] == [1, 2, 3]
    assert examples[0].pixels.shape == (6, 8, 1) and examples[0].pixels.dtype == np.uint8
    assert examples[0].pixels[0, 0, 0] == 10
    assert examples[2].pixels.shape == (6, 8, 3) and examples[2].pixels[0, 0].tolist() == [30, 0, 0]
    assert examples[2].source.endswith("c.png")
    with pytest.raises(DataError, match="no images in label sub-folders"):
        load_image_folder(tmp_path / "cat")
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "nope")


def test_lazy_folder_keeps_paths_and_decodes_on_demand(tmp_path):
    png(tmp_path / "a" / "x.png", 7)
    png(tmp_path / "b" / "y.png", 9, mode="RGB")
    lazy = load_image_folder(tmp_path, lazy=True)
    assert all(isinstance(e.pixels, Path) for e in lazy)
    assert [peek_shape(e.pixels) for e in lazy] == [(6, 8, 1), (6, 8, 3)]
    for eager, e in zip(load_image_folder(tmp_path), lazy):
        np.testing.assert_array_equal(pixels_of(e), eager.pixels)


def test_table_of_paths_relative_to_the_table(tmp_path):
    png(tmp_path / "img" / "x.png", 5)
    png(tmp_path / "img" / "y.png", 6)
    table = tmp_path / "images.csv"
    table.write_text("file,class\nimg/x.png,zero\nimg/y.png,one\n")
    examples = load_image_table(table)  # columns detected from their names
    assert [(e.label, e.row, int(e.pixels[0, 0, 0])) for e in examples] == [
        ("zero", 1, 5),
        ("one", 2, 6),
    ]
    table.write_text("file,class\nimg/x.png,zero\nimg/missing.png,one\n")
    with pytest.raises(DataError, match=r"images\.csv, row 2: .*missing\.png.* does not exist"):
        load_image_table(table)
    table.write_text("file,class\nimg/x.png,\n")
    with pytest.raises(DataError, match="row 1: the label is empty"):
        load_image_table(table)


def test_parquet_table_with_named_columns(tmp_path):
    import pandas as pd

    png(tmp_path / "p.png", 3)
    pd.DataFrame({"pic": ["p.png"], "y": [4]}).to_parquet(tmp_path / "t.parquet")
    (example,) = load_image_table(tmp_path / "t.parquet", "pic", "y")
    assert example.label == "4"
    with pytest.raises(DataError, match="no column 'picture'"):
        load_image_table(tmp_path / "t.parquet", "picture", "y")


def test_idx_pair_plain_and_gzipped_with_labels_found_by_name(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([1, 0, 1], dtype=np.uint8)
    for gz in (False, True):
        suffix = ".gz" if gz else ""
        images_path = idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz)
        idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
        examples = load_idx(images_path)  # labels file found by MNIST's naming
        assert [e.label for e in examples] == ["1", "0", "1"]
        assert examples[2].pixels.shape == (4, 5, 1)
        np.testing.assert_array_equal(examples[2].pixels[..., 0], images[2])
    short = tmp_path / "short-images-idx3-ubyte"
    short.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    with pytest.raises(DataError, match="short-images-idx3-ubyte' is truncated"):
        load_idx(short, tmp_path / "train-labels-idx1-ubyte")
    (tmp_path / "text.idx").write_text("hello")
    with pytest.raises(DataError, match="bad magic number"):
        load_idx(tmp_path / "text.idx", tmp_path / "train-labels-idx1-ubyte")
    two = idx(tmp_path / "two", np.array([1, 0], dtype=np.uint8))
    with pytest.raises(DataError, match="do not pair up"):
        load_idx(tmp_path / "train-images-idx3-ubyte", two)


def test_pixel_csv_headerless_label_last_like_mnist_5k(tmp_path):
    """784 pixel columns then the label, no header: the shape flag folds values into images."""
    rows = [[0, 255, 10, 20, 3], [1, 2, 3, 4, 7]]
    plain = tmp_path / "plain.csv.gz"
    plain.write_bytes(gzip.compress(("\n".join(",".join(map(str, r)) for r in rows)).encode()))
    examples = load_pixel_csv(plain, "2x2")
    assert [(e.label, e.row) for e in examples] == [("3", 1), ("7", 2)]
    assert examples[0].pixels[:, :, 0].tolist() == [[0, 255], [10, 20]]
    with pytest.raises(DataError, match=r"4 pixel values \(2x2\?\).*needs 9"):
        load_pixel_csv(plain, "3x3")


def test_pixel_csv_with_header_finds_the_label_column_anywhere(tmp_path):
    """Kaggle's layout (label first, then pixel0..) must not read the label as a pixel."""
    kaggle = tmp_path / "kaggle.csv"
    kaggle.write_text("label,pixel0,pixel1,pixel2,pixel3\n007,0,255,10,20\n")
    (e,) = load_pixel_csv(kaggle, "2x2")
    assert e.label == "007" and e.row == 1  # labels stay text
    assert e.pixels[:, :, 0].tolist() == [[0, 255], [10, 20]]
    named = tmp_path / "named.csv"
    named.write_text("p0,p1,p2,p3,y\n0,255,10,20,a\n")
    assert load_pixel_csv(named, "2x2", label_column="y")[0].label == "a"
    rgb = tmp_path / "rgb.csv"
    rgb.write_text(",".join(map(str, range(12))) + ",c\n")
    (e,) = load_pixel_csv(rgb, "2x2x3")
    assert e.pixels.shape == (2, 2, 3) and e.pixels[0, 1].tolist() == [3, 4, 5]  # row-major HWC


@pytest.mark.parametrize("cell", ["256", "0.5", "x", ""])
def test_pixel_csv_bad_values_name_row_and_column(tmp_path, cell):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"1,2,3,4,a\n0,{cell},1,1,b\n")
    with pytest.raises(DataError, match=r"bad\.csv, row 2, column '1'.*0–255"):
        load_pixel_csv(bad, "2x2")


@pytest.mark.parametrize("text", ["28by28", "28", "0x28", "28x28x2", "axb"])
def test_shapes_that_are_not_hxw_or_hxwxc_are_refused(text):
    with pytest.raises(DataError, match="HxW"):
        parse_shape(text)
    assert parse_shape("28x28") == (28, 28, 1) and parse_shape("32X32x3") == (32, 32, 3)


def test_corrupt_truncated_and_non_image_files_are_named(tmp_path):
    good = png(tmp_path / "ok.png", 1, size=(64, 64))
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:60])
    text = tmp_path / "fake.png"
    text.write_text("hello")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for path in (truncated, text, empty):
        with pytest.raises(DataError, match=path.name) as info:
            decode_image(path)
        assert "data check" in str(info.value)  # says what to do


def test_a_bad_file_in_a_folder_fails_loading_or_is_recorded_for_the_check(tmp_path):
    png(tmp_path / "a" / "ok.png", 1)
    png(tmp_path / "b" / "ok.png", 2)
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "a" / "notes.jpg").write_text("a text file with an image suffix")
    with pytest.raises(DataError, match=r"notes\.jpg"):
        load_image_folder(tmp_path)
    with pytest.raises(DataError, match=r"notes\.jpg"):
        load_image_folder(tmp_path, lazy=True)  # lazy still reads every header
    bad: list[BadImage] = []
    examples = load_image_folder(tmp_path, bad=bad)
    assert [e.label for e in examples] == ["a", "b"]
    assert sorted(Path(b.path).name for b in bad) == ["broken.png", "notes.jpg"]


def test_decompression_bombs_are_refused_before_decoding(tmp_path):
    """Headers claiming 10^10 pixels (Pillow's own guard) or 49M (ours) are refused, by name."""
    for name, size in (("huge.png", 100_000), ("big.png", 7_000)):
        bomb = bomb_png(tmp_path / name, size, size)
        assert bomb.stat().st_size < 100
        with pytest.raises(DataError, match=rf"{name}' is too large to decode safely"):
            decode_image(bomb)
        with pytest.raises(DataError, match="too large"):
            peek_shape(bomb)


def test_sixteen_bit_greyscale_keeps_its_range(tmp_path):
    image = Image.fromarray(np.array([[0, 65535]], dtype=np.uint16))
    image.save(tmp_path / "deep.png")
    assert decode_image(tmp_path / "deep.png")[0, :, 0].tolist() == [0, 255]


def test_sources_are_told_apart(tmp_path):
    png(tmp_path / "x" / "a.png", 1)
    assert detect_image_source(tmp_path) == "folder"
    assert detect_image_source(tmp_path / "t10k-images-idx3-ubyte.gz") == "idx"
    assert detect_image_source(tmp_path / "pixels.csv", "28x28") == "pixels"
    assert detect_image_source(tmp_path / "paths.csv") == "table"
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("0,1,2,3,4\n5,6,7,8,9\n")
    with pytest.raises(DataError, match="--image-shape"):
        read_images(numbers)
    assert read_images(numbers, shape="2x2").kind == "pixels"


def _digit_folder(root: Path, n_per_label: int = 10) -> Path:
    for label in ("a", "b", "c"):
        for i in range(n_per_label):
            png(root / label / f"{i}.png", 10 * i + ord(label), size=(6, 6))
    return root


def test_dataset_splits_are_stratified_and_fingerprinted(tmp_path):
    root = _digit_folder(tmp_path / "data")
    splits = load_image_dataset(root, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (18, 6, 6)
    assert sorted(e.label for e in splits.test) == ["a", "a", "b", "b", "c", "c"]
    assert splits.labels.names == ("a", "b", "c") and splits.source["kind"] == "folder"
    again = load_image_dataset(root, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert again.fingerprint == splits.fingerprint
    lazy = load_image_dataset(root, val_fraction=0.2, test_fraction=0.2, seed=1, lazy=True)
    assert all(isinstance(e.pixels, Path) for e in lazy.train)
    png(root / "a" / "0.png", 200, size=(6, 6))  # one pixel value changes
    assert load_image_dataset(root, val_fraction=0.2, test_fraction=0.2, seed=1).fingerprint != (
        splits.fingerprint
    )


def test_dataset_refuses_one_class_and_unseen_evaluation_labels(tmp_path):
    png(tmp_path / "one" / "only" / "a.png", 1)
    with pytest.raises(DataError, match="at least two classes"):
        load_image_dataset(tmp_path / "one")
    root = _digit_folder(tmp_path / "train")
    png(tmp_path / "val" / "z" / "a.png", 1, size=(6, 6))
    with pytest.raises(DataError, match=r"label\(s\) 'z' do not occur in the training data"):
        load_image_dataset(root, val=tmp_path / "val")


def test_fingerprint_follows_pixels_and_labels():
    a = ImageExample(np.zeros((2, 2, 1), np.uint8), "x")
    b = ImageExample(np.ones((2, 2, 1), np.uint8), "x")
    c = ImageExample(np.zeros((2, 2, 1), np.uint8), "y")
    assert image_fingerprint({"train": [a]}) == image_fingerprint({"train": [a]})
    assert len({image_fingerprint({"train": [e]}) for e in (a, b, c)}) == 3


def test_saved_split_round_trips_at_the_model_size(tmp_path):
    """A run keeps its split images resized to the model's input, with labels and rows."""
    from tuneforge.data.image_features import ImageFeaturizer
    from tuneforge.data.image_splits import load_image_split, save_image_split

    rng = np.random.default_rng(1)
    examples = [
        ImageExample(rng.integers(0, 255, (8, 8, 1), dtype=np.uint8), "x", 3),
        ImageExample(rng.integers(0, 255, (12, 12, 1), dtype=np.uint8), "y", 7),
    ]
    featurizer = ImageFeaturizer.fit(examples[:1])
    back = load_image_split(save_image_split(tmp_path / "test.npz", examples, featurizer))
    assert [(e.label, e.row, e.pixels.shape) for e in back] == [
        ("x", 3, (8, 8, 1)),
        ("y", 7, (8, 8, 1)),
    ]
    np.testing.assert_array_equal(back[0].pixels, examples[0].pixels)
