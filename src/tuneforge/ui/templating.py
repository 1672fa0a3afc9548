"""Jinja2 for the dashboard: autoescaping on everywhere, one ``render`` that gives every page
its layout's context (navigation, CSRF token, read-only, login), and the formatting filters.

Autoescape is not optional here: every label, text, path and error message on these pages
came from a user's files. Markup built elsewhere (the report's attribution colouring) enters
only as ``Markup`` from functions that escape their inputs themselves.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from .._version import __version__

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# The navigation bar: only pages that exist. Later pages (registry, monitoring, labeling,
# playground, studies) add their row here with their router in app.py.
# Each row: title, link, and the path prefixes under which the row is the current page.
NAV = [("Runs", "/runs", ("/runs", "/compare"))]
NAV += [("Registry", "/registry", ("/registry",)), ("Labeling", "/labeling", ("/labeling",))]
NAV += [
    ("Studies", "/studies", ("/studies",)),
    ("Monitoring", "/monitoring", ("/monitoring",)),
    ("Playground", "/playground", ("/playground",)),
    ("Search", "/search", ("/search",)),
]
NAV += [("Recommend", "/recommend", ("/recommend",))]
# The one charting library (static/vendor/README.md says which version, why, and its licence).
CHART_JS = "vendor/chart.js-4.5.1/chart.umd.min.js"


def number(value: Any, digits: int = 4) -> str:
    """Floats to fixed digits; None and non-finite values as a dash."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—" if value in (None, "") else str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else "—"
    return str(value)


def duration(seconds: float | None) -> str:
    """``4 s``, ``3 min 05 s``, ``2 h 10 min``; a dash when unknown (still running)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    total = round(seconds)
    hours, minutes, sec = total // 3600, total // 60 % 60, total % 60
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"


def when(value: dt.datetime | None) -> str:
    """A UTC time to the minute, as the CLI prints it."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M") if value else "—"


def build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, duration=duration, when=when)
    env.globals.update(
        version=__version__,
        chart_js=CHART_JS,
        static=lambda name: f"/static/{name}?v={__version__}",
    )
    return Jinja2Templates(env=env)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the layout (``base.html``) with what the layout needs besides ``context``."""
    settings = request.app.state.ui
    session = request.scope.get("session", {})
    layout = {
        "nav": NAV,
        "path": request.url.path,
        "csrf": session.get("csrf", ""),
        "read_only": settings.read_only,
        "logged_in": bool(settings.token and session.get("auth")),
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, {**layout, **context}, status_code)
