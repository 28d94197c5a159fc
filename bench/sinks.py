"""The SMTP servers the benchmark sends to.

Postfix's ``smtp-sink`` (C, from Debian's postfix package) is used when it is
installed: it accepts mail far faster than any Python sender can produce it, so the
figures measure the sender. Without it, an aiosmtpd sink (``bench/sink.py``) is used,
which is itself the limit beyond a few hundred messages a second.

Both count the messages they accepted while running and name the recipient of every
message afterwards, so a run can count deliveries and duplicates at the server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMTP_SINK_PATHS = ("/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink")


def find_smtp_sink() -> str | None:
    for path in SMTP_SINK_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("smtp-sink")


class Sink:
    kind = ""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def accepted(self) -> int:
        raise NotImplementedError

    def check(self) -> None:
        """Stop the run if the sink died (its output says why)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise SystemExit(f"the SMTP sink ({self.kind}) exited: {self.failure()}")

    def failure(self) -> str:
        return f"exit code {self.proc.returncode if self.proc else None}"

    def recipients(self) -> Iterator[str]:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class PostfixSink(Sink):
    """``smtp-sink`` appending every message to a dump file (read once at the end) and
    printing a running counter (read while the slot runs)."""

    kind = "postfix smtp-sink"
    COUNTER = re.compile(rb"mesg=(\d+)")

    def __init__(self, port: int, folder: Path, binary: str) -> None:
        super().__init__(port, folder)
        # Started as root, it drops privileges to 'nobody', who must be able to reach
        # and write the dump: a folder of its own, outside the run's private folder.
        self.dir = Path(tempfile.mkdtemp(prefix=f"digest-smtp-sink-{port}-"))
        self.dir.chmod(0o777)
        self.dump = self.dir / "dump"
        self.counter = self.dir / "counter"
        args = [binary, "-c", "-D", str(self.dump)]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += [f"127.0.0.1:{port}", "1000"]
        self.proc = subprocess.Popen(args, stdout=self.counter.open("wb"), stderr=subprocess.STDOUT)

    def accepted(self) -> int:
        try:
            with self.counter.open("rb") as f:
                f.seek(max(0, self.counter.stat().st_size - 200))
                tail = f.read()
        except OSError:
            return 0
        found = self.COUNTER.findall(tail)
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def failure(self) -> str:
        return self.counter.read_text(errors="replace").strip()[-300:]

    def recipients(self) -> Iterator[str]:
        dumps = sorted(str(p) for p in self.dir.glob("dump*"))
        if not dumps:
            return
        # grep reads the dump (16 KB a message) far faster than Python would.
        out = subprocess.run(
            ["grep", "-a", "-h", "^X-Rcpt-Args: ", *dumps],
            capture_output=True,
            check=False,
        ).stdout
        for line in out.decode("utf-8", "replace").splitlines():
            yield line.removeprefix("X-Rcpt-Args: ").strip().strip("<>")


class PythonSink(Sink):
    """The aiosmtpd sink in ``bench/sink.py``: one line of recipients per message."""

    kind = "aiosmtpd"

    def __init__(self, port: int, folder: Path, env: dict[str, str]) -> None:
        super().__init__(port, folder)
        self.log = folder / f"sink-{port}.log"
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "sink.py"), "--port", str(port), "--log", str(self.log)],
            env=env,
        )

    def _lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def accepted(self) -> int:
        return len(self._lines())

    def recipients(self) -> Iterator[str]:
        for line in self._lines():
            yield from line.split(",")


def start_sink(kind: str, port: int, folder: Path, env: dict[str, str]) -> Sink:
    """``kind`` is 'auto' (smtp-sink when installed), 'smtp-sink' or 'aiosmtpd'."""
    binary = find_smtp_sink()
    if kind == "smtp-sink" and binary is None:
        raise SystemExit(
            "smtp-sink not found: install Debian's postfix package or use --sink aiosmtpd"
        )
    if kind in ("auto", "smtp-sink") and binary is not None:
        return PostfixSink(port, folder, binary)
    return PythonSink(port, folder, env)
