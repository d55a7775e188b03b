"""Tenants, API keys and access tokens."""
