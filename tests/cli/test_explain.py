"""``tuneforge explain`` end to end: texts, files, variants, the summary, the report's wrong
texts, images and bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tuneforge.cli import build_parser, main

from ..conftest import TINY_TRAIN, make_rows, train_tiny_run, write_csv
from ..tiny_images import bar_images, train_tiny_cnn, write_image_run

TEXT = "email issue with 7"


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory):
    """A trained tiny text run ``kw`` with its dynamic int8 ONNX variant."""
    runs = train_tiny_run(tmp_path_factory.mktemp("explain-cli"), tiny_model_dir, "kw")
    argv = ["export", "kw", "--format", "onnx", "--quantize", "int8-dynamic"]
    assert main([*argv, "--runs-dir", str(runs)]) == 0
    return runs


def _explain(runs, *argv: str) -> list[str]:
    return ["explain", "kw", *argv, "--runs-dir", str(runs)]


def test_texts_print_their_label_and_coloured_words(runs, capsys):
    """Each text gets its label line and its words with signed scores; rich markup in user
    text is printed as written, never interpreted."""
    assert main(_explain(runs, TEXT, "[bold]login[/bold] issue")) == 0
    out = capsys.readouterr().out
    assert "account" in out and "· ig" in out
    assert "towards: email +" in out
    assert "[bold]login[/bold] issue" in out


def test_json_carries_every_word_and_the_method(runs, capsys):
    """--json prints the explanations as data: label, score, method, delta and words."""
    assert main(_explain(runs, TEXT, "--json", "--target", "billing")) == 0
    data = json.loads(capsys.readouterr().out)
    [e] = data["explanations"]
    assert data["run"] == "kw" and data["method"] == "ig"
    assert e["label"] == "billing" and e["predicted"] == "account"
    assert [w["word"] for w in e["words"]] == ["email", "issue", "with", "7"]
    assert e["words"][0]["score"] < 0  # email pushes away from billing


def test_html_page_is_written_with_the_text_escaped(runs, tmp_path, capsys):
    """--html writes a self-contained page of the coloured texts."""
    page = tmp_path / "why.html"
    texts = write_csv(tmp_path / "in.csv", [{"text": "<b>refund</b> please"}], ("text",))
    assert main(_explain(runs, TEXT, "--input", str(texts), "--html", str(page))) == 0
    html = page.read_text()
    assert "<b>refund" not in html and ">&lt;</span>" in html and ">refund</span>" in html
    assert "<script" not in html and "email</span>" in html
    assert f"written: {page}" in capsys.readouterr().err


def test_onnx_variant_is_explained_by_occlusion(runs, capsys):
    """An ONNX variant defaults to occlusion; gradients on it are a usage error (exit 2)."""
    assert main(_explain(runs, TEXT, "--variant", "onnx-int8-dynamic", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "occlusion" and data["explanations"][0]["label"] == "account"
    assert main(_explain(runs, TEXT, "--variant", "onnx-int8-dynamic", "--method", "ig")) == 2
    assert "--method occlusion" in capsys.readouterr().err


def test_summary_aggregates_words_per_label(runs, tmp_path, capsys):
    """--data FILE --summary explains the texts and lists, per predicted label, the words
    that push towards it: a table on the terminal, data with --json, a chart with --html."""
    data = write_csv(tmp_path / "d.csv", make_rows(10, seed=3))
    page = tmp_path / "summary.html"
    argv = ["--data", str(data), "--summary", "--limit", "12", "--method", "occlusion"]
    assert main(_explain(runs, *argv, "--html", str(page))) == 0
    captured = capsys.readouterr()
    assert "words that push towards each label" in captured.out
    assert "explained the first 12 of 30 texts" in captured.err
    assert "data:image/png;base64," in page.read_text()
    assert main(_explain(runs, *argv, "--json", "--top", "3")) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert sum(s["n_texts"] for s in summary) == 12
    assert all(len(s["words"]) <= 3 for s in summary)
    keywords = {
        "invoice",
        "charge",
        "refund",
        "payment",
        "parcel",
        "delivery",
        "courier",
        "tracking",
        "password",
        "login",
        "username",
        "email",
    }
    assert {w["word"] for s in summary for w in s["words"][:1]} <= keywords


def test_summary_never_quotes_personal_data(runs, tmp_path, capsys):
    """Words inside an email (split into pieces by the tokenizer) are summarised as the
    email's placeholder, never as the pieces of the address."""
    rows = [{**r, "text": f"{r['text']} jane.doe@example.com"} for r in make_rows(4, seed=5)]
    data = write_csv(tmp_path / "pii.csv", rows)
    argv = ["--data", str(data), "--summary", "--method", "occlusion", "--top", "50", "--json"]
    assert main(_explain(runs, *argv)) == 0
    words = {w["word"] for s in json.loads(capsys.readouterr().out)["summary"] for w in s["words"]}
    assert words and not any(piece in w for w in words for piece in ("jane", "doe", "example"))


