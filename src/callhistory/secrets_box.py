"""Secrets at rest: webhook signing secrets are stored encrypted (Fernet), never in clear.

Keys come from CALLHISTORY_SECRETS_KEY, comma-separated Fernet keys: the first encrypts,
every one decrypts (MultiFernet), so a key is rotated by putting the new one first,
re-encrypting (`callhistory webhooks rotate-secrets`), then dropping the old one.

Without the setting, the key is derived from CALLHISTORY_SECRET_KEY (HKDF-SHA256, its
own `info`, so it is never the token-signing key itself): `make run` needs nothing, and
production already requires that secret to be long and random. That derived key also
decrypts (never encrypts) when CALLHISTORY_SECRETS_KEY is set, so moving from the default
to keys of your own is: set them, run rotate-secrets.

A stored value that is not a Fernet token is a secret written before encryption (legacy
plaintext): it is used as it is, and rotate-secrets encrypts it. A token no key opens is
never mistaken for plaintext: it raises SecretUnreadable, which the worker records on
the delivery (retried, visible in /api/webhooks/deliveries) instead of failing a round.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("callhistory.secrets")

SETTING = "CALLHISTORY_SECRETS_KEY"
_DERIVATION_INFO = b"callhistory webhook secrets at rest v1"
_TOKEN = re.compile(r"^gAAAAA[A-Za-z0-9_-]+={0,2}$")  # version 0x80, then the time's zeros
_MAKE_ONE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
_UNREADABLE = (
    f"secret_unreadable: the webhook secret cannot be decrypted: none of the keys of {SETTING} "
    "(nor the one derived from CALLHISTORY_SECRET_KEY) is the one that encrypted it"
)


class SecretsError(Exception):
    """A stored secret cannot be used: the message says why, never the secret."""


class SecretsKeyInvalid(SecretsError, ValueError):
    """CALLHISTORY_SECRETS_KEY holds something that is not a list of Fernet keys."""


class SecretUnreadable(SecretsError):
    """A stored secret is encrypted, but none of the configured keys opens it."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key used when CALLHISTORY_SECRETS_KEY is unset."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def parse_keys(raw: str) -> list[bytes]:
    """The comma-separated keys of CALLHISTORY_SECRETS_KEY, each checked."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    for number, part in enumerate(parts, 1):
        try:
            Fernet(part)
        except (ValueError, binascii.Error):
            raise SecretsKeyInvalid(
                f"{SETTING}: key {number} of {len(parts)} is not a Fernet key (32 bytes, "
                f"url-safe base64; make one with `{_MAKE_ONE}`)"
            ) from None
    return [p.encode() for p in parts]


def is_token(stored: str) -> bool:
    """Whether a stored value is a Fernet token (else: legacy plaintext)."""
    if not _TOKEN.match(stored):
        return False
    try:
        raw = base64.urlsafe_b64decode(stored)
    except (ValueError, binascii.Error):
        return False
    # version, 8-byte time, 16-byte IV, AES-CBC blocks (at least one), 32-byte HMAC
    return len(raw) >= 73 and (len(raw) - 57) % 16 == 0


class SecretBox:
    """Seal and open stored secrets with a list of keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SecretsKeyInvalid(f"{SETTING}: no key")
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(k) for k in keys])

    def seal(self, secret: str) -> str:
        return self._all.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret in clear; legacy plaintext is returned as it is."""
        if not is_token(stored):
            return stored
        try:
            return self._all.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(_UNREADABLE) from None

    def is_current(self, stored: str) -> bool:
        """Encrypted under the first key already (nothing to re-encrypt)."""
        if not is_token(stored):
            return False
        try:
            self._primary.decrypt(stored.encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str) -> str:
        """The same secret encrypted under the first key (plaintext is encrypted)."""
        if not is_token(stored):
            return self.seal(stored)
        try:
            return self._all.rotate(stored.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(_UNREADABLE) from None


def box_for(secrets_key: str, secret_key: str) -> SecretBox:
    """The box of these settings: CALLHISTORY_SECRETS_KEY's keys, then the derived key."""
    derived = derived_key(secret_key)
    keys = parse_keys(secrets_key)
    return SecretBox([*keys, derived] if derived not in keys else keys)


@lru_cache(maxsize=4)
def _cached(secrets_key: str, secret_key: str, production: bool) -> SecretBox:
    made = box_for(secrets_key, secret_key)
    if production and not secrets_key.strip():
        log.warning(
            "%s is not set: webhook secrets are encrypted with a key derived from "
            "CALLHISTORY_SECRET_KEY, so changing that key makes them unreadable; "
            "set %s (see docs/webhooks.md, 'Secrets at rest')",
            SETTING,
            SETTING,
        )
    return made


def box() -> SecretBox:
    """The box of the current settings (raises SecretsKeyInvalid if they are wrong)."""
    from callhistory.config import get_settings

    settings = get_settings()
    return _cached(settings.secrets_key, settings.secret_key, settings.environment == "production")
