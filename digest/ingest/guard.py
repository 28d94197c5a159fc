"""Where a feed may live: public http(s) hosts only, unless an operator allows more.

A feed URL is user input that makes the server send requests; without this check it
could read internal services (cloud metadata at 169.254.169.254, an admin port on
localhost, a file on disk).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from digest.ingest.errors import FeedRefused

ALLOW_HINT = "set DIGEST_ALLOW_PRIVATE_FEEDS=1 to allow feeds on private networks and files"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_problem(ip: IPAddress) -> str | None:
    """Why a feed may not be fetched from ``ip``, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = [
        ("a loopback", ip.is_loopback),
        ("a link-local", ip.is_link_local),
        ("a private", ip.is_private),
        ("a multicast", ip.is_multicast),
        ("an unspecified", ip.is_unspecified),
        ("a reserved", ip.is_reserved),
    ]
    for kind, hit in checks:
        if hit:
            return f"{ip} is {kind} address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FeedRefused(f"cannot resolve the feed host {host!r}: {exc.strerror}") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise :class:`FeedRefused` unless ``url`` may be fetched."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not allow_private:
            raise FeedRefused(
                f"refused feed URL {url}: file:// URLs read the server's disk; {ALLOW_HINT}"
            )
        return
    if scheme not in ("http", "https"):
        raise FeedRefused(f"refused feed URL {url}: only http and https feeds can be fetched")
    host = parts.hostname
    if not host:
        raise FeedRefused(f"refused feed URL {url}: it has no host name")
    if allow_private:
        return
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FeedRefused(f"refused feed URL {url}: the port is not a number") from None
    for ip in resolve(host, port):
        problem = address_problem(ip)
        if problem:
            raise FeedRefused(f"refused feed URL {url}: {problem}; {ALLOW_HINT}")
