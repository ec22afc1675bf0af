"""Customer care's console: one server-rendered page (plain HTML and a little JavaScript calling
the API with a crm token typed into the page; no build step)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from server.api.middleware import static_page

page_router = APIRouter(tags=["console"])


@page_router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console_page() -> HTMLResponse:
    """Search members, a member's page, complaints and follow-ups."""
    html, csp = static_page("console.html")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})
