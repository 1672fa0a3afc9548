"""Model cards: the README.md of every saved model directory, as Hugging Face directories have.

A card says what the model predicts (its labels), what it is (task, base model, method,
precision, how much text or which image size it reads), how it was measured (data fingerprint,
split sizes, metrics with the number of test examples) and where not to trust it (the language
its encoder was pretrained on, truncation, the closed set of labels).

A directory states its own facts in tuneforge.json; what only a run knows (its data, metrics,
training precision) is passed in by the recipe that has it, as :func:`run_card_facts` builds
from the run's status and evaluation. Text that users chose (labels, names, paths) is escaped,
so it cannot add Markdown or HTML to the card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD_FILE = "README.md"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
COMPACT_CNN = "compact-cnn"  # what status.json records as an image run's model
# Models trained from scratch (no pretrained base, no transformers library): shown names.
FROM_SCRATCH = {
    COMPACT_CNN: "tuneforge's compact CNN, trained from scratch",
    "tfidf-linear": "character n-gram TF-IDF with a linear SVM (scikit-learn), from scratch",
    "char-cnn": "tuneforge's compact character CNN, trained from scratch",
}
LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "zh": "Chinese",
    "ja": "Japanese",
    "multilingual": "many languages",
}
# Characters with a meaning in Markdown (or HTML, or the math of some renderers) inside a line.
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#|!~$&")
RUN_KEYS = ("data_fingerprint", "precision", "task", "n_train", "n_val", "n_test", "seed")


def markdown_escape(value: Any) -> str:
    """``value`` as literal Markdown text on one line: special characters backslash-escaped,
    line breaks and tabs folded to spaces (they would end a table row or a paragraph)."""
    text = " ".join(str(value).split())
    return "".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text)


def run_card_facts(status: dict, evaluation: dict | None = None, **extra: Any) -> dict:
    """Card facts from a run's status.json and eval.json contents (``extra`` on top: method,
    variant, parity, ...)."""
    facts: dict[str, Any] = {key: status.get(key) for key in RUN_KEYS}
    facts["name"] = status.get("run_id")
    facts["base_model"] = status.get("model_dir")
    private = status.get("privacy")
    if isinstance(private, dict) and private.get("epsilon") is not None:
        facts["privacy"] = private  # a DP run's ε spent and δ (train --privacy dp)
    if evaluation:
        facts["metrics"] = {k: evaluation.get(k) for k in ("split", "n", "accuracy", "macro_f1")}
    facts.update(extra)
    return {key: value for key, value in facts.items() if value is not None}


def directory_facts(model_dir: Path) -> dict:
    """What a saved directory says about itself (tuneforge.json, the CNN's or adapter's config)."""
    meta_path = model_dir / "tuneforge.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    except (OSError, ValueError):
        meta = {}
    keys = ("labels", "max_length", "method", "base_model", "variant", "format", "image_shape")
    facts = {key: meta[key] for key in keys if meta.get(key) is not None}
    facts["task"] = meta.get("task", "text")
    if (model_dir / "cnn_config.json").is_file():
        facts["base_model"] = COMPACT_CNN
    facts["adapter"] = (model_dir / "adapter_config.json").is_file()
    facts["onnx"] = (model_dir / "model.onnx").is_file()
    temperature = _temperature(model_dir)
    if temperature is not None:
        facts["temperature"] = temperature
    return facts


def _temperature(model_dir: Path) -> float | None:
    """The fitted temperature of calibration.json beside the model (None: none, or unreadable:
    a card is never the place that fails on it)."""
    from ..store.rundir import artifact_calibration_path

    try:
        record = json.loads(artifact_calibration_path(model_dir).read_text(encoding="utf-8"))
        return float(record["temperature"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_model_card(model_dir: str | Path, facts: dict | None = None) -> Path:
    """Write ``model_dir/README.md`` from the directory's own facts and ``facts``.

    ``facts`` (all optional): name, task, labels, base_model (a directory, ``default`` or
    ``compact-cnn``), language, method, precision (of training), max_length, data_fingerprint,
    n_train/n_val/n_test, metrics ({split, n, accuracy, macro_f1}), variant, parity
    ({agreement, max_abs_prob_diff, n}), privacy ({epsilon, delta} of a DP run). Given facts
    win over the directory's.
    """
    model_dir = Path(model_dir)
    merged = {**directory_facts(model_dir)}
    merged.update({k: v for k, v in (facts or {}).items() if v is not None})
    path = model_dir / CARD_FILE
    path.write_text(render_card(merged), encoding="utf-8")
    return path


def render_card(facts: dict) -> str:
    """The card's Markdown for ``facts`` (see :func:`write_model_card`)."""
    base = describe_base(facts)
    parts = [
        _front_matter(facts, base["code"]),
        _title(facts),
        _labels(facts.get("labels") or []),
        _model_table(facts, base["name"]),
        _evaluation(facts),
        _limits(facts, base),
        _usage(facts),
    ]
    return "\n".join(part for part in parts if part)


