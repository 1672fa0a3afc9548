"""A differentially private run in a real browser (Debian's Chromium under Playwright): the run
page states ε spent and δ, the registry lists them with the version, and the promote page's
--max-epsilon gate shows its rule and refuses above the budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import TINY_TRAIN, make_rows, write_csv
from .conftest import Served, _free_port

pytest.importorskip("opacus")

RUN = "private"


@pytest.fixture(scope="module")
def private_runs(tmp_path_factory, tiny_model_dir) -> Path:
    """One LoRA run at ε = 8, registered as intents@staging."""
    from tuneforge.cli import main

    root = tmp_path_factory.mktemp("ui-dp")
    data = write_csv(root / "t.csv", make_rows(30))
    runs = root / "runs"
    argv = ["train", str(data), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    argv += ["--name", RUN, "--no-progress", *TINY_TRAIN, "train.epochs=2"]
    assert main([*argv, "--privacy", "dp", "--epsilon", "8", "--method", "lora"]) == 0
    promote = ["registry", "promote", RUN, "--name", "intents", "--stage", "staging"]
    assert main([*promote, "--runs-dir", str(runs)]) == 0
    return runs


@pytest.fixture(scope="module")
def private_server(private_runs):
    from tuneforge.ui import UISettings

    with Served(UISettings(runs_dir=private_runs, port=_free_port())) as served:
        yield served


def _spent(runs: Path) -> float:
    return json.loads((runs / RUN / "status.json").read_text())["privacy"]["epsilon"]


def test_the_run_and_registry_pages_show_epsilon_and_delta(
    private_server, private_runs, watched, artifacts
):
    """The run page's facts and the registry's version row name ε spent and δ."""
    eps = _spent(private_runs)
    watched.open(f"{private_server.url}/runs/{RUN}")
    facts = watched.page.inner_text("table.facts")
    assert "differential privacy" in facts and f"ε = {eps:.3g} spent (target 8)" in facts
    assert "δ = " in facts
    watched.page.screenshot(path=str(artifacts / "run-private.png"), full_page=True)
    watched.open(f"{private_server.url}/registry")
    cell = watched.page.inner_text("#model-intents td.privacy")
    assert cell.startswith(f"ε {eps:.3f}") and "δ" in cell
    watched.page.screenshot(path=str(artifacts / "registry-private.png"), full_page=True)
    assert watched.problems == []


def test_the_promote_page_judges_max_epsilon(private_server, private_runs, watched, artifacts):
    """Max ε above the spend passes; below it the gate fails with its rule, and confirming is
    refused (409) with nothing registered."""
    from tuneforge.recipes.registry import versions

    page = watched.page
    base = f"{private_server.url}/registry/promote?ref={RUN}:model&name=strict&stage=staging"
    watched.open(base + "&max_epsilon=100")
    assert "passes" in page.inner_text("#gate h2")
    assert "≤ --max-epsilon 100" in page.inner_text("#gate-epsilon")
    watched.open(base + "&max_epsilon=0.5")
    assert "fails" in page.inner_text("#gate h2")
    assert "> --max-epsilon 0.5" in page.inner_text("#gate-epsilon")
    page.screenshot(path=str(artifacts / "registry-promote-epsilon.png"), full_page=True)
    with page.expect_navigation():
        page.click("#promote")
    assert "Refused: nothing was changed." in page.inner_text("#refusal")
    assert "strict" not in versions(private_runs)
    assert [p for p in watched.problems if "409" not in p] == []
