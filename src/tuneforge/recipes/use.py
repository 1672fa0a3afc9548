"""Use a finished run: evaluate it on labelled data, predict texts or images.

A text run takes labelled tables and texts; an image run takes labelled image sources (folders,
path tables, IDX files, pixel CSVs) and image files. Which one a run is comes from its saved
model, so the commands are the same for both.
"""

from __future__ import annotations

from pathlib import Path

from ..data import load_examples, read_table
from ..data.sources import resolve_columns
from ..errors import DataError, RunError
from ..evaluate import EvalReport, evaluate
from ..predict import ImagePredictor, Predictor, load_predictor
from ..store import RunDir, resolve_run
from ..types import Prediction


def run_model_dir(run: RunDir) -> Path:
    """The saved model of a run (a plain model directory, the adapter itself for methods
    that cannot merge, or a saved image CNN), or a clear error when the run has none."""
    model_dir = run.model_dir
    markers = ("config.json", "adapter_config.json", "cnn_config.json")
    if not any((model_dir / name).is_file() for name in markers):
        state = run.status().get("state", "unknown")
        raise RunError(
            f"Run '{run.run_id}' has no saved model in {model_dir} (state: {state}).",
            hint="Pick a succeeded run (tuneforge runs list), or resume this one with --resume.",
        )
    return model_dir


def resolve_model(ref: str, runs_dir: Path) -> tuple[RunDir, Path]:
    """A run id, run directory or registry reference ``NAME@stage`` → (run, artifact dir)."""
    if "@" in ref and not Path(ref).exists():
        from ..store import Registry, RunStore, default_store_url

        name, stage = ref.rsplit("@", 1)
        store = RunStore(default_store_url(runs_dir))
        version = Registry(store).resolve(name, stage)
        record = store.get(version.run_id)
        run = RunDir(Path(record.run_dir)) if record else RunDir(Path(version.artifact).parents[1])
        return run, Path(version.artifact)
    run = resolve_run(ref, runs_dir)
    return run, run_model_dir(run)


def load_run_predictor(ref: str, runs_dir: Path) -> tuple[RunDir, Predictor]:
    run, artifact = resolve_model(ref, runs_dir)
    return run, load_predictor(artifact)


def evaluate_run(
    ref: str,
    runs_dir: Path,
    data_file: str,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
    *,
    image_column: str | None = None,
    image_shape: str | None = None,
    labels_file: str | None = None,
) -> tuple[EvalReport, Path]:
    """Evaluate a run's model on labelled data; writes ``eval-<file stem>.json`` in the run.

    For an image run ``data_file`` is any image source; options not given (the image column,
    a pixel CSV's shape) default to those the run was trained with."""
    run, predictor = load_run_predictor(ref, runs_dir)
    if isinstance(predictor, ImagePredictor):
        trained = _run_data_config(run)
        examples = labelled_images(
            data_file,
            predictor.labels,
            image_column=image_column or trained.get("image_column"),
            label_column=label_column,
            shape=image_shape or trained.get("image_shape"),
            labels_path=labels_file,
        )
    else:
        examples = labelled_examples(data_file, predictor.labels, text_column, label_column, fmt)
    report = evaluate(predictor, examples, split=Path(data_file).name, source=data_file)
    stem = Path(data_file).name.split(".")[0]
    out = run.path / f"eval-{stem}.json"
    run.write_json(out.name, report.to_dict())
    return report, out


def labelled_examples(
    data_file: str,
    labels,
    text_column: str | None = None,
    label_column: str | None = None,
    fmt: str | None = None,
) -> list:
    """Examples of a labelled file, refusing empty texts/labels and labels the model lacks."""
    loaded = load_examples(data_file, text_column, label_column, fmt)
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


