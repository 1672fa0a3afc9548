"""/docs (Swagger UI) and /redoc (ReDoc) with their scripts served by the server itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine without internet
access (where models are often served) both pages stayed blank. The assets here come pinned
in the ``fastapi-offline`` package (MIT), which bundles Swagger UI 5 (Apache-2.0) and ReDoc 2
(MIT); :func:`assets` serves its files under :data:`ASSETS_PATH`, and the pages name only
those local URLs (behind a proxy, under the app's ``root_path``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    """The Swagger UI and ReDoc files, as an app to mount at :data:`ASSETS_PATH`."""
    from importlib.resources import files

    return StaticFiles(directory=str(files("fastapi_offline") / "static"))


def _urls(request: Request) -> tuple[str, str]:
    """The OpenAPI document's URL and the assets' base URL, as this request reaches them."""
    root = request.scope.get("root_path", "")
    return f"{root}{request.app.openapi_url}", f"{root}{ASSETS_PATH}"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """The API's interactive documentation."""
    openapi_url, base = _urls(request)
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{base}/swagger-ui-bundle.js",
        swagger_css_url=f"{base}/swagger-ui.css",
        swagger_favicon_url=f"{base}/favicon.png",
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """The API's reference documentation."""
    openapi_url, base = _urls(request)
    return get_redoc_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{base}/redoc.standalone.js",
        redoc_favicon_url=f"{base}/favicon.png",
        with_google_fonts=False,
    )
