"""Bearer-token check and request metrics, around every route of the app."""

from __future__ import annotations

import hmac
import time

from fastapi.responses import JSONResponse

from .metrics import ServerMetrics


class GuardAndCount:
    """Bearer-token check and request metrics as plain ASGI middleware.

    Starlette's ``@app.middleware("http")`` runs every request through extra tasks and
    streams; for a short prediction on two cores that was a large share of the request's own
    cost. This does the same two jobs on the raw ASGI messages. Requests are counted under
    their path when it is one of ``endpoints`` (the paths the app's routers serve), else
    under ``other``, so that probing clients cannot grow the metrics without bound.
    """

    def __init__(
        self, app, token: str | None, metrics: ServerMetrics, endpoints: frozenset[str]
    ) -> None:
        self.app, self.token, self.metrics, self.endpoints = app, token, metrics, endpoints

    def authorised(self, scope) -> bool:
        if not self.token:
            return True
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.encode(), self.token.encode()
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        status = 500  # what an exception escaping the app becomes

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if (path.startswith("/v1/") or path == "/metrics") and not self.authorised(scope):
                refusal = JSONResponse(
                    {"error": "missing or wrong bearer token"},
                    401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await refusal(scope, receive, send_and_note)
            else:
                await self.app(scope, receive, send_and_note)
        finally:
            label = path if path in self.endpoints else "other"
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - start)