def _run_data_config(run: RunDir) -> dict:
    """The ``data`` section of the run's config.yaml ({} when it cannot be read)."""
    import yaml

    try:
        data = yaml.safe_load(run.config_path.read_text(encoding="utf-8")).get("data")
    except (OSError, AttributeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def labelled_images(data_file: str, labels, **source_options) -> list:
    """Images of a labelled source (``source_options``: see ``read_images``), refusing labels
    the model lacks; the first unreadable image stops with its name."""
    from ..data import read_images

    examples = read_images(data_file, **source_options).examples
    if not examples:
        raise DataError(f"{data_file}: no labelled images to evaluate.")
    unseen = sorted({e.label for e in examples} - set(labels))
    if unseen:
        named = [e.source if e.source != data_file else f"row {e.row}" for e in examples]
        shown = [n for n, e in zip(named, examples) if e.label in set(unseen)][:5]
        raise DataError(
            f"{data_file}: labels {', '.join(map(repr, unseen[:10]))} (e.g. "
            f"{', '.join(shown)}) are not among the model's labels "
            f"({', '.join(map(repr, labels))}).",
            hint="Use data with the model's labels, or retrain with examples of them.",
        )
    return examples


def read_image_inputs(path: str, image_column: str | None = None) -> list[str]:
    """Image paths to predict: every image in a folder (recursively, sorted), one image file,
    a list file (one path per line, relative to the list), or a table's image-path column."""
    from ..data.images import IMAGE_COLUMNS, IMAGE_SUFFIXES
    from ..data.sources import FORMATS, _pick, _require

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
    if suffixes and suffixes[-1] in FORMATS:
        frame = read_table(source)
        columns = list(frame.columns)
        column = (
            _require(columns, source, image_column, "--image-column")
            if image_column
            else _pick(columns, IMAGE_COLUMNS, None)
        )
        if column is None:
            raise DataError(
                f"{source}: no image-path column among {', '.join(columns[:12])}.",
                hint="Pass --image-column.",
            )
        names = [str(v).strip() for v in frame[column].tolist()]
    else:
        names = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
    return [str(source.parent / n) for n in names if n]


def _check_image_paths(paths: list[str]) -> None:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise DataError(
            f"{len(missing)} input image(s) do not exist: {', '.join(missing[:10])}{more}.",
            hint="Check the paths (relative paths start from the current directory).",
        )


def predict_run(
    ref: str,
    runs_dir: Path,
    inputs: list[str],
    input_file: str | None = None,
    *,
    text_column: str | None = None,
    image_column: str | None = None,
    fmt: str | None = None,
    top_k: int = 1,
) -> tuple[list[str], list[Prediction], bool]:
    """Predict ``inputs`` plus those read from ``input_file``: texts for a text run, image
    paths for an image run. Returns the inputs, their predictions and whether they are images."""
    run, predictor = load_run_predictor(ref, runs_dir)
    image = isinstance(predictor, ImagePredictor)
    inputs = list(inputs)
    if input_file:
        inputs += (
            read_image_inputs(input_file, image_column)
            if image
            else read_texts(input_file, text_column, fmt)
        )
    if not inputs:
        what = "image files" if image else "texts"
        raise DataError(f"Nothing to predict: no {what} given and none read from the input.")
    if image:
        _check_image_paths(inputs)
    return inputs, predictor.predict(inputs, top_k=top_k), image


def read_texts(path: str, text_column: str | None, fmt: str | None) -> list[str]:
    """Texts from a file for prediction: a label column is optional here."""
    frame = read_table(path, fmt)
    if text_column is None:
        try:
            text_column, _ = resolve_columns(frame, path, None, None)
        except DataError:
            text_column = "text" if "text" in frame.columns else str(frame.columns[0])
    else:
        resolve_columns(frame, path, text_column, text_column)
    return ["" if v is None else str(v) for v in frame[text_column].tolist()]


def predict_texts(
    ref: str, runs_dir: Path, texts: list[str], top_k: int = 1
) -> tuple[RunDir, list[Prediction]]:
    run, predictor = load_run_predictor(ref, runs_dir)
    return run, predictor.predict(texts, top_k=top_k)
