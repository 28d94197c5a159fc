"""`digest up --sample-data` on the embedded defaults, in an empty folder."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, process_env

pytestmark = pytest.mark.slow


def test_up_starts_web_worker_and_beat_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = process_env()  # no DIGEST_* variables: every default
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "up", "--sample-data", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health and health["status"] == "ok"
        logs = tmp_path / ".digest"
        while time.monotonic() < deadline and "ready." not in _read(logs / "worker.log"):
            time.sleep(0.3)
        assert "ready." in _read(logs / "worker.log")
        assert "beat: Starting" in _read(logs / "beat.log")
        assert (tmp_path / "digest.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert "sample data: 7 topics, 10 new articles, 5 subscribers" in out
    assert f"http://127.0.0.1:{port}/" in out and "outbox" in out
    assert out.rstrip().endswith("stopped")
    assert proc.returncode == 0
    # The embedded Redis server is stopped too.
    sock = tmp_path / ".digest" / "redis.sock"
    for _ in range(50):
        if not sock.exists():
            break
        time.sleep(0.1)
    assert not sock.exists()


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
