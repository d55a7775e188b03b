"""callhistory: a self-hostable call-history service for cloud call centers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("callhistory")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
