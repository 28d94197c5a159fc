"""The secret key (``DIGEST_SECRET_KEY``): it signs every reader's links and the
console's sessions, so it must be long, random and nobody else's. Unset, one is
generated on first use and kept beside the database."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from digest.config.parsing import ConfigError

if TYPE_CHECKING:
    from digest.config.settings import Settings

# Keys that have stood in examples and compose files: anyone can sign with them.
KNOWN_SECRET_KEYS = frozenset(
    {
        "change-me-to-a-long-random-string",
        "change-me",
        "changeme",
        "secret",
        "secret-key",
        "your-secret-key",
        "digest",
    }
)
MIN_SECRET_KEY_BYTES = 32
_GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def parse_secret_key(raw: str) -> str | None:
    """``DIGEST_SECRET_KEY``: unset (a key is generated and kept), or at least 32 bytes
    that are no published example: the key signs every reader's links and the
    console's sessions, so a guessable one lets anyone forge them."""
    if not raw:
        return None
    if raw.strip().lower() in KNOWN_SECRET_KEYS:
        raise ConfigError(
            f"DIGEST_SECRET_KEY is a published example value, so anyone could sign links "
            f"with it: set a random one ({_GENERATE}), or leave it unset to have one "
            "generated and kept beside the database"
        )
    size = len(raw.encode())
    if size < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"DIGEST_SECRET_KEY is {size} bytes; it must be at least {MIN_SECRET_KEY_BYTES} "
            f"bytes of random text: generate one with {_GENERATE}, or leave it unset to "
            "have one generated and kept beside the database"
        )
    return raw


def secret_key_path(settings: Settings) -> Path:
    """Where a generated key is kept: beside the SQLite file, else in the data folder."""
    prefix = "sqlite:///"
    if settings.database_url.startswith(prefix):
        db_file = settings.database_url[len(prefix) :].split("?")[0]
        if db_file and db_file != ":memory:":
            return Path(db_file).expanduser().parent / "digest.secret"
    return settings.data_dir / "digest.secret"


@lru_cache(maxsize=16)
def secret_key(settings: Settings) -> str:
    """The signing key: ``DIGEST_SECRET_KEY``, else one generated once beside the database."""
    if settings.secret_key:
        return settings.secret_key
    path = secret_key_path(settings)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    # O_EXCL: if two processes race, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
