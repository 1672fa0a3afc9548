"""The app's endpoints, one module per group; each holds an ``APIRouter`` whose routes read the
served model from ``request.app.state`` (:mod:`..state`).

A new endpoint is a new module here whose router :func:`routers` returns; its path (or path
template) is then counted under its own name in the request metrics, and a path under ``/v1/``
or ``/v2`` asks for the bearer token like the others (:func:`..middleware.requires_token`).
The documentation pages (:mod:`.docs`) are included by the app apart from these.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import embeddings, health, label_studio, model, predict, v2
from . import explain as explain_route


def routers(
    image: bool,
    explain: bool = False,
    label_studio_backend: bool = False,
    embed: bool = False,
    similar: bool = False,
) -> list[APIRouter]:
    """Every router of an app serving a text or an ``image`` model, in the order of the
    OpenAPI document; /v1/explain only when ``explain`` is on, Label Studio's ML backend
    contract only when ``label_studio_backend`` is, /v1/embed with ``embed`` and /v1/similar
    with ``similar`` (a served index)."""
    content = predict.request_content(image)
    included = [predict.build_router(content), model.router, health.router, v2.router]
    if explain:
        included.insert(1, explain_route.build_router(explain_route.request_content(image)))
    if embed or similar:
        included.insert(1, embeddings.build_router(similar))
    if label_studio_backend:
        included.append(label_studio.build_router())
    return included


def recommend_routers() -> list[APIRouter]:
    """The routers of an app serving a recommend run: /v1/recommend, /v1/model, health."""
    from . import recommend

    return [recommend.build_router(), model.router, health.router]


def endpoint_paths(included: list[APIRouter]) -> frozenset[str]:
    """The paths the ``included`` routers serve."""
    return frozenset(route.path for router in included for route in router.routes)
