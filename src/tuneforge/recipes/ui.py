"""ui: check where the dashboard may listen, build it, and serve it with uvicorn until stopped.

The binding rule and the server loop are the model server's (``serve.check_binding``,
``recipes.serve.GracefulServer``): beyond loopback without a token it refuses to start
(ConfigError, exit 2), and SIGTERM/SIGINT finish the requests in flight, then exit 0.
"""

from __future__ import annotations

from collections.abc import Callable

from ..serve import check_binding
from ..ui import UISettings, create_app
from .serve import GracefulServer


def dashboard_url(settings: UISettings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}/"


def serve_ui(settings: UISettings, announce: Callable[[str], None] = print) -> None:
    import uvicorn

    check_binding(settings)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False
    )
    mode = " (read-only)" if settings.read_only else ""
    login = "; log in with the token" if settings.token else ""
    announce(f"dashboard{mode} on {dashboard_url(settings)} for {settings.runs_dir}{login}")
    GracefulServer(config).run()
