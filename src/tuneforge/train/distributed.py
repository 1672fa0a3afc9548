"""Data-parallel training on PyTorch DDP: the process group comes from ``torchrun``'s environment.

``torchrun --nproc-per-node N -m tuneforge train ...`` starts N processes; each one trains on a
shard of every batch (gloo on CPU, nccl on GPU) and DDP averages the gradients. Every global
batch is the one a single process would take (the same length-bucketed order), split across
ranks, so N processes train the same model as one process with the same global batch. The split
is hand-written instead of a ``DistributedSampler`` because the sampler would give each rank
different whole batches, changing the effective batch size and the bucketing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class DistContext:
    """This process's place in a (possibly one-process) training job."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run: checkpoints, metrics, model, report."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def init_distributed() -> DistContext:
    """Join the process group that ``torchrun`` describes in the environment, once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not torch.distributed.is_available():
        return DistContext()
    if not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return current_context()


def current_context() -> DistContext:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return DistContext(torch.distributed.get_rank(), torch.distributed.get_world_size())
    return DistContext()


def shutdown() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def shard(batch: list[int], dist: DistContext) -> tuple[list[int], float]:
    """This rank's share of a global batch and the weight of its mean loss.

    With weight ``world · n_rank / n_batch`` DDP's gradient average equals the gradient of the
    global batch's mean loss exactly, also when the batch does not split evenly. A rank left
    without examples runs one example at weight 0 so that every rank joins the gradient sync.
    """
    if not dist.active:
        return batch, 1.0
    part = batch[dist.rank :: dist.world]
    if not part:
        return batch[:1], 0.0
    return part, dist.world * len(part) / len(batch)


def wrap(model: torch.nn.Module, dist: DistContext) -> torch.nn.Module:
    """The module to run training forwards through: DDP when several processes train."""
    if not dist.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model)


def all_sum(values: list[float], dist: DistContext) -> list[float]:
    """Element-wise sum over ranks (training loss and example counts for the log)."""
    if not dist.active:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()


def all_gather(obj: Any, dist: DistContext) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank (validation predictions)."""
    if not dist.active:
        return [obj]
    out: list[Any] = [None] * dist.world
    torch.distributed.all_gather_object(out, obj)
    return out


def broadcast(obj: Any, dist: DistContext) -> Any:
    """Rank 0's ``obj`` on every rank (the run id)."""
    if not dist.active:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def relaunch_with_torchrun(argv: list[str], nproc: int) -> int:
    """Run this same command under ``torchrun --standalone --nproc-per-node N`` and wait.

    ``--nproc`` is dropped from the child command line, so each child trains as one rank.
    """
    import subprocess
    import sys

    child: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            child.append(arg)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={nproc}", "-m", "tuneforge", *child]
    return subprocess.call(command)
