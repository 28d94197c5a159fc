"""The address guard: feeds on private networks and files are refused by default."""

from __future__ import annotations

import pytest

from digest.ingest import FeedRefused, check_url
from digest.ingest.guard import check_address

PRIVATE = [
    "http://127.0.0.1:8000/rss",
    "http://localhost/rss",
    "http://10.1.2.3/rss",
    "http://192.168.1.10/rss",
    "http://172.16.0.5/rss",
    "http://100.64.0.1/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/rss",
    "http://[::ffff:127.0.0.1]/rss",
    "http://[64:ff9b::a9fe:a9fe]/rss",  # NAT64 for 169.254.169.254
    "http://[2002:c0a8:0101::1]/rss",  # 6to4 for 192.168.1.1
    "http://[fe80::1]/rss",
    "http://[fd00::1]/rss",
    "http://0.0.0.0/rss",
    "http://224.0.0.1/rss",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_and_files_are_refused_with_a_clear_message(url: str) -> None:
    with pytest.raises(FeedRefused) as caught:
        check_url(url, allow_private=False)
    message = str(caught.value)
    assert message.startswith(f"refused feed URL {url}: ")
    assert "DIGEST_ALLOW_PRIVATE_FEEDS=1" in message


def test_the_message_says_what_the_address_is() -> None:
    with pytest.raises(FeedRefused) as caught:
        check_url("http://127.0.0.1:8000/rss", allow_private=False)
    assert str(caught.value) == (
        "refused feed URL http://127.0.0.1:8000/rss: 127.0.0.1 is a loopback address; "
        "set DIGEST_ALLOW_PRIVATE_FEEDS=1 to allow feeds on private networks and files"
    )
    with pytest.raises(FeedRefused, match="169.254.169.254 is a link-local address"):
        check_url("http://169.254.169.254/", allow_private=False)


@pytest.mark.parametrize("url", PRIVATE)
def test_an_operator_can_allow_them(url: str) -> None:
    check_url(url, allow_private=True)


def test_public_addresses_pass() -> None:
    check_url("https://1.1.1.1/feed.xml", allow_private=False)
    check_url("http://[2606:4700:4700::1111]:8080/rss", allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.org/rss", "gopher://x/", "javascript:alert(1)", "data:,x"]
)
def test_other_schemes_are_always_refused(url: str) -> None:
    for allow in (False, True):
        with pytest.raises(FeedRefused, match="only http and https"):
            check_url(url, allow_private=allow)


@pytest.mark.parametrize("url", ["http:///rss", "http://[::1/rss", "http://host:port/rss"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(FeedRefused, match="refused feed URL"):
        check_url(url, allow_private=True)


def test_the_address_connected_to_is_checked_too() -> None:
    check_address("https://feeds.example.org/rss", "1.1.1.1")
    with pytest.raises(FeedRefused, match=r"10\.0\.0\.7 is a private address"):
        check_address("https://feeds.example.org/rss", "10.0.0.7")
    with pytest.raises(FeedRefused, match="loopback"):
        check_address("https://feeds.example.org/rss", "::ffff:127.0.0.1")
