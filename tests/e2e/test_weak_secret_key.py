"""With a guessable DIGEST_SECRET_KEY neither the web app nor a worker starts: with
the compose file's old fallback key, anyone could forge a confirmation link."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import process_env


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "digest.cli", "web", "--port", "0"],
        ["-m", "celery", "-A", "workers", "worker", "--concurrency", "1"],
    ],
    ids=["web", "worker"],
)
@pytest.mark.parametrize("key", ["change-me-to-a-long-random-string", "short"])
def test_a_process_refuses_to_start_with_a_weak_key(
    command: list[str], key: str, tmp_path: Path
) -> None:
    env = process_env(DIGEST_SECRET_KEY=key, DIGEST_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, *command], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "DIGEST_SECRET_KEY is" in done.stdout + done.stderr
