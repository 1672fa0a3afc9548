"""Model cards: every saved model directory carries a README.md that states the model's facts
and limits, and user text in it stays text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tuneforge.config import ModelConfig
from tuneforge.methods import save_trained
from tuneforge.models import default_model_dir, load_model
from tuneforge.models.card import markdown_escape, run_card_facts, write_model_card
from tuneforge.types import LabelMap

HOSTILE = ["a|b", "*bold* _it_", "<script>alert(1)</script>", "[x](http://e.test)", "two\nlines"]


def _html(card: Path) -> str:
    return MarkdownIt("commonmark").enable("table").render(card.read_text())


def _label_dir(tmp_path: Path, labels: list[str], **meta) -> Path:
    out = tmp_path / "model"
    out.mkdir()
    (out / "tuneforge.json").write_text(json.dumps({"labels": labels, "max_length": 64, **meta}))
    return out


def test_user_text_in_a_card_is_escaped(tmp_path):
    """Labels and names chosen by users render as literal text: no HTML, link, emphasis or
    extra table cell comes out of them, and the label table keeps one row per label."""
    out = _label_dir(tmp_path, HOSTILE)
    card = write_model_card(out, {"name": "run `x` <b>", "data_fingerprint": "|#|"})
    html = _html(card)
    assert "<script>" not in html and "<a " not in html and "<em>" not in html
    assert "<b>" not in html and "<code>x" not in html
    label_rows = html.split("<th>label</th>")[1].split("</table>")[0].count("<tr>")
    assert label_rows == len(HOSTILE)
    assert "<td>a|b</td>" in html
    assert "<td>two lines</td>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_escape_keeps_plain_text():
    """Ordinary words, digits and hyphens pass unchanged; specials are backslashed."""
    assert markdown_escape("all-MiniLM-L6-v2 e.g. 1.5") == "all-MiniLM-L6-v2 e.g. 1.5"
    assert markdown_escape("a_b*c") == "a\\_b\\*c"


def test_a_run_card_states_data_metrics_method_precision_base_and_language(tmp_path):
    """The facts a run knows reach the card: data fingerprint, metrics with the test size,
    method, precision, base model, and the language the default encoder was trained on."""
    out = _label_dir(tmp_path, ["billing", "shipping"])
    status = {
        "run_id": "tickets-v1",
        "data_fingerprint": "28ca7b28f8c5e665",
        "precision": "bf16",
        "model_dir": str(default_model_dir()),
        "task": "text",
        "n_train": 96,
        "n_val": 12,
        "n_test": 12,
    }
    evaluation = {"split": "test", "n": 12, "accuracy": 0.9166, "macro_f1": 0.9, "labels": []}
    card = write_model_card(out, run_card_facts(status, evaluation, method="lora")).read_text()
    assert card.startswith("---\nlibrary_name: transformers\npipeline_tag: text-classification")
    assert "language: en" in card.split("---")[1]
    for fact in ("28ca7b28f8c5e665", "bf16", "all-MiniLM-L6-v2", "96 / 12 / 12", "English"):
        assert fact in card, fact
    assert "| test | 12 | 0.9166 | 0.9000 |" in card
    assert "lora (merged into the base weights)" in card
    assert "first 64 tokens" in card


@pytest.mark.parametrize("method", ["full", "lora"])
def test_saved_models_carry_a_card(tiny_model_dir, tmp_path, method):
    """save_trained (runs and TextClassifier.save) writes a card into the model directory and
    the adapter directory: labels, method, base model, and that the base model's language is
    unknown when its directory does not say."""
    from tuneforge.config import MethodConfig
    from tuneforge.methods import apply_method

    cm = load_model(ModelConfig(name=str(tiny_model_dir), max_length=32), LabelMap(("x", "y")))
    cm = apply_method(cm, MethodConfig(name=method), 10)
    save_trained(cm, tmp_path / "model", tmp_path / "adapter")
    card = (tmp_path / "model" / "README.md").read_text()
    assert "| 0 | x |" in card and "| 1 | y |" in card
    assert markdown_escape(str(tiny_model_dir)) in card and method in card
    assert "not recorded" in card
    assert (tmp_path / "adapter" / "README.md").is_file() == (method != "full")


def test_an_image_model_card_names_the_cnn_and_its_input_size(tmp_path):
    """The compact CNN's card is an image-classification card: no transformers library, the
    CNN as its base, the input size it resizes images to, no text-only limits."""
    from tuneforge.models.cnn import save_cnn

    from ..tiny_images import bar_images, train_tiny_cnn

    out = save_cnn(train_tiny_cnn(bar_images(8), steps=1), tmp_path / "cnn")
    card = (out / "README.md").read_text()
    assert "pipeline_tag: image-classification" in card and "library_name" not in card
    assert "compact CNN, trained from scratch" in card and "| input size | 8×8×1 |" in card
    assert "resized to 8×8 pixels" in card and "tokens" not in card
    assert "fine-tuning method" not in card


def test_a_model_trained_from_scratch_is_not_called_a_transformers_fine_tune(tmp_path):
    """tfidf-linear and char-cnn cards name the model family, claim no transformers library or
    pipeline snippet, and say the model knows only its training data's characters."""
    from tuneforge.models.card import render_card

    card = render_card({"task": "text", "base_model": "tfidf-linear", "labels": ["好", "差"]})
    assert "character n-gram TF-IDF" in card and "trained from scratch" in card
    assert "library_name: transformers" not in card and "pipeline(" not in card
