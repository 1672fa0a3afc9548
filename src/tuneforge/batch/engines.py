"""The table of engines a batch job runs on: ``local`` (this process) and ``ray`` (Ray Data's
actor pool, on a local cluster or the one at ``address``). Both yield the output's tables in
the input's order, from the row a resumed job starts at."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..data.stream import InputStream
from .job import BatchJob


@dataclass(frozen=True)
class EngineOptions:
    """``workers``: how many predictors run at once (ray; default: one per CPU of the cluster);
    ``address``: the Ray cluster to join (default: start one on this machine)."""

    workers: int | None = None
    address: str | None = None


def run_local(
    job: BatchJob, stream: InputStream, start: int, size: int, options: EngineOptions, model=None
) -> Iterator[Any]:
    """Chunk after chunk in this process; ``model`` is the predictor already opened (else the
    job opens one)."""
    model = model if model is not None else job.open()
    for chunk in stream.chunks(start, size):
        yield job.rows(model, chunk)


def run_ray(
    job: BatchJob, stream: InputStream, start: int, size: int, options: EngineOptions, model=None
) -> Iterator[Any]:
    from .ray_engine import run_on_ray

    return run_on_ray(job, stream, start, size, options)


ENGINES: dict[str, Callable[..., Iterator[Any]]] = {"local": run_local, "ray": run_ray}
