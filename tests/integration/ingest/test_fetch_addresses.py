"""The address a feed is fetched from is the address the guard checked: a name that
answers a public address to the check and loopback to the connection (DNS rebinding)
reaches nothing. TLS still checks the certificate against the URL's host name."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from digest.ingest import FeedRefused, fetch_feed
from digest.ingest.connect import Deadline, GuardedBackend, GuardedTransport
from tests.integration.ingest.servers import Resolver, clear_proxies, script_server
from tests.unit.ingest.feeds import rss

FEED = rss(("g1", "https://n.org/1", "One"))
PUBLIC = "93.184.215.14"  # a public address; nothing here ever connects to it


class FeedServer(ThreadingHTTPServer):
    seen: list[str]


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.server.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)


def serve(context: ssl.SSLContext | None = None) -> tuple[FeedServer, threading.Thread]:
    server = FeedServer(("127.0.0.1", 0), Handler)
    server.seen = []
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server, _ = serve()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    clear_proxies(monkeypatch)
    fake = Resolver(monkeypatch)
    yield fake
    fake.release.set()


def test_a_name_rebound_to_loopback_after_the_check_reaches_nothing(
    resolver: Resolver, feed_server: FeedServer
) -> None:
    port = feed_server.server_address[1]
    url = f"http://feeds.rebind.test:{port}/feed.xml"
    resolver.answers["feeds.rebind.test"] = [PUBLIC, "127.0.0.1"]
    with pytest.raises(FeedRefused) as caught:
        fetch_feed(url, timeout=5)
    assert str(caught.value) == (
        f"refused feed URL {url}: 127.0.0.1 is a loopback address; "
        "set DIGEST_ALLOW_PRIVATE_FEEDS=1 to allow feeds on private networks and files"
    )
    assert feed_server.seen == []  # not one request reached the local server


def test_the_guard_refuses_before_connecting(resolver: Resolver) -> None:
    resolver.answers["feeds.local.test"] = ["127.0.0.1"]
    with script_server(lambda conn: None) as server:
        backend = GuardedBackend("http://feeds.local.test/", Deadline(5), check=True)
        for host in ("feeds.local.test", "127.0.0.1"):
            with pytest.raises(FeedRefused, match="127.0.0.1 is a loopback address"):
                backend.connect_tcp(host, server.port)
        # Unchecked (private feeds allowed), the same code connects; connections are
        # accepted in order, so any made by the refused calls would come first.
        allowed = GuardedBackend("http://feeds.local.test/", Deadline(5), check=False)
        stream = allowed.connect_tcp("feeds.local.test", server.port)
        mine = stream.get_extra_info("client_addr")
        assert server.wait_for_peer(mine) == [mine]
        stream.close()


# --- TLS: connected to an address, verified against the name ----------------------


def _certificates(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A certificate authority and a server certificate for ``name`` it signed."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "digest test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_tls_is_verified_against_the_host_name_while_connecting_to_its_address(
    resolver: Resolver, tmp_path: Path
) -> None:
    ca, cert, key = _certificates(tmp_path, "feeds.tls.test")
    names: list[str | None] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    server, _ = serve(server_context)
    port = server.server_address[1]
    resolver.answers["feeds.tls.test"] = ["127.0.0.1"]
    resolver.answers["other.tls.test"] = ["127.0.0.1"]
    client_context = ssl.create_default_context(cafile=str(ca))

    def get(url: str) -> httpx.Response:
        backend = GuardedBackend(url, Deadline(5), check=False)
        transport = GuardedTransport(backend, ssl_context=client_context)
        with httpx.Client(transport=transport) as client:
            return client.get(url)

    try:
        answer = get(f"https://feeds.tls.test:{port}/feed.xml")
        assert (answer.status_code, answer.content) == (200, FEED)
        assert names == ["feeds.tls.test"]
        # The same address under a name the certificate does not carry: refused.
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            get(f"https://other.tls.test:{port}/feed.xml")
        assert server.seen == ["/feed.xml"]
    finally:
        server.shutdown()
        server.server_close()
