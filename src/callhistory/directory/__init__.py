"""The per-tenant directories that enrich call records: agents, customers, hotlines, queues.

`items` checks what clients send, `store` writes it and answers the lookups ingest
needs, `lists` serves the platform's read endpoints, `routes` and `cli` are the two
ways in (both through the same `store.bulk_upsert`).
"""