def describe_base(facts: dict) -> dict:
    """The base model's shown name and its pretraining language (name and code), if known."""
    ref = facts.get("base_model")
    found = {"name": None, "language": facts.get("language"), "code": None}
    if not ref:
        return found
    if ref in FROM_SCRATCH:
        return {**found, "name": FROM_SCRATCH[ref], "scratch": True}
    path = _base_dir(str(ref))
    default = _default_dir()
    is_default = path is not None and default is not None and path.resolve() == default.resolve()
    found["name"] = f"{DEFAULT_MODEL_NAME} (tuneforge's default)" if is_default else str(ref)
    if found["language"] is None and path is not None:
        found["code"] = encoder_language_code(path)
        found["language"] = LANGUAGES.get(found["code"] or "", found["code"])
    return found


def _default_dir() -> Path | None:
    from ..errors import ModelError
    from .load import default_model_dir

    try:
        return default_model_dir()
    except ModelError:
        return None


def _base_dir(ref: str) -> Path | None:
    from .load import DEFAULT_NAMES

    path = _default_dir() if ref in DEFAULT_NAMES else Path(ref)
    return path if path is not None and path.is_dir() else None


def encoder_language_code(model_dir: Path) -> str | None:
    """The ``language`` its own model card (README.md front matter) gives a pretrained model,
    as a code (``en``); the first of several; None when it states none."""
    import yaml

    card = model_dir / CARD_FILE
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    try:
        meta = yaml.safe_load(text.split("---", 2)[1])
    except (yaml.YAMLError, IndexError):
        return None
    language = meta.get("language") if isinstance(meta, dict) else None
    if isinstance(language, list):
        language = language[0] if language else None
    return str(language) if isinstance(language, str) and language.strip() else None


def _front_matter(facts: dict, code: str | None) -> str:
    image = facts.get("task") == "image"
    lines = ["---"]
    if facts.get("adapter"):
        lines.append("library_name: peft")
    elif facts.get("base_model") not in FROM_SCRATCH:
        lines.append("library_name: transformers")
    lines.append(f"pipeline_tag: {'image' if image else 'text'}-classification")
    if code and code.isascii() and code.isalpha() and len(code) <= 12:
        lines.append(f"language: {code.lower()}")
    lines += ["tags:", "- tuneforge", *(["- onnx"] if facts.get("onnx") else []), "---", ""]
    return "\n".join(lines)


def _title(facts: dict) -> str:
    kind = "image" if facts.get("task") == "image" else "text"
    name = facts.get("name")
    title = f"# {markdown_escape(name)}" if name else f"# A tuneforge {kind} classifier"
    variant = facts.get("variant")
    what = f"the {markdown_escape(variant)} release variant of " if variant else ""
    return f"{title}\n\nThis directory holds {what}a {kind} classifier trained with tuneforge.\n"


def _labels(labels: list) -> str:
    if not labels:
        return ""
    rows = [f"| {i} | {markdown_escape(label) or '(empty)'} |" for i, label in enumerate(labels)]
    return "\n".join(["## Labels", "", "| id | label |", "|---:|---|", *rows, ""])


def _model_table(facts: dict, base_name: str | None) -> str:
    rows = []
    if base_name:
        rows.append(("base model", markdown_escape(base_name)))
    if facts.get("method") and facts.get("base_model") not in FROM_SCRATCH:
        rows.append(("fine-tuning method", _method(facts)))
    if facts.get("precision"):
        rows.append(("training precision", markdown_escape(facts["precision"])))
    if facts.get("variant"):
        rows.append(("weights", markdown_escape(facts["variant"])))
    if facts.get("max_length"):
        rows.append(("max length", f"{int(facts['max_length'])} tokens"))
    if facts.get("image_shape"):
        rows.append(("input size", "×".join(str(int(v)) for v in facts["image_shape"])))
    if facts.get("data_fingerprint"):
        rows.append(("data fingerprint", markdown_escape(facts["data_fingerprint"])))
    sizes = [facts.get(f"n_{split}") for split in ("train", "val", "test")]
    if any(size is not None for size in sizes):
        shown = " / ".join("?" if size is None else str(int(size)) for size in sizes)
        rows.append(("train / validation / test examples", shown))
    if facts.get("seed") is not None:
        rows.append(("seed", str(int(facts["seed"]))))
    if facts.get("privacy"):
        rows.append(("differential privacy", _privacy(facts["privacy"])))
    if not rows:
        return ""
    table = [f"| {key} | {value} |" for key, value in rows]
    return "\n".join(["## Model", "", "| | |", "|---|---|", *table, ""])


