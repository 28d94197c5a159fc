"""The address guard: feeds on private networks and files are refused by default."""

from __future__ import annotations

import pytest

from digest.ingest import FeedRefused, check_url

PRIVATE = [
    "http://127.0.0.1:8000/rss",
    "http://localhost/rss",
    "http://10.1.2.3/rss",
    "http://192.168.1.10/rss",
    "http://172.16.0.5/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/rss",
    "http://[::ffff:127.0.0.1]/rss",
    "http://0.0.0.0/rss",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_and_files_are_refused_with_a_clear_message(url: str) -> None:
    with pytest.raises(FeedRefused) as caught:
        check_url(url, allow_private=False)
    message = str(caught.value)
    assert url in message
    assert "DIGEST_ALLOW_PRIVATE_FEEDS=1" in message


@pytest.mark.parametrize("url", PRIVATE)
def test_an_operator_can_allow_them(url: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["ftp://example.org/rss", "gopher://x/", "javascript:alert(1)"])
def test_other_schemes_are_always_refused(url: str) -> None:
    for allow in (False, True):
        with pytest.raises(FeedRefused, match="only http and https"):
            check_url(url, allow_private=allow)
