"""The ASGI application: routers, the envelope on every answer, the database engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import __version__, apidoc, envelope, heap
from callhistory.auth import keys
from callhistory.auth.routes import router as auth_router
from callhistory.calls.routes import router as calls_router
from callhistory.config import check_production, get_settings
from callhistory.dashboard.routes import router as dashboard_router
from callhistory.dashboard.routes import static_files as dashboard_static
from callhistory.db import create_engine
from callhistory.directory.routes import router as directory_router
from callhistory.evaluations.routes import router as evaluations_router
from callhistory.exports.routes import router as exports_router
from callhistory.guards import LimitBodySize, RejectNulBytes
from callhistory.http_compat import ClientPaths, EnvelopedCors, cors_options
from callhistory.ingest.batch import router as batch_router
from callhistory.ingest.routes import router as ingest_router
from callhistory.ops import RequestContext
from callhistory.ops import router as ops_router
from callhistory.ratelimit import Limits, RateLimiter
from callhistory.recordings.routes import router as recordings_router
from callhistory.reports.routes import router as reports_router
from callhistory.stats.routes import router as stats_router
from callhistory.sync.routes import router as sync_router
from callhistory.tags.routes import router as tags_router
from callhistory.webhooks.routes import router as webhooks_router


def create_app(
    engine: AsyncEngine | None = None, rate_limiter: RateLimiter | None = None
) -> FastAPI:
    """The app; tests hand in their own engine, `serve` lets it open the configured one."""
    settings = get_settings()
    check_production(settings)  # every worker refuses, not only the parent process
    keys.configure_recent_keys(settings.key_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or create_engine(
            settings.database_url, settings.database_pool_size
        )
        # `serve` runs the webhook/export worker beside the API unless CALLHISTORY_WORKER=off
        # (then run `callhistory worker` on its own); tests hand in an engine and drive it.
        stop = asyncio.Event()
        background = None
        if owned and settings.worker != "off":
            from callhistory.webhooks.worker import run_forever

            background = asyncio.create_task(run_forever(app.state.engine, stop))
        if owned:  # a server process (tests hand in their engine and keep the defaults)
            heap.settle()
        yield
        if background is not None:
            stop.set()
            await background
        if owned:
            await app.state.engine.dispose()

    app = FastAPI(
        title="callhistory",
        version=__version__,
        description="Call-history API for cloud call centers (see docs/api.md).",
        lifespan=lifespan,
        default_response_class=envelope.EnvelopeResponse,
        redirect_slashes=False,  # ClientPaths answers `/x/` as `/x`; a redirect never
    )
    if engine is not None:
        app.state.engine = engine
    app.state.rate_limiter = rate_limiter or RateLimiter(
        Limits.parse(settings.rate_limit_api, settings.rate_limit_ingest), settings.redis_url
    )
    envelope.install(app)
    app.add_middleware(RejectNulBytes)
    app.add_middleware(LimitBodySize, limit=settings.max_body_bytes)
    # preflights are answered here, before any route or credential check
    app.add_middleware(EnvelopedCors, **cors_options(settings.cors_origins))
    app.add_middleware(RequestContext)  # every answer gets its id and is counted
    app.add_middleware(ClientPaths)  # outermost: the rest see `/x`, and HEAD as GET
    # A request is matched against the routers in this order, a router's routes one by
    # one: the PBX's posts, the busiest requests by far, first (their paths clash with
    # no other), which took FastAPI's matching from ~13 routes a post to 1.
    app.include_router(ingest_router)
    app.include_router(batch_router)
    app.include_router(ops_router)
    app.include_router(auth_router)
    app.include_router(calls_router)
    app.include_router(reports_router)
    app.include_router(recordings_router)
    app.include_router(stats_router)
    app.include_router(directory_router)
    app.include_router(evaluations_router)
    app.include_router(tags_router)
    app.include_router(sync_router)
    app.include_router(webhooks_router)
    app.include_router(exports_router)
    app.include_router(dashboard_router)
    app.mount(*dashboard_static())
    apidoc.install(app)
    return app
