"""Logging in with the dashboard's token, and out. The Guard (``security``) sends every
request without a logged-in session here when a token is set."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..security import new_csrf_token, safe_next
from ..templating import render
from .deps import settings_of

router = APIRouter()
FAILED_LOGIN_DELAY_S = 1.0  # a guess costs a second: the token cannot be tried out quickly


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if not settings_of(request).token:
        return RedirectResponse(safe_next(next), 303)
    return render(request, "login.html", title="Log in", next=safe_next(next), failed=False)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
    expected = settings_of(request).token
    if not expected:
        return RedirectResponse(safe_next(next), 303)
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        page = render(request, "login.html", 401, title="Log in", next=safe_next(next), failed=True)
        return page
    # A fresh session: nothing a visitor held before logging in carries over (fixation).
    request.session.clear()
    request.session.update(auth=True, csrf=new_csrf_token())
    return RedirectResponse(safe_next(next), 303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login" if settings_of(request).token else "/runs", 303)
