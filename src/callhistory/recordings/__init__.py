"""Recordings as a resource: a call's recording streamed (with Range, so players seek)
from a configured folder or the PBX's web server, or a signed link to it."""
