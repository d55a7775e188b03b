"""Write docs/api.md from a real run: every example answer below was produced by the app.

    .venv/bin/python scripts/api_examples.py > docs/api.md

It makes a demo tenant (fixed seed) in a temporary SQLite file, calls each endpoint
in-process and prints the page, answers shortened to two items where they list many.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from callhistory.app import create_app
from callhistory.db import create_engine, migrate
from callhistory.demo import generate

DAY_MS = 86_400_000
OUT: list[str] = []


def say(text: str = "") -> None:
    OUT.append(text)


def shorten(value: Any) -> Any:
    """Keep examples readable: at most two items in any list."""
    if isinstance(value, list):
        return [shorten(v) for v in value[:2]]
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    return value


def show(method: str, url: str, response: httpx.Response, body: Any = None) -> None:
    say("```http")
    say(f"{method} {url}")
    if body is not None:
        say("Content-Type: application/json")
        say("")
        say(json.dumps(body, ensure_ascii=False))
    say("```")
    say(f"HTTP {response.status_code}")
    say("```json")
    say(json.dumps(shorten(response.json()), ensure_ascii=False, indent=2))
    say("```")
    say()


async def run(http: httpx.AsyncClient, key: str) -> None:
    now = int(time.time() * 1000)
    window = f"from_date={now - 7 * DAY_MS}&to_date={now}"
    headers = {"x-api-key": key}

    auth = await http.get(f"/api/auth?apiKey={key}")
    say(PROSE["auth"])
    show("GET", "/api/auth?apiKey=ch_…", auth)
    token = auth.json()["payload"]["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}

    say(PROSE["list"])
    url = f"/api/call_transaction/list?{window}&direction=inbound&disposition=answered&size=2"
    listed = await http.get(url, headers=bearer)
    show("GET", url, listed)
    tx = listed.json()["payload"]["items"][0]["transaction_id"]

    url = f"/api/call_transaction/list?{window}&keyword=nguyen&size=2"
    show("GET", url, await http.get(url, headers=bearer))

    say(PROSE["quality"])
    url = (
        f"/api/call_transaction/list?{window}&min_duration=120&hangup_cause[]=NORMAL_CLEARING"
        "&has_recording=true&size=1"
    )
    show("GET", url, await http.get(url, headers=bearer))
    url = f"/api/call_transaction/list?{window}&min_mos=4.5&max_mos=4"
    show("GET", url, await http.get(url, headers=bearer))

    say(PROSE["detail"])
    url = f"/api/call_transaction/detail/{tx}"
    show("GET", url, await http.get(url, headers=bearer))

    say(PROSE["recording"])
    url = f"/api/call_transaction/recording/{tx}/link"
    show("GET", url, await http.get(url, headers=bearer))

    say(PROSE["change"])
    url = f"/api/call_transaction/change/{tx}"
    body = {"tag": ["hài lòng", "VIP"], "note": "Khách hẹn gọi lại lúc 15h"}
    show("POST", url, await http.post(url, json=body, headers=bearer), body)

    say(PROSE["delete"])
    url = f"/api/call_transaction/detail/{tx}"
    show("DELETE", url, await http.delete(url, headers=bearer))

    say(PROSE["search"])
    url = "/api/call_transaction/search?page=1&size=2"
    body = {
        "from_date": now - 7 * DAY_MS,
        "to_date": now,
        "user_uuids": ["101"],
        "direction": ["outbound"],
    }
    show("POST", url, await http.post(url, json=body, headers=headers), body)

    say(PROSE["absent"])
    say(PROSE["report"])
    url = f"/api/call_transaction/report?{window}"
    show("GET", url, await http.get(url, headers=bearer))

    say(PROSE["stats"])
    agents = await http.get("/api/agent/list?size=1", headers=bearer)
    demo_agent = agents.json()["payload"]["items"][0]["email"]
    url = f"/api/stats/agents?{window}&interval=week&agents[]={demo_agent}"
    show("GET", url, await http.get(url, headers=bearer))

    say(PROSE["http"])
    say(PROSE["errors"])
    url = f"/api/call_transaction/list?from_date={now - 40 * DAY_MS}&to_date={now}"
    show("GET", url, await http.get(url, headers=bearer))
    url = "/api/call_transaction/list?from_date=1&to_date=2&direction=sideways"
    show("GET", url, await http.get(url, headers=bearer))
    url = "/api/call_transaction/detail/no-such-call"
    show("GET", url, await http.get(url, headers=bearer))
    show(
        "GET",
        "/api/call_transaction/list (no credentials)",
        await http.get("/api/call_transaction/list"),
    )
    say(PROSE["codes"])


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'docs.db'}")
        await migrate(engine)
        demo = await generate(engine, "docs", 3000, 20261125, False)
        transport = httpx.ASGITransport(app=create_app(engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            await run(http, demo.api_key)
        await engine.dispose()
    sys.stdout.write("\n".join(OUT) + "\n")


PROSE = {
    "auth": """# The call-history API

