"""Metric sinks: where the training loop's records go.

A sink is a function taking one record (``split``, ``step``, ``epoch`` and numbers: loss,
accuracy, macro-F1, learning rate). A run composes its sinks — metrics.jsonl and the store
(:meth:`tuneforge.store.RunRecorder.log_metrics`), a search's pruning hook — and the loop sees
one. A tracker (MLflow, TensorBoard) is one more sink in that list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

MetricSink = Callable[[dict], None]


def fan_out(sinks: Sequence[MetricSink | None]) -> MetricSink:
    """One sink that hands every record to each of ``sinks`` in order (None entries skipped)."""
    active = [s for s in sinks if s is not None]

    def send(record: dict) -> None:
        for sink in active:
            sink(record)

    return send
