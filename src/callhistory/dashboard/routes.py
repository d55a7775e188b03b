"""The dashboard's router and static files, for app.py to include in two lines."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles

from callhistory.dashboard import pages, signin
from callhistory.dashboard.render import STATIC_DIR, STATIC_URL

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(pages.router)


def static_files() -> tuple[str, StaticFiles]:
    return STATIC_URL, StaticFiles(directory=STATIC_DIR)