Generated by `scripts/api_examples.py` from a real run on a demo tenant: every answer
below is what the app returned (lists shortened to two items). The contract is
`../shared/CONTRACT.md`; this page is its working reference.

Every answer is the envelope `{"status_code", "instance_id", "instance_name",
"instance_version", "payload", "key_enabled"}`: `status_code` 9999 on success; on failure
-9999 with `message`, a stable snake_case code, and an HTTP status that says the same.

## Authentication: `GET /api/auth?apiKey=`

Exchanges an API key for a Bearer token (24 hours, `CALLHISTORY_TOKEN_TTL_SECONDS`).
Every endpoint accepts `Authorization: Bearer <token>` or the key itself in
`x-api-key`; so does this one (`GET /api/auth` with only the header); when both the
`apiKey` parameter and the header are sent, the parameter is the one used. Revoking a key (`callhistory key revoke ID`) ends it and its tokens at once.

Wrong keys are counted, per client address and per key, here, at the dashboard's sign-in
and at `/api/cdr/freeswitch` (each apart): past `CALLHISTORY_AUTH_FAILURES_PER_IP`
(default 20 in 5 minutes) or `CALLHISTORY_AUTH_FAILURES_PER_ACCOUNT` (10 in 15 minutes)
every attempt, a right key too, is refused with 429 `too_many_attempts` and
`Retry-After` (seconds until the count's window ends). Right keys are never counted.

### Keys scoped to one agent (our addition)

`callhistory key create --tenant T --agent EMAIL` makes a key (and, through this
endpoint, tokens) that sees only the calls that agent took part in: the agent's email is
on the call (`user[]`). With it, list, search, report (totals of those calls only),
detail, change, sync, the recording and its link, exports (of those calls; other keys'
exports are `export_not_found`) and the tag catalogue answer as for a tenant that holds
nothing else: another agent's call is `404 transaction_not_found`. Every other endpoint
(directories, criteria, evaluations, tag changes, webhooks, ingest, rejections) answers
`403 agent_key_not_allowed`, and the dashboard does not open with it. The scope is the
key's (a token carries no power of its own): an agent given another email in the
directory is matched by the new one on calls stored from then on.
""",
    "list": """## List: `GET /api/call_transaction/list`

Query: `from_date`, `to_date` (epoch ms, required, inclusive, at most 30 days apart),
`direction` (`inbound`, `outbound`, `local`), `disposition` (`answered`, `cancelled`),
`agents` (emails), `user_uuids` (agents' user ids or extensions), `sip_user`,
`sip_numbers` (hotlines, any written form), `queue_destination`, `is_auto_call`
(`true`/`false`; absent: both), `keyword`, `page` (from 1), `size` (default and maximum
50; larger is clamped). Newest first (`created_date`, then `transaction_id`, both
descending).

Every array parameter of every endpoint (here all but `from_date`, `to_date`, `keyword`,
`page`, `size`; `is_auto_call` too) is read in each spelling clients use, alone or
mixed: repeated keys `a=x&a=y` (Java, C#, Python `requests`, Node `querystring`),
brackets `a[]=x&a[]=y` (axios, `qs` "brackets"), indices `a[0]=x&a[1]=y` (PHP's
`http_build_query`, `qs`'s default), commas `a=x,y` (`URLSearchParams`, `qs` "comma") and
a JSON array `a=["x","y"]`. A bracketed key that is none of the endpoint's arrays
(`agent[]`, `from_date[]`, `agents[0][email]`) answers 400 `unknown_parameter` with
`payload: [{"field": "agent[]", "code": "unknown_parameter"}]`, never a silently
unfiltered page; other unknown keys (a cache buster `_=…`) are ignored.
`is_auto_call` given as `true` and `false` together asks for both, as leaving it out
does. In JSON bodies, arrays are lists, comma-separated strings, or the object PHP's
`json_encode` writes for an array whose keys are not `0…n-1` (`{"1": "101"}`).

Epoch milliseconds are read from integers, floats (`time.time() * 1000`,
`microtime(true) * 1000`, `1793979050000.0`) and numeric strings (`"1793979050000"`,
`"1793979050000.0"`, `"1.79397905e12"`), in the query and in JSON bodies. A fraction of
a millisecond is not refused, because it does not change which calls a window holds:
calls are stamped in whole milliseconds and both ends are inclusive, so `from_date`
rounds up and `to_date` rounds down. Anything else (`NaN`, `Infinity`, hex, `1_000`,
negative, past year 9999) is `date_invalid`. `page` and `size` accept `2` and `2.0`,
not `2.5`. Ingested records (`POST /api/cdr…`) are stamps, not bounds: there a
fractional `created_date` is refused (`must_be_an_integer`), an integral float is taken.

`keyword` is case- and diacritics-insensitive (`tran van tien`, `TIEN` and `tiến` all
find "Trần Văn Tiến"; `dang` finds "Đặng"); every word must match one of: the source or
destination number (a fragment, typed as 0…, 84… or +84…), the customer's name, an
agent's name, the call's or an agent's note, a tag. A keyword that is a prefix of a
transaction id finds that call.

A keyword's total is exact up to 10,000 matching calls (our addition past that): a
common word can match hundreds of thousands, and counting them all would read every
one. Past 10,000 the page itself is still exact (the newest matches, in order), while
`total_items` and `total_pages` are an estimate of at least 10,000 (PostgreSQL's
planner; the embedded store answers 10,000), and the answer carries
`"total_is_estimate": true`. The field is absent from every exact answer, so clients
that refuse unknown fields (Jackson's default) read those as before. Filters without a
keyword are always counted exactly, as are exports.
""",
    "quality": """### Call-quality filters (our additions)

The list, search (in its body), report and export endpoints, and the dashboard's calls
page, also take:

| parameter | selects | a bad value |
|---|---|---|
| `min_duration`, `max_duration` | `duration` (whole seconds) at least / at most this, inclusive | `must_be_a_non_negative_integer` |
| `hangup_cause` (array) | one of the PBX's hang-up causes (`NORMAL_CLEARING`, `USER_BUSY`, `NO_ANSWER`, `ORIGINATOR_CANCEL`…), any case | `invalid_hangup_cause` (not letters, digits and `_`, or over 64) |
| `has_recording` | `true`: a recording file is known; `false`: none is | `must_be_true_or_false` |
| `min_mos`, `max_mos` | the inbound audio's MOS (1 to 5) at least / at most this, inclusive; calls without a MOS are left out once either is given | `must_be_a_number_from_1_to_5` |

Numbers are read as the window's are (`60`, `60.0`, `"60"`). A minimum above its maximum
asks for nothing and is refused: `validation_error` with the code
`greater_than_max_duration` or `greater_than_max_mos` on the minimum. Totals stay exact:
the maintained hour totals do not carry these columns, so a count with any of them reads
the calls themselves.
""",
    "detail": """## Detail: `GET /api/call_transaction/detail/{transaction_id}`

The list item plus `ivr`. Another tenant's call answers 404 `transaction_not_found`,
exactly like a call that does not exist.
""",
    "recording": """## Recording: `GET /api/call_transaction/recording/{transaction_id}` (our addition)

The call's recording itself, streamed from `CALLHISTORY_RECORDINGS_DIR` or
`CALLHISTORY_RECORDINGS_BASE_URL`: `200` with the file, `206` for a `Range` request (a
player seeks), `Content-Type` from the file, `?download=1` for an attachment; with
neither configured, a `307` to the call's own link. `404 recording_not_found` when the
call has none, its file is missing, or its path would leave the folder. `…/link`
answers a signed link (`GET /api/recordings/{transaction_id}?tenant=&expires=&sig=`)
that plays without credentials for 15 minutes, for an `<audio src>`. Details in
[recordings.md](recordings.md).
""",
    "delete": """## Erase: `DELETE /api/call_transaction/detail/{transaction_id}` (our addition)

A data-protection request: the call's personal fields, agents, tags, evaluations, legs
and (when it is in our folder) recording go; a tombstone (`is_deleted: true` in sync,
the `deleted` webhook event) and an audit row stay; a record of it sent again is not
stored. Answers `{"transaction_id", "deleted_at", "recording_removed"}`; `404
transaction_not_found` for a call the tenant does not have (or has erased). Details, and
each tenant's retention of calls and recordings, in [retention.md](retention.md).
""",
    "change": """## Change: `POST /api/call_transaction/change/{transaction_id}`

Body: `tag` (a list of names: trimmed, compared case- and diacritics-insensitively,
unknown ones join the tenant's catalogue; `[]` clears) and/or `note` (`null` or `""`
clears; the answer then shows `""`).
With `user_uuid` (an agent's user id, extension or email on that call) they set that
agent's own note and tags instead of the call's. Answers the updated call;
`last_updated_date` moves.
""",
    "search": """## Search: `POST /api/call_transaction/search?page=&size=`

Key in `x-api-key`. Body: `user_uuids` (required: agents' user ids or extensions),
`from_date`, `to_date` (required), `direction`, `disposition`, `tags` (tag ids),
`numbers` (hotlines). Items have the full shape; paging keys are camelCase.
""",
    "absent": """## Absent values

A client written in a typed language (C#, Java, Go, Kotlin, …) binds each field to the
type the source's example shows, and fails on a `null` there. So a call item never
answers `null` where the source's example shows a value: an absent value is its type's
empty value. Integer fields are always JSON integers (`5`, never `5.0`);
`rtp_audio_in_mos`, the one float, is always a JSON number with a fraction (`0.0`, `4.0`).

| example's type | absent value |
|---|---|
| string | `""` |
| integer | `0`; for a time or date: it did not happen, or is not known (`ms_time_start_to_answer` 0: never answered) |
| float | `0.0` |
| boolean | `false` |
| array | `[]` |
| object | `{}`; an object that is there has every key of the source's example, `""` for a string it lacks |

Only what the source's own examples show as `null` may be `null`: `evaluations` and
`total_evaluate` (the call has no evaluation), `create_by.avatar` and `create_by.gender`
(we keep neither). The OpenAPI document declares `create_by`, `internal_destination` and
`customer` as their object or `{}` (the `Absent` schema), and nothing else as nullable.

List, detail, change and add_evaluation answers, sync items and webhook bodies:

| field | JSON type | absent |
|---|---|---|
| `transaction_id`, `direction`, `source_number`, `destination_number`, `disposition` | string | never absent |
| `bill_sec`, `record_seconds`, `duration`, `bill_sec_forward_out` | integer | never absent (`0` for none) |
| `created_date`, `last_updated_date` | integer, epoch ms | never absent |
| `time_start_to_answer` | integer, epoch s | `0`: not known |
| `recording_file`, `recording_file_voicemail` | string | `""`: no recording |
| `sip_user` | string | `""`: no extension took part |
| `provider` | string | `""`: carrier not known (local calls) |
| `note` | string | `""`: no note; a note set to `""` or `null` answers `""` |
| `tag` | array of strings | `[]` |
| `call_out_price` | integer, VND | `0`: nothing charged or no price known (inbound, unanswered, no rate for the carrier) |
| `is_voicemail`, `is_have_forward_out` | boolean | `false` |
| `user` | array of objects | `[]` |
| `user[].full_name`, `user[].full_name_unsigned` | string | `""` |
| `user[].note` | string | `""`: the agent wrote none |
| `user[].tag` | array of `{"name": string}` | `[]` |
| `create_by` | object | `{}`: no party recorded for the caller |
| `create_by.id`, `.name`, `.contact_id`, `.uuid`, `.type` | string | `""` |
| `create_by.avatar`, `.gender` | string or null | `null`, as the source shows |
| `internal_destination` | object | `{}`: not a local call to a known agent |
| `internal_destination.id`, `.contact_id`, `.name`, `.uuid`, `.extension`, `.type` | string | `""` |
| `evaluations` | array of objects, or null | `null`: not evaluated, as the source shows |
| `total_evaluate` | object or null | `null`: not evaluated, as the source shows |
| `customer` | object | `{}`: no known customer |
| `customer.full_name`, `customer.full_name_unsigned` | string | never absent in a customer that is there |
| `ivr` (detail, change, add_evaluation) | string | `"none"`: the source's value for a call that met no IVR (ingest stores it so) |
| `tenant_id`, `is_deleted` (sync, webhooks) | string, boolean | never absent |

Search items: the fields they share with the list item as above, ours beyond the
source's example too (`note`, `tag`, `recording_file`, `provider`, `call_out_price`,
`evaluations`, `total_evaluate`), and:

| field | JSON type | absent |
|---|---|---|
| `_id`, `tenant_id` | string | never absent |
| `create_by` | object | `{}` |
| `create_by.id`, `.name`, `.contact_id`, `.type`, `.extension` | string | `""` |
| `time_start_call`, `time_end_call`, `time_start_to_answer`, `time_start_media` | integer, epoch s | `0`: did not happen, or not known |
| `ms_time_start_to_answer` | integer, epoch ms | `0`: never answered |
| `wait_sec`, `hold_call_sec`, `answer_sec`, `playback_seconds` | integer | never absent (`0` for none) |
| `hangup_cause`, `dial_status` | string | `""` |
| `hangup_cause_q850` | integer | `0`: not known |
| `customer` | object | `{}` |
| `customer._id`, `customer.uuid` | string | `""` |
| `customer.type` | string | always `"customer"` |
| `customer.extension` | string | always `""`: a customer has no extension |
| `user[]._id` | string | `""`: an agent the directory does not know |
| `user[].tags_view` | array of `{"_id": string, "name": string}` | `[]` |
| `user[].note` (ours) | string | `""` |
| `user[].note_created_date` | integer, epoch ms | `0`: no note |
| `sip_user`, `sip_from_user`, `domain`, `domain_fusion` | string | `""` |
| `pbx_type` | string | `""`, as the source's example shows |
| `ivr` | string | `"none"` |
| `nation` | string | never absent (`"vn"` unless the PBX says otherwise) |
| `rtp_audio_in_mos` | number | `0.0`: not measured |
| `is_stop_ivr`, `is_auto_call`, `is_deleted`, `is_callbot`, `is_ai`, `is_trunk`, `suspicious_checked`, `is_missed_call`, `is_analyzed`, `is_have_forward_out` | boolean | `false` |
| `internal_destination` | object | `{}` |
""",
    "report": """## Report: `GET /api/call_transaction/report`

Query: `numbers` (hotlines), `sip_user`, `agents`, `from_date`, `to_date` (the last 30
days when both are absent). `categorized_by_direction` and `categorized_by_disposition`
count inbound and outbound calls (`total_time` is summed `bill_sec`); local calls are
counted apart in `categorized_by_local_direction`. Both directions and both dispositions
are always present, zero when there are none.
""",
    "stats": """## Statistics: `GET /api/stats/agents`, `GET /api/stats/queues` (our additions)

Each agent's (or queue's) calls, inbound and outbound, answered, missed, answer rate,
talk time, average handle and wait time and average score over a window (at most 92
days; the last 30 by default), in total and, with `interval=hour|day|week`, per local
hour, day or week of the tenant's zone. Definitions in [stats.md](stats.md).
""",
    "http": """## HTTP details: trailing slashes, HEAD, CORS

A path with a trailing slash (`/api/call_transaction/list/`) is answered by its route, as
if the slash were not there: never a redirect (whose absolute `http://` Location is
wrong behind TLS, and which some clients follow by dropping a POST's body). An unknown
path, slash or not, is the enveloped 404 `not_found`.

`HEAD` is answered wherever `GET` is, with the GET's status and headers
(`Content-Length` included) and no body.

Browsers may call the API from the origins `CALLHISTORY_CORS_ORIGINS` lists (none by
default). A preflight (`OPTIONS` with `Access-Control-Request-Method`) needs no
credentials and is answered 200 with the allowed methods (GET, HEAD, POST, PUT, DELETE)
and request headers (`Authorization`, `x-api-key`, `Content-Type`, `X-Request-ID`); the
answers let the page read `Retry-After`, `X-Request-ID` and `Content-Disposition`.
Credentials are a key or a token in headers, never cookies, so
`Access-Control-Allow-Credentials` is not sent. A preflight from another origin, or
asking for another method or header, is refused: 403 `cors_not_allowed` in the envelope.
""",
    "errors": """## Errors

A window over 30 days, a bad parameter, an unknown call, no credentials:
""",
    "codes": """| HTTP | `message` | when |
|---|---|---|
| 400 | `from_date_is_required`, `to_date_is_required` | a window end is missing |
| 400 | `date_invalid` | not a number, negative, past year 9999, or `from_date` after `to_date` |
| 400 | `unknown_parameter` | a bracketed key that is none of the endpoint's arrays (`agent[]`) |
| 400 | `date_is_too_long` | the window spans more than 30 days |
| 400 | `request_body_required`, `invalid_json`, `body_must_be_an_object` | POST bodies |
| 400 | `user_uuids_is_required` | search without agents |
| 400 | `validation_error` | a parameter is wrong; `payload` lists `{"field", "code"}` |
| 401 | `api_key_is_required` | no key and no token |
| 401 | `api_key_invalid` | unknown or revoked key, or a token of a revoked key |
| 401 | `unauthorized`, `token_expired` | a bad or expired token |
| 429 | `too_many_attempts` | too many wrong keys from one address or for one key at `GET /api/auth` or `POST /api/cdr/freeswitch` (and wrong passwords at the dashboard's sign-in, which answers a page): every attempt, a right one too, is refused until `Retry-After` seconds have passed |
| 403 | `agent_key_not_allowed` | an agent's key on an endpoint that is not about its calls |
| 404 | `transaction_not_found` | no such call in the caller's tenant |
| 404 | `recording_not_found` | the call has no recording, its file is missing, or its path is refused |
| 403 | `recording_link_invalid`, 410 `recording_link_expired` | a recording's signed link altered, or past its time |
| 502 | `recording_unavailable` | the PBX's web server holding the recordings did not answer |
| 404 | `not_found`, 405 `method_not_allowed` | unknown path, wrong method |
| 403 | `cors_not_allowed` | a preflight from an origin (or for a method or header) not allowed |
| 500 | `internal_error` | a bug: logged with its trace, never shown |
""",
}

if __name__ == "__main__":
    asyncio.run(main())
