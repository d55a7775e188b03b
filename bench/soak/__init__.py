"""Soak: the real server under a steady mixed load for minutes; latency, errors, memory,
and nothing lost.

    python -m bench.soak --duration 600 --rate 40
    python -m bench.soak --duration 600 --find-peak [--load-fraction 0.7]
    python -m bench.soak --duration 12 --rate 8 --seed-calls 1000     # a smoke

Makes its own PostgreSQL database (callhistory_bench_<hex> on --admin-url, dropped at the
end), seeds one tenant with the demo generator (a directory of 30 agents, customers,
hotlines, queues, tags, and --seed-calls calls over the last 60 days), registers a
webhook to a receiver inside this process, and runs `callhistory serve --workers 2`
(a subprocess) with its in-process webhook/export worker ON (serve's default), so every
stored or changed call also becomes a signed delivery. Rate limits are off.

The mix, by weight (`KINDS`): 70% reads (list with assorted filters, keywords and deep
pages; detail, a few of an unknown id that must answer 404; search by agent; report),
10% changes (tags and a note, POST change), 20% ingest (FreeSWITCH legs posted one by
one as mod_json_cdr does, and small POST /api/cdr batches of new calls). Details and
changes target seeded calls and the calls this run has had acknowledged.

- `--find-peak` first: `--peak-clients` closed-loop clients for `--peak-seconds`; the
  rate becomes `--load-fraction` of that throughput.
- The soak: open loop (Poisson arrivals at `--rate` per second), latency timed from
  when each request was due, so queueing in the client and the server counts.
- RSS of the server's processes (master, workers) from /proc every `--sample-seconds`:
  the first window (a minute, or a third of short runs) against the last; "flat" when
  the total grew by less than `--flat-percent`.
- At the end: every acknowledged FreeSWITCH leg and call and every acknowledged batch
  item is in the database exactly once, and no call exists that was neither seeded nor
  sent (a leg stored as a call of its own, say).

Exit 1 on any error (a status other than the expected one, a timeout, a connection
error, a rejected item, a worker restarted) or anything lost; 2 when PostgreSQL cannot
be reached. `--json FILE` writes every figure.

The modules, by purpose: `cli` (the options, the tables printed; `python -m bench.soak`
runs it), `run` (the whole soak, in order), `load` (the senders, open and closed loop,
the warm-up, peak and soak phases), `workload` (each kind of request, and what it
records as acknowledged), `phase` (the kinds of the mix and what a phase measured),
`tenant` (the seeded tenant, and the ledger of what was sent and acknowledged),
`server` (the server under soak, the webhook receiver), `memory` (the server's RSS from
/proc), `checks` (nothing lost, errors, the memory flatness rule: the verdict), `report`
(tables and JSON figures), `options`.
"""

from bench.soak.phase import KIND_NAMES

__all__ = ["KIND_NAMES"]
