"""Batch prediction on Ray Data: the input's pieces read by Ray tasks, predicted by a pool of
actors (each loads the model once), handed back to this process in the input's order.

Reading goes through a Ray Data ``Datasource`` over tuneforge's own stream (its pieces: one per
Parquet part) rather than Ray's file readers, so that the columns, ids, the row a resumed job
starts at and every error message are the ones the single-process path has: both engines give
the same rows. Everything else — scheduling, the actor pool, back-pressure, a cluster of
machines — is Ray's.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

from ..data.stream import InputStream, Piece
from ..errors import RunError
from .engines import EngineOptions
from .job import BatchJob

CONNECT_SECONDS = 5.0


def run_on_ray(
    job: BatchJob, stream: InputStream, start: int, size: int, options: EngineOptions
) -> Iterator[Any]:
    """The job's output tables, in order, computed on the Ray cluster."""
    ray = _import_ray()
    started_here = _connect(ray, options.address)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # the output keeps the input's order
        context.enable_progress_bars = False  # tuneforge's own bar counts the rows
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # not a line per dataset
        # Reading takes no CPU of its own in Ray's books: with every CPU given to a predicting
        # actor, a read task that asked for one would never be scheduled (a deadlock).
        dataset = ray.data.read_datasource(_source(stream.pieces(start, size)), num_cpus=0)
        workers = options.workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        predicted = dataset.map_batches(
            _Predict,
            fn_constructor_args=(job,),
            batch_size=size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        yield from predicted.iter_batches(batch_size=size, batch_format="pyarrow")
    finally:
        if started_here:
            ray.shutdown()


class _Predict:
    """One actor: the model loaded once, one thread (the pool gives each actor a CPU)."""

    def __init__(self, job: BatchJob) -> None:
        _one_thread()
        self.job = job
        self.model = job.open(threads=1)

    def __call__(self, batch: Any) -> Any:
        from ..data.stream import Chunk

        ids, items = batch.column("id").to_pylist(), batch.column("input").to_pylist()
        return self.job.rows(self.model, Chunk(0, ids, items))


def _source(pieces: list[Piece]) -> Any:
    import pyarrow as pa
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    def reader(piece: Piece):
        def read() -> Iterator[pa.Table]:
            for chunk in piece.read():
                yield pa.table({"id": chunk.ids, "input": chunk.items})

        return read

    class StreamSource(Datasource):
        """tuneforge's input stream as Ray Data blocks, one read task per piece."""

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None):
            return [
                ReadTask(reader(p), BlockMetadata(p.rows, None, None, None, None)) for p in pieces
            ]

        def get_name(self) -> str:
            return "tuneforge"

    return StreamSource()


def _connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` (checked to answer first: Ray would wait a long time
    for an address nobody listens on), or start one on this machine. True if started here."""
    if address:
        _check_reachable(address)
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a cluster of ours reports nowhere
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    return True


def _check_reachable(address: str) -> None:
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise RunError(
            f"Ray address {address!r} is not HOST:PORT.",
            hint="Pass --ray-address HOST:6379 (the head node), or ray://HOST:10001.",
        )
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise RunError(
            f"Cannot reach the Ray cluster at {address} ({exc.strerror or exc}).",
            hint="Check that the head node runs (`ray status` there) and the port is open, or "
            "leave out --ray-address to start a cluster on this machine.",
        ) from None


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RunError(
            "--engine ray needs Ray Data, which is not installed.",
            hint="pip install 'tuneforge[ray]'  (or: pip install 'ray[data]')",
        ) from None
    return ray


def _one_thread() -> None:
    """Before torch is imported its thread count comes from OMP_NUM_THREADS; a worker that
    imported it already is told directly. An ONNX-only worker never imports torch."""
    import sys

    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