def _privacy(privacy: dict) -> str:
    """ε and δ of a DP-trained model, and what they protect."""
    eps, delta = float(privacy["epsilon"]), float(privacy.get("delta") or 0)
    return (
        f"DP-SGD, ε = {eps:.3g}, δ = {delta:.2g}: protects the training examples, not the "
        "inputs sent to the model"
    )


def _method(facts: dict) -> str:
    """The method, and whether its adapter was merged: an adapter method in a directory that
    is not an adapter was merged into the base weights."""
    shown = markdown_escape(facts["method"])
    if facts["method"] != "full" and not facts.get("adapter"):
        shown += " (merged into the base weights)"
    return shown


def _evaluation(facts: dict) -> str:
    metrics, parity, lines = facts.get("metrics"), facts.get("parity"), []
    if metrics:
        whose = " of the trained model" if facts.get("variant") else ""
        lines += [f"## Evaluation{whose}", "", "| split | examples | accuracy | macro-F1 |"]
        lines += ["|---|---:|---:|---:|", _metric_row(metrics), ""]
    if parity:
        lines += [
            "## Agreement with the trained model",
            "",
            f"This variant predicts the trained model's label on {_share(parity.get('agreement'))} "
            f"of {parity.get('n', '?')} held-out examples; its probabilities differ by at most "
            f"{_number(parity.get('max_abs_prob_diff'), '.2e')}.",
            "",
        ]
    return "\n".join(lines)


def _metric_row(metrics: dict) -> str:
    split = markdown_escape(metrics.get("split") or "test")
    n = metrics.get("n")
    return (
        f"| {split} | {'?' if n is None else int(n)} | {_number(metrics.get('accuracy'))} | "
        f"{_number(metrics.get('macro_f1'))} |"
    )


def _number(value: Any, spec: str = ".4f") -> str:
    return format(float(value), spec) if isinstance(value, (int, float)) else "?"


def _share(value: Any) -> str:
    return f"{100 * float(value):.2f}%" if isinstance(value, (int, float)) else "?"


def _limits(facts: dict, base: dict) -> str:
    items = []
    if base.get("scratch") and facts.get("task") != "image":
        items.append(
            "It was trained from scratch on this data's characters only: text of another "
            "language or domain shares few of them and will score lower."
        )
    elif facts.get("task") != "image" and base["name"]:
        if base["language"]:
            items.append(
                f"The base model was pretrained on {markdown_escape(base['language'])} text; "
                "expect lower accuracy on text in other languages."
            )
        else:
            items.append(
                "The language(s) the base model was pretrained on are not recorded in its "
                "directory; check its own model card before using this model on other text."
            )
    if facts.get("max_length"):
        items.append(
            f"Only the first {int(facts['max_length'])} tokens of a text are read; the rest is "
            "ignored (tokenizer_config.json states the same limit)."
        )
    if facts.get("image_shape"):
        shape = "×".join(str(int(v)) for v in facts["image_shape"][:2])
        items.append(f"Images are resized to {shape} pixels before prediction.")
    labels = facts.get("labels") or []
    if labels:
        items.append(
            f"It always answers with one of its {len(labels)} labels, also for inputs that "
            "belong to none of them."
        )
    if facts.get("metrics"):
        items.append(
            "The metrics were measured on held-out examples of the training data; other data "
            "(another source, period or wording) may score lower."
        )
    return "\n".join(["## Limits", "", *(f"- {item}" for item in items), ""]) if items else ""


def _usage(facts: dict) -> str:
    image = facts.get("task") == "image"
    lines = ["## Use", "", "```python"]
    scratch = facts.get("base_model") in FROM_SCRATCH
    if not image and not scratch and not facts.get("adapter") and not facts.get("onnx"):
        lines += [
            "from transformers import pipeline",
            "",
            'classifier = pipeline("text-classification", model="path/to/this/directory",',
            "                      truncation=True)",
            "",
        ]
    example = '["path/to/image.png"]' if image else '["some text"]'
    lines += [
        "from tuneforge.predict import load_predictor",
        "",
        'predictor = load_predictor("path/to/this/directory")',
        f"predictor.predict({example})",
        "```",
        "",
    ]
    if isinstance(facts.get("temperature"), (int, float)):
        lines += [
            f"tuneforge's predictors divide the logits by the temperature "
            f"{facts['temperature']:.4f} of `calibration.json` (fitted on validation data) "
            "before the softmax; other runtimes give uncalibrated probabilities unless they do "
            "the same (`softmax(logits / T)`).",
            "",
        ]
    return "\n".join(lines)
