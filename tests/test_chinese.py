"""Chinese end to end with a local multilingual encoder: a tiny random BERT whose vocabulary
is built here from CJK characters trains with Chinese label names, is not flagged as
uncovered, and its labels come back as written from predict --json, the server and its
metrics."""

from __future__ import annotations

import json
import random

import pytest
from fastapi.testclient import TestClient

from tuneforge.cli import main

from .conftest import TINY_TRAIN, write_csv

POSITIVE = ["味道很好", "送餐很快", "非常好吃", "服务周到", "分量很足", "下次还点"]
NEGATIVE = ["太难吃了", "送得太慢", "菜都凉了", "服务很差", "分量太少", "再也不点"]
LABELS = ("好评", "差评")


def build_cjk_model_dir(out_dir):
    """A 2-layer random BERT with a WordPiece vocabulary of the reviews' characters."""
    import torch
    import transformers

    chars = sorted({ch for word in POSITIVE + NEGATIVE + list("。，！") for ch in word})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *"abcdefghijklmnopqrstuvwxyz"]
    out_dir.mkdir(parents=True)
    tokenizer = transformers.BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def chinese_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("zh")
    model = build_cjk_model_dir(root / "zh-bert")
    rng = random.Random(0)
    rows = [
        {
            "text": "".join(rng.sample(POSITIVE if i % 2 else NEGATIVE, 3)) + "。",
            "label": LABELS[0] if i % 2 else LABELS[1],
        }
        for i in range(80)
    ]
    data = write_csv(root / "reviews.csv", rows)
    runs = root / "runs"
    argv = ["train", str(data), "--model", str(model), "--runs-dir", str(runs), "--name", "zh"]
    return runs, [*argv, "--no-progress", *TINY_TRAIN, "report.explain_wrong=2"]


def test_a_chinese_vocabulary_is_not_flagged_and_labels_stay_chinese(chinese_run, capsys):
    """No coverage warning for an encoder that knows the characters; eval.json, predict
    --json and the run's labels hold the label names as written, not \\u escapes."""
    runs, argv = chinese_run
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "does not cover this text's language" not in err
    assert "好评" in (runs / "zh" / "eval.json").read_text(encoding="utf-8")
    assert main(["predict", "zh", "味道很好非常好吃", "--json", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[0])["label"] in LABELS
    assert "\\u" not in out and any(label in out for label in LABELS)


def test_the_server_answers_and_counts_chinese_labels(chinese_run):
    """/v1/predict returns the Chinese label; /metrics carries it as a label value."""
    from tuneforge.recipes.serve import load_served_model
    from tuneforge.serve import ServeSettings, create_app

    runs, _ = chinese_run
    predictor, info = load_served_model("zh", runs, None)
    with TestClient(create_app(predictor, ServeSettings(), info)) as client:
        r = client.post("/v1/predict", json={"inputs": ["太难吃了菜都凉了"]})
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] in LABELS
        metrics = client.get("/metrics").text
    assert any(f'label="{label}"' in metrics for label in LABELS)
