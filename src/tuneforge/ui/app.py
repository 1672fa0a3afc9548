"""create_app(settings) → the dashboard as a FastAPI app: the page routers, the package's static
files, the session and the Guard (``security``), and error pages.

Built on the model server's stack (FastAPI, uvicorn) but a separate app: the dashboard reads
the store and run directories, the model server holds one model, and neither should share the
other's failure modes. No API documentation is mounted: its pages would load assets from a CDN.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from .._version import __version__
from ..store import open_store
from .routes import auth, labeling, monitoring, playground, registry, run, runs, search, studies
from .routes import recommend as recommend_page
from .security import SESSION_COOKIE, Guard
from .settings import UISettings
from .templating import STATIC_DIR, build_templates, render

# Every page group's router; a later page adds its module here and its row to templating.NAV.
ROUTERS = (auth.router, runs.router, run.router)
ROUTERS += (registry.router, labeling.router)
ROUTERS += (studies.router, monitoring.router, playground.router, search.router)
ROUTERS += (recommend_page.router,)
SESSION_MAX_AGE_S = 12 * 3600


def create_app(settings: UISettings) -> FastAPI:
    app = FastAPI(
        title="tuneforge dashboard",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ui = settings
    app.state.store = open_store(settings.runs_dir)
    app.state.templates = build_templates()
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    # Added last = runs first: the session must be in the scope before the Guard reads it.
    app.add_middleware(Guard, settings=settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="strict",
        # Served over plain HTTP (as the model server is): a Secure cookie would never come back.
        https_only=False,
    )
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, exc.status_code)
    title = HTTPStatus(exc.status_code).phrase
    return render(request, "message.html", exc.status_code, title=title, message=exc.detail)


async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}" for e in exc.errors()
    )
    if _wants_json(request):
        return JSONResponse({"error": problems}, 400)
    return render(request, "message.html", 400, title="Bad request", message=problems)
