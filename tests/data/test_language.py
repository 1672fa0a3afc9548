"""Scripts and tokenizer coverage: Chinese through the packaged English vocabulary is flagged
(as is a Chinese/English mix), English is not; the baseline reads text without spaces by
characters."""

from __future__ import annotations

import json
import random

import pytest

from tuneforge.cli import main
from tuneforge.data.language import (
    coverage_warning,
    is_spaceless,
    script_shares,
    tokenizer_coverage,
)
from tuneforge.evaluate.baseline import tfidf_baseline
from tuneforge.types import Example

from ..conftest import write_csv

POSITIVE = ["味道很好", "送餐很快", "非常好吃", "服务周到", "分量很足", "下次还点"]
NEGATIVE = ["太难吃了", "送得太慢", "菜都凉了", "服务很差", "分量太少", "再也不点"]


@pytest.fixture(scope="module")
def minilm_tokenizer():
    from tuneforge.models import load_tokenizer
    from tuneforge.models.load import default_model_dir

    return load_tokenizer(default_model_dir())


def _reviews(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = POSITIVE if i % 2 else NEGATIVE
        rows.append(
            {"text": "".join(rng.sample(words, 3)) + "。", "label": "pos" if i % 2 else "neg"}
        )
    return rows


def test_script_shares_count_letters_only_and_see_a_mix():
    """Digits and punctuation are no script; a Chinese/English ticket shows both."""
    assert script_shares(["Hello, world 42!"]) == {"Latin": 1.0}
    mixed = script_shares(["退款 refund"])
    assert set(mixed) == {"CJK", "Latin"} and mixed["Latin"] == pytest.approx(6 / 8)
    assert script_shares(["Привет мир"]) == {"Cyrillic": 1.0}
    assert script_shares(["123 ..."]) == {}
    assert is_spaceless(script_shares(["味道很好，送餐很快"])) and not is_spaceless(mixed)


def test_chinese_through_an_english_vocabulary_is_poor_coverage(minilm_tokenizer):
    """MiniLM cuts Chinese into single characters (or unknown tokens): poor, with a warning
    naming the figures; its own English is covered."""
    chinese = [r["text"] for r in _reviews(20)]
    cov = tokenizer_coverage(minilm_tokenizer, chinese)
    assert cov.poor and cov.single_char_share > 0.9
    warning = coverage_warning(script_shares(chinese), cov, "default")
    assert "does not cover this text's language (letters: CJK 100%)" in warning
    english = ["where is my parcel", "my card was charged twice", "reset my password"]
    covered = tokenizer_coverage(minilm_tokenizer, english)
    assert not covered.poor and covered.single_char_share < 0.1
    assert coverage_warning(script_shares(english), covered, "default") is None


def test_a_half_chinese_ticket_is_judged_on_the_whole_mix(minilm_tokenizer):
    """Half the letters Chinese: the single-character share is about half."""
    cov = tokenizer_coverage(minilm_tokenizer, ["refund 退款退款"])
    assert 0.3 < cov.single_char_share < 0.7


def test_the_baseline_reads_text_without_spaces_by_characters():
    """Chinese reviews get the character n-gram baseline, which learns them."""
    rows = _reviews(120)
    train = [Example(r["text"], r["label"], i) for i, r in enumerate(rows[:100])]
    test = [Example(r["text"], r["label"], i) for i, r in enumerate(rows[100:])]
    result = tfidf_baseline(train, test)
    assert result["name"] == "tfidf-char-linear-svm" and result["accuracy"] >= 0.9
    english = [Example(f"word {i}", "a" if i % 2 else "b", i) for i in range(20)]
    assert tfidf_baseline(english, english)["name"] == "tfidf-linear-svm"


def test_data_check_reports_scripts_and_warns_on_poor_coverage(tmp_path, capsys):
    """data check prints the scripts and coverage, warns naming the encoder, and carries both
    in --json; the warning does not block."""
    data = write_csv(tmp_path / "zh.csv", _reviews(40))
    assert main(["data", "check", str(data)]) == 0
    out = capsys.readouterr().out
    assert "scripts    CJK 100.0% (of letters)" in out and "POOR" in out
    assert "the encoder default does not cover this text's language" in out
    assert main(["data", "check", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["language"]["coverage"]["poor"] is True
    assert report["language"]["scripts"] == {"CJK": 1.0}


def test_training_on_an_uncovered_language_warns_before_the_run(tiny_model_dir, tmp_path, capsys):
    """train warns up front when its encoder does not cover the data, and the run's baseline
    is the character one."""
    from ..conftest import TINY_TRAIN

    data = write_csv(tmp_path / "zh.csv", _reviews(60))
    runs = tmp_path / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--name", "zh", "--no-progress", *TINY_TRAIN, "train.epochs=1"]
    assert main([*argv, "report.explain_wrong=0"]) == 0
    assert "does not cover this text's language" in capsys.readouterr().err
    ev = json.loads((runs / "zh" / "eval.json").read_text())
    assert ev["baseline"]["name"] == "tfidf-char-linear-svm"
