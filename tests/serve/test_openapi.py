"""The OpenAPI document declares what each endpoint answers: the response bodies, the error
statuses with their shared body, and the bearer scheme where the token is required; and the
server's real answers fit what it declares."""

from __future__ import annotations

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.types import LabelMap

TOKEN = "openapi-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPEN = {"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"}
ERRORS = {
    ("/v1/predict", "post"): {"400", "413", "422", "503"},
    ("/readyz", "get"): {"503"},
    ("/v2/health/ready", "get"): {"503"},
    ("/v2/models/{name}", "get"): {"404"},
    ("/v2/models/{name}/ready", "get"): {"404", "503"},
    ("/v2/models/{name}/infer", "post"): {"400", "404", "413", "422", "503"},
}


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )


def _app(predictor, **settings):
    return create_app(predictor, ServeSettings(**settings), {"name": "m", "version": "v1"})


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _schema(response: dict, media: str = "application/json") -> dict:
    return response["content"][media]["schema"]


def test_every_endpoint_declares_its_answer_and_errors(predictor):
    """Each operation declares its 200 body (a named schema, or Prometheus text for
    /metrics) and its error statuses, each with the ErrorBody schema whose ``error`` string
    is required; without a token nothing asks for credentials."""
    document = _app(predictor).openapi()
    for path, method, operation in _operations(document):
        ok = operation["responses"]["200"]
        if path == "/metrics":
            assert "text/plain" in ok["content"]
        else:
            assert _schema(ok)["$ref"].startswith("#/components/schemas/"), path
        declared = {code for code in operation["responses"] if code != "200"}
        assert ERRORS.get((path, method), set()) <= declared, (path, declared)
        for code in ERRORS.get((path, method), ()):
            ref = _schema(operation["responses"][code])["$ref"]
            assert ref == "#/components/schemas/ErrorBody", (path, code)
        assert "security" not in operation
    error_body = document["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error"]
    assert error_body["properties"]["error"]["type"] == "string"
    assert "securitySchemes" not in document["components"]


def test_the_bearer_scheme_is_declared_where_the_token_is_required(predictor):
    """With a token, the document declares the HTTP bearer scheme; every operation that
    needs the token requires it and declares 401, and the health probes stay open."""
    document = _app(predictor, token=TOKEN).openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}}
    for path, _, operation in _operations(document):
        if path in OPEN:
            assert "security" not in operation and "401" not in operation["responses"], path
        else:
            assert operation["security"] == [{"bearerAuth": []}], path
            ref = _schema(operation["responses"]["401"])["$ref"]
            assert ref == "#/components/schemas/ErrorBody"


def _check(document: dict, path: str, method: str, response) -> None:
    """``response``'s body fits the schema the document declares for its status."""
    declared = document["paths"][path][method]["responses"][str(response.status_code)]
    schema = {**_schema(declared), "components": document["components"]}
    jsonschema_rs.validator_for(schema).validate(response.json())


def test_real_answers_fit_the_declared_schemas(predictor):
    """Answers and refusals of /v1, health and /v2 endpoints validate against the schemas
    the document gives for their status codes."""
    app = _app(predictor, token=TOKEN, max_chars=5, overlong="truncate")
    document = app.openapi()
    infer = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["ok"]}]}
    calls = [
        ("/v1/predict", "post", {"json": {"inputs": ["good", "a long text"], "top_k": 2}}),
        ("/v1/predict", "post", {"json": {"inputs": []}}),
        ("/v1/predict", "post", {"content": b"{", "headers": {"content-type": "text/json"}}),
        ("/v1/model", "get", {}),
        ("/healthz", "get", {}),
        ("/readyz", "get", {}),
        ("/v2", "get", {}),
        ("/v2/health/live", "get", {}),
        ("/v2/health/ready", "get", {}),
        ("/v2/models/{name}", "get", {}),
        ("/v2/models/{name}/ready", "get", {}),
        ("/v2/models/{name}/infer", "post", {"json": infer}),
        ("/v2/models/{name}/infer", "post", {"json": {"inputs": "none"}}),
    ]
    with TestClient(app) as client:
        unauthorised = client.get("/v1/model")
        _check(document, "/v1/model", "get", unauthorised)
        for path, method, kwargs in calls:
            headers = {**AUTH, **kwargs.pop("headers", {})}
            url = path.replace("{name}", "m")
            response = client.request(method.upper(), url, headers=headers, **kwargs)
            _check(document, path, method, response)
        missing = client.get("/v2/models/other", headers=AUTH)
        _check(document, "/v2/models/{name}", "get", missing)
