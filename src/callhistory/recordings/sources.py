"""Where a call's recording is: a file in the configured folder, a URL under the PBX's
web server, or (with neither configured) the link the call was stored with.

A path comes from a PBX or a batch sender, so it is not trusted: it must name a file
inside the folder. `..`, an absolute path outside the PBX's root, a NUL or a backslash,
and a symbolic link that leads out of the folder are all refused, as a missing file is.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from callhistory.config import Settings

mimetypes.add_type("audio/wav", ".wav")  # the platform's table may say audio/x-wav
mimetypes.add_type("audio/ogg", ".opus")
mimetypes.add_type("audio/mp4", ".m4a")


@dataclass(frozen=True)
class LocalFile:
    path: Path


@dataclass(frozen=True)
class RemoteFile:
    url: str  # under CALLHISTORY_RECORDINGS_BASE_URL: fetched and streamed by us


@dataclass(frozen=True)
class StoredLink:
    url: str  # the call's own http(s) link: the client is sent there, never fetched by us


Located = LocalFile | RemoteFile | StoredLink


def media_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def is_link(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https")


def relative_path(stored: str, pbx_root: str) -> PurePosixPath | None:
    """The path inside the recordings folder, or None when it cannot be one."""
    if not stored or "\x00" in stored or "\\" in stored or is_link(stored):
        return None
    path = PurePosixPath(stored)
    if path.is_absolute():
        root = PurePosixPath(pbx_root or "/")
        if not pbx_root or not path.is_relative_to(root):
            return None
        path = path.relative_to(root)
    parts = path.parts
    if not parts or any(part in ("", ".", "..") for part in parts):
        return None
    return path


def _inside(folder: Path, relative: PurePosixPath) -> Path | None:
    """The file, if it exists and is inside the folder once every link is followed."""
    real_folder = Path(os.path.realpath(folder))
    real = Path(os.path.realpath(real_folder.joinpath(*relative.parts)))
    if not real.is_relative_to(real_folder) or not real.is_file():
        return None
    return real


def locate(settings: Settings, stored: str | None) -> Located | None:
    """Where the recording a call stored as `stored` is; None: nowhere we may read."""
    if not stored:
        return None
    if settings.recordings_dir or settings.recordings_base_url:
        root = settings.recordings_pbx_root or settings.recordings_dir
        relative = relative_path(stored, root)
        if relative is None:
            return None
        if settings.recordings_dir:
            found = _inside(Path(settings.recordings_dir), relative)
            return LocalFile(found) if found is not None else None
        base = settings.recordings_base_url.rstrip("/")
        return RemoteFile(f"{base}/{quote(str(relative))}")
    return StoredLink(stored) if is_link(stored) else None


def remove(settings: Settings, stored: str | None) -> bool:
    """Delete the recording's file when it is in our folder; whether one was deleted. A
    file on the PBX's web server, or behind a stored link, is not ours to delete."""
    found = locate(settings, stored) if settings.recordings_dir else None
    if not isinstance(found, LocalFile):
        return False
    try:
        found.path.unlink()
    except FileNotFoundError:
        return False
    return True
