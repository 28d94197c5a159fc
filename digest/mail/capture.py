"""A local SMTP server that writes every message it accepts as an ``.eml`` file:
the default relay, so a fresh install sends real email without sending anywhere."""

from __future__ import annotations

import errno
import itertools
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

# Tries at a free port: another process may take the one found before we bind it.
_PORT_TRIES = 5


class OutboxHandler:
    """aiosmtpd handler: each message becomes ``<UTC time>-<counter>-<random>.eml``."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        name = f"{stamp}-{next(self.counter):06d}-{uuid.uuid4().hex[:8]}.eml"
        temp = self.outbox / f".{name}.tmp"
        # Written whole then renamed, so a reader never sees half a message.
        temp.write_bytes(bytes(envelope.content))
        os.replace(temp, self.outbox / name)
        return f"250 2.0.0 saved as {name}"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(_family(host)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _bindable(host: str, port: int) -> bool:
    # Checked first because a Controller that cannot bind only reports it after
    # its ready timeout (seconds). SO_REUSEADDR as asyncio's own server sets it.
    with socket.socket(_family(host)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class CaptureServer:
    """``start()`` it, send to ``url``, find the messages in ``outbox_dir``."""

    def __init__(self, outbox_dir: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.host = host
        self.fixed_port = port != 0
        self.port = port or free_port(host)
        self.handler = OutboxHandler(self.outbox_dir)
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def _controller(self) -> Controller:
        return Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            data_size_limit=0,  # no limit: keep whatever the application sends
            enable_SMTPUTF8=True,
        )

    def start(self) -> None:
        """Listen on :attr:`port` (a free one was chosen when 0 was asked for)."""
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(_PORT_TRIES):
            if attempt:
                self.port = free_port(self.host)
            if not _bindable(self.host, self.port):
                if self.fixed_port:
                    break
                continue
            controller = self._controller()
            try:
                controller.start()
            except OSError:
                controller.loop.close()
                if self.fixed_port:
                    raise
                continue
            self.controller = controller
            return
        raise OSError(
            errno.EADDRINUSE,
            f"the capture server cannot listen on {self.host}:{self.port}: address in use",
        )

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


_servers: dict[Path, CaptureServer] = {}
_lock = threading.Lock()


def ensure_capture_server(outbox_dir: Path | str) -> str:
    """The URL of this process's capture server for ``outbox_dir``, started once."""
    key = Path(outbox_dir).resolve()
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = CaptureServer(key)
            server.start()
            _servers[key] = server
        return server.url
