"""``tuneforge federate`` end to end: a real Flower server and client processes on loopback
(Flower's own environment, ``scripts/ensure-flower``), a tiny model, a normal run at the end.

Skips without Flower's environment; fails instead where TUNEFORGE_REQUIRE_FLOWER=1 (CI).
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import make_rows, write_csv
from tests.flower_env import REQUIRE_ENV, find_flower_python
from tuneforge.cli import main

# Seconds per round: the tiny model with a LoRA adapter, no explanations in the report.
FAST = ["--method", "lora", "train.lr=1e-2", "train.batch_size=8", "report.explain_wrong=0"]


@pytest.fixture(scope="module")
def flower_python() -> str:
    found = find_flower_python()
    if found is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail("Flower's environment is missing: run `bash scripts/ensure-flower`.")
        pytest.skip("Flower's environment is missing (bash scripts/ensure-flower)")
    return found


def _files(tmp_path, n_clients: int, per_label: int = 12):
    """``n_clients`` client files with every label, and the server's evaluation file."""
    rows = make_rows(per_label * (n_clients + 1) // 3 + 1, seed=3)
    size = len(rows) // (n_clients + 1)
    clients = [
        write_csv(tmp_path / f"{chr(97 + i)}.csv", rows[i * size : (i + 1) * size])
        for i in range(n_clients)
    ]
    evaluation = write_csv(tmp_path / "eval.csv", rows[n_clients * size :])
    return clients, evaluation


def _federate(tmp_path, model_dir, flower, clients, evaluation, *extra):
    return main(
        [
            "federate",
            *map(str, clients),
            "--eval",
            str(evaluation),
            "--model",
            str(model_dir),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--flower-python",
            flower,
            "--name",
            "fed",
            "--round-timeout",
            "60",
            "--connect-timeout",
            "60",
            *extra,
            *FAST,
        ]
    )


def test_federation_survives_a_client_dying_mid_round(
    tmp_path, tiny_model_dir, flower_python, monkeypatch, capsys
):
    """Two clients train two rounds; one dies during round 2, which completes with the other.
    The result is a normal run: model, evaluation, report, and predict works on it; only the
    adapter and head travelled."""
    clients, evaluation = _files(tmp_path, 2)
    monkeypatch.setenv("TUNEFORGE_TEST_CLIENT_DIES", "b:2")
    code = _federate(
        tmp_path, tiny_model_dir, flower_python, clients, evaluation,
        "--rounds", "2", "--local-epochs", "2", "--min-clients", "1",
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run = tmp_path / "runs" / "fed"
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "succeeded"
    fed = status["federated"]
    first, second = fed["history"]
    assert first["answered"] == ["a", "b"] and first["missing"] == []
    assert second["answered"] == ["a"] and second["missing"] == ["b"]
    # Down: one copy of the trainable weights per client; up: one per answer.
    assert first["bytes_down"] >= 2 * fed["bytes_per_model"]
    assert fed["bytes_per_model"] <= second["bytes_up"] < 2 * fed["bytes_per_model"]
    assert fed["bytes_per_model"] == 4 * fed["trainable_parameters"]
    assert "client 'b' exited" in captured.err
    assert (run / "eval.json").is_file() and (run / "report.html").is_file()
    assert main(["predict", "fed", "--runs-dir", str(tmp_path / "runs"), "invoice refund"]) == 0


def test_a_client_with_labels_the_server_does_not_know_stops_the_federation(
    tmp_path, tiny_model_dir, flower_python, capsys
):
    """A client holding a label outside the server's set is named with that label before
    any round trains, and the command fails (exit 1) without hanging."""
    clients, evaluation = _files(tmp_path, 2)
    rows = make_rows(4, seed=5)
    rows[0]["label"] = "refunds"
    write_csv(clients[1], rows)
    code = _federate(tmp_path, tiny_model_dir, flower_python, clients, evaluation, "--rounds", "1")
    err = capsys.readouterr().err
    assert code == 1
    assert "client 'b' has 1 label(s) the server does not know: 'refunds'" in err
    status = json.loads((tmp_path / "runs" / "fed" / "status.json").read_text())
    assert status["state"] == "failed"
