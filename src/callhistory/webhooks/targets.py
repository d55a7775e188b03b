"""What a webhook may call: public addresses only, checked where the connection is made.

A tenant chooses its webhook's URL, and our worker calls it from inside our network: a
URL naming 10.0.0.5, 169.254.169.254 (a cloud's metadata service) or [::1], or a name
that resolves to one, would make the worker a way into that network (SSRF). So every
address a host resolves to is checked, at registration (a clear 400) and again at
every connection, and the connection is made to the very address just checked: the
worker's transport resolves inside httpcore's `connect_tcp`, so a DNS answer that
changes between the check and the connection (rebinding) cannot steer it elsewhere.
The URL, the `Host` header, TLS's SNI and the certificate check keep the host name.

`CALLHISTORY_WEBHOOK_ALLOW_PRIVATE=true` lets self-hosters call receivers on their own
network (private, loopback, shared 100.64/10 and unique-local addresses). Link-local
addresses (the metadata services among them), multicast, unspecified and reserved ones
stay refused whatever the setting. In development, a loopback host written as such
(`localhost`, `127.x.x.x`, `[::1]`) is allowed too, as plain HTTP to it is, for local
tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpcore
import httpx

if TYPE_CHECKING:
    from callhistory.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to; raises OSError when it does not resolve.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

REGISTRATION_TIMEOUT_SECONDS = 5.0

# Refused whatever the setting: cloud metadata services not already link-local
# (AWS's IPv6 one is unique-local, Alibaba's is in the shared 100.64/10).
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: IPv4 in its last 32 bits


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer (getaddrinfo, in the loop's executor), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# The resolver used when none is given; tests replace it (monkeypatch) with a stub.
resolver: Resolver = system_resolver


class TargetRefused(Exception):
    """A target a webhook may not call. `code` is the API's code for it
    (`url_not_allowed`, `host_not_found`); the message says why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False  # CALLHISTORY_WEBHOOK_ALLOW_PRIVATE
    development: bool = False  # loopback hosts written as such are allowed

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.webhook_allow_private, settings.environment == "development")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d)
    address reaches: that is the one to judge."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress, allow_private: bool = False) -> str | None:
    """Why a webhook may not connect to this address, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded, allow_private)
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_unspecified or (
        isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK
    ):
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_loopback:
        return None if allow_private else "a loopback address"
    if address.is_reserved:
        return "a reserved address"
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        inner = refusal(address.sixtofour, allow_private)  # 2002::/16 carries an IPv4 one
        if inner is not None:
            return f"6to4 of {address.sixtofour}, {inner}"
    if address.is_global or allow_private:
        return None
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    return "a private address" if address.is_private else "not a public address"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _written_as_loopback(host: str) -> bool:
    literal = _literal(host)
    return host.lower().rstrip(".") == "localhost" or bool(literal and literal.is_loopback)


async def checked_addresses(
    host: str,
    port: int,
    policy: Policy,
    resolve: Resolver | None = None,
    resolve_seconds: float | None = None,
) -> list[str]:
    """Every address the host resolves to, once each is allowed; TargetRefused
    (`url_not_allowed`) if any one is not, (`host_not_found`) if it does not resolve."""
    literal = _literal(host)
    if literal is not None:
        answers: Sequence[str] = [str(literal)]
    else:
        try:
            answers = await asyncio.wait_for((resolve or resolver)(host, port), resolve_seconds)
        except TimeoutError as exc:
            raise TargetRefused("host_not_found", f"{host} did not resolve in time") from exc
        except (OSError, UnicodeError) as exc:
            raise TargetRefused("host_not_found", f"{host} does not resolve: {exc}") from exc
    if not answers:
        raise TargetRefused("host_not_found", f"{host} does not resolve")
    loopback_ok = policy.development and _written_as_loopback(host)
    checked = []
    for answer in answers:
        address = ipaddress.ip_address(answer)
        if loopback_ok and address.is_loopback:
            checked.append(answer)
            continue
        reason = refusal(address, policy.allow_private)
        if reason is not None:
            where = host if literal is not None else f"{host} resolves to {address}, which"
            hint = ""
            if refusal(address, allow_private=True) is None:
                hint = " (CALLHISTORY_WEBHOOK_ALLOW_PRIVATE=true allows this one)"
            raise TargetRefused(
                "url_not_allowed",
                f"{where} is {reason}: webhooks may call public addresses only{hint}",
            )
        checked.append(answer)
    return checked


async def check_url(url: str, policy: Policy, resolve: Resolver | None = None) -> list[str]:
    """Registration's check of a URL already known to be http(s) with a host."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # a port out of range or not a number
        raise TargetRefused("must_be_a_url", str(exc)) from exc
    return await checked_addresses(
        parts.hostname or "", port, policy, resolve, REGISTRATION_TIMEOUT_SECONDS
    )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking each host itself and
    connecting to the addresses it checked (in the resolver's order)."""

    def __init__(
        self,
        policy: Policy,
        resolve: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(host, port, self._policy, self._resolve, timeout)
        except TargetRefused as exc:
            if exc.code == "host_not_found":  # a network failure like any other, retried
                raise httpcore.ConnectError(str(exc)) from exc
            raise
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("url_not_allowed", "webhooks do not call Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a GuardedBackend. Connections are
    pooled by host name (as usual), so a kept-alive connection is reused only for the
    host its certificate was checked against."""

    def __init__(
        self,
        policy: Policy,
        *,
        resolve: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolve, network_backend),
        )
