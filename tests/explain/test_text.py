"""Word attributions for text models: integrated gradients on torch, occlusion on every runtime,
chosen and checked by the text task."""

from __future__ import annotations

import numpy as np
import pytest

from tuneforge.errors import ConfigError, DataError
from tuneforge.explain import TextExplanation, default_method
from tuneforge.explain.text import integrated_gradients_text, occlusion_text
from tuneforge.predict import OnnxPredictor, TorchPredictor, load_predictor
from tuneforge.tasks import TextTask, open_task

TEXT = "email issue with 7"  # one keyword: the account label's


@pytest.fixture(scope="module")
def torch_predictor(text_artifacts):
    return TorchPredictor.from_dir(text_artifacts["model"])


class CountingPredictor:
    """A predictor that counts its predict_proba calls and how many texts each carried."""

    task = "text"

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []

    @property
    def labels(self):
        return self.inner.labels

    def predict_proba(self, texts):
        self.calls.append(list(texts))
        return self.inner.predict_proba(texts)


def _probability(cm, ids, label: int) -> float:
    import torch

    with torch.no_grad():
        logits = cm.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    return float(torch.softmax(logits.float(), -1)[0, label])


def test_integrated_gradients_are_complete(torch_predictor, one_torch_thread):
    """The words' attributions add up to p(text) - p(baseline) for the explained class, the
    baseline being the text's [CLS]/[SEP] around pad tokens, within Captum's reported delta."""
    import torch

    cm = torch_predictor.cm
    e = integrated_gradients_text(cm, [TEXT], steps=48)[0]
    ids = cm.tokenizer(TEXT, return_tensors="pt")["input_ids"]
    baseline = torch.full_like(ids, cm.tokenizer.pad_token_id)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    label = cm.labels.names.index(e.label)
    change = _probability(cm, ids, label) - _probability(cm, baseline, label)
    total = sum(w.score for w in e.words)
    assert abs(e.delta) < 0.02
    assert total == pytest.approx(change, abs=abs(e.delta) + 1e-4)
    assert e.score == pytest.approx(_probability(cm, ids, label), abs=1e-5)


def test_batched_interpolation_steps_give_the_same_attributions(torch_predictor):
    """Running the steps 4 at a time (internal_batch_size) or all at once changes nothing."""
    cm = torch_predictor.cm
    whole = integrated_gradients_text(cm, [TEXT], steps=16)[0]
    batched = integrated_gradients_text(cm, [TEXT], steps=16, internal_batch_size=4)[0]
    np.testing.assert_allclose(
        [w.score for w in whole.words], [w.score for w in batched.words], atol=1e-5
    )


@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_scores_are_signed_for_the_target_label(torch_predictor, method):
    """The keyword pushes towards its own label (positive) and away from another (negative);
    asking for a target explains that label while still reporting the predicted one."""
    task = open_task(torch_predictor)
    [own] = task.explain(torch_predictor, [TEXT], method)
    [other] = task.explain(torch_predictor, [TEXT], method, target="billing")
    assert own.label == own.predicted == "account"
    assert other.label == "billing" and other.predicted == "account"
    score = {e.label: {w.word: w.score for w in e.words} for e in (own, other)}
    assert score["account"]["email"] > 0 > score["billing"]["email"]
    assert score["account"]["email"] == max(score["account"].values())
    assert other.score < own.score


def test_occlusion_sends_every_variant_in_one_call(torch_predictor):
    """All texts and all their one-word-less variants go to predict_proba together, and a
    word's score is the probability lost without it."""
    counting = CountingPredictor(torch_predictor)
    texts = [TEXT, "where is my parcel?"]
    out = occlusion_text(counting, texts, tokenizer=torch_predictor.cm.tokenizer, max_length=32)
    assert len(counting.calls) == 1
    assert len(counting.calls[0]) == 2 + 4 + 5  # each text, and each without one word
    probs = torch_predictor.predict_proba([TEXT, "issue with 7"])
    k = torch_predictor.labels.index(out[0].label)
    assert out[0].words[0].word == "email"
    assert out[0].words[0].score == pytest.approx(probs[0, k] - probs[1, k], abs=1e-6)


@pytest.mark.parametrize("variant,tolerance", [("onnx", 1e-4), ("int8", 0.05)])
def test_occlusion_on_onnx_matches_the_torch_model(
    text_artifacts, torch_predictor, variant, tolerance
):
    """The exported model (fp32 exactly, int8 closely) is explained like the torch model,
    through predict_proba alone, with the same words."""
    onnx = load_predictor(text_artifacts[variant])
    assert isinstance(onnx, OnnxPredictor) and default_method(onnx) == "occlusion"
    texts = [TEXT, "my parcel tracking number isn't working?"]
    task = open_task(onnx)
    exported = task.explain(onnx, texts)
    reference = task.explain(torch_predictor, texts, "occlusion")
    for a, b in zip(exported, reference):
        assert a.method == "occlusion" and a.label == b.label
        assert [w.word for w in a.words] == [w.word for w in b.words]
        np.testing.assert_allclose(
            [w.score for w in a.words], [w.score for w in b.words], atol=tolerance
        )


def test_torch_models_default_to_integrated_gradients(torch_predictor):
    """No method given: a torch model is explained by integrated gradients."""
    [e] = TextTask().explain(torch_predictor, [TEXT])
    assert isinstance(e, TextExplanation) and e.method == "ig" and e.delta is not None


def test_integrated_gradients_on_onnx_are_refused(text_artifacts):
    """ONNX has no gradients: asking for them says to use occlusion."""
    onnx = load_predictor(text_artifacts["onnx"])
    with pytest.raises(ConfigError, match="--method occlusion"):
        TextTask().explain(onnx, [TEXT], "ig")


@pytest.mark.parametrize(
    "texts,error,message",
    [
        (["fine", "   "], DataError, "Input 1: the text is empty"),
        (["\u200b"], DataError, "Input 0 .* tokenizes to nothing"),
        ([], DataError, "no texts given"),
        ([3], DataError, "Input 0: expected a text"),
    ],
)
@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_bad_texts_are_refused_by_name(torch_predictor, texts, error, message, method):
    """Empty texts, texts that tokenize to nothing, no texts and non-texts are errors that
    name the input, for both methods."""
    with pytest.raises(error, match=message):
        TextTask().explain(torch_predictor, texts, method)


def test_unknown_target_label_names_the_labels(torch_predictor):
    """A target the model does not know is refused with the labels it does know."""
    with pytest.raises(ConfigError, match=r"'refunds' is not one of .*'account', 'billing'"):
        TextTask().explain(torch_predictor, [TEXT], target="refunds")


def test_an_image_model_cannot_give_text_attributions(bar_artifacts):
    """The text task refuses an image runtime instead of feeding it texts."""
    images = load_predictor(bar_artifacts["model"])
    with pytest.raises(ConfigError, match="image model: it cannot give text attributions"):
        TextTask().explain(images, [TEXT])


def test_explanations_round_trip_through_json(torch_predictor):
    """to_dict/from_dict keep every field a view needs (JSON files, the report)."""
    [e] = TextTask().explain(torch_predictor, [TEXT], "occlusion")
    again = TextExplanation.from_dict(e.to_dict())
    assert again.text == e.text and again.label == e.label and again.method == "occlusion"
    assert [(w.word, w.start, w.end) for w in again.words] == [
        (w.word, w.start, w.end) for w in e.words
    ]
    assert [w.score for w in again.words] == pytest.approx([w.score for w in e.words], abs=1e-6)
