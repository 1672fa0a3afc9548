"""Micro-batching: batches form under concurrency, results reach the right callers,
and a failing input fails alone."""

from __future__ import annotations

import asyncio

import numpy as np

from tuneforge.serve.batcher import MicroBatcher


def _fake_predict(calls: list[int]):
    def predict(texts):
        calls.append(len(texts))
        if "boom" in texts:
            raise ValueError("poisoned input")
        return np.array([[len(t), 0.0] for t in texts], dtype=np.float32)

    return predict


def test_concurrent_requests_share_batches_and_get_their_own_results():
    """Twenty concurrent callers are served in a few batches, each with its own row."""
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_fake_predict(calls), max_batch_size=8, max_wait_ms=20)
        await batcher.start()
        texts = [[f"text number {'x' * i}"] for i in range(20)]
        results = await asyncio.gather(*(batcher.submit(t) for t in texts))
        await batcher.stop()
        return texts, results

    texts, results = asyncio.run(scenario())
    for sent, got in zip(texts, results):
        assert got[0][0] == len(sent[0])
    assert max(calls) > 1 and sum(calls) == 20 and max(calls) <= 8


def test_a_failing_input_does_not_poison_the_batch():
    """When one input makes the model fail, the others in its batch still succeed."""
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_fake_predict(calls), max_batch_size=8, max_wait_ms=20)
        await batcher.start()
        outcomes = await asyncio.gather(
            batcher.submit(["fine"]),
            batcher.submit(["boom"]),
            batcher.submit(["also fine"]),
            return_exceptions=True,
        )
        await batcher.stop()
        return outcomes

    ok1, bad, ok2 = asyncio.run(scenario())
    assert isinstance(bad, ValueError)
    assert ok1[0][0] == 4 and ok2[0][0] == 9
