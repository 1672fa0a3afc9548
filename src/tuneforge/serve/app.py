"""create_app(predictor) → FastAPI: /v1/predict with micro-batching, /v1/model, health, metrics,
the Open Inference Protocol under /v2, and the API's documentation.

The endpoints live in :mod:`.routes`, one module per group; this module assembles one app
around one loaded predictor: the shared state on ``app.state.serving`` (:mod:`.state`), the
token check and request metrics (:mod:`.middleware`), and the lifespan that warms the model
up before the app reports itself ready.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .._version import __version__
from ..tasks import open_task
from ..types import Predictor
from . import routes
from .batcher import MicroBatcher
from .metrics import ServerMetrics
from .middleware import GuardAndCount
from .openapi import document_builder
from .routes import docs
from .settings import ServeSettings
from .state import PredictionMonitor, Serving


def quiet_garbage_collector() -> None:
    """Keep Python's full collections from stalling every request in flight.

    A server that imported torch, transformers and onnxruntime holds millions of long-lived
    objects; each full collection walked them all and, measured under 32 concurrent clients,
    froze the server for ~200 ms about once a second (p99 250 ms). Freezing what exists after
    start-up moves it out of the collector's sight, and a larger first-generation threshold
    makes the remaining young collections rarer: p99 under 50 ms on the same load. Called by
    the server process once its model is loaded (not by create_app: tests and embedding
    applications keep their own collector settings).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the batcher, warm the model up (one-time costs, not a user's), then the log."""
    serving: Serving = app.state.serving
    await serving.batcher.start()
    predictor = serving.predictor
    await serving.batcher.submit([open_task(predictor).warmup_input(predictor)])
    serving.ready = True
    if serving.monitor is not None:
        await serving.monitor.start()
    yield
    serving.ready = False
    await serving.batcher.stop()
    if serving.monitor is not None:
        await serving.monitor.stop()


def describe(predictor: Predictor, image: bool, model_info: dict | None) -> dict:
    """What /v1/model answers: the task, labels (and input shape of an image model), the
    temperature its probabilities are scaled by (1 and ``calibrated: false`` for a model
    trained before calibration), then ``model_info`` (name, version, variant, training-time
    metrics)."""
    info = {"task": "image" if image else "text", "labels": list(predictor.labels)}
    info["temperature"] = float(getattr(predictor, "temperature", 1.0))
    info["calibrated"] = bool(getattr(predictor, "calibrated", False))
    if image:
        featurizer = predictor.featurizer
        info["image_shape"] = [featurizer.height, featurizer.width, featurizer.channels]
    info.update(model_info or {})
    return info


def serving_state(
    predictor: Predictor,
    settings: ServeSettings,
    model_info: dict | None,
    monitor: PredictionMonitor | None,
    abstainer=None,
) -> Serving:
    """The state one app's routes share, with its batcher sized from ``settings``; with an
    ``abstainer`` the batcher's rows carry each input's out-of-scope score last."""
    image = open_task(predictor).name == "image"
    metrics = ServerMetrics()
    batcher = MicroBatcher(
        abstainer.rows if abstainer is not None else predictor.predict_proba,
        settings.max_batch_size,
        settings.max_wait_ms,
        on_batch=metrics.batch_size.observe,
    )
    if hasattr(predictor, "batch_size"):
        predictor.batch_size = settings.max_batch_size
    info = describe(predictor, image, model_info)
    if abstainer is not None:
        info["abstention"] = abstainer.rule.as_dict()
    slots = asyncio.Semaphore(settings.explain_concurrency) if settings.explain else None
    serving = Serving(
        predictor,
        settings,
        info,
        metrics,
        batcher,
        monitor,
        image,
        explain_slots=slots,
        abstainer=abstainer,
    )
    if settings.embed or settings.index:
        serving.encoder, serving.index = representations(predictor, settings, info)
        serving.embed_slot = asyncio.Semaphore(1)
    return serving


def representations(predictor: Predictor, settings: ServeSettings, info: dict):
    """The served model's encoder and, with ``settings.index``, the index it answers from —
    refused at start-up when the index was built by other weights, or the model cannot embed
    (ONNX and image models)."""
    from ..embed import VectorIndex
    from ..embed.encoder import predictor_encoder

    name = str(info.get("name") or "the served model")
    encoder = predictor_encoder(predictor, name)
    if not settings.index:
        return encoder, None
    index = VectorIndex.load(settings.index)
    index.check_model(encoder.fingerprint, name)
    index.single_threaded()
    return encoder, index


def create_app(
    predictor: Predictor,
    settings: ServeSettings | None = None,
    model_info: dict | None = None,
    monitor: PredictionMonitor | None = None,
    label_intake=None,
    abstainer=None,
) -> FastAPI:
    """The HTTP app around one loaded predictor; ``monitor`` (optional) logs predictions,
    ``label_intake`` (a :class:`tuneforge.label.studio_events.StudioIntake`, with
    ``settings.label_studio``) stores Label Studio's annotation events, ``abstainer`` (a
    :class:`tuneforge.evaluate.abstain.Abstainer` of ``predictor``) answers the unknown label
    below its threshold, with each prediction's score and whether it abstained."""
    settings = settings or ServeSettings()
    serving = serving_state(predictor, settings, model_info, monitor, abstainer)
    serving.label_intake = label_intake
    app = FastAPI(
        title="tuneforge model server",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served from local assets by routes.docs
        redoc_url=None,
    )
    app.state.serving = serving
    included = routes.routers(
        serving.image,
        explain=settings.explain,
        label_studio_backend=settings.label_studio,
        embed=serving.encoder is not None,
        similar=serving.index is not None,
    )
    app.add_middleware(
        GuardAndCount,
        token=settings.token,
        metrics=serving.metrics,
        endpoints=routes.endpoint_paths(included),
    )
    for router in included:
        app.include_router(router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_PATH, docs.assets(), name="docs-assets")
    app.openapi = document_builder(app, token_required=bool(settings.token))
    return app


@asynccontextmanager
async def recommend_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One query before the app reports itself ready (index pages, torch's first call)."""
    serving: Serving = app.state.serving
    recommender = serving.recommender
    recommender.recommend(history=recommender.item_ids[:1], k=1)
    serving.ready = True
    yield
    serving.ready = False


def create_recommend_app(recommender, settings: ServeSettings | None = None, model_info=None):
    """The HTTP app of a recommend run (:class:`tuneforge.tasks.recommend.Recommender`):
    /v1/recommend, /v1/model, health and metrics, behind the same token and counters."""
    settings = settings or ServeSettings()
    metrics = ServerMetrics()
    info = {"task": "recommend", "items": len(recommender.item_ids), **(model_info or {})}
    batcher = MicroBatcher(lambda rows: None, 1, 0.0)  # never started: /metrics reads its depth
    serving = Serving(recommender, settings, info, metrics, batcher, recommender=recommender)
    app = FastAPI(
        title="tuneforge recommender",
        version=__version__,
        lifespan=recommend_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.serving = serving
    included = routes.recommend_routers()
    app.add_middleware(
        GuardAndCount,
        token=settings.token,
        metrics=metrics,
        endpoints=routes.endpoint_paths(included),
    )
    for router in included:
        app.include_router(router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_PATH, docs.assets(), name="docs-assets")
    app.openapi = document_builder(app, token_required=bool(settings.token))
    return app
