"""Inputs for a finished model: labelled data to measure it on, texts and images to predict.

Unlike training data, labelled inputs are checked against the labels the model already has: a
label it lacks could never be predicted, so it is refused with the rows that carry it rather
than counted as an error of the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..types import Example, ImageExample
from .columns import IMAGE_COLUMNS, pick_column, prediction_text_column, require_column
from .image_files import IMAGE_SUFFIXES
from .readers import TABLE_SUFFIXES, read_images, read_table
from .sources import load_examples


def labelled_examples(
    data_file: str | Path,
    labels: Sequence[str],
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
    slice_columns: Sequence[str] = (),
) -> list[Example]:
    """Examples of a labelled file, refusing empty texts/labels and labels the model lacks;
    ``slice_columns`` travel in each example's ``meta`` (missing or empty ones are refused)."""
    loaded = load_examples(
        data_file, text_column, label_column, fmt, delimiter=delimiter, slice_columns=slice_columns
    )
    empty = [e.row for e in loaded.examples if not e.text.strip() or not e.label.strip()]
    if empty:
        raise DataError(
            f"{data_file}: rows {', '.join(map(str, empty[:10]))} have an empty text or label.",
            hint="Fill or remove them (tuneforge data check FILE lists every problem).",
        )
    unseen = sorted({e.label for e in loaded.examples} - set(labels))
    if unseen:
        rows = [e.row for e in loaded.examples if e.label in set(unseen)][:10]
        raise DataError(
            f"{data_file}: labels {', '.join(map(repr, unseen[:10]))} (rows "
            f"{', '.join(map(str, rows))}) are not among the model's labels.",
            hint="Use data with the model's labels, or retrain with examples of them.",
        )
    return loaded.examples


def labelled_images(
    data_file: str | Path, labels: Sequence[str], **source_options
) -> list[ImageExample]:
    """Images of a labelled source (``source_options``: see ``read_images``), refusing an empty
    source and labels the model lacks; the first unreadable image stops with its name."""
    examples = read_images(data_file, **source_options).examples
    if not examples:
        raise DataError(f"{data_file} holds no labelled images.")
    unseen = sorted({e.label for e in examples} - set(labels))
    if unseen:
        named = [e.source if e.source != str(data_file) else f"row {e.row}" for e in examples]
        shown = [n for n, e in zip(named, examples) if e.label in set(unseen)][:5]
        raise DataError(
            f"{data_file}: labels {', '.join(map(repr, unseen[:10]))} (e.g. "
            f"{', '.join(shown)}) are not among the model's labels "
            f"({', '.join(map(repr, labels))}).",
            hint="Use data with the model's labels, or retrain with examples of them.",
        )
    return examples


def _table_image_paths(source: Path, image_column: str | None) -> list[str]:
    """The image-path column of a table: the one named, else one with a common name."""
    frame = read_table(source)
    columns = list(frame.columns)
    column = (
        require_column(columns, source, image_column, "--image-column")
        if image_column
        else pick_column(columns, IMAGE_COLUMNS, None)
    )
    if column is None:
        raise DataError(
            f"{source}: no image-path column among {', '.join(columns[:12])}.",
            hint="Pass --image-column.",
        )
    return [str(v).strip() for v in frame[column].tolist()]


def read_image_inputs(path: str | Path, image_column: str | None = None) -> list[str]:
    """Image paths to predict: every image in a folder (recursively, sorted), one image file,
    a list file (one path per line, relative to the list), or a table's image-path column."""
    source = Path(path)
    if source.is_dir():
        found = sorted(
            str(p) for p in source.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not found:
            raise DataError(
                f"Folder '{source}' holds no image files ({', '.join(IMAGE_SUFFIXES)})."
            )
        return found
    if not source.is_file():
        raise DataError(f"Input '{source}' does not exist.")
    if source.suffix.lower() in IMAGE_SUFFIXES:
        return [str(source)]
    suffixes = [s.lower() for s in source.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in TABLE_SUFFIXES:
        names = _table_image_paths(source, image_column)
    else:
        names = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
    return [str(source.parent / n) for n in names if n]


def check_image_paths(paths: Sequence[str]) -> None:
    """A DataError naming the inputs that are not files, before any model work starts."""
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise DataError(
            f"{len(missing)} input image(s) do not exist: {', '.join(missing[:10])}{more}.",
            hint="Check the paths (relative paths start from the current directory).",
        )


def read_texts(
    path: str | Path,
    text_column: str | None = None,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
) -> list[str]:
    """Texts from a file for prediction: a label column is optional here (the column is
    chosen by ``prediction_text_column``, as for a file streamed in chunks)."""
    frame = read_table(path, fmt, delimiter=delimiter)
    text_column = prediction_text_column(list(frame.columns), path, text_column, frame)
    return ["" if v is None else str(v) for v in frame[text_column].tolist()]
