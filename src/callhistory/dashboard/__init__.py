"""The supervisor's web dashboard: server-rendered pages over the same queries as the API."""
