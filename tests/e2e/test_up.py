"""`digest up --sample-data` on the embedded defaults, in an empty folder."""

from __future__ import annotations

import os
import re
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
        while time.monotonic() < deadline and "ready." not in _read(logs / "feeds-worker.log"):
            time.sleep(0.3)
        # Feeds are polled by a worker of their own; the other one never takes them.
        assert "ready." in _read(logs / "feeds-worker.log")
        assert ".> feeds " in _read(logs / "feeds-worker.log")
        assert ".> celery " not in _read(logs / "feeds-worker.log")
        assert ".> celery " in _read(logs / "worker.log")
        assert ".> feeds " not in _read(logs / "worker.log")
        assert "beat: Starting" in _read(logs / "beat.log")
        assert (tmp_path / "digest.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert "sample data: 7 topics, 10 new articles, 5 subscribers" in out
    assert f"http://127.0.0.1:{port}/" in out and "outbox" in out
    # The console and the sample accounts to sign in with.
    assert f"console    http://127.0.0.1:{port}/admin" in out
    operator = re.search(r"operator  operator@example\.com  password (\S+)  \(shown once", out)
    assert operator and re.search(r"editor    editor@example\.com  password \S+", out)
    # The sample emails carry a postal address; no warning then.
    assert "warning: DIGEST_POSTAL_ADDRESS" not in out
    # The printed command sends the first slot's sample digests as the service would:
    # with the sample address and this port in every link.
    command = re.search(r"^  (DIGEST_.*digest run --now \S+)$", out, re.M)
    assert command, out
    assert f"DIGEST_BASE_URL=http://127.0.0.1:{port} " in command.group(1)
    assert "DIGEST_POSTAL_ADDRESS=" in command.group(1)
    sent = subprocess.run(
        command.group(1),
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    assert re.search(r"sent [1-9]", sent.stdout), sent.stdout
    emails = [p.read_text(errors="replace") for p in (tmp_path / "outbox").glob("*.eml")]
    assert emails and all("1 Sample Street" in e for e in emails)
    assert all(f"http://127.0.0.1:{port}/preferences/" in e for e in emails)
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


def _children(pid: int) -> dict[str, int]:
    """The processes ``digest up`` started, by what they run (Linux /proc)."""
    found: dict[str, int] = {}
    tasks = Path(f"/proc/{pid}/task")
    for task in tasks.iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            words = [w.decode() for w in cmdline if w]
            if "worker" in words and "feeds" in words:
                found["feeds worker"] = int(child)
            elif "worker" in words:
                found["worker"] = int(child)
            elif "beat" in words:
                found["beat"] = int(child)
            elif "web" in words:
                found["web"] = int(child)
    return found


def test_up_starts_a_worker_again_when_it_dies(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "up", "--port", str(port)],
        cwd=tmp_path,
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    logs = tmp_path / ".digest"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "ready." not in _read(logs / "worker.log"):
            time.sleep(0.3)
        first = _children(proc.pid)
        assert {"worker", "beat", "web"} <= set(first), first
        assert "feeds worker" in first, first
        # Killed as a broker bug or the OOM killer would end it.
        os.kill(first["worker"], signal.SIGKILL)
        while time.monotonic() < deadline:
            again = _children(proc.pid)
            if again.get("worker") not in (None, first["worker"]):
                break
            time.sleep(0.3)
        assert again.get("worker") not in (None, first["worker"]), again
        assert again["beat"] == first["beat"] and again["web"] == first["web"]
        assert again["feeds worker"] == first["feeds worker"]
        assert proc.poll() is None  # digest up itself goes on
        while time.monotonic() < deadline and _read(logs / "worker.log").count("ready.") < 2:
            time.sleep(0.3)
        assert _read(logs / "worker.log").count("ready.") >= 2
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert "worker exited (-9); starting it again" in out
    assert out.rstrip().endswith("stopped")


def test_up_without_a_postal_address_warns(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "up", "--port", str(port)],
        cwd=tmp_path,
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert "warning: DIGEST_POSTAL_ADDRESS is not set" in out
    assert "digest admin create EMAIL --role operator" in out
