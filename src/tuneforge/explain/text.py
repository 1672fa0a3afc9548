"""Word attributions for text classifiers: occlusion on any runtime, integrated gradients on
torch models.

Both explain the probability of one class (the predicted one unless a target is given), so
their scores share a unit: a word's score is roughly how much of that probability it brings.

- **Occlusion** drops one word at a time and measures the fall of the probability. Every
  variant of every text goes to the predictor in one ``predict_proba`` call (which batches
  them), and nothing but ``predict_proba`` is used, so the int8 ONNX model that production
  serves is explained exactly as the torch model is.
- **Integrated gradients** (Captum's ``LayerIntegratedGradients`` over the word embeddings)
  integrate the gradient from a baseline — the same text with every word replaced by the pad
  token, [CLS] and [SEP] kept — to the text; the interpolation steps run as batches of
  ``internal_batch_size``. Attributions add up to the change of the probability from the
  baseline (completeness), up to the reported ``delta``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..types import Predictor
from .methods import explained_class
from .results import TextExplanation, WordAttribution
from .words import TokenizedText, check_text, merge_token_scores, tokenize_words, without_word

# Gauss-Legendre steps. Measured with a fine-tuned MiniLM: against 64 steps on 30 texts, 12
# steps keep the completeness gap under 0.002 of a probability and the top word of every text;
# on 100 BANKING77 texts, 13-20 steps give the 32-step comprehensiveness and sufficiency within
# their noise (docs/benchmarks.md) at 120-150 ms for a 15-word sentence on 2 cores (32: 240 ms).
IG_STEPS = 14


def _attributions(tokens: TokenizedText, scores: Sequence[float]) -> tuple[WordAttribution, ...]:
    return tuple(
        WordAttribution(tokens.word_text(w), float(s), w.start, w.end)
        for w, s in zip(tokens.words, scores)
    )


def occlusion_text(
    predictor: Predictor,
    texts: Sequence[str],
    target: int | None = None,
    *,
    tokenizer: Any = None,
    max_length: int = 512,
) -> list[TextExplanation]:
    """Per word, the explained class's probability on the text minus on the text without that
    word (positive: the word pushes towards the class). ``tokenizer`` only splits words."""
    tokenized = [
        tokenize_words(tokenizer, check_text(i, t), max_length, i) for i, t in enumerate(texts)
    ]
    variants: list[str] = []
    for tokens in tokenized:
        variants.append(tokens.text)
        variants += [without_word(tokens.text, w) for w in tokens.words]
    probs = np.asarray(predictor.predict_proba(variants), dtype=np.float64)
    labels = predictor.labels
    out, row = [], 0
    for tokens in tokenized:
        full, dropped = probs[row], probs[row + 1 : row + 1 + len(tokens.words)]
        row += 1 + len(tokens.words)
        k = explained_class(full, target)
        scores = full[k] - dropped[:, k]
        out.append(
            TextExplanation(
                tokens.text,
                labels[k],
                float(full[k]),
                _attributions(tokens, scores),
                "occlusion",
                predicted=labels[int(np.argmax(full))],
            )
        )
    return out


def integrated_gradients_text(
    cm: Any,
    texts: Sequence[str],
    target: int | None = None,
    *,
    steps: int = IG_STEPS,
    internal_batch_size: int | None = None,
    temperature: float = 1.0,
) -> list[TextExplanation]:
    """Layer integrated gradients on ``cm.model``'s word embeddings (``cm``: a loaded text
    classifier with its tokenizer), one text at a time, ``steps`` interpolation points run in
    batches of ``internal_batch_size`` (default: all at once). ``temperature``: the
    predictor's, so the explained probability is the one ``predict`` gives."""
    import torch
    from captum.attr import LayerIntegratedGradients

    model = cm.model
    model.eval()

    def probabilities(input_ids, attention_mask):
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
        return torch.softmax(logits.float() / temperature, dim=-1)

    explainer = LayerIntegratedGradients(probabilities, model.get_input_embeddings())
    pad_id = cm.tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    out = []
    for i, text in enumerate(texts):
        tokens = tokenize_words(cm.tokenizer, check_text(i, text), cm.max_length, i)
        ids = torch.tensor([tokens.ids], dtype=torch.long, device=device)
        special = torch.tensor([tokens.special], dtype=torch.bool, device=device)
        baseline = torch.where(special, ids, torch.full_like(ids, pad_id))
        mask = torch.ones_like(ids)
        with torch.enable_grad():
            with torch.no_grad():
                full = probabilities(ids, mask)[0].cpu().numpy().astype(np.float64)
            k = explained_class(full, target)
            attributions, delta = explainer.attribute(
                ids,
                baselines=baseline,
                additional_forward_args=(mask,),
                target=k,
                n_steps=steps,
                internal_batch_size=internal_batch_size or steps,
                return_convergence_delta=True,
            )
        token_scores = attributions.sum(dim=-1)[0].detach().float().cpu().numpy()
        out.append(
            TextExplanation(
                tokens.text,
                cm.labels.names[k],
                float(full[k]),
                _attributions(tokens, merge_token_scores(tokens, token_scores)),
                "ig",
                predicted=cm.labels.names[int(np.argmax(full))],
                delta=float(delta.reshape(-1)[0]),
            )
        )
    return out
