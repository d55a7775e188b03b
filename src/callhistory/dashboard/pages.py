"""The signed-in pages: calls, one call (tags, note, scoring), reports, exports."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from callhistory.auth.routes import engine_of
from callhistory.calls import deletion, queries, rules, store
from callhistory.config import get_settings
from callhistory.dashboard import charts, data, export, filters, i18n, stats
from callhistory.dashboard.render import SecureRoute, forbidden, guard, lang_of, page, safe_next
from callhistory.dashboard.session import Session, csrf_ok
from callhistory.db import writing
from callhistory.envelope import ApiError
from callhistory.evaluations import criteria as evaluation_criteria
from callhistory.evaluations import store as evaluation_store
from callhistory.recordings import routes as recording_routes
from callhistory.recordings import sources, stream
from callhistory.schema import CALL_OWNER

router = APIRouter(include_in_schema=False, route_class=SecureRoute)  # security headers


def recording_url(path: str | None) -> str | None:
    """The stored link (ingest already applied CALLHISTORY_RECORDING_URL_TEMPLATE)."""
    return path or None


async def _player(request: Request, tenant_id: str, row: Any) -> tuple[str | None, bool]:
    """The player's signed link, or None; and whether a recording the call names is
    missing (so the page says so rather than showing a player that cannot play)."""
    stored = row.recording_path or row.recording_file
    if not stored:
        return None, False
    found = await asyncio.to_thread(sources.locate, get_settings(), stored)
    if found is None or not await stream.reachable(found):
        return None, True
    url, _ = recording_routes.signed_url(request, get_settings(), tenant_id, row.transaction_id)
    return url, False


def _bad_filter(request: Request, current: Session, exc: ApiError) -> Response:
    t = i18n.translator(lang_of(request))
    code = exc.payload[0]["code"] if isinstance(exc.payload, list) and exc.payload else exc.code
    message = t("invalid_filter", code=f"{exc.code} ({code})" if code != exc.code else code)
    return page(request, "error.html", current, status=400, title=t("error_title"), message=message)


async def _signed_in_view(request: Request) -> tuple[Session, filters.View] | Response:
    """The session and the filters of a page that lists calls; else the answer to give
    instead (to the sign-in, or a 400 page naming the filter in error)."""
    current = await guard(request)
    if isinstance(current, Response):
        return current
    try:
        return current, filters.read(request.query_params, current.time_zone)
    except ApiError as exc:
        return _bad_filter(request, current, exc)


@router.get("/calls")
async def calls_page(request: Request) -> Response:
    filtered = await _signed_in_view(request)
    if isinstance(filtered, Response):
        return filtered
    current, view = filtered
    async with engine_of(request).connect() as conn:
        total, rows = await data.page(conn, current.tenant_id, view)
        choices = await data.choices(conn, current.tenant_id)
    pages = (total.items + view.size - 1) // view.size
    return page(
        request,
        "calls.html",
        current,
        view=view,
        total=total,
        pages=pages,
        rows=rows,
        choices=choices,
        nav="calls",
    )


def _score_form(form: dict[str, str], criteria_rows: list[Any]) -> dict[str, Any]:
    """The API's add_evaluation body from the form, so the API's checks apply unchanged."""
    scores = []
    for row in criteria_rows:
        raw = form.get(f"score_{row.id}", "").strip()
        if raw:
            scores.append({"criteria_id": row.id, "score": raw.replace(",", ".")})
    for item in scores:
        # Text that is no number is kept as it is: the API's parser refuses it with its code.
        with suppress(ValueError):
            item["score"] = float(item["score"])
    return {
        "user_uuid": form.get("evaluator", ""),
        "evaluation": {"criteria": scores, "note": form.get("note") or None},
    }


async def _call_context(request: Request, current: Session, transaction_id: str) -> dict[str, Any]:
    async with engine_of(request).connect() as conn:
        view = await queries.one(conn, current.tenant_id, transaction_id)
        known_tags = (await data.choices(conn, current.tenant_id)).tags
        criteria_rows = await evaluation_criteria.listing(conn, current.tenant_id)
        evaluators = await data.evaluators(conn, current.tenant_id)
    return {
        "call": view,
        "known_tags": known_tags,
        "criteria": criteria_rows,
        "evaluators": evaluators,
    }


@router.get("/calls/{transaction_id}")
async def call_page(request: Request, transaction_id: str) -> Response:
    current = await guard(request)
    if isinstance(current, Response):
        return current
    context = await _call_context(request, current, transaction_id)
    t = i18n.translator(lang_of(request))
    if context["call"] is None:
        return page(
            request, "error.html", current, status=404, title=t("error_title"), message="404"
        )
    row = context["call"].row
    recording, recording_missing = await _player(request, current.tenant_id, row)
    default_evaluator = next(
        (e.value for e in context["evaluators"] if current.email and e.value == current.email),
        "",
    )
    return page(
        request,
        "call.html",
        current,
        nav="calls",
        back=safe_next(request.query_params.get("back"), "/calls"),
        saved=request.query_params.get("saved"),
        error=request.query_params.get("error"),
        recording=recording,
        recording_missing=recording_missing,
        voicemail=recording_url(row.recording_file_voicemail),
        default_evaluator=default_evaluator,
        **context,
    )


async def _posted(request: Request) -> tuple[Session | Response, dict[str, str]]:
    current = await guard(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if isinstance(current, Response):
        return current, form
    if not csrf_ok(current.csrf, form.get("csrf")):
        return forbidden(request, current), form
    return current, form


def _back_to_call(transaction_id: str, form: dict[str, str], **extra: str) -> RedirectResponse:
    back = safe_next(form.get("back"), "/calls")
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"back": back, **extra}.items())
    return RedirectResponse(f"/calls/{quote(transaction_id, safe='')}?{query}", status_code=303)


@router.post("/calls/{transaction_id}/change")
async def change_call(request: Request, transaction_id: str) -> Response:
    current, form = await _posted(request)
    if isinstance(current, Response):
        return current
    names = [n for n in (p.strip() for p in form.get("tags", "").split(",")) if n]
    note = form.get("note", "").strip()
    try:
        tag_names = store.clean_tag_names(names)
        if len(note) > rules.MAX_NOTE_LENGTH:
            raise ApiError(400, "note_too_long")
        async with writing(engine_of(request)) as conn:
            if await queries.one(conn, current.tenant_id, transaction_id) is None:
                return RedirectResponse("/calls", status_code=303)
            await store.change(
                conn,
                current.tenant_id,
                transaction_id,
                note=note or None,
                note_given=True,
                tag_names=tag_names,
                user_position=CALL_OWNER,
            )
    except ApiError as exc:
        return _back_to_call(transaction_id, form, error=exc.code)
    return _back_to_call(transaction_id, form, saved="change")


@router.post("/calls/{transaction_id}/delete")
async def delete_call(request: Request, transaction_id: str) -> Response:
    """A data-protection request, as the API's DELETE (calls.deletion)."""
    current, form = await _posted(request)
    if isinstance(current, Response):
        return current
    if form.get("confirm") != "yes":
        return _back_to_call(transaction_id, form, error="confirm_required")
    who = f"user:{current.user_id}" if current.user_id else f"key:{current.key_id}"
    await deletion.erase(engine_of(request), get_settings(), current.tenant_id, transaction_id, who)
    return RedirectResponse("/calls?erased=1", status_code=303)


