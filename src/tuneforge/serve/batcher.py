"""Micro-batching: concurrent requests are queued and predicted together.

Inputs wait at most ``max_wait_ms`` for company, up to ``max_batch_size`` per batch. Inputs are
whatever the predictor takes: texts (the text predictor sorts each batch by length, so similar
lengths share padding) or images already brought to the model's input size (one stacked
batch). Results go back to the right callers through futures. If a batch fails, its inputs
are retried one by one so a single bad input fails alone instead of poisoning the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class _Item:
    value: Any  # a text, or an image array
    future: asyncio.Future


class MicroBatcher:
    def __init__(
        self,
        predict_proba: Callable[[list], np.ndarray],
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.predict_proba = predict_proba
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def depth(self) -> int:
        return self._queue.qsize() if self._queue else 0

    async def start(self) -> None:
        # One model thread: the runtimes use all cores per call already.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tuneforge-model")
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._queue is not None:
            while not self._queue.empty():
                await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def submit(self, inputs: list) -> list[np.ndarray]:
        """Probabilities for ``inputs``, in order, predicted alongside other callers' inputs."""
        assert self._queue is not None, "start() the batcher first"
        loop = asyncio.get_running_loop()
        items = [_Item(x, loop.create_future()) for x in inputs]
        for item in items:
            self._queue.put_nowait(item)
        return list(await asyncio.gather(*(i.future for i in items)))

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        last_size = 0
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # A lone request on a quiet server goes at once (waiting for company that is not
            # coming would only add latency); under concurrent traffic (the last batch had
            # company) wait up to max_wait for the callers about to arrive.
            wait = last_size > 1 or len(batch) > 1
            deadline = loop.time() + self.max_wait
            while wait and len(batch) < self.max_batch_size:
                remaining = deadline - loop.time()
                if remaining <= 0 and self._queue.empty():
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), max(remaining, 0)))
                except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
                    break
            last_size = len(batch)
            await self._process(batch)

    async def _process(self, batch: list[_Item]) -> None:
        live = [i for i in batch if not i.future.done()]
        if not live:
            return
        loop = asyncio.get_running_loop()
        if self.on_batch:
            self.on_batch(len(live))
        try:
            probs = await loop.run_in_executor(
                self._executor, self.predict_proba, [i.value for i in live]
            )
        except Exception:
            for item in live:  # isolate the failing input(s)
                try:
                    row = await loop.run_in_executor(
                        self._executor, self.predict_proba, [item.value]
                    )
                    _resolve(item, row[0])
                except Exception as exc:  # handed to that caller only
                    if not item.future.done():
                        item.future.set_exception(exc)
            return
        for item, row in zip(live, probs):
            _resolve(item, row)


def _resolve(item: _Item, value) -> None:
    if not item.future.done():
        item.future.set_result(value)
