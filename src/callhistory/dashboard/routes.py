"""The dashboard's router and static files, for app.py to include in two lines.

Both answer with the security headers (render.SECURITY_HEADERS): the routes are
render.SecureRoute, and the static files are wrapped by render.secure_static.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from callhistory.dashboard import pages, signin
from callhistory.dashboard.render import STATIC_DIR, STATIC_URL, SecureRoute, secure_static

router = APIRouter(include_in_schema=False, route_class=SecureRoute)
router.include_router(signin.router)
router.include_router(pages.router)


def static_files() -> tuple[str, ASGIApp]:
    return STATIC_URL, secure_static(StaticFiles(directory=STATIC_DIR))