@router.post("/calls/{transaction_id}/evaluate")
async def evaluate_call(request: Request, transaction_id: str) -> Response:
    current, form = await _posted(request)
    if isinstance(current, Response):
        return current
    try:
        async with engine_of(request).connect() as conn:
            criteria_rows = await evaluation_criteria.listing(conn, current.tenant_id)
        new = evaluation_store.parse(_score_form(form, criteria_rows))
        async with writing(engine_of(request)) as conn:
            await evaluation_store.add(conn, current.tenant_id, transaction_id, new)
    except ApiError as exc:
        return _back_to_call(transaction_id, form, error=exc.code)
    return _back_to_call(transaction_id, form, saved="evaluation")


@router.get("/reports")
async def reports_page(request: Request) -> Response:
    filtered = await _signed_in_view(request)
    if isinstance(filtered, Response):
        return filtered
    current, view = filtered
    async with engine_of(request).connect() as conn:
        report = await stats.build(conn, current.tenant_id, view.call_filter, current.time_zone)
        choices = await data.choices(conn, current.tenant_id)
    lang = lang_of(request)
    t = i18n.translator(lang)
    labels = [d.day.strftime("%d/%m") for d in report.days]
    keys = [d.day.isoformat() for d in report.days]
    per_day = charts.bars(
        "chart-directions",
        t("calls_per_day"),
        labels,
        [
            charts.Series(d, t(d), [day.by_direction[d] for day in report.days])
            for d in ("inbound", "outbound", "local")
        ],
        lambda v: i18n.number(v, lang),
        keys,
    )
    answered = charts.bars(
        "chart-answered",
        t("answered_vs_missed"),
        labels,
        [
            charts.Series("answered", t("answered"), [d.answered for d in report.days]),
            charts.Series("cancelled", t("cancelled"), [d.missed for d in report.days]),
        ],
        lambda v: i18n.number(v, lang),
        keys,
    )
    talk = charts.bars(
        "chart-talk",
        f"{t('talk_time_per_day')} ({t('minutes')})",
        labels,
        [charts.Series("talk", t("talk_time"), [d.talk_seconds / 60 for d in report.days])],
        lambda v: i18n.number(v, lang),
        keys,
    )
    heat = charts.heat_map(
        "chart-heat", t("busiest_hours"), report.heat, [t(f"weekday_{i}") for i in range(7)]
    )
    return page(
        request,
        "reports.html",
        current,
        nav="reports",
        view=view,
        choices=choices,
        report=report,
        charts=[per_day, answered, talk, heat],
    )


async def _export(request: Request, kind: str) -> Response:
    filtered = await _signed_in_view(request)
    if isinstance(filtered, Response):
        return filtered
    current, view = filtered
    engine = engine_of(request)
    async with engine.connect() as conn:
        total = await queries.count(conn, current.tenant_id, view.call_filter)
    stamp = datetime.now(ZoneInfo(current.time_zone)).strftime("%Y%m%d-%H%M")
    maker = export.csv_stream if kind == "csv" else export.xlsx_stream
    media = (
        "text/csv; charset=utf-8"
        if kind == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return StreamingResponse(
        maker(engine, current.tenant_id, view.call_filter, current.time_zone),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="calls-{stamp}.{kind}"',
            "X-Total-Count": str(total),  # the page's script shows progress against it
            "Cache-Control": "no-store",
        },
    )


@router.get("/export.csv")
async def export_csv(request: Request) -> Response:
    return await _export(request, "csv")


@router.get("/export.xlsx")
async def export_xlsx(request: Request) -> Response:
    return await _export(request, "xlsx")
