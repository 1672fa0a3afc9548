"""Image data check: sizes, channels, every bad file named, class balance, duplicates by content."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tuneforge.data.image_check import check_images, format_image_check
from tuneforge.data.validate import raise_if_blocking
from tuneforge.errors import DataError

from .test_images import bomb_png, png


def _messy_folder(root):
    """cat: 4 images (two identical), one 12x10, one RGB; dog: 3; a corrupt file, a text file,
    a bomb; one dog image identical to a cat image (a conflict)."""
    for i in range(4):
        png(root / "cat" / f"c{i}.png", 10 * i + 1, size=(8, 6))
    png(root / "cat" / "c_copy.png", 1, size=(8, 6))  # same pixels and label as c0.png
    png(root / "cat" / "wide.png", 50, size=(12, 10))
    png(root / "cat" / "colour.png", 60, size=(8, 6), mode="RGB")
    for i in range(3):
        png(root / "dog" / f"d{i}.png", 100 + i, size=(8, 6))
    png(root / "dog" / "mislabelled.png", 11, size=(8, 6))  # the pixels of cat/c1.png
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    (root / "dog" / "readme.jpg").write_text("not an image")
    bomb_png(root / "dog" / "bomb.png", 50_000, 50_000)
    return root


def test_messy_folder_report_lists_everything(tmp_path):
    report = check_images(_messy_folder(tmp_path / "pets"))
    assert report.kind == "folder" and report.n_images == 11
    assert report.label_counts == {"cat": 7, "dog": 4}
    assert report.sizes == {"6x8": 10, "10x12": 1}  # H x W
    assert report.channels == {1: 10, 3: 1}
    assert sorted(b.path.rsplit("/", 1)[-1] for b in report.bad_files) == [
        "bomb.png",
        "broken.png",
        "readme.jpg",
    ]
    assert "too large" in next(b.reason for b in report.bad_files if "bomb" in b.path)
    assert [sorted(p.rsplit("/", 1)[-1] for p in g) for g in report.duplicate_groups] == [
        ["c0.png", "c_copy.png"]
    ]
    assert report.n_duplicates == 1
    (conflict,) = report.conflicts
    assert {k: [p.rsplit("/", 1)[-1] for p in v] for k, v in conflict.items()} == {
        "cat": ["c1.png"],
        "dog": ["mislabelled.png"],
    }
    assert report.blocking
    errors = [p for p in report.problems if p.severity == "error"]
    assert len(errors) == 1 and "3 image file(s) cannot be used" in errors[0].message
    assert all(name in errors[0].message for name in ("bomb.png", "broken.png", "readme.jpg"))
    warnings = " ".join(p.message for p in report.problems if p.severity == "warning")
    for expected in (
        "2 sizes",
        "resizes every image to the most common size, 6x8",
        "greyscale",
        "repeat an earlier image",
        "different labels",
    ):
        assert expected in warnings
    json.dumps(report.to_dict())  # serialisable for --json and run records
    with pytest.raises(DataError, match="broken.png"):
        raise_if_blocking(report)  # the same gate as for text data


def test_text_report_shows_sizes_bad_files_and_verdict(tmp_path):
    text = format_image_check(check_images(_messy_folder(tmp_path / "pets")))
    assert "pets (folder, 11 images)" in text
    assert "6x8 (10), 10x12 (1)" in text
    assert "greyscale 10, colour 1" in text
    assert "broken.png" in text and "readme.jpg" in text
    assert text.rstrip().endswith("FAILED: 1 blocking problem(s)")


def test_clean_pixel_csv_passes_and_names_duplicate_rows(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[*rng.integers(0, 256, 4), i % 2] for i in range(8)]
    rows.append(rows[2])  # an exact repeat of data row 3
    path = tmp_path / "px.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    report = check_images(path, shape="2x2")
    assert report.kind == "pixels" and report.n_images == 9 and not report.blocking
    assert report.duplicate_groups == [["row 3", "row 9"]]
    assert report.sizes == {"2x2": 9} and report.channels == {1: 9}
    assert format_image_check(report).rstrip().endswith("OK: no blocking problems")


def test_one_class_blocks_and_rare_or_dominated_classes_warn(tmp_path):
    for i in range(3):
        png(tmp_path / "solo" / "only" / f"{i}.png", i)
    report = check_images(tmp_path / "solo")
    assert report.blocking and "at least two classes" in report.problems[0].message

    for i in range(25):
        png(tmp_path / "skew" / "big" / f"{i}.png", i)
    png(tmp_path / "skew" / "tiny" / "0.png", 200)
    report = check_images(tmp_path / "skew")
    assert not report.blocking
    messages = " ".join(p.message for p in report.problems)
    assert "fewer than 3 images: 'tiny' (1)" in messages
    assert "heavily imbalanced" in messages


def test_a_table_with_missing_files_lists_each_with_its_row(tmp_path):
    png(tmp_path / "a.png", 1)
    png(tmp_path / "b.png", 2)
    table = tmp_path / "t.csv"
    table.write_text("image,label\na.png,x\ngone.png,x\nb.png,y\nalso-gone.png,y\na.png,x\n")
    report = check_images(table)
    assert [(b.row, b.path.rsplit("/", 1)[-1]) for b in report.bad_files] == [
        (2, "gone.png"),
        (4, "also-gone.png"),
    ]
    assert report.problems[0].rows == (2, 4)
    assert report.problems[0].message.count("does not exist") == 2
    (group,) = report.duplicate_groups  # the same file listed twice, told apart by row
    assert [name.split(" (")[0] for name in group] == ["row 1", "row 5"]


def test_unreadable_sources_still_raise(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        check_images(tmp_path / "missing")
    Image.new("L", (2, 2)).save(tmp_path / "x.png")
    (tmp_path / "p.csv").write_text("1,2,3,a\n")
    with pytest.raises(DataError, match="needs 4"):
        check_images(tmp_path / "p.csv", shape="2x2")
