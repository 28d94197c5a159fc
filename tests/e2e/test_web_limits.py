"""``digest web`` does not let a client hold connections: headers must arrive within a
deadline, a body at a least pace, and connections past the cap are answered 503 at
once."""

from __future__ import annotations

import socket
import time

import httpx

from tests.conftest import process_env, stop
from tests.e2e.browser import start_web, web_port

KEY = "test-secret-key-of-32-bytes-or-more-0123456789"


def _answer_within(sock: socket.socket, seconds: float, trickle: bool) -> tuple[bytes, float]:
    """What the server sends back (and how long it took), sending a header byte every
    fifth of a second meanwhile when ``trickle``."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        if trickle:
            try:
                sock.sendall(b"X")
            except OSError:
                break
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        return data, time.monotonic() - started
    return b"", time.monotonic() - started


def test_headers_have_a_deadline_and_connections_a_cap(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port, base = web_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_SECRET_KEY=KEY,
        DIGEST_DATA_DIR=str(tmp_path),
        DIGEST_BASE_URL=base,
    )
    web = start_web(env, port, tmp_path, "--header-timeout", "1.5", "--max-connections", "6")
    try:
        # A request whose headers come a byte at a time is cut off at the deadline.
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            answer, waited = _answer_within(slow, 10, trickle=True)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert waited < 5, waited

        # So is a body that comes a byte at a time, once its headers are in.
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(
                b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 200\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail="
            )
            answer, waited = _answer_within(slow, 10, trickle=True)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert waited < 5, waited
        # A whole body sent at once is answered by the app.
        posted = httpx.post(f"{base}/subscribe", data={"email": "x" * 3000})
        assert posted.status_code != 408

        # Silent connections up to the cap are held (until their deadline); one more
        # is answered 503 at once.
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
        try:
            with socket.create_connection(("127.0.0.1", port)) as extra:
                answer, waited = _answer_within(extra, 1.0, trickle=False)
            assert answer.startswith(b"HTTP/1.1 503"), answer
            # Once the silent ones time out, the server answers again.
            for sock in held:
                late, _ = _answer_within(sock, 5, trickle=False)
                assert late.startswith(b"HTTP/1.1 408"), late
        finally:
            for sock in held:
                sock.close()
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        stop(web)
