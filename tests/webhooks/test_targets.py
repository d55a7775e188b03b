"""What a webhook may call: refused at registration, refused again at each delivery, and
the connection made to the address checked (SSRF, DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import Settings, get_settings
from callhistory.webhooks import targets, worker
from callhistory.webhooks.targets import Policy, TargetRefused
from tests.factories import Tenant, add_call, make_tenant, now_ms

PUBLIC = "93.184.215.14"


class FakeDNS:
    """A resolver whose answers the test sets (and changes); unknown names do not resolve."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]

    def name(self, *addresses: str) -> str:
        """A new public-looking name answering these addresses."""
        host = f"h{secrets.token_hex(4)}.hooks.example.vn"
        self.answers[host] = list(addresses)
        return host


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(targets, "resolver", fake)
    return fake


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set CALLHISTORY_* variables for the API's settings during one test."""

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"CALLHISTORY_{name}", value)
        get_settings.cache_clear()

    yield set_env
    get_settings.cache_clear()  # before monkeypatch restores the variables


class RecordingStream(httpcore.AsyncMockStream):
    def __init__(self, buffer: list[bytes], log: RecordingBackend) -> None:
        super().__init__(buffer)
        self._log = log

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self._log.sent.append(buffer)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        self._log.tls_names.append(server_hostname)
        return self


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The network under the guard: records where it is asked to connect, what is
    written and the TLS server name, and answers every request with `answer`."""

    def __init__(self, answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") -> None:
        self.answer = answer
        self.connections: list[tuple[str, int]] = []
        self.tls_names: list[str | None] = []
        self.sent: list[bytes] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connections.append((host, port))
        return RecordingStream([self.answer] * 5, self)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def guarded_client(policy: Policy, backend: RecordingBackend) -> httpx.AsyncClient:
    return worker.http_client(transport=targets.GuardedTransport(policy, network_backend=backend))


async def register(client: httpx.AsyncClient, tenant: Tenant, url: str) -> httpx.Response:
    return await client.post(
        "/api/webhooks/register",
        json={"webhook": {"type": "call", "url": url, "events": ["hangup", "updated"]}},
        headers=tenant.headers,
    )


async def deliveries(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    shown = await client.get("/api/webhooks/deliveries", headers=tenant.headers)
    items: list[dict[str, Any]] = shown.json()["payload"]["items"]
    return items


# --- addresses ---------------------------------------------------------------------

REFUSED = [
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.10",
    "127.0.0.1",
    "::1",
    "169.254.169.254",
    "fe80::1",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "0.1.2.3",
    "224.0.0.1",
    "ff02::1",
    "255.255.255.255",
    "240.0.0.1",
    "fc00::1",
    "fd00:ec2::254",
    "::",
    "::ffff:10.0.0.5",
    "::ffff:127.0.0.1",
    "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
    "2002:a00:5::1",  # 6to4 of 10.0.0.5
    "::a00:5",  # IPv4-compatible (deprecated)
    "192.0.2.1",  # documentation
]
PUBLIC_ONES = ["8.8.8.8", PUBLIC, "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
# What CALLHISTORY_WEBHOOK_ALLOW_PRIVATE lets through, and what it never does.
PRIVATE_ONES = ["10.0.0.5", "192.168.1.10", "127.0.0.1", "::1", "100.64.0.1", "fc00::1"]
NEVER = [
    "169.254.169.254",
    "fe80::1",
    "fd00:ec2::254",
    "100.100.100.200",
    "0.0.0.0",  # noqa: S104
    "224.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC_ONES)
def test_public_addresses_are_allowed(address: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) is None


def test_allow_private_lets_the_lan_through_but_never_link_local_or_metadata() -> None:
    for address in PRIVATE_ONES:
        assert targets.refusal(ipaddress.ip_address(address), allow_private=True) is None
    for address in NEVER:
        assert targets.refusal(ipaddress.ip_address(address), allow_private=True), address


async def test_every_address_of_a_name_is_checked(dns: FakeDNS) -> None:
    host = dns.name(PUBLIC, "10.0.0.5")
    with pytest.raises(TargetRefused, match=r"resolves to 10\.0\.0\.5.*private") as refused:
        await targets.checked_addresses(host, 443, Policy())
    assert refused.value.code == "url_not_allowed"
    assert await targets.checked_addresses(host, 443, Policy(allow_private=True)) == [
        PUBLIC,
        "10.0.0.5",
    ]
    with pytest.raises(TargetRefused) as missing:
        await targets.checked_addresses("nowhere.example.vn", 443, Policy())
    assert missing.value.code == "host_not_found"


async def test_numeric_host_forms_are_resolved_then_checked() -> None:
    # getaddrinfo reads these as 127.0.0.1 (no DNS asked): the check sees that address
    for host in ("2130706433", "0x7f.1", "0177.0.0.1"):
        with pytest.raises(TargetRefused, match="loopback"):
            await targets.checked_addresses(host, 443, Policy(), targets.system_resolver)


# --- registration (the HTTP API) ---------------------------------------------------

LISTED = [
    "https://10.0.0.5/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/",
    "https://[::ffff:10.0.0.5]/",
    "https://100.64.0.1/",
]


async def test_registration_refuses_non_public_targets(
    client: httpx.AsyncClient, engine: AsyncEngine, dns: FakeDNS, environment: Any
) -> None:
    environment(ENVIRONMENT="production")
    tenant = await make_tenant(engine)
    for url in [*LISTED, f"https://{dns.name('192.168.1.10')}/calls"]:
        answer = await register(client, tenant, url)
        assert answer.status_code == 400, url
        body = answer.json()
        assert body["message"] == "validation_error"
        assert body["payload"] == [{"field": "webhook.url", "code": "url_not_allowed"}], url
    unknown = await register(client, tenant, "https://nowhere.example.vn/calls")
    assert unknown.status_code == 400
    assert unknown.json()["payload"] == [{"field": "webhook.url", "code": "host_not_found"}]
    listed = await client.get("/api/webhooks/list", headers=tenant.headers)
    assert listed.json()["payload"]["items"] == []
    assert (await register(client, tenant, f"https://{dns.name(PUBLIC)}/calls")).status_code == 201


async def test_allow_private_setting_lets_lan_targets_register(
    client: httpx.AsyncClient, engine: AsyncEngine, dns: FakeDNS, environment: Any
) -> None:
    environment(ENVIRONMENT="production", WEBHOOK_ALLOW_PRIVATE="true")
    tenant = await make_tenant(engine)
    for url in [
        "https://10.0.0.5/",
        "https://[::1]/",
        "https://100.64.0.1/",
        f"https://{dns.name('192.168.1.10')}/calls",
    ]:
        assert (await register(client, tenant, url)).status_code == 201, url
    metadata = await register(client, tenant, "https://169.254.169.254/latest/meta-data/")
    assert metadata.json()["payload"] == [{"field": "webhook.url", "code": "url_not_allowed"}]


async def test_development_allows_loopback_written_as_such_only(
    client: httpx.AsyncClient, engine: AsyncEngine, dns: FakeDNS
) -> None:
    tenant = await make_tenant(engine)  # the suite runs in development, the default
    dns.answers["localhost"] = ["127.0.0.1", "::1"]
    for url in ("http://127.0.0.1:9000/x", "http://localhost:9000/x", "http://[::1]:9000/x"):
        assert (await register(client, tenant, url)).status_code == 201, url
    for url in (f"https://{dns.name('127.0.0.1')}/x", "https://10.0.0.5/x"):
        answer = await register(client, tenant, url)
        assert answer.json()["payload"] == [{"field": "webhook.url", "code": "url_not_allowed"}]


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().webhook_allow_private is False
    monkeypatch.setenv("CALLHISTORY_WEBHOOK_ALLOW_PRIVATE", "true")
    assert Settings.from_env().webhook_allow_private is True
    monkeypatch.setenv("CALLHISTORY_WEBHOOK_ALLOW_PRIVATE", "maybe")
    with pytest.raises(ValueError, match="CALLHISTORY_WEBHOOK_ALLOW_PRIVATE"):
        Settings.from_env()


# --- delivery (the worker) ---------------------------------------------------------


async def test_delivery_is_refused_when_the_name_turns_private(
    client: httpx.AsyncClient, engine: AsyncEngine, dns: FakeDNS
) -> None:
    tenant = await make_tenant(engine)
    host = dns.name(PUBLIC)
    assert (await register(client, tenant, f"https://{host}/calls")).status_code == 201
    await add_call(engine, tenant)
    dns.answers[host] = ["10.0.0.5"]  # rebinding: the answer changes after registration
    backend = RecordingBackend()
    now = now_ms()
    async with guarded_client(Policy(), backend) as http:
        await worker.run_once(engine, http, now)
    assert backend.connections == []  # nothing sent, anywhere
    [item] = await deliveries(client, tenant)
    assert item["status"] == "pending" and item["response_code"] is None
    assert item["error"].startswith(f"url_not_allowed: {host} resolves to 10.0.0.5")

    dns.answers[host] = [PUBLIC]  # public again: the retry goes out, to that address
    async with guarded_client(Policy(), backend) as http:
        await worker.run_once(engine, http, now + worker.MAX_RETRY_MS)
    assert backend.connections == [(PUBLIC, 443)]
    assert backend.tls_names == [host]  # SNI and the certificate check: the host name
    assert f"Host: {host}\r\n".encode() in b"".join(backend.sent)
    [item] = await deliveries(client, tenant)
    assert item["status"] == "delivered"


async def test_delivery_to_a_private_address_with_allow_private(
    client: httpx.AsyncClient, engine: AsyncEngine, dns: FakeDNS
) -> None:
    tenant = await make_tenant(engine)
    host = dns.name(PUBLIC)
    assert (await register(client, tenant, f"https://{host}/calls")).status_code == 201
    dns.answers[host] = ["10.9.8.7"]
    await add_call(engine, tenant)
    backend = RecordingBackend()
    async with guarded_client(Policy(allow_private=True), backend) as http:
        await worker.run_once(engine, http)
    assert ("10.9.8.7", 443) in backend.connections  # the worker's policy lets it through
    [item] = await deliveries(client, tenant)
    assert item["status"] == "delivered"


async def test_a_redirect_is_a_failure_not_followed(
    client: httpx.AsyncClient, engine: AsyncEngine, dns: FakeDNS
) -> None:
    tenant = await make_tenant(engine)
    host = dns.name(PUBLIC)
    assert (await register(client, tenant, f"https://{host}/calls")).status_code == 201
    await add_call(engine, tenant)
    backend = RecordingBackend(
        b"HTTP/1.1 302 Found\r\nLocation: https://10.0.0.5/steal\r\nContent-Length: 0\r\n\r\n"
    )
    async with guarded_client(Policy(), backend) as http:
        await worker.run_once(engine, http)
    assert backend.connections == [(PUBLIC, 443)]
    assert b"".join(backend.sent).count(b"POST /calls ") == 1
    [item] = await deliveries(client, tenant)
    assert item["status"] == "pending" and item["response_code"] == 302


# --- real connections: a receiver on 127.0.0.1 ---------------------------------------


class LocalReceiver:
    """An HTTP(S) server on 127.0.0.1 that records the requests' heads and the TLS
    server names it is asked for."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.heads: list[bytes] = []
        self.server_names: list[str | None] = []
        self.tls = tls
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            length = next(
                (int(v) for k, v in _fields(head) if k == "content-length"),
                0,
            )
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> LocalReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        await self._server.wait_closed()


