"""`predict --engine ray`: Ray Data's actor pool gives the same rows as one process."""

from __future__ import annotations

import pandas as pd
import pytest
import ray  # the dev extra installs it: this integration test runs, never skips

from tests.conftest import make_rows, train_tiny_run
from tuneforge.cli import main
from tuneforge.data import parts


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray cluster of two CPUs for the module, as `ray start` would give."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def run_and_parts(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("ray-engine")
    runs = train_tiny_run(root, tiny_model_dir, "ray")
    folder = root / "tickets"
    folder.mkdir()
    texts = [r["text"] for r in make_rows(10, seed=4)]
    pd.DataFrame({"text": texts[:17]}).to_parquet(folder / "a.parquet", row_group_size=5)
    pd.DataFrame({"text": texts[17:]}).to_parquet(folder / "b.parquet")
    return runs, root, folder, texts


def _predict(runs, folder, output, *extra):
    argv = ["predict", "ray", "--input", str(folder), "--output", str(output)]
    return main([*argv, "--chunk-rows", "4", "--runs-dir", str(runs), *extra])


def test_ray_gives_the_rows_of_the_local_engine(ray_cluster, run_and_parts, monkeypatch):
    """A job stopped part-way on one process and resumed on Ray's pool of two workers (over
    a folder of two Parquet parts) ends with every row in the input's order, the row numbers
    as ids, and the labels and scores the single-process path gives."""
    runs, root, folder, texts = run_and_parts
    local, on_ray = root / "local.parquet", root / "ray.parquet"
    assert _predict(runs, folder, local) == 0
    write, calls = parts.PartWriter.write, {"n": 0}

    def stop_at_the_third(self, table):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        write(self, table)

    monkeypatch.setattr(parts.PartWriter, "write", stop_at_the_third)
    assert _predict(runs, folder, on_ray) == 130
    monkeypatch.setattr(parts.PartWriter, "write", write)
    assert _predict(runs, folder, on_ray, "--engine", "ray", "--workers", "2", "--resume") == 0
    mine, theirs = pd.read_parquet(local), pd.read_parquet(on_ray)
    assert theirs["id"].tolist() == list(range(len(texts))) and theirs["text"].tolist() == texts
    assert theirs["label"].tolist() == mine["label"].tolist()
    assert (theirs["score"] - mine["score"]).abs().max() < 1e-4


def test_an_unreachable_cluster_fails_fast_and_writes_nothing(run_and_parts, capsys):
    """A Ray address nobody listens on is refused within seconds (exit 1, what to check),
    before any output or part is written."""
    runs, root, folder, _ = run_and_parts
    output = root / "nowhere.parquet"
    code = _predict(runs, folder, output, "--engine", "ray", "--ray-address", "127.0.0.1:9")
    assert code == 1
    assert "Cannot reach the Ray cluster at 127.0.0.1:9" in capsys.readouterr().err
    assert not output.exists() and not (root / "nowhere.parquet.parts").exists()
