"""What the routes of one app share, held on ``app.state.serving``.

Routes are plain functions in :mod:`.routes`; each app (several may live in one process, as in
the tests) carries its own predictor, batcher and metrics here, and a route reaches them
through ``request.app.state``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from ..predict import Predictor
from ..types import Prediction
from .batcher import MicroBatcher
from .metrics import ServerMetrics
from .settings import ServeSettings


class PredictionMonitor(Protocol):
    """Where served predictions are logged (:class:`tuneforge.monitor.predlog.PredictionLog`)."""

    dropped: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def record(
        self,
        inputs: Sequence[str | bytes],
        predictions: Sequence[Prediction],
        latency_ms: float,
        at: dt.datetime | None = None,
        *,
        lengths: Sequence[int] | None = None,
    ) -> None: ...


@dataclass
class Serving:
    """One served model: ``info`` is what /v1/model answers, ``image`` whether it takes images
    and ``ready`` whether it is warmed up (set by the app's lifespan)."""

    predictor: Predictor
    settings: ServeSettings
    info: dict
    metrics: ServerMetrics
    batcher: MicroBatcher
    monitor: PredictionMonitor | None = None
    image: bool = False
    ready: bool = False
    explain_slots: asyncio.Semaphore | None = None  # /v1/explain's concurrency limit
    # Where Label Studio's annotation events go (a tuneforge.label.studio_events.StudioIntake)
    label_intake: Any = None
    # serve --abstain: a tuneforge.evaluate.abstain.Abstainer; the batcher's rows then end in
    # the out-of-scope score
    abstainer: Any = None
    # /v1/embed and /v1/similar: the model's encoder (tuneforge.embed.TextEncoder), the index
    # it answers from (tuneforge.embed.VectorIndex), one embedding batch at a time.
    encoder: Any = None
    index: Any = None
    embed_slot: asyncio.Semaphore | None = None
    # /v1/recommend: a recommend run's tuneforge.tasks.recommend.Recommender
    recommender: Any = None


def serving_of(request: Request) -> Serving:
    """The served model of the app that received ``request``."""
    return request.app.state.serving
