"""VERP return paths name their delivery, and nothing else maps to one."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.config import ConfigError, load_settings
from digest.mail.verp import delivery_of, delivery_of_token, return_path, token

SECRET = "test-secret-key-of-32-bytes-or-more-0123456789"
BOUNCES = "bounces@bounce.example.org"
# A dot-atom local part (RFC 5322) of at most 64 octets.
LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_the_return_path_maps_back_to_its_delivery(delivery_id: int) -> None:
    address = return_path(BOUNCES, delivery_id, SECRET)
    local, _, domain = address.rpartition("@")
    assert domain == "bounce.example.org"
    assert local.startswith("bounces+") and LOCAL_PART.fullmatch(local) and len(local) <= 64
    assert delivery_of(address, BOUNCES, SECRET) == delivery_id
    # As a bounce's To or the original's Return-Path, or case-folded by a relay.
    assert delivery_of(f"<{address}>", BOUNCES, SECRET) == delivery_id
    assert delivery_of(address.upper(), BOUNCES, SECRET) == delivery_id


def test_the_token_is_short_lower_case_base32() -> None:
    assert re.fullmatch(r"[a-z2-7]{15}", token(1, SECRET))
    assert re.fullmatch(r"[a-z2-7]{26}", token(2**63 - 1, SECRET))
    assert delivery_of_token(token(42, SECRET), SECRET) == 42


def test_a_tampered_token_names_no_delivery() -> None:
    value = token(1234, SECRET)
    for i in range(len(value)):
        swapped = "a" if value[i] != "a" else "b"
        assert delivery_of_token(value[:i] + swapped + value[i + 1 :], SECRET) is None
    assert delivery_of_token(value[:-1], SECRET) is None
    assert delivery_of_token(value + "a", SECRET) is None
    # Another delivery's id with this token's MAC.
    raw = base64.b32decode(value.upper() + "=" * (-len(value) % 8))
    forged = base64.b32encode((1235).to_bytes(2, "big") + raw[2:]).decode().rstrip("=")
    assert delivery_of_token(forged.lower(), SECRET) is None


def test_a_token_made_with_another_key_names_no_delivery() -> None:
    address = return_path(BOUNCES, 1234, "another-secret")
    assert delivery_of(address, BOUNCES, SECRET) is None


@pytest.mark.parametrize(
    "address",
    [
        "bounces+{t}@other.example.org",  # another domain
        "bounces+{t}@example.org",  # a parent domain
        "returns+{t}@bounce.example.org",  # another mailbox
        "bounces@bounce.example.org",  # the bare bounce address
        "bounces+@bounce.example.org",
        "bounces+{t}",
        "bounces+ünïcode@bounce.example.org",
        "bounces+{t}!!@bounce.example.org",
        "",
    ],
)
def test_other_addresses_name_no_delivery(address: str) -> None:
    assert delivery_of(address.format(t=token(1234, SECRET)), BOUNCES, SECRET) is None


def test_a_bounce_address_with_a_plus_keeps_working() -> None:
    bounces = "digest+bounces@bounce.example.org"
    address = return_path(bounces, 77, SECRET)
    assert address.startswith("digest+bounces+")
    assert delivery_of(address, bounces, SECRET) == 77


def test_the_bounce_address_setting() -> None:
    base = {"DIGEST_SECRET_KEY": SECRET}
    assert load_settings(base).bounce_address is None
    settings = load_settings({**base, "DIGEST_BOUNCE_ADDRESS": " Bounces@Bounce.Example.ORG "})
    assert settings.bounce_address == "Bounces@bounce.example.org"
    for bad in ("bounces", "bounces@", "@bounce.example.org", "a b@x.org", "x" * 40 + "@x.org"):
        with pytest.raises(ConfigError, match="DIGEST_BOUNCE_ADDRESS"):
            load_settings({**base, "DIGEST_BOUNCE_ADDRESS": bad})
