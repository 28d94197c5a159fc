"""``PATCH /api/articles/{id}``: editors and operators pin, unpin, hold and release
an article; refusals name the field; the list shows and filters what they decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Article
from tests.conftest import World
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin, sign_in
from tests.integration.web.test_api import MAX_ID, Api, api_key, field_error

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def later(**delta: float) -> datetime:
    """A moment ahead of the server's clock, to the second."""
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def stored(db_url: str) -> list[tuple[datetime | None, bool, str | None]]:
    with unit_of_work(db_url) as s:
        rows = s.execute(
            select(Article.pinned_until, Article.held, Article.edited_by).order_by(Article.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_editor_and_operator_keys_pin_unpin_hold_and_release(
    mail_settings: Settings, world: World, db_url: str
) -> None:
    world.topics("tech", "world")
    story = world.article("story", T0, ["tech"])
    other = world.article("other", T0 + timedelta(hours=1), ["world"])
    editor = Api(mail_settings, api_key(db_url, "editor"))
    ops = Api(mail_settings, api_key(db_url, "operator"))

    until = later(days=2)
    pinned = editor("PATCH", f"/api/articles/{story}", {"pinned_until": iso(until)})
    assert pinned.status_code == 200, pinned.text
    body = pinned.json()
    assert (body["id"], body["pinned_until"], body["held"]) == (story, iso(until), False)
    assert body["edited_by"] == "api key editor script" and body["edited_at"] is not None
    assert body["topics"] == ["tech"] and "pinned" not in body

    held = ops("PATCH", f"/api/articles/{other}", {"held": True})
    assert held.status_code == 200 and held.json()["held"] is True
    assert stored(db_url) == [
        (until, False, "api key editor script"),
        (None, True, "api key operator script"),
    ]

    def listed(**filters: object) -> list[int]:
        answer = editor("GET", "/api/articles", **filters)
        assert answer.status_code == 200, answer.text
        return [a["id"] for a in answer.json()["items"]]

    assert listed() == [other, story]
    assert listed(pinned="true") == [story]
    assert listed(held="true") == [other]
    assert listed(fragment="sTORY o") == [other]
    first = editor("GET", "/api/articles", held="true").json()["items"][0]
    assert first["pinned_until"] is None and first["held"] is True

    # Fields left out stay; the state it already has changes nothing; null unpins.
    assert ops("PATCH", f"/api/articles/{story}", {}).json()["pinned_until"] == iso(until)
    assert ops("PATCH", f"/api/articles/{other}", {"held": True}).status_code == 200
    both = editor("PATCH", f"/api/articles/{story}", {"pinned_until": None, "held": True})
    assert (both.json()["pinned_until"], both.json()["held"]) == (None, True)
    released = editor("PATCH", f"/api/articles/{other}", {"held": False})
    assert released.json()["held"] is False
    assert stored(db_url) == [
        (None, True, "api key editor script"),
        (None, False, "api key editor script"),
    ]


def test_a_time_without_an_offset_is_utc_and_one_with_an_offset_is_moved_to_utc(
    mail_settings: Settings, world: World, db_url: str
) -> None:
    world.topics("tech")
    story = world.article("story", T0, ["tech"])
    editor = Api(mail_settings, api_key(db_url, "editor"))
    until = later(days=1)
    naive = until.replace(tzinfo=None).isoformat()
    assert editor("PATCH", f"/api/articles/{story}", {"pinned_until": naive}).json()[
        "pinned_until"
    ] == iso(until)
    offset = until.astimezone(UTC).replace(tzinfo=None).isoformat() + "-05:00"
    answer = editor("PATCH", f"/api/articles/{story}", {"pinned_until": offset})
    assert answer.json()["pinned_until"] == iso(until + timedelta(hours=5))


def test_bad_input_is_refused_field_by_field_and_changes_nothing(
    mail_settings: Settings, world: World, db_url: str
) -> None:
    world.topics("tech")
    story = world.article("story", T0, ["tech"])
    editor = Api(mail_settings, api_key(db_url, "editor"))
    url = f"/api/articles/{story}"
    past = editor("PATCH", url, {"pinned_until": iso(later(hours=-1)), "held": True})
    assert field_error(past) == ["body", "pinned_until"]
    assert "later than now" in past.json()["detail"][0]["msg"]
    cases: list[tuple[dict[str, object], list[object]]] = [
        ({"pinned_until": "next tuesday"}, ["body", "pinned_until"]),
        ({"pinned_until": "9999-12-31T23:00:00-05:00"}, ["body", "pinned_until"]),
        ({"pinned_until": "0001-01-01T00:00:00Z"}, ["body", "pinned_until"]),
        ({"held": "perhaps"}, ["body", "held"]),
        ({"pinned": True}, ["body", "pinned"]),
    ]
    for body, loc in cases:
        assert field_error(editor("PATCH", url, body)) == loc, body
    out_of_range = editor("PATCH", url, {"pinned_until": "9999-12-31T23:00:00-05:00"})
    assert out_of_range.json()["detail"][0]["msg"] == "is out of range"
    assert field_error(editor("PATCH", f"/api/articles/{MAX_ID + 1}", {})) == [
        "path",
        "article_id",
    ]
    for missing in (story + 1, MAX_ID):
        answer = editor("PATCH", f"/api/articles/{missing}", {"held": True})
        assert answer.status_code == 404
        assert answer.json() == {"detail": f"there is no article {missing}"}
    assert stored(db_url) == [(None, False, None)]


def test_anonymous_callers_and_console_sessions_cannot_patch(
    mail_settings: Settings, world: World, db_url: str
) -> None:
    world.topics("tech")
    story = world.article("story", T0, ["tech"])
    anonymous = Api(mail_settings, None)
    refused = anonymous("PATCH", f"/api/articles/{story}", {"held": True})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    # A console session reads through /api but changes need a key, even an editor's.
    admin(db_url, "ed@example.org", "editor")
    client = browser(mail_settings)
    sign_in(client, "ed@example.org")
    assert client.get("/api/articles").status_code == 200
    assert client.patch(f"/api/articles/{story}", json={"held": True}).status_code == 401
    assert stored(db_url) == [(None, False, None)]


def test_the_document_says_editors_may_patch_articles(mail_settings: Settings) -> None:
    document = Api(mail_settings, None).client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/articles/{article_id}"]["patch"]
    assert set(operation["responses"]) >= {"200", "401", "403", "404", "422"}
    assert "Editors may do this" in operation["description"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"pinned_until", "held"}