def test_wrong_writes_explanations_json_and_the_report_shows_them(runs, tmp_path, capsys):
    """--wrong explains the run's most confidently wrong test texts into explanations.json
    and rebuilds report.html with their coloured words."""
    copy = tmp_path / "runs"
    shutil.copytree(runs / "kw", copy / "kw")
    split = copy / "kw" / "data" / "test.jsonl"
    rows = [json.loads(line) for line in split.read_text().splitlines()]
    for row in rows[:3]:  # relabel three test texts so the model gets them wrong
        row["label"] = {"account": "billing", "billing": "shipping", "shipping": "account"}[
            row["label"]
        ]
    split.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["explain", "kw", "--wrong", "--limit", "2", "--runs-dir", str(copy)]) == 0
    written = json.loads((copy / "kw" / "explanations.json").read_text())
    assert written["split"] == "test" and len(written["examples"]) == 2
    first = written["examples"][0]
    assert first["true"] != first["label"] and first["words"]
    html = (copy / "kw" / "report.html").read_text()
    assert "Why the most confidently wrong texts were misread" in html
    assert "report:" in capsys.readouterr().err


def _noisy_rows() -> list[dict]:
    """Keyword tickets with every fifth label rotated: some test texts are bound to be wrong."""
    rows = make_rows(20, seed=5)
    turn = {"account": "billing", "billing": "shipping", "shipping": "account"}
    return [{**r, "label": turn[r["label"]]} if i % 5 == 0 else r for i, r in enumerate(rows)]


def test_training_explains_the_surest_mistakes_for_the_report(tiny_model_dir, tmp_path):
    """A text run's report shows why its most confidently wrong test texts were misread
    without a separate `explain --wrong`; report.explain_wrong caps them, 0 turns it off."""
    data = write_csv(tmp_path / "noisy.csv", _noisy_rows())
    runs = tmp_path / "runs"
    base = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    for name, limit in (("two", "2"), ("none", "0")):
        argv = [
            *base,
            "--name",
            name,
            "--no-progress",
            *TINY_TRAIN,
            f"report.explain_wrong={limit}",
        ]
        assert main(argv) == 0
    written = json.loads((runs / "two" / "explanations.json").read_text())
    assert written["split"] == "test" and written["method"] == "ig"
    assert len(written["examples"]) == 2
    assert all(e["true"] != e["label"] and e["words"] for e in written["examples"])
    confidences = [e["score"] for e in written["examples"]]
    assert confidences == sorted(confidences, reverse=True)
    assert (
        "Why the most confidently wrong texts were misread"
        in (runs / "two" / "report.html").read_text()
    )
    assert not (runs / "none" / "explanations.json").exists()


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (["   "], 1, "Input 0: the text is empty"),
        ([TEXT, "--target", "refunds"], 2, "'refunds' is not one of the model's labels"),
        ([], 1, "explain needs TEXT"),
        (["--summary"], 2, "--summary needs --data FILE"),
        (["--data", "x.csv"], 2, "--data is read by --summary"),
        ([TEXT, "--variant", "hf"], 1, "has no variant 'hf'"),
        ([TEXT, "--steps", "0"], 2, "--steps must be at least 1"),
        ([TEXT, "--limit", "3"], 2, "--limit applies to --summary and --wrong"),
    ],
)
def test_bad_input_is_a_clear_error(runs, capsys, argv, code, message):
    """Empty texts, unknown labels, missing inputs, flags out of place and variants not
    built: a message naming the problem and a non-zero exit, never a traceback."""
    assert main(_explain(runs, *argv)) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_image_runs_write_overlays_and_print_their_paths(tmp_path, capsys, monkeypatch):
    """Image files get one PNG overlay each, in --overlay-dir, and their paths printed;
    without --overlay-dir they go to ./explanations. Texts given to an image run are
    refused as missing image files, and a word summary is refused as having no words."""
    images = bar_images(20)
    write_image_run(tmp_path / "runs", "bars", train_tiny_cnn(images, 20), {"test": images})
    picture = tmp_path / "three.png"
    Image.fromarray(np.kron(images[1].pixels[:, :, 0], np.ones((3, 3), np.uint8))).save(picture)
    argv = ["explain", "bars", str(picture), "--runs-dir", str(tmp_path / "runs")]
    assert main([*argv, "--overlay-dir", str(tmp_path / "ov"), "--method", "occlusion"]) == 0
    out = capsys.readouterr().out
    overlay = tmp_path / "ov" / "three.occlusion.png"
    assert f"→ {overlay}" in out.replace("\n", "") and Image.open(overlay).format == "PNG"
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--html", "page.html"]) == 0
    assert (tmp_path / "explanations" / "three.ig.png").is_file()
    assert "data:image/png;base64," in (tmp_path / "page.html").read_text()
    assert main(["explain", "bars", "where is it", "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "do not exist: where is it" in capsys.readouterr().err
    summary = ["--data", str(tmp_path), "--summary"]
    assert main(["explain", "bars", *summary, "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "image models have none" in capsys.readouterr().err


def test_every_option_has_help_and_the_command_an_example():
    """``tuneforge explain --help`` explains each flag and ends with examples."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["explain"]
    assert "tuneforge explain intents-v1" in sub.epilog
    for action in sub._actions:
        assert action.help, action.dest
