"""Running ``digest web`` as a process and driving it with headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from digest.mail.capture import free_port
from tests.conftest import REPO, process_env, stop

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def web_port() -> tuple[int, str]:
    port = free_port()
    return port, f"http://127.0.0.1:{port}"


def start_web(
    env: dict[str, str], port: int, log_dir: Path, *options: str
) -> subprocess.Popen[bytes]:
    """``digest web`` on ``port`` with ``env`` (and ``options``); returns once /healthz
    answers."""
    log_path = log_dir / f"web-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "web", "--port", str(port), *options],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    stop(proc)
    raise AssertionError(log_path.read_text())


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def start_console(
    db_url: str, smtp_url: str, data_dir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """``digest web`` on the test database and SMTP server, as the console tests
    use it; returns the process and its base URL."""
    port, base = web_port()
    env = process_env(
        DIGEST_DATABASE_URL=db_url,
        DIGEST_SMTP_URL=smtp_url,
        DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        DIGEST_DATA_DIR=str(data_dir),
        DIGEST_BASE_URL=base,
        DIGEST_FROM="Example News <digest@news.example.org>",
    )
    return start_web(env, port, data_dir), base
