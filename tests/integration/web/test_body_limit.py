"""Oversize request bodies are refused with 413 before the app reads them, whether
the size is declared or only streamed; the import page takes large files."""

from __future__ import annotations

from collections.abc import Iterator

from digest.web.limits import MAX_BODY
from tests.integration.web.helpers import browser


def test_a_declared_oversize_body_is_refused(mail_settings) -> None:  # type: ignore[no-untyped-def]
    client = browser(mail_settings)
    big = b"x" * (MAX_BODY + 1)
    for path in ("/api/articles", "/subscribe", "/admin/sign-in"):
        answer = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, path
        assert "larger than" in answer.json()["detail"]


def test_a_streamed_oversize_body_is_refused(mail_settings) -> None:  # type: ignore[no-untyped-def]
    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"email=" + b"a" * MAX_BODY

    client = browser(mail_settings)
    for path, kind in (
        ("/subscribe", "application/x-www-form-urlencoded"),
        ("/api/articles", "application/json"),
    ):
        answer = client.post(
            path, content=chunks(), headers={"Content-Type": kind, "Authorization": "Bearer x"}
        )
        assert answer.status_code == 413, path


def test_an_ordinary_form_and_a_large_import_are_let_through(mail_settings) -> None:  # type: ignore[no-untyped-def]
    client = browser(mail_settings)
    assert client.get("/subscribe").status_code == 200
    # Not signed in: the import page sends the client to sign in, not a 413.
    answer = client.post(
        "/admin/imports",
        files={"file": ("big.csv", b"email,topics\n" + b"a@example.org,x\n" * 200_000)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
