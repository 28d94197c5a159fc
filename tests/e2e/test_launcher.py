"""``digest up`` starts a child again when it exits, but not in an endless loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digest.cli import launcher


def exiting_child(tmp_path: Path) -> launcher.Child:
    """A child whose process exits at once with status 3, every time it is started."""
    args = [sys.executable, "-c", "raise SystemExit(3)"]
    child = launcher._spawn("worker", args, {}, tmp_path / "worker.log")
    child.process.wait(timeout=30)
    return child


def test_a_child_that_exits_is_started_again(tmp_path: Path) -> None:
    child = exiting_child(tmp_path)
    said: list[str] = []
    first = child.process
    assert launcher.supervise(child, now=0.0, say=said.append)
    assert child.process is not first
    child.process.wait(timeout=30)
    assert said == [f"worker exited (3); starting it again (see {child.log})"]


def test_a_child_that_keeps_exiting_stops_everything(tmp_path: Path) -> None:
    child = exiting_child(tmp_path)
    said: list[str] = []
    for i in range(launcher.MAX_RESTARTS):
        assert launcher.supervise(child, now=float(i), say=said.append)
        child.process.wait(timeout=30)
    assert not launcher.supervise(child, now=10.0, say=said.append)
    assert said[-1].startswith(f"worker exited (3) {launcher.MAX_RESTARTS + 1} times in")


def test_exits_far_apart_never_add_up(tmp_path: Path) -> None:
    child = exiting_child(tmp_path)
    for i in range(3 * launcher.MAX_RESTARTS):
        assert launcher.supervise(child, now=i * launcher.RESTART_WINDOW, say=lambda _: None)
        child.process.wait(timeout=30)


def test_a_running_child_is_left_alone(tmp_path: Path) -> None:
    args = [sys.executable, "-c", "import time; time.sleep(30)"]
    child = launcher._spawn("beat", args, {}, tmp_path / "beat.log")
    try:
        running = child.process
        assert launcher.supervise(child, now=0.0, say=lambda _: None)
        assert child.process is running and child.exits == []
    finally:
        child.process.kill()
        child.process.wait(timeout=30)
    assert isinstance(child.process, subprocess.Popen)
