"""The global view: the words that most often push texts towards each label."""

from __future__ import annotations

from tuneforge.explain import TextExplanation, WordAttribution, summarize


def _explained(label: str, *words: tuple[str, float]) -> TextExplanation:
    attributions = tuple(WordAttribution(w, s) for w, s in words)
    return TextExplanation(" ".join(w for w, _ in words), label, 0.9, attributions, "ig")


def test_words_are_ranked_by_how_often_they_push_towards_the_label():
    """Count first, then mean attribution; words compare lower-cased; labels with the most
    texts come first."""
    summaries = summarize(
        [
            _explained("billing", ("Refund", 0.5), ("invoice", 0.4)),
            _explained("billing", ("refund", 0.3), ("charge", 0.9)),
            _explained("billing", ("invoice", 0.2), ("refund", 0.1)),
            _explained("account", ("login", 0.7)),
        ]
    )
    assert [(s.label, s.n_texts) for s in summaries] == [("billing", 3), ("account", 1)]
    billing = [(w.word, w.count, round(w.mean, 3)) for w in summaries[0].words]
    assert billing == [("refund", 3, 0.3), ("invoice", 2, 0.3), ("charge", 1, 0.9)]


def test_negative_negligible_and_punctuation_words_do_not_count():
    """A word pushes only with a positive score of at least a tenth of its text's strongest;
    bare punctuation is never a reason."""
    [summary] = summarize(
        [_explained("shipping", ("parcel", 0.8), ("my", 0.01), ("late", -0.9), ("?", 0.5))]
    )
    assert [w.word for w in summary.words] == ["parcel"]


def test_top_limits_the_words_per_label():
    """Only the ``top`` strongest words of each label are kept."""
    words = [(f"w{i}", 0.1 + i / 100) for i in range(20)]
    [summary] = summarize([_explained("a", *words)], top=3)
    assert [w.word for w in summary.words] == ["w19", "w18", "w17"]
    assert summary.to_dict()["words"][0] == {"word": "w19", "count": 1, "mean": 0.29}
