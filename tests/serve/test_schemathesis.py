"""Property-based API testing from our own OpenAPI document: whatever a client sends, the server
answers below 500 and stays alive.

Schemathesis generates requests for every operation — valid ones and ones that break the schema
(wrong types, missing and unknown fields, odd strings) — and they go through a live app (its
lifespan started, micro-batcher running) with the bearer token configured.
"""

from __future__ import annotations

import collections

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.types import LabelMap

TOKEN = "fuzz-token"
CASES = 600


@pytest.fixture(scope="module")
def app(tiny_model_dir, tmp_path_factory):
    """The tiny model with every optional text endpoint on: /v1/embed and /v1/similar over an
    index of a few texts built with its weights."""
    from tuneforge.recipes.index import build_index

    from ..conftest import write_csv

    predictor = TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )
    root = tmp_path_factory.mktemp("fuzz-index")
    rows = [{"text": t, "answer": f"a{i}"} for i, t in enumerate(("refund", "parcel", "login"))]
    data = write_csv(root / "faq.csv", rows, ("text", "answer"))
    _, index = build_index(str(data), str(tiny_model_dir), root / "runs", root / "index")
    settings = ServeSettings(token=TOKEN, index=str(index))
    return create_app(predictor, settings, {"name": "m", "version": "v1"})


# Both warnings come from the test client being handed schemathesis' request arguments (empty
# per-request cookies, raw bodies as data=), not from the server under test.
@pytest.mark.filterwarnings("ignore:Setting per-request cookies:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning")
def test_generated_requests_never_get_a_5xx(app):
    """≥ 500 generated cases across all operations: no status ≥ 500, and /healthz still 200."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )
    statuses: collections.Counter = collections.Counter()
    failures: list[str] = []

    with TestClient(app) as client:

        @given(case=strategy)
        @settings(
            max_examples=CASES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case) -> None:
            kwargs = case.as_transport_kwargs(
                base_url="http://testserver", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            response = client.request(**kwargs)
            statuses[(case.operation.path, response.status_code)] += 1
            if response.status_code >= 500:
                failures.append(case.as_curl_command())

        exercise()
        alive = client.get("/healthz").status_code

    assert not failures, f"{len(failures)} responses ≥ 500, first: {failures[0]}"
    assert sum(statuses.values()) >= 500
    # Every operation of the document was called (those without inputs have one case each).
    assert {path for path, _ in statuses} == set(app.openapi()["paths"])
    # The fuzzing reached the model, not only the validators.
    assert statuses[("/v1/predict", 200)] > 0
    assert any(code == 422 for _, code in statuses)
    assert alive == 200
