"""How the server process holds its connections: read deadlines, keep-alive, a cap.

uvicorn (0.54, on h11 here) closes idle keep-alive connections after ``timeout_keep_alive``
and answers 503 past ``limit_concurrency``, but it has no deadline for *reading* a request:
a fresh connection that sends nothing, or half a request head, or a body one byte a minute,
holds a connection (and, in the body case, a running request) for as long as the client
likes; a few hundred such clients starve everyone else. :class:`ReadDeadlines` is uvicorn's
h11 protocol with one timer per connection that always covers what the connection waits
for: the whole request head within ``header_timeout`` of the connection being ready for a
request, then the whole body within ``body_timeout`` of the head. A subclass and not a
wrapper around the transport because only the protocol knows where a request starts and ends
(h11's states), and a timer per phase rather than per read because a client trickling bytes
must not be able to restart it.
"""

from __future__ import annotations

import functools
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .access_log import log_config
from .middleware import READ_TIMEOUT_KEY
from .settings import ServeSettings

logger = logging.getLogger("tuneforge.serve")

TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\nconnection: close\r\n\r\nRequest Timeout\n"
)


class ReadDeadlines(H11Protocol):
    """uvicorn's h11 protocol with a deadline on reading each request's head and body.

    When a deadline passes the connection is closed: with a 408 if part of a request had
    arrived (none if it was idle), and the request's app, if one is waiting for the body,
    sees a disconnect (marked in its scope as a read timeout, so the metrics count a 408).
    """

    def __init__(
        self,
        config,
        server_state,
        app_state,
        _loop=None,
        *,
        header_timeout: float = 10.0,
        body_timeout: float = 30.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.timeouts = {"head": header_timeout, "body": body_timeout}
        self.phase: str | None = None
        self.deadline = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.watch()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.arm(None)

    def watch(self) -> None:
        """Keep the deadline of what the connection waits for now: a request head (before
        the first request and after each response), a body, or nothing (the app works)."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            phase = "body"
        elif state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            phase = "head"
        else:
            phase = None
        if phase != self.phase:
            self.arm(phase)

    def arm(self, phase: str | None) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.phase = phase
        self.deadline = None
        if phase is not None and not self.transport.is_closing():
            self.deadline = self.loop.call_later(self.timeouts[phase], self.expire)

    def expire(self) -> None:
        """The deadline passed: answer 408 where a request was under way, and close."""
        self.deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if self.phase == "body" else None
        partial_head = self.phase == "head" and self.conn.trailing_data[0].strip()
        if (cycle is not None and not cycle.response_started) or partial_head:
            self.transport.write(TIMEOUT_RESPONSE)  # h11 is bypassed: the connection ends here
        if cycle is not None:
            cycle.scope[READ_TIMEOUT_KEY] = True
            cycle.disconnected = True
            cycle.message_event.set()  # the app waiting for the body gets a disconnect
        logger.debug(
            "closed %s: no complete request %s within %s s",
            self.client,
            self.phase,
            self.timeouts[self.phase],
        )
        self.transport.close()


def uvicorn_options(settings: ServeSettings) -> dict:
    """The uvicorn settings for serving with ``settings``: the read deadlines, keep-alive,
    the connection cap, and the access log without credentials.

    A head still incomplete past h11's 16 KiB is refused with 400 by uvicorn's own default
    (``h11_max_incomplete_event_size``); it is no flag here because h11 applies it only to a
    head that arrives in pieces, not to one read whole."""
    return {
        "http": functools.partial(
            ReadDeadlines,
            header_timeout=settings.header_timeout_s,
            body_timeout=settings.body_timeout_s,
        ),
        "timeout_keep_alive": settings.keep_alive_s,
        # uvicorn refuses a request once len(connections) >= limit, the asking connection
        # included: one more than the cap lets exactly max_connections be served at once.
        "limit_concurrency": settings.max_connections + 1,
        "log_config": log_config(),
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
    }
