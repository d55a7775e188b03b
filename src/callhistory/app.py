"""The ASGI application: routers, the envelope on every answer, the database engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import __version__, envelope
from callhistory.auth.routes import router as auth_router
from callhistory.calls.routes import router as calls_router
from callhistory.config import get_settings
from callhistory.db import create_engine
from callhistory.directory.routes import router as directory_router
from callhistory.guards import RejectNulBytes
from callhistory.ingest.routes import router as ingest_router
from callhistory.reports.routes import router as reports_router


def create_app(engine: AsyncEngine | None = None) -> FastAPI:
    """The app; tests hand in their own engine, `serve` lets it open the configured one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or create_engine(get_settings().database_url)
        yield
        if owned:
            await app.state.engine.dispose()

    app = FastAPI(
        title="callhistory",
        version=__version__,
        description="Call-history API for cloud call centers (see docs/api.md).",
        lifespan=lifespan,
        default_response_class=envelope.EnvelopeResponse,
    )
    if engine is not None:
        app.state.engine = engine
    envelope.install(app)
    app.add_middleware(RejectNulBytes)
    app.include_router(auth_router)
    app.include_router(calls_router)
    app.include_router(reports_router)
    app.include_router(directory_router)
    app.include_router(ingest_router)
    return app
