"""The DKIM private key named by ``DIGEST_DKIM_KEY_FILE``: read, checked and kept
parsed while its file is unchanged."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from digest.config.parsing import ConfigError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

DKIM_MIN_KEY_BITS = 1024


def load_dkim_key(path: Path) -> RSAPrivateKey:
    """The DKIM private key in ``path`` (PEM, PKCS#1 or PKCS#8, unencrypted, RSA of at
    least 1024 bits); a :class:`ConfigError` naming ``DIGEST_DKIM_KEY_FILE`` otherwise.

    Parsing costs tens of milliseconds; settings check the key and the signer then
    uses it, so the parsed key is kept while the file is unchanged."""
    try:
        found = path.stat()
        stamp: tuple[int, int] | None = (found.st_mtime_ns, found.st_size)
    except OSError:
        stamp = None  # reported by the read below
    return _parsed_dkim_key(path, stamp)


@lru_cache(maxsize=4)
def _parsed_dkim_key(path: Path, stamp: tuple[int, int] | None) -> RSAPrivateKey:
    # Imported here: only a process that signs pays for loading OpenSSL's bindings.
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    where = f"DIGEST_DKIM_KEY_FILE ({path})"
    make_one = "make one with: openssl genrsa -out dkim.pem 2048"
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{where} cannot be read: {exc.strerror or exc}. Point it at the PEM file of "
            "the DKIM private key, readable by the workers and the web process."
        ) from None
    if b"PRIVATE KEY-----" not in pem:
        raise ConfigError(f"{where} holds no PEM private key; {make_one}")
    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(
            f"{where} holds an encrypted key; signing needs it unencrypted "
            "(openssl pkey -in encrypted.pem -out dkim.pem)"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{where} holds a key that cannot be read ({exc}); {make_one}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.removesuffix("PrivateKey")
        raise ConfigError(
            f"{where} holds a key of type {kind}; DKIM signing here is rsa-sha256, which "
            f"every receiver checks: {make_one}"
        )
    if key.key_size < DKIM_MIN_KEY_BITS:
        raise ConfigError(
            f"{where} holds a {key.key_size}-bit key; receivers ignore RSA keys under "
            f"{DKIM_MIN_KEY_BITS} bits: {make_one}"
        )
    return key
