"""An SMTP relay in a process of its own, noting when each message arrives.

Run as ``python -m tests.e2e.timed_relay PORT FILE``: it accepts every message and
appends ``<unix time> <recipient>`` to FILE as the message's DATA ends, prints
``ready`` once listening, and stops when its standard input closes. Kept out of the
test process, whose pauses (garbage collection, other threads) would otherwise shift
the arrival times it measures.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any, TextIO

from aiosmtpd.controller import Controller


class Arrivals:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.out.write(f"{time.time():.6f} {envelope.rcpt_tos[0]}\n")
        self.out.flush()
        return "250 2.0.0 queued"


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    with open(path, "a") as out:
        controller = Controller(Arrivals(out), hostname="127.0.0.1", port=port)
        controller.start()
        gc.freeze()  # what is loaded now is never collected: no pauses while timing
        print("ready", flush=True)
        try:
            sys.stdin.read()
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
