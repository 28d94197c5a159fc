"""A local SMTP server that writes every message it accepts as an ``.eml`` file:
the default relay, so a fresh install sends real email without sending anywhere."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class OutboxHandler:
    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        temp = self.outbox / f".{name}.tmp"
        # Written whole then renamed, so a reader never sees half a message.
        temp.write_bytes(bytes(envelope.content))
        os.replace(temp, self.outbox / name)
        return "250 2.0.0 saved to outbox"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class CaptureServer:
    """``start()`` it, send to ``url``, find the messages in ``outbox_dir``."""

    def __init__(self, outbox_dir: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.host = host
        self.port = port or _free_port(host)
        self.controller = Controller(
            OutboxHandler(self.outbox_dir), hostname=host, port=self.port, data_size_limit=0
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


_servers: dict[Path, CaptureServer] = {}
_lock = threading.Lock()


def ensure_capture_server(outbox_dir: Path | str) -> str:
    """The URL of this process's capture server for ``outbox_dir``, started once."""
    key = Path(outbox_dir).resolve()
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = CaptureServer(key)
            server.start()
        return server.url
