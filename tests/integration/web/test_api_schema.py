"""The JSON API fuzzed from its own OpenAPI document: for every operation, inputs
valid and invalid by the document never cause a server error, and every answer has
a documented status code, content type and shape."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from digest.config import Settings, load_settings
from digest.web.app import create_app
from tests.conftest import SmtpServer, World
from tests.integration.web.test_api import api_key, failed_delivery, some_data

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded once, at collection, from the app itself (schemathesis' fixture loader does not
# work on pytest 9); each test then points the app at its own database and SMTP server.
APP = create_app(
    load_settings(
        {
            "DIGEST_DATABASE_URL": "sqlite://",
            "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
        }
    )
)
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@pytest.fixture
def operator_key(
    mail_settings: Settings, smtp_server: SmtpServer, world: World, db_url: str
) -> str:
    """An operator's key over a little of everything (so that ids and slugs the
    fuzzer tries find rows), with a failed delivery that a retry sends."""
    some_data(db_url)
    failed_delivery(world, mail_settings, smtp_server, db_url)
    # A fetch must not wait on the network: the feed's host does not resolve here.
    APP.state.settings = mail_settings.with_overrides(feed_timeout=2.0)
    return api_key(db_url, "operator")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_conforms_to_the_document(
    case: schemathesis.Case, operator_key: str
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {operator_key}"}, checks=CHECKS)


def test_the_document_describes_the_api_only_with_its_bearer_scheme() -> None:
    document = APP.openapi()
    assert document["paths"] and all(path.startswith("/api/") for path in document["paths"])
    scheme = document["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
            if method != "get":
                assert "403" in operation["responses"], (method, path)
