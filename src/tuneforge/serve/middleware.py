"""Bearer-token check, client disconnects and request metrics, around every route of the app."""

from __future__ import annotations

import hmac
import logging
import time

from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from .metrics import ServerMetrics

# Set in a request's ASGI scope by the server protocol (:mod:`.protocol`) when it stopped
# waiting for the request's body: the app then sees a disconnect that was a 408.
READ_TIMEOUT_KEY = "tuneforge.read_timeout"

logger = logging.getLogger("tuneforge.serve")


def requires_token(path: str) -> bool:
    """Whether ``path`` asks for the bearer token (when one is configured): the API under
    ``/v1/`` and ``/v2`` and ``/metrics``; the health probes (``/healthz``, ``/readyz``,
    ``/v2/health/...``) and the docs stay open."""
    if path.startswith("/v1/") or path == "/metrics" or path == "/v2":
        return True
    return path.startswith("/v2/") and not path.startswith("/v2/health/")


class GuardAndCount:
    """Bearer-token check and request metrics as plain ASGI middleware.

    Starlette's ``@app.middleware("http")`` runs every request through extra tasks and
    streams; for a short prediction on two cores that was a large share of the request's own
    cost. This does the same two jobs on the raw ASGI messages. Requests are counted under
    their endpoint (the path, or the route's path template such as
    ``/v2/models/{name}/infer``) when it is one of ``endpoints``, else under ``other``, so
    that probing clients cannot grow the metrics without bound.

    A client that hangs up before its request was read is no server error: the app's
    :class:`ClientDisconnect` stops here, is logged at debug level and counted in
    ``tuneforge_client_disconnects_total``, not as a response.
    """

    def __init__(
        self, app, token: str | None, metrics: ServerMetrics, endpoints: frozenset[str]
    ) -> None:
        self.app, self.token, self.metrics, self.endpoints = app, token, metrics, endpoints

    def refusal(self, scope) -> JSONResponse | None:
        """The 400 or 401 a request's credentials get, or None when it may pass.

        Two Authorization headers are refused outright: picking either one would let a
        proxy's header and a client's disagree about who is asking."""
        given = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(given) > 1:
            return JSONResponse(
                {"error": "more than one Authorization header; send exactly one"}, 400
            )
        if not self.token or not requires_token(scope["path"]):
            return None
        scheme, _, credential = (given[0].decode("latin-1") if given else "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            credential.encode(), self.token.encode()
        ):
            return None
        return JSONResponse(
            {"error": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"}
        )

    def endpoint(self, scope) -> str:
        """The metrics label of a handled request."""
        path = scope["path"]
        if path in self.endpoints:
            return path
        template = getattr(scope.get("route"), "path", None)
        return template if template in self.endpoints else "other"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: int | str = 500  # what an exception escaping the app becomes

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            refusal = self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_and_note)
            else:
                await self.app(scope, receive, send_and_note)
        except ClientDisconnect:
            status = 408 if scope.get(READ_TIMEOUT_KEY) else "disconnect"
            logger.debug(
                "%s %s: the client disconnected before its request was read%s",
                scope["method"],
                scope["path"],
                " (read timeout)" if status == 408 else "",
            )
        finally:
            label = self.endpoint(scope)
            if status == "disconnect":
                self.metrics.client_disconnects.labels(label).inc()
            else:
                self.metrics.requests.labels(label, str(status)).inc()
                self.metrics.latency.labels(label).observe(time.perf_counter() - start)
