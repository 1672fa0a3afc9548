"""Output for scripts: --json everywhere a table is printed, JSON lines when piped, stdin as
input, `runs show` as pure JSON, --version, and help text on every option."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from tuneforge.cli import build_parser, main

from ..conftest import train_tiny_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir):
    """A runs directory with one finished tiny text run, 'out', promoted as 'm@staging'."""
    root = tmp_path_factory.mktemp("machine-output")
    runs_dir = train_tiny_run(root, tiny_model_dir, "out")
    code = main(
        ["registry", "promote", "out", "--name", "m", "--stage", "staging"]
        + ["--runs-dir", str(runs_dir)]
    )
    assert code == 0
    return runs_dir


def _json(capsys, argv: list[str]):
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_every_listing_command_speaks_json(runs, capsys, tmp_path):
    """--json on runs list|compare, registry list|show, evaluate and data check prints one JSON
    document on stdout with the figures the table shows."""
    r = ["--runs-dir", str(runs)]
    listed = _json(capsys, ["runs", "list", "--json", *r])
    assert listed[0]["id"] == "out" and "accuracy" in listed[0]["metrics"]
    compared = _json(capsys, ["runs", "compare", "out", "out", "--json", *r])
    assert [c["run"] for c in compared] == ["out", "out"] and compared[0]["params"]
    registry = _json(capsys, ["registry", "list", "--json", *r])
    assert registry["m"][0]["stage"] == "staging"
    assert _json(capsys, ["registry", "show", "m", "--json", *r])["m"][0]["version"] == 1
    test_file = runs / "out" / "data" / "test.jsonl"
    evaluated = _json(capsys, ["evaluate", "out", "--data", str(test_file), "--json", *r])
    assert 0 <= evaluated["accuracy"] <= 1 and evaluated["written"].endswith(".json")
    csv = tmp_path / "d.csv"
    csv.write_text("text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(20)))
    checked = _json(capsys, ["data", "check", str(csv), "--json"])
    assert checked["n_rows"] == 20 and checked["blocking"] is False


def test_runs_show_prints_only_json(runs, capsys):
    """`runs show RUN | jq` works: the whole output is one JSON object."""
    shown = _json(capsys, ["runs", "show", "out", "--runs-dir", str(runs)])
    assert shown["state"] == "succeeded" and shown["report"].endswith("report.html")
    assert set(shown["metrics"]) >= {"accuracy", "macro_f1", "n"}


def test_predict_reads_stdin_and_writes_json_lines_when_piped(runs, capsys, monkeypatch):
    """`-` reads texts from stdin; output that is not a terminal is JSON lines, one per input,
    whatever their number; `--output -` means stdout."""
    monkeypatch.setattr("sys.stdin", io.StringIO("my card was charged twice\n\nreset password\n"))
    capsys.readouterr()
    assert main(["predict", "out", "-", "--runs-dir", str(runs)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == ["my card was charged twice", "reset password"]
    assert all("label" in line and "score" in line for line in lines)
    assert main(["predict", "out", "hello", "--output", "-", "--runs-dir", str(runs)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "hello"


def test_version_flag(capsys):
    """`tuneforge --version` prints the package version."""
    from tuneforge._version import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for child, grand in _subparsers(sub):
                    yield f"{name} {child}", grand


def test_every_option_has_help_and_every_command_an_example():
    """Each command and group shows an example; each option says what it does, and its
    default when it has one."""
    missing = []
    for name, sub in _subparsers(build_parser()):
        if "example:" not in (sub.epilog or ""):
            missing.append(f"{name}: no example")
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            if not action.help:
                missing.append(f"{name} {action.option_strings or action.dest}: no help")
    assert not missing, missing
    text = next(sub for name, sub in _subparsers(build_parser()) if name == "serve").format_help()
    assert "(default: 8000)" in text
