"""Where a feed may live: public http(s) hosts only, unless an operator allows more.

A feed URL is input that makes the server send requests; without this check it could
read internal services (cloud metadata at 169.254.169.254, an admin port on localhost,
a file on disk).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from digest.ingest.errors import FeedRefused

ALLOW_HINT = "set DIGEST_ALLOW_PRIVATE_FEEDS=1 to allow feeds on private networks and files"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_problem(ip: IPAddress) -> str | None:
    """Why a feed may not be fetched from ``ip``, or None when it is public."""
    ip = _embedded_ipv4(ip)
    checks = [
        ("a loopback", ip.is_loopback),
        ("a link-local", ip.is_link_local),
        ("an unspecified", ip.is_unspecified),
        ("a multicast", ip.is_multicast),
        ("a private", ip.is_private),
        ("a reserved", ip.is_reserved),
        # Shared address space (100.64.0.0/10) and the like: not private, not public either.
        ("a non-public", not ip.is_global),
    ]
    for kind, hit in checks:
        if hit:
            return f"{ip} is {kind} address"
    return None


def check_address(url: str, address: str) -> None:
    """Raise :class:`FeedRefused` if ``address`` (given as text, where ``url`` would be
    reached) is not public."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise FeedRefused(f"refused feed URL {url}: connected to {address!r}") from None
    problem = address_problem(ip)
    if problem:
        raise FeedRefused(f"refused feed URL {url}: {problem}; {ALLOW_HINT}")


def lookup(host: str, port: int, timeout: float | None = None) -> list[Any]:
    """``socket.getaddrinfo`` for a TCP connection to ``host``, given up after ``timeout``
    seconds with :class:`TimeoutError`.

    The system resolver cannot be interrupted, and a name server that never answers
    would hold a fetch for as long as it retries; the lookup runs in a thread of its
    own, left to finish alone when the caller stops waiting.
    """
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    answer: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            answer.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"lookup {host}", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if thread.is_alive():
        raise TimeoutError(f"{host!r} did not resolve within {timeout:.3g} s")
    if failure:
        raise failure[0]
    return answer


def resolve(url: str, host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
    """Every address ``host`` resolves to; raises FeedRefused when it does not resolve,
    TimeoutError when it takes longer than ``timeout`` seconds."""
    try:
        infos = lookup(host, port, timeout)
    except TimeoutError:
        raise
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise FeedRefused(f"refused feed URL {url}: cannot resolve {host!r}: {reason}") from None
    return [ipaddress.ip_address(str(info[4][0])) for info in infos]


def public_addresses(
    url: str, host: str, port: int, timeout: float | None = None
) -> list[IPAddress]:
    """The addresses ``host`` resolves to, all public, or :class:`FeedRefused`.

    Connect to one of these and to nothing else: resolving the name again could give
    another answer (DNS rebinding).
    """
    addresses = resolve(url, host, port, timeout)
    for ip in addresses:
        problem = address_problem(ip)
        if problem:
            raise FeedRefused(f"refused feed URL {url}: {problem}; {ALLOW_HINT}")
    return addresses


def check_url(url: str, *, allow_private: bool, timeout: float | None = None) -> None:
    """Raise :class:`FeedRefused` unless ``url`` may be fetched (TimeoutError when its
    host name takes longer than ``timeout`` seconds to resolve)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FeedRefused(f"refused feed URL {url}: {exc}") from None
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
    public_addresses(url, host, port or (443 if scheme == "https" else 80), timeout)
