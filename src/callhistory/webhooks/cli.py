"""`callhistory webhooks rotate-secrets`: the stored secrets under the current key."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.cli_support import err, fail, run_with_engine
from callhistory.db import writing

webhooks_app = typer.Typer(help="Webhooks' stored secrets.", no_args_is_help=True)


@webhooks_app.command("rotate-secrets")
def webhooks_rotate_secrets() -> None:
    """Re-encrypt every webhook secret under the first key of CALLHISTORY_SECRETS_KEY
    (secrets stored in clear before included); exit 1 if a secret no key opens remains."""
    # Imported when the command runs: the store pulls in the sync feed, which every
    # other command would load for nothing.
    from callhistory.secrets_box import SecretsKeyInvalid
    from callhistory.webhooks import store

    async def work(engine: AsyncEngine) -> store.Resealed:
        async with writing(engine) as conn:
            return await store.reseal_secrets(conn)

    try:
        report = run_with_engine(work)
    except SecretsKeyInvalid as exc:
        raise fail(str(exc)) from exc
    err.print(f"re-encrypted {report.resealed}, already current {report.current}")
    if report.unreadable:
        hooks = ", ".join(f"{tenant}/{hook}" for tenant, hook in report.unreadable)
        raise fail(
            f"{len(report.unreadable)} secret(s) no configured key opens (tenant/hook: {hooks}):"
            " put the key that encrypted them back in CALLHISTORY_SECRETS_KEY, or register"
            " those hooks again"
        )
