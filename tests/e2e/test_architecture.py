"""The layout stays as docs/architecture.md draws it: the import-linter contracts hold
for the code as it is and catch a module that breaks a layer, and no module grows past
400 lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The script installed beside this interpreter (the test extras bring it).
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
MAX_LINES = 400
# A file that says so in its first lines is generated data, not code anyone edits.
GENERATED = "generated"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the packages under ``root`` with the repository's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(root / ".importlinter")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    for package in ("digest", "workers"):
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_layer_contracts_hold() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "digest/domain/selection.py",
            "from digest.db import models",
            "The domain is pure: it imports nothing of ours",
        ),
        (
            "digest/bounces/classify.py",
            "from digest.services import metrics",
            "The bounce parser reads bytes only",
        ),
        (
            "digest/services/sending/planning.py",
            "from digest.web import pages",
            "Use cases never import the web app, the command line or the workers",
        ),
        (
            "digest/web/admin.py",
            "from digest.db.models import Subscriber",
            "reach the database only through services",
        ),
        (
            "workers/tasks.py",
            "from digest.db.engine import get_engine",
            "reach the database only through services",
        ),
        (
            "digest/services/readers/signup.py",
            "from digest.services.sending import planning",
            "Use cases in layers",
        ),
    ],
)
def test_a_module_that_breaks_a_layer_fails_the_check(
    copy_of_the_code: Path, module: str, line: str, contract: str
) -> None:
    path = copy_of_the_code / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")

    result = lint_imports(copy_of_the_code)

    assert result.returncode != 0
    # The report wraps long names over lines.
    broken = " ".join(result.stdout.split("Broken contracts", 1)[-1].split())
    assert contract in broken, result.stdout
    assert module.removesuffix(".py").replace("/", ".") in broken


def test_no_module_is_longer_than_400_lines() -> None:
    too_long = []
    for folder in ("digest", "bench", "workers"):
        for path in sorted((REPO / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix in (".po", ".pot"):
                continue  # translation catalogues: data, one entry per string
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # images and other binary files
            head = "\n".join(text.splitlines()[:3]).lower()
            if text.count("\n") > MAX_LINES and GENERATED not in head:
                too_long.append(f"{path.relative_to(REPO)}: {text.count(chr(10))} lines")
    assert not too_long, too_long


def test_compose_needs_a_secret_key_and_keeps_the_mail_ui_on_this_machine() -> None:
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    key = compose["x-app"]["environment"]["DIGEST_SECRET_KEY"]
    # ${VAR:?message}: compose refuses to start without it; no fallback value.
    assert key.startswith("${DIGEST_SECRET_KEY:?") and ":-" not in key
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name == "mailpit":
                assert str(port).startswith("127.0.0.1:"), port
