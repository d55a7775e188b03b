"""The PBX formats: one module a PBX, each a pure parser from bytes to records.

- `freeswitch`: mod_json_cdr / mod_xml_cdr posts and files, one leg each
  (`freeswitch_merge` makes a call of its legs);
- `asterisk`: cdr_csv's Master.csv and CDR database exports, one row a leg
  (`asterisk_merge` makes a call of its rows);
- `items`: our own JSON call items (`POST /api/cdr`, `callhistory import --format jsonl`).

Each gives the pipeline a `call.MergedCall` (or an `items.CheckedItem`) and raises its
own error with a stable code; none touches storage or HTTP (tests/test_layout.py holds
them to it). A PBX added is one module here plus its reader in ingest.backfill.
"""
