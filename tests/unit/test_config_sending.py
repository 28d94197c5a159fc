"""The sending settings: several relays with their own limits, per-domain limits and
the circuit breaker's thresholds, each bad value named in its error."""

from __future__ import annotations

import pytest

from digest.config import ConfigError, DomainLimit, Rate, Settings, load_settings
from digest.embedded import sender_for
from digest.mail.relays import RelaySender


def settings_with(**values: str) -> Settings:
    return load_settings(
        {"DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789", **values}
    )


def test_defaults_set_no_limits_and_a_breaker() -> None:
    settings = settings_with()
    assert settings.domain_limits == ()
    assert (settings.breaker_window, settings.breaker_min_attempts) == (200, 20)
    assert (settings.breaker_throttle_share, settings.breaker_failure_share) == (0.5, 0.3)


def test_one_relay_url_stays_as_it_was() -> None:
    settings = settings_with(DIGEST_SMTP_URL="smtp+starttls://user:pw@mail.example.org:587")
    assert settings.smtp_url == "smtp+starttls://user:pw@mail.example.org:587"
    assert settings.smtp_urls == ("smtp+starttls://user:pw@mail.example.org:587",)
    sender = sender_for(settings)
    assert isinstance(sender, RelaySender)
    (relay,) = sender.relays
    assert (relay.host, relay.port, relay.mode, relay.username) == (
        "mail.example.org",
        587,
        "smtp+starttls",
        "user",
    )
    assert (relay.per_second, relay.per_hour) == (None, None)


def test_several_relays_in_order_each_with_its_own_limits() -> None:
    raw = " smtp://relay1:25?per_second=10&per_hour=20000,\n smtps://relay2?verify=0 smtp://relay3 "
    settings = settings_with(DIGEST_SMTP_URL=raw)
    assert settings.smtp_urls == (
        "smtp://relay1:25?per_second=10&per_hour=20000",
        "smtps://relay2?verify=0",
        "smtp://relay3",
    )
    sender = sender_for(settings)
    assert isinstance(sender, RelaySender)
    assert [(r.address, r.per_second, r.per_hour) for r in sender.relays] == [
        ("relay1:25", 10, 20000),
        ("relay2:465", None, None),
        ("relay3:25", None, None),
    ]
    assert sender.relays[1].verify is False


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("smtp://relay1?per_second=fast", "per_second must be a whole number"),
        ("smtp://relay1?per_second=0", "per_second must be a whole number"),
        ("smtp://relay1?per_hour=-5", "per_hour must be a whole number"),
        ("smtp://relay1?per_minute=5", "unknown option 'per_minute'"),
        ("smtp://relay1, http://relay2", "use smtp://, smtp+starttls:// or smtps://"),
        ("smtp://relay1 smtp://relay2:99999", "invalid port"),
    ],
)
def test_a_bad_relay_url_is_a_config_error_naming_the_variable(raw: str, named: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_with(DIGEST_SMTP_URL=raw)
    assert "DIGEST_SMTP_URL" in str(error.value)
    assert named in str(error.value)


def test_a_password_in_a_bad_relay_url_is_not_shown() -> None:
    with pytest.raises(ConfigError) as error:
        settings_with(DIGEST_SMTP_URL="smtp://me:hunter2@relay1?per_second=x")
    assert "hunter2" not in str(error.value)


def test_domain_limits_per_second_and_per_hour() -> None:
    settings = settings_with(
        DIGEST_DOMAIN_LIMITS="gmail.com=20/s, Yahoo.com = 5/s,outlook.com=1000/h, gmail.com=50000/h"
    )
    assert settings.domain_limits == (
        DomainLimit("gmail.com", Rate(20, 1)),
        DomainLimit("yahoo.com", Rate(5, 1)),
        DomainLimit("outlook.com", Rate(1000, 3600)),
        DomainLimit("gmail.com", Rate(50000, 3600)),
    )
    assert [str(limit) for limit in settings.domain_limits[:3]] == [
        "gmail.com 20/s",
        "yahoo.com 5/s",
        "outlook.com 1000/h",
    ]


@pytest.mark.parametrize(
    "entry",
    ["gmail.com=20/x", "gmail.com=20", "gmail.com=0/s", "=20/s", "gmail.com=2.5/s", "20/s"],
)
def test_a_bad_domain_limit_names_the_variable_and_the_entry(entry: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_with(DIGEST_DOMAIN_LIMITS=f"yahoo.com=5/s, {entry}")
    assert "DIGEST_DOMAIN_LIMITS" in str(error.value)
    assert repr(entry) in str(error.value)


def test_a_domain_limit_with_a_bad_domain_or_repeated_is_named() -> None:
    with pytest.raises(ConfigError, match=r"DIGEST_DOMAIN_LIMITS \('gm ail.com=1/s'\)|gm ail"):
        settings_with(DIGEST_DOMAIN_LIMITS="gm ail.com=1/s")
    with pytest.raises(ConfigError, match="DIGEST_DOMAIN_LIMITS.*'bad_domain!=1/s'"):
        settings_with(DIGEST_DOMAIN_LIMITS="bad_domain!=1/s")
    with pytest.raises(ConfigError, match="repeats the per-s limit of gmail.com"):
        settings_with(DIGEST_DOMAIN_LIMITS="gmail.com=20/s, gmail.com=10/s")


def test_breaker_settings_and_their_errors() -> None:
    settings = settings_with(
        DIGEST_BREAKER_WINDOW="50",
        DIGEST_BREAKER_MIN_ATTEMPTS="10",
        DIGEST_BREAKER_THROTTLE_SHARE="80%",
        DIGEST_BREAKER_FAILURE_SHARE="0",
    )
    assert (settings.breaker_window, settings.breaker_min_attempts) == (50, 10)
    assert (settings.breaker_throttle_share, settings.breaker_failure_share) == (0.8, 0.0)
    for name, raw, message in [
        ("DIGEST_BREAKER_WINDOW", "0", "at least 1"),
        ("DIGEST_BREAKER_MIN_ATTEMPTS", "many", "whole number"),
        ("DIGEST_BREAKER_THROTTLE_SHARE", "1.5", "between 0 and 1"),
        ("DIGEST_BREAKER_FAILURE_SHARE", "half", "a share like 0.3"),
    ]:
        with pytest.raises(ConfigError, match=f"{name} must be.*{message}|{name}.*{message}"):
            settings_with(**{name: raw})
    with pytest.raises(ConfigError, match="DIGEST_BREAKER_MIN_ATTEMPTS must be at most"):
        settings_with(DIGEST_BREAKER_WINDOW="10", DIGEST_BREAKER_MIN_ATTEMPTS="20")
