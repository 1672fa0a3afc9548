"""Data-parallel training: shards of each global batch on N processes train the same model as
one process with the same global batch; only rank 0 writes the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tuneforge.predict import TorchPredictor
from tuneforge.store import RunStore, default_store_url
from tuneforge.train.distributed import DistContext, shard

from ..conftest import make_rows, write_csv

CONFIG = [
    "train.epochs=3",
    "train.batch_size=8",
    "train.lr=2e-3",
    "train.precision=fp32",
    "train.freeze_embeddings=false",
    "train.early_stopping_patience=0",
]


@pytest.mark.parametrize("size", [1, 2, 7, 8])
def test_shards_partition_the_batch_and_weights_restore_the_global_mean(size):
    """Ranks see disjoint parts covering the batch, and the loss weights make DDP's average of
    per-rank means equal to the global mean (ranks without examples weigh 0)."""
    batch = list(range(10, 10 + size))
    world = 3
    parts = [shard(batch, DistContext(rank, world)) for rank in range(world)]
    seen = [i for part, share in parts if share > 0 for i in part]
    assert sorted(seen) == batch
    losses = {i: float(i) for i in batch}
    ddp = sum(share * np.mean([losses[i] for i in part]) for part, share in parts) / world
    assert ddp == pytest.approx(np.mean(list(losses.values())))
    assert shard(batch, DistContext()) == (batch, 1.0)


def _metrics(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _train(argv_prefix: list[str], data, tiny_model_dir, runs_dir, name: str, *extra) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", TUNEFORGE_RUNS_DIR=str(runs_dir))
    argv = [
        *argv_prefix,
        "-m",
        "tuneforge",
        "train",
        str(data),
        "--model",
        str(tiny_model_dir),
        "--name",
        name,
        "--no-progress",
        *extra,
        *CONFIG,
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, tiny_model_dir):
    """Two CPU processes under torchrun (gloo) end on the same model as a single process, and
    write one run: one store row, one metrics line per step, one model."""
    data = write_csv(tmp_path / "tickets.csv", make_rows(24))
    runs = tmp_path / "runs"
    # --nproc 2 relaunches the same command under torchrun --nproc-per-node 2.
    _train([sys.executable], data, tiny_model_dir, runs, "ddp", "--nproc", "2")
    _train([sys.executable], data, tiny_model_dir, runs, "single")

    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == ["ddp", "single"]
    assert [r.id for r in RunStore(default_store_url(runs)).list_runs()].count("ddp") == 1
    ddp_log, single_log = (_metrics(runs / name) for name in ("ddp", "single"))
    steps = [(r["split"], r["step"]) for r in ddp_log]
    assert len(steps) == len(set(steps)), "a step was logged by more than one rank"
    assert steps == [(r["split"], r["step"]) for r in single_log]

    texts = [row["text"] for row in make_rows(5, seed=3)]
    ddp = TorchPredictor.from_dir(runs / "ddp" / "artifacts" / "model").predict_proba(texts)
    single = TorchPredictor.from_dir(runs / "single" / "artifacts" / "model").predict_proba(texts)
    np.testing.assert_allclose(ddp, single, atol=2e-3)
    for ours, theirs in zip(ddp_log, single_log):
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=2e-3), ours


def test_nproc_is_dropped_from_the_command_each_rank_runs(monkeypatch):
    """--nproc N (either spelling) becomes torchrun's --nproc-per-node, not a rank's flag."""
    import subprocess as sp

    from tuneforge.train.distributed import relaunch_with_torchrun

    seen = []
    monkeypatch.setattr(sp, "call", lambda cmd: seen.append(cmd) or 0)
    assert relaunch_with_torchrun(["train", "a.csv", "--nproc", "3", "--name", "x"], 3) == 0
    assert relaunch_with_torchrun(["train", "a.csv", "--nproc=3"], 3) == 0
    assert seen[0][-5:] == ["tuneforge", "train", "a.csv", "--name", "x"]
    assert "--nproc-per-node=3" in seen[0] and "--nproc=3" not in seen[1]
