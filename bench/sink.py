"""An SMTP server that accepts everything and appends one line per message (its
recipients) to a file, so the benchmark can count deliveries and duplicates."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class CountingHandler:
    def __init__(self, log: Path) -> None:
        self.out = log.open("a", buffering=1)  # line-buffered: readable while running
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.out.write(",".join(envelope.rcpt_tos) + "\n")
        return "250 2.0.0 accepted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    controller = Controller(
        CountingHandler(args.log), hostname="127.0.0.1", port=args.port, data_size_limit=0
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
