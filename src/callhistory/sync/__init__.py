"""Incremental sync: the change feed the `call_changes` triggers write."""
