"""What stands before every page: the Host check, the login, CSRF, read-only, and the headers
that keep user text inert.

One ASGI middleware (:class:`Guard`) does it all, so no route can forget a check:

- **Host.** Without a token the dashboard is loopback-only, and a page from elsewhere must not
  reach it through DNS rebinding (a name that resolves to 127.0.0.1): requests whose ``Host``
  is not a loopback name are refused.
- **Login.** With a token, every page but the login form and the static files needs a session
  that proved it knows the token. Sessions are Starlette's signed cookie (itsdangerous),
  HttpOnly and SameSite=Strict.
- **CSRF.** Every state-changing request carries the session's CSRF token, in the
  ``X-CSRF-Token`` header (scripts) or a ``csrf_token`` form field (forms); cross-site requests
  (``Sec-Fetch-Site``, ``Origin``) are refused before that.
- **Read-only.** ``--read-only`` refuses every state-changing request except logging in and out
  and the playground's predictions (which store nothing);
  the templates hide the actions (``action_form`` in ``_macros.html``).
- **Headers.** A Content-Security-Policy that allows scripts only from the package's own static
  files: a ``<script>`` that slipped into a page unescaped would still not run.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, quote, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from ..serve.settings import is_loopback
from .settings import UISettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "tuneforge_ui"
# Paths anyone may fetch: the login form and the package's own assets.
OPEN_PREFIXES = ("/static/",)
LOGIN_PATHS = frozenset({"/login", "/logout"})
# POSTs that change nothing stored, allowed under --read-only (CSRF still applies): the
# playground's predictions (routes/playground.py says why).
READ_ONLY_ALLOWED = LOGIN_PATHS | {"/playground", "/api/playground/image", "/search"}
READ_ONLY_ALLOWED |= {"/recommend"}  # recommendations store nothing
MAX_FORM_BYTES = 1_000_000

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # no inline scripts, no eval: only /static/*.js
        # Inline style attributes carry computed colours (attribution shading); styles cannot
        # run code, and every user string is escaped before it reaches one.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def host_name(host_header: str) -> str:
    """The name in a Host header: ``[::1]:8080`` → ``::1``, ``localhost:80`` → ``localhost``."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


class Guard:
    """The checks above, as plain ASGI middleware inside Starlette's SessionMiddleware (which
    puts the session in the scope)."""

    def __init__(self, app, settings: UISettings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                if not scope["path"].startswith(OPEN_PREFIXES):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        refusal, receive = await self.check(scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)

    async def check(self, scope, receive) -> tuple[Response | None, object]:
        """The refusal a request gets (or None), and the ``receive`` to hand on (a form body
        read for its CSRF field is replayed to the route)."""
        headers = Headers(scope=scope)
        if not self.settings.token and not is_loopback(host_name(headers.get("host", ""))):
            return PlainTextResponse("This dashboard answers on loopback names only.", 400), receive
        path, method = scope["path"], scope["method"]
        if path.startswith(OPEN_PREFIXES):
            return None, receive
        session = scope["session"]
        session.setdefault("csrf", new_csrf_token())
        if method not in SAFE_METHODS:
            refusal, receive = await self.csrf_refusal(scope, receive, headers, session["csrf"])
            if refusal is not None:
                return refusal, receive
            if self.settings.read_only and path not in READ_ONLY_ALLOWED:
                return PlainTextResponse("The dashboard is read-only.", 403), receive
        if self.settings.token and not session.get("auth") and path not in LOGIN_PATHS:
            if path.startswith("/api/"):
                return JSONResponse({"error": "log in first"}, 401), receive
            target = path + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
            return RedirectResponse(f"/login?next={quote(target)}", 303), receive
        return None, receive

    async def csrf_refusal(self, scope, receive, headers: Headers, expected: str):
        if headers.get("sec-fetch-site") == "cross-site" or not _same_origin(headers):
            return PlainTextResponse("Cross-site request refused.", 403), receive
        given = headers.get(CSRF_HEADER)
        if given is None and headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            body, receive = await _read_body(receive)
            if body is None:
                return PlainTextResponse("Form too large.", 413), receive
            given = (parse_qs(body.decode("latin-1")).get(CSRF_FIELD) or [None])[0]
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse("Missing or wrong CSRF token; reload the page.", 403), receive
        return None, receive


def _same_origin(headers: Headers) -> bool:
    """A browser names the page a request came from in ``Origin``; it must be this site."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == headers.get("host")


async def _read_body(receive):
    """The whole request body (None past MAX_FORM_BYTES) and a ``receive`` that replays it."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_FORM_BYTES:
            return None, receive
        more = message.get("more_body", False)
    body, replayed = b"".join(chunks), False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
