"""Signed webhooks: hooks, the deliveries made from the change feed, and the worker."""
