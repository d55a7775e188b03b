"""`GET /api/auth` and the credential check every endpoint depends on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.answers import AccessToken, Answer
from callhistory.auth import attempts, keys, tokens
from callhistory.auth.keys import KeyRef
from callhistory.config import get_settings
from callhistory.envelope import ApiError, ok
from callhistory.ratelimit import API, INGEST, RateLimiter

router = APIRouter(tags=["auth"])

# auto_error=False: the envelope, not FastAPI, answers missing credentials.
api_key_header = APIKeyHeader(name="x-api-key", auto_error=False)
bearer = HTTPBearer(auto_error=False)


def engine_of(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def _from_key(engine: AsyncEngine, api_key: str) -> KeyRef:
    ref = await keys.verify_key_recent(engine, api_key)
    if ref is None:
        raise ApiError(401, "api_key_invalid")
    return ref


async def limit(request: Request, ref: KeyRef) -> None:
    """Count the request against its key's limit: ingest (`/api/cdr…`) has its own."""
    group = INGEST if request.url.path.startswith("/api/cdr") else API
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit(group, ref.key_id)


async def current_key(
    request: Request,
    api_key: Annotated[str | None, Depends(api_key_header)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyRef:
    """The caller's key, from `x-api-key` or a Bearer token; its tenant scopes everything."""
    ref = await _authenticate(request, api_key, credentials)
    await limit(request, ref)
    return ref


async def _authenticate(
    request: Request,
    api_key: str | None,
    credentials: HTTPAuthorizationCredentials | None,
) -> KeyRef:
    engine = engine_of(request)
    if api_key:
        return await _from_key(engine, api_key)
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "api_key_is_required")
    try:
        ref = tokens.verify(credentials.credentials, get_settings().secret_key)
    except tokens.TokenExpired as exc:
        raise ApiError(401, "token_expired") from exc
    except tokens.TokenInvalid as exc:
        raise ApiError(401, "unauthorized") from exc
    # Checked on every request (within CALLHISTORY_KEY_CACHE_SECONDS), so revoking a key
    # ends its tokens; the agent scope is the key's, whatever the token says.
    active = await keys.active_key_recent(engine, ref)
    if active is None:
        raise ApiError(401, "api_key_invalid")
    return active


async def tenant_key(ref: Annotated[KeyRef, Depends(current_key)]) -> KeyRef:
    """A key of the whole tenant: an agent's key is refused (403 agent_key_not_allowed)
    wherever a route has not said how it narrows what it answers to the agent's calls."""
    if ref.agent_id is not None:
        raise ApiError(403, "agent_key_not_allowed")
    return ref


# Every route's credentials: a key of the whole tenant. ScopedCaller: an agent's key too,
# for the routes that answer only that agent's calls to it (see auth/scope.py).
Caller = Annotated[KeyRef, Depends(tenant_key)]
ScopedCaller = Annotated[KeyRef, Depends(current_key)]


@router.get(
    "/api/auth",
    summary="Exchange an API key for a Bearer access token",
    response_model=Answer[AccessToken],
    description=(
        "The key goes in the `apiKey` query parameter or the `x-api-key` header; when both "
        "are given, `apiKey` (the documented one) is used and the header is ignored."
    ),
    responses={
        401: {"description": "`api_key_is_required` or `api_key_invalid`."},
        429: attempts.openapi_429(),
    },
)
async def exchange_key(
    request: Request,
    api_key: Annotated[str | None, Query(alias="apiKey")] = None,
    header_key: Annotated[str | None, Depends(api_key_header)] = None,
) -> object:
    # Clients that send x-api-key to every other endpoint send it here too.
    chosen = api_key or header_key
    if not chosen:
        raise ApiError(401, "api_key_is_required")
    account = attempts.key_account(chosen)
    ref = await attempts.checked_key(
        request, engine_of(request), attempts.API_AUTH, account, chosen
    )
    if ref is None:
        raise ApiError(401, "api_key_invalid")
    settings = get_settings()
    token, expires_at = tokens.issue(ref, settings.secret_key, settings.token_ttl_seconds)
    return ok(
        {
            "access_token": token,
            "token_type": "Bearer",
            "access_type": "normal",
            "expires_at": expires_at,
        }
    )