def _fields(head: bytes) -> Iterator[tuple[str, str]]:
    for line in head.decode().split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            yield name.strip().lower(), value.strip()


def _tls_pair(host: str, directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for `host` from a new CA, and a client
    context trusting that CA only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "callhistory test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "leaf.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
    client = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    return server, client


@pytest.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[tuple[LocalReceiver, str, ssl.SSLContext]]:
    host = "receiver.hooks.example.vn"
    server, client = _tls_pair(host, tmp_path)
    async with LocalReceiver(server) as receiver:
        yield receiver, host, client


async def test_the_connection_goes_to_the_checked_address_with_tls_for_the_name(
    dns: FakeDNS, tls_receiver: tuple[LocalReceiver, str, ssl.SSLContext]
) -> None:
    receiver, host, trust = tls_receiver
    dns.answers[host] = ["127.0.0.1"]  # only our resolver says so: the real DNS does not
    transport = targets.GuardedTransport(Policy(allow_private=True), verify=trust)
    async with worker.http_client(transport=transport) as http:
        answer = await http.post(f"https://{host}:{receiver.port}/calls", content=b"{}")
        assert answer.status_code == 204
        # the certificate is checked against the host name, not the address connected to
        dns.answers["other.hooks.example.vn"] = ["127.0.0.1"]
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.post(f"https://other.hooks.example.vn:{receiver.port}/calls")
    assert receiver.server_names[0] == host
    [head] = receiver.heads
    assert dict(_fields(head))["host"] == f"{host}:{receiver.port}"


async def test_the_worker_client_refuses_by_default_and_allows_with_the_setting(
    dns: FakeDNS, environment: Any
) -> None:
    host = dns.name("127.0.0.1")
    async with LocalReceiver() as receiver:
        url = f"http://{host}:{receiver.port}/calls"
        async with worker.http_client() as http:  # the settings: no private addresses
            with pytest.raises(TargetRefused, match="loopback"):
                await http.post(url, content=b"{}")
        assert receiver.heads == []
        environment(WEBHOOK_ALLOW_PRIVATE="true")
        async with worker.http_client() as http:
            assert (await http.post(url, content=b"{}")).status_code == 204
    [head] = receiver.heads
    assert dict(_fields(head))["host"] == f"{host}:{receiver.port}"
    assert dns.asked.count(host) == 2  # resolved at each connection, not cached


async def test_the_worker_ignores_proxy_variables(
    dns: FakeDNS, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an environment proxy would resolve the name itself, past the check
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    async with worker.http_client(Policy()) as http:
        with pytest.raises(TargetRefused):
            await http.post(f"https://{dns.name('10.0.0.5')}/calls")
